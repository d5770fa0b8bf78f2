package memstore

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/storekit"
	"golang.org/x/mod/sumdb/tlog"
)

// chunkBits sizes the log's chunks: records live in fixed chunks of 4096, so
// growing the log never copies the records already written.
const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
)

// treeBits sizes the chunks the tree's interior nodes live in (256 KiB
// each).
const (
	treeBits  = 13
	treeChunk = 1 << treeBits
)

// readBatch is how many records a reader copies per lock hold.
const readBatch = 256

// scanBudget bounds how many records a filtered subscription inspects per
// lock hold.
const scanBudget = 4096

// Store is an in-memory events.Store. It is safe for concurrent use. The
// zero value is not usable; call New.
type Store struct {
	now func() time.Time

	mu      sync.RWMutex
	chunks  [][]events.Record // the global log; position p is chunks[p>>chunkBits][p&(chunkSize-1)]
	size    int
	streams streamIndex
	ids     idIndex
	arena   []byte         // where payloads are copied to, in log order (see keep)
	tree    [][]chain.Hash // the Merkle tree's interior nodes, in tlog's order without the leaves, in chunks of treeChunk
	nodes   int64          // how many interior nodes tree holds
	edge    chain.Range    // the tree's frontier: what the next record's hashes join
	scratch []chain.Hash   // grow's, reused
	notify  chan struct{}  // closed when records arrive, if anyone waits on it
	waiting bool
	closed  bool
	// noTree leaves the tree out of appends: set only by this package's
	// benchmark of what the tree adds to an append (such a store's tree
	// is wrong).
	noTree bool
}

// stream indexes one stream's records by revision. The first position is
// kept inline (most election streams hold one or two records), the rest in
// more.
type stream struct {
	name   string // every record of the stream shares it
	h      uint64 // the name's hash in the stream index
	first  events.Position
	more   []events.Position
	n      uint64      // number of records
	last   events.Hash // the last record's hash: the next one links to it
	sealed bool
}

func (st *stream) at(rev uint64) events.Position {
	if rev == 0 {
		return st.first
	}
	return st.more[rev-1]
}

func (st *stream) add(p events.Position) {
	if st.n == 0 {
		st.first = p
	} else {
		st.more = append(st.more, p)
	}
	st.n++
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps RecordedAt (default time.Now).
// Deterministic tests and replays use a fixed or stepping clock.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:     time.Now,
		streams: newStreamIndex(),
		ids:     newIDIndex(),
		notify:  make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ events.Store = (*Store)(nil)

func (s *Store) at(p events.Position) *events.Record {
	return &s.chunks[p>>chunkBits][p&(chunkSize-1)]
}

// Append implements events.Store.
func (s *Store) Append(ctx context.Context, name string, expected events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if err := storekit.ValidateAppend(name, expected, evs); err != nil {
		return events.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return events.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return events.AppendResult{}, events.ErrClosed
	}
	st, empty, h := s.streams.find(name)
	if res, done, err := s.idempotent(name, st, evs); done {
		return res, err
	}
	var last uint64
	exists := st != nil && st.n > 0
	if exists {
		last = st.n - 1
		if st.sealed {
			return events.AppendResult{}, &events.StreamSealedError{Stream: name, SealedAt: last}
		}
	}
	if err := expected.Require(name, last, exists); err != nil {
		return events.AppendResult{}, err
	}
	if st == nil {
		st = s.streams.add(empty, h, name)
	}
	var prev events.Hash
	if exists {
		prev = st.last
	}
	now := s.now()
	var res events.AppendResult
	for i := range evs {
		e := evs[i]
		e.Data = s.keep(e.Data) // the caller may reuse its buffer
		rev := st.n
		rec := events.NewRecord(st.name, rev, now, prev, e)
		rec.Position = events.Position(s.size)
		if s.size&(chunkSize-1) == 0 {
			s.chunks = append(s.chunks, make([]events.Record, chunkSize))
		}
		*s.at(rec.Position) = rec
		if !s.noTree {
			s.grow(rec.Hash)
		}
		s.size++
		st.add(rec.Position)
		s.ids.put(e.ID, rec.Position)
		st.sealed = events.Seals(e.Type)
		prev, st.last = rec.Hash, rec.Hash
		res = events.AppendResult{Revision: rev, Position: rec.Position, Hash: rec.Hash}
	}
	if s.waiting {
		close(s.notify)
		s.notify = make(chan struct{})
		s.waiting = false
	}
	return res, nil
}

// grow adds the next record, whose hash is h, to the Merkle tree: the
// roots of the subtrees it completes (about one per record), joined on the
// tree's frontier. The leaves are not kept: a leaf is the hash of its
// record's hash, which the log holds (see storedHash). s.mu is held for
// writing.
func (s *Store) grow(h events.Hash) {
	s.scratch = s.edge.AppendLeaf(s.scratch[:0], chain.LeafHash(h))
	next := s.nodes
	s.nodes += int64(len(s.scratch) - 1)
	for _, x := range s.scratch[1:] {
		if next&(treeChunk-1) == 0 && next>>treeBits == int64(len(s.tree)) {
			s.tree = append(s.tree, make([]chain.Hash, treeChunk))
		}
		s.tree[next>>treeBits][next&(treeChunk-1)] = x
		next++
	}
}

// TreeSize implements chain.TreeStore: the tree always covers the whole
// log.
func (s *Store) TreeSize(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, events.ErrClosed
	}
	return int64(s.size), nil
}

