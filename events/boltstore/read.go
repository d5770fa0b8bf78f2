package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"runtime/debug"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/storekit"
	bolt "go.etcd.io/bbolt"
)

// readBatch is how many records one read transaction copies out. Reads
// never hold a transaction while the caller's loop body runs, so a long
// replay neither blocks the writer's remaps nor pins old pages.
const readBatch = 512

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// decode copies the record in the log's value v at pos out of the mmap
// and decodes it.
func (s *Store) decode(pos events.Position, v []byte) (events.Record, error) {
	b, ok := s.layout.record(uint64(pos), v)
	if !ok {
		return events.Record{}, fmt.Errorf("%w: the log's value at position %d is too short", events.ErrCorruptRecord, pos)
	}
	var r events.Record
	if err := r.UnmarshalBinary(bytes.Clone(b)); err != nil {
		return events.Record{}, err
	}
	r.Position = pos
	return r, nil
}

// ReadStream implements events.Store. It copies the stream out readBatch
// records per read transaction (streamBatch) and yields them with no
// transaction open.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		next := from
		buf := make([]events.Record, 0, 16)
		for first := true; ; first = false {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, err)
				return
			}
			if s.isClosed() {
				yield(events.Record{}, events.ErrClosed)
				return
			}
			var found bool
			var err error
			buf, next, found, err = s.streamBatch(stream, next, buf[:0])
			if err != nil {
				yield(events.Record{}, err)
				return
			}
			if !found {
				if first {
					yield(events.Record{}, &events.StreamNotFoundError{Stream: stream})
				}
				return
			}
			for i := range buf {
				if !yield(buf[i], nil) {
					return
				}
			}
			if len(buf) < readBatch {
				return
			}
		}
	}
}

// streamBatch copies, in one read transaction, up to readBatch records of
// stream from revision next on, appended to buf. It returns the revision
// after the last one copied, and found false when the stream does not
// exist.
func (s *Store) streamBatch(stream string, next uint64, buf []events.Record) (_ []events.Record, _ uint64, found bool, _ error) {
	err := s.view(func(tx *bolt.Tx) error {
		n := len(buf)
		var err error
		buf, next, err = s.copyStream(tx, stream, next, buf)
		if err != nil || len(buf) > n {
			found = true
			return err
		}
		prefix := indexKey(stream, 0)[:len(stream)+1]
		k, _ := tx.Bucket([]byte(bIndex)).Cursor().Seek(prefix)
		found = bytes.HasPrefix(k, prefix)
		return nil
	})
	return buf, next, found, err
}

// copyStream walks stream's index from revision next, appending each
// record it names (copied out of the map and decoded) to buf until buf
// holds readBatch records or the stream ends. It returns the revision
// after the last one copied; a revision whose record is missing from the
// log is ErrCorrupt.
func (s *Store) copyStream(tx *bolt.Tx, stream string, next uint64, buf []events.Record) ([]events.Record, uint64, error) {
	log := tx.Bucket([]byte(bLog))
	prefix := indexKey(stream, 0)[:len(stream)+1]
	c := tx.Bucket([]byte(bIndex)).Cursor()
	for k, v := c.Seek(indexKey(stream, next)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 && len(buf) < readBatch; k, v = c.Next() {
		rev := binary.BigEndian.Uint64(k[len(prefix):])
		pos := events.Position(binary.BigEndian.Uint64(v))
		val, ok := s.layout.record(uint64(pos), log.Get(v))
		if !ok {
			return buf, next, &events.ChainError{Stream: stream, Revision: rev, Problem: fmt.Sprintf("record at position %d is missing or cut short", pos), Err: ErrCorrupt}
		}
		r, err := storekit.DecodeStored(stream, rev, bytes.Clone(val))
		if err != nil {
			return buf, next, err
		}
		r.Position = pos
		buf = append(buf, r)
		next = rev + 1
	}
	return buf, next, nil
}

// view runs a read transaction, turning a bbolt panic on a damaged page into
// ErrCorrupt. A read of the mapped file that faults (a page past the end of
// a file cut short, a pointer a damaged page sends outside the map) panics
// instead of killing the process (debug.SetPanicOnFault), and is ErrCorrupt
// too. An auditor of a file it does not trust runs CheckFile first, which
// finds such damage without mapping the file.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.View(fn)
}

// ReadAll implements events.Store.
func (s *Store) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	if from == 0 && !s.isClosed() {
		s.ahead.start(s.path, s.stop)
	}
	return storekit.PollAll(ctx, from, s.fill)
}