// ReadTreeHashes implements chain.TreeStore.
func (s *Store) ReadTreeHashes(ctx context.Context, indexes []int64) ([]chain.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]chain.Hash, len(indexes))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, events.ErrClosed
	}
	count := tlog.StoredHashCount(int64(s.size))
	for k, i := range indexes {
		if i < 0 || i >= count {
			return nil, fmt.Errorf("memstore: stored hash %d of a tree of %d records: %w", i, s.size, chain.ErrTruncated)
		}
		out[k] = s.storedHash(i)
	}
	return out, nil
}

// storedHash is the stored hash at index i of tlog's layout: a leaf,
// computed from its record's hash, or an interior node. The interior node
// (level, n) is written with record m = (n+1)<<level - 1, after that
// record's leaf, so without the leaves it sits m+1 places earlier. s.mu is
// held.
func (s *Store) storedHash(i int64) chain.Hash {
	level, n := tlog.SplitStoredHashIndex(i)
	if level == 0 {
		return chain.LeafHash(s.at(events.Position(n)).Hash)
	}
	j := i - (n+1)<<level
	return s.tree[j>>treeBits][j&(treeChunk-1)]
}

var _ chain.TreeStore = (*Store)(nil)

// arenaBlock is the size of the blocks payloads are copied into; a payload
// above a quarter of it gets an allocation of its own.
const arenaBlock = 256 << 10

// keep copies a payload into the store's arena: payloads lie one after
// another in log order, so a replay reads them sequentially, and the
// collector sees one pointer-free block instead of an object per event.
// The copy's capacity is its length, so a reader appending to it cannot
// write over the next payload.
func (s *Store) keep(b []byte) []byte {
	if len(b) > arenaBlock/4 {
		return append([]byte(nil), b...)
	}
	if cap(s.arena)-len(s.arena) < len(b) {
		s.arena = make([]byte, 0, arenaBlock)
	}
	off := len(s.arena)
	s.arena = append(s.arena, b...)
	return s.arena[off:len(s.arena):len(s.arena)]
}