// ReadBatch implements events.BatchReader: up to 512 records per call, in
// one read transaction.
// A read from position 0 first starts reading the file ahead (see
// readAhead).
func (s *Store) ReadBatch(ctx context.Context, buf []events.Record, from events.Position) ([]events.Record, events.Position, error) {
	if from == 0 && !s.isClosed() {
		s.ahead.start(s.path, s.stop)
	}
	return storekit.FillBatch(ctx, buf, from, s.fill)
}

var _ events.BatchReader = (*Store)(nil)

// Subscribe implements events.Store.
func (s *Store) Subscribe(ctx context.Context, from events.Position, f events.Filter) iter.Seq2[events.Record, error] {
	return storekit.PollSubscribe(ctx, from, f, s.fill)
}

// scanBudget bounds how many records a filtered read inspects per
// transaction.
const scanBudget = 8192

// fill copies records at positions >= next that f accepts, up to readBatch
// of them. When caught up and wantWait is set it returns the channel the
// next commit closes.
func (s *Store) fill(buf []events.Record, next events.Position, f events.Filter, wantWait bool) ([]events.Record, events.Position, <-chan struct{}, error) {
	s.mu.Lock()
	end, closed := s.size, s.closed
	s.mu.Unlock()
	if closed {
		return buf, next, nil, events.ErrClosed
	}
	all := len(f.StreamPrefixes) == 0
	if next < end {
		n0 := len(buf)
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte(bLog)).Cursor()
			scanned := 0
			for k, v := c.Seek(posKey(next)); k != nil && len(buf) < readBatch && scanned < scanBudget; k, v = c.Next() {
				pos := events.Position(binary.BigEndian.Uint64(k))
				if pos >= end {
					break
				}
				scanned++
				next = pos + 1
				if !all && !f.Accepts(streamOf(v)) {
					continue
				}
				r, err := s.decode(pos, v)
				if err != nil && len(buf) > n0 {
					// Return the records before it first (a caller
					// sees no record returned with an error); the
					// next call starts at the damage.
					next = pos
					break
				}
				if err != nil {
					return &DamagedRecordError{Position: pos, Err: s.locate(tx, pos, err)}
				}
				buf = append(buf, r)
			}
			return nil
		})
		if err != nil {
			return buf, next, nil, err
		}
	}
	if next < end || len(buf) > 0 || !wantWait {
		return buf, next, nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return buf, next, nil, events.ErrClosed
	}
	if s.size > next {
		return buf, next, nil, nil
	}
	s.waiting = true
	return buf, next, s.notify, nil
}

// DamagedRecordError is a stored record the store cannot decode: its
// position, and in Err the *events.ChainError naming its stream and
// revision when the stream index does. A reader may resume after it
// (chain.Verify does).
type DamagedRecordError struct {
	Position events.Position
	Err      error
}

// Error implements error.
func (e *DamagedRecordError) Error() string { return e.Err.Error() }

// Unwrap returns the *events.ChainError.
func (e *DamagedRecordError) Unwrap() error { return e.Err }

// DamagedPosition implements chain.DamagedRecord.
func (e *DamagedRecordError) DamagedPosition() events.Position { return e.Position }

// streamOf reads the stream name of a stored record without decoding the
// rest: it follows the version byte, uvarint-prefixed.
func streamOf(v []byte) string {
	if len(v) < 2 {
		return ""
	}
	l, n := binary.Uvarint(v[1:])
	if n <= 0 || uint64(len(v)-1-n) < l {
		return ""
	}
	return string(v[1+n : 1+n+int(l)])
}

// locate names the stream and revision of an undecodable record at pos by
// searching the index (only on this error path).
func (s *Store) locate(tx *bolt.Tx, pos events.Position, cause error) error {
	want := posKey(pos)
	c := tx.Bucket([]byte(bIndex)).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if bytes.Equal(v, want) && len(k) > 9 && k[len(k)-9] == 0 {
			stream := string(k[:len(k)-9])
			return &events.ChainError{Stream: stream, Revision: binary.BigEndian.Uint64(k[len(k)-8:]), Problem: fmt.Sprintf("undecodable record at position %d", pos), Err: cause}
		}
	}
	return &events.ChainError{Stream: "?", Problem: fmt.Sprintf("undecodable record at position %d, in no stream's index", pos), Err: cause}
}