// idempotent decides an append whose event IDs were seen before: done is
// false when none was.
func (s *Store) idempotent(name string, st *stream, evs []events.EventData) (events.AppendResult, bool, error) {
	first, seen := s.ids.get(evs[0].ID)
	if !seen {
		for i := 1; i < len(evs); i++ {
			if _, dup := s.ids.get(evs[i].ID); dup {
				return events.AppendResult{}, true, &events.DuplicateEventError{Stream: name, ID: evs[i].ID, Reason: "the ID was already written"}
			}
		}
		return events.AppendResult{}, false, nil
	}
	rec := s.at(first)
	if rec.Stream != name || st == nil {
		return events.AppendResult{}, true, &events.DuplicateEventError{Stream: name, ID: evs[0].ID, Reason: "the ID was already written to another stream"}
	}
	for i := range evs {
		rev := rec.Revision + uint64(i)
		if rev >= st.n {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: name, ID: evs[i].ID, Reason: "the append repeats earlier events and adds new ones"}
		}
		r := s.at(st.at(rev))
		if !r.SameContent(&evs[i]) {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: name, ID: evs[i].ID, Reason: "the ID was already written with other content"}
		}
		if i == len(evs)-1 {
			return events.AppendResult{Revision: r.Revision, Position: r.Position, Hash: r.Hash}, true, nil
		}
	}
	panic("unreachable")
}

// ReadStream implements events.Store.
func (s *Store) ReadStream(ctx context.Context, name string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		var buf []events.Record
		next := from
		for first := true; ; first = false {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, err)
				return
			}
			buf = buf[:0]
			s.mu.RLock()
			if s.closed {
				s.mu.RUnlock()
				yield(events.Record{}, events.ErrClosed)
				return
			}
			st, _, _ := s.streams.find(name)
			if st == nil {
				s.mu.RUnlock()
				if first {
					yield(events.Record{}, &events.StreamNotFoundError{Stream: name})
				}
				return
			}
			if buf == nil && next < st.n {
				buf = make([]events.Record, 0, min(st.n-next, readBatch))
			}
			for next < st.n && len(buf) < readBatch {
				buf = append(buf, *s.at(st.at(next)))
				next++
			}
			s.mu.RUnlock()
			if len(buf) == 0 {
				return
			}
			for i := range buf {
				if !yield(buf[i], nil) {
					return
				}
			}
		}
	}
}

// ReadAll implements events.Store.
func (s *Store) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	return storekit.PollAll(ctx, from, s.fill)
}

// fill copies the next records at positions >= next that f accepts into
// buf, up to readBatch of them and scanBudget inspected. When none remain and
// wantWait is set, it returns the channel that is closed when more arrive.
func (s *Store) fill(buf []events.Record, next events.Position, f events.Filter, wantWait bool) ([]events.Record, events.Position, <-chan struct{}, error) {
	all := len(f.StreamPrefixes) == 0
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return buf, next, nil, events.ErrClosed
	}
	end := events.Position(s.size)
	for scanned := 0; next < end && len(buf) < readBatch && scanned < scanBudget; scanned++ {
		r := s.at(next)
		if all || f.Accepts(r.Stream) {
			buf = append(buf, *r)
		}
		next++
	}
	caughtUp := next >= end
	s.mu.RUnlock()
	if !caughtUp || len(buf) > 0 || !wantWait {
		return buf, next, nil, nil
	}
	// Nothing new: take the wait channel under the write lock, rechecking
	// the size so that an append between the two locks is not missed.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return buf, next, nil, events.ErrClosed
	}
	if events.Position(s.size) > next {
		return buf, next, nil, nil // more arrived; the caller loops
	}
	s.waiting = true
	return buf, next, s.notify, nil
}

// ReadBatch implements events.BatchReader: up to 256 records per call.
func (s *Store) ReadBatch(ctx context.Context, buf []events.Record, from events.Position) ([]events.Record, events.Position, error) {
	return storekit.FillBatch(ctx, buf, from, s.fill)
}

var _ events.BatchReader = (*Store)(nil)

// Subscribe implements events.Store.
func (s *Store) Subscribe(ctx context.Context, from events.Position, f events.Filter) iter.Seq2[events.Record, error] {
	return storekit.PollSubscribe(ctx, from, f, s.fill)
}

// Len returns the number of records in the log.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// Close implements events.Store. It wakes every subscriber, which then
// yields ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.notify)
	}
	return nil
}
