package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/storekit"
	bolt "go.etcd.io/bbolt"
)

// Store is an events.Store in one bbolt file. It is safe for concurrent use
// by many goroutines; one process at a time may open the file.
type Store struct {
	db     *bolt.DB
	path   string
	opts   options
	layout layout // how the file's format keeps heads and the tree (format 3 once opened for writing)

	reqs    chan *request // appends waiting for the writer
	queued  atomic.Int64  // appends handed to the writer whose commit has not begun
	last    atomic.Int64  // how many appends the last commit took
	stop    chan struct{} // closed by Close: the writer drains and exits
	stopped chan struct{} // closed when the writer has exited

	// wmu serializes commits; next is the position the next record takes.
	wmu  sync.Mutex
	next events.Position

	// mu guards what readers and subscribers need: the published log size
	// (records below it are committed), the wake-up channel, and closed.
	mu      sync.Mutex
	size    events.Position
	tree    int64 // how many records the stored tree covers (= size once caught up)
	notify  chan struct{}
	waiting bool
	closed  bool

	readOnly bool

	ahead readAhead // reads the file into the page cache for a full read
}

type options struct {
	lockTimeout time.Duration
	noSync      bool
	mmapSize    int
	maxBatch    int
	group       bool
	handOff     bool // every append goes to the writer, even with no group to join (tests)
	readOnly    bool
	freelist    bolt.FreelistType
	now         func() time.Time
	// upgradeBatch is how many records one transaction of an upgrade
	// copies (upgradeBatch; tests set fewer).
	upgradeBatch int
	// stageHook, when set, is called at each stage of creating a new file
	// or upgrading an old one (tests stop a process there, as a crash
	// would, or fail the stage).
	stageHook func(stage string) error
	// commitHook, when set, is called before each commit, s.wmu held:
	// whether the caller commits its own append (direct) and how many
	// appends the commit takes (tests).
	commitHook func(direct bool, appends int)
}

func (o *options) stage(s string) error {
	if o.stageHook != nil {
		return o.stageHook(s)
	}
	return nil
}

// ReadOnly opens an existing ledger file for reading only: the file is
// opened and mapped read-only under a shared lock (other readers may hold
// it too; a writer may not), nothing is ever written, not even a format
// upgrade, and Append fails with ErrReadOnly. An auditor opens a ledger so,
// even a copy on read-only media. A file that does not exist is an error.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// Option configures Open.
type Option func(*options)

// WithLockTimeout bounds how long Open waits for another process to release
// the file (default 1s) before failing with ErrInUse. bbolt tries the lock
// every 50 ms, so a bound of 50 ms or less is a single try.
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithoutGroupCommit gives every append its own transaction and fsync: the
// baseline the group-commit benchmark compares against. With one writer it
// commits as the default does (an append with no group to join is committed
// in its caller's goroutine); with many it is far slower.
func WithoutGroupCommit() Option { return func(o *options) { o.group = false } }

// WithNoSync skips fsync: for tests and throwaway ledgers only. A machine
// crash may lose acknowledged appends.
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// WithClock sets the clock that stamps RecordedAt (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMaxBatch caps how many appends share one transaction (default 4096).
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = max(n, 1) } }

// Open opens or creates the ledger file at path. A new file is created so
// that a crash never leaves one that does not open (see create). A path
// that names a directory, or a file that is not a ledger, is ErrNotLedger.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{lockTimeout: time.Second, mmapSize: 64 << 20, maxBatch: 4096, group: true, now: time.Now, freelist: defaultFreelist(),
		upgradeBatch: upgradeBatch}
	for _, f := range opts {
		f(&o)
	}
	if o.readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("boltstore: open %s read-only: %w", path, err)
		}
	} else if err := create(path, &o); err != nil {
		return nil, err
	}
	db, format, err := openDB(path, &o)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, opts: o, layout: layoutOf(format), reqs: make(chan *request, 1024), readOnly: o.readOnly,
		stop: make(chan struct{}), stopped: make(chan struct{}), notify: make(chan struct{})}
	if err := s.view(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket([]byte(bLog)).Cursor().Last(); k != nil {
			if len(k) != 8 {
				return fmt.Errorf("%w: a log key of %d bytes", ErrCorrupt, len(k))
			}
			// Positions are counted in int64 (the tree, Len): a key at or
			// beyond 2^63 was added to the file, and the next position
			// would wrap (an append overwriting record 0) or Len turn
			// negative.
			if last := binary.BigEndian.Uint64(k); last >= 1<<63-1 {
				return fmt.Errorf("%w: %s: the log's last key is position %d, beyond any log's length: a key was added to the file; check it (CheckFile) and restore it from a backup", ErrCorrupt, path, last)
			}
			s.next = events.Position(binary.BigEndian.Uint64(k) + 1)
			s.size = s.next
		}
		var err error
		s.tree, err = s.layout.treeSize(tx, int64(s.size))
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	if o.readOnly {
		close(s.stopped) // no writer
		return s, nil
	}
	go s.writer()
	return s, nil
}

// Len returns the number of records in the log.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.size)
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

var _ events.Store = (*Store)(nil)

type request struct {
	ctx      context.Context
	stream   string
	expected events.ExpectedRevision
	events   []events.EventData
	res      events.AppendResult
	err      error
	done     chan struct{}
}

// Append implements events.Store. Concurrent appends are committed together
// in one transaction with one fsync (group commit); each caller gets its own
// result, and a refused append never fails the others in its group. An
// append with no group to join (none queued, no commit running, and the
// last commit took one append) is committed at once in the caller's
// goroutine, as its own group of one; appends arriving meanwhile queue for
// the writer goroutine, which commits them together after it. If ctx ends
// while the append waits its turn it is not
// written; if it ends during the commit, Append may return ctx.Err() and the
// append may have been written: retry with the same event IDs, which is
// idempotent.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if err := storekit.ValidateAppend(stream, expected, evs); err != nil {
		return events.AppendResult{}, err
	}
	if s.readOnly {
		if s.isClosed() {
			return events.AppendResult{}, events.ErrClosed
		}
		return events.AppendResult{}, fmt.Errorf("%w: %s; open it without ReadOnly to append", ErrReadOnly, s.path)
	}
	if err := ctx.Err(); err != nil {
		return events.AppendResult{}, err
	}
	req := &request{ctx: ctx, stream: stream, expected: expected, events: evs}
	if !s.opts.group {
		s.wmu.Lock()
		return s.commitHere(req)
	}
	if !s.opts.handOff && s.queued.Load() == 0 && s.last.Load() <= 1 && s.wmu.TryLock() {
		// No group to join: handing the append to the writer would only
		// add two goroutine switches to its commit. (After a commit of
		// many, their writers are coming back: an append of one of them
		// committed alone would only split the next group in two.)
		return s.commitHere(req)
	}
	req.done = make(chan struct{})
	s.queued.Add(1)
	select {
	case s.reqs <- req:
	case <-s.stop:
		s.queued.Add(-1)
		return events.AppendResult{}, events.ErrClosed
	case <-ctx.Done():
		s.queued.Add(-1)
		return events.AppendResult{}, ctx.Err()
	}
	select {
	case <-req.done:
		return req.res, req.err
	case <-s.stopped: // closed: the writer may or may not have taken it
		select {
		case <-req.done:
			return req.res, req.err
		default:
			return events.AppendResult{}, events.ErrClosed
		}
	case <-ctx.Done():
		return events.AppendResult{}, ctx.Err()
	}
}

// commitHere commits one append in the caller's goroutine, as a group of
// its own: an append with no group to join, or every append without group
// commit. The caller holds s.wmu, which commitHere releases; Close waits for
// it, so a store closed meanwhile refuses the append with ErrClosed.
func (s *Store) commitHere(req *request) (events.AppendResult, error) {
	defer s.wmu.Unlock()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)) // as the writer: a fault in the mapped file fails the commit
	if s.isClosed() {
		return events.AppendResult{}, events.ErrClosed
	}
	if s.opts.commitHook != nil {
		s.opts.commitHook(true, 1)
	}
	s.commit([]*request{req})
	return req.res, req.err
}

// writer commits queued appends in groups until Close.
func (s *Store) writer() {
	defer close(s.stopped)
	debug.SetPanicOnFault(true) // a fault in the mapped file fails the commit (recoverCorrupt), not the process
	batch := make([]*request, 0, s.opts.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.stop:
			s.drain()
			return
		}
	fill:
		for len(batch) < s.opts.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.wmu.Lock()
		// The batch is no longer waiting: the lock, held until the commit
		// ends, keeps appends arriving meanwhile queuing for the next group.
		s.queued.Add(-int64(len(batch)))
		if s.opts.commitHook != nil {
			s.opts.commitHook(false, len(batch))
		}
		s.commit(batch)
		s.wmu.Unlock()
		// Wake the appenders once the lock is free: one that appends again
		// at once finds no commit running.
		for _, r := range batch {
			close(r.done)
		}
	}
}

// drain refuses what is still queued at Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			r.err = events.ErrClosed
			close(r.done)
			s.queued.Add(-1)
		default:
			return
		}
	}
}

// commit applies a group of appends in one write transaction, then
// publishes the new size and wakes subscribers; s.wmu is held. Each
// append's result is in its request when it returns.
func (s *Store) commit(batch []*request) {
	s.last.Store(int64(len(batch)))
	start := s.next
	now := s.opts.now()
	err := func() (err error) {
		defer recoverCorrupt(&err)
		return s.db.Update(func(tx *bolt.Tx) error {
			w := newTxWriter(tx)
			for _, r := range batch {
				if err := r.ctx.Err(); err != nil {
					r.err = err
					continue
				}
				r.res, r.err = w.apply(r, &s.next, now)
				if r.err != nil && isStorageError(r.err) {
					return r.err // the transaction cannot go on: fail the group
				}
			}
			return nil
		})
	}()
	if err != nil {
		s.next = start
		for _, r := range batch {
			if r.err == nil || isStorageError(r.err) {
				r.err, r.res = fmt.Errorf("boltstore: commit: %w", err), events.AppendResult{}
			}
		}
	}
	if s.next > start {
		s.mu.Lock()
		s.size = s.next
		s.tree = int64(s.next)
		if s.waiting && !s.closed {
			close(s.notify)
			s.notify = make(chan struct{})
			s.waiting = false
		}
		s.mu.Unlock()
	}
}

// storageError marks a failure of the file, not of the request.
type storageError struct{ err error }

func (e *storageError) Error() string { return e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

func isStorageError(err error) bool {
	var se *storageError
	return errors.As(err, &se)
}

// txWriter writes appends into one write transaction, in format 3.
type txWriter struct {
	log, index, ids *bolt.Bucket
	hashes          []chain.Hash // scratch for a record's stored tree hashes
}

func newTxWriter(tx *bolt.Tx) *txWriter {
	w := &txWriter{log: tx.Bucket([]byte(bLog)), index: tx.Bucket([]byte(bIndex)), ids: tx.Bucket([]byte(bIDs))}
	// The log's keys only ever grow: fill its pages instead of splitting
	// them half-empty.
	w.log.FillPercent = 1.0
	return w
}

// putRecord stores rec at its position: its stored form, then the Merkle
// tree's hashes it adds (its leaf and the roots of the subtrees it
// completes, reading the earlier roots it joins from the records that
// keep them). The value is a new slice: bbolt keeps it until the commit.
func (w *txWriter) putRecord(rec *events.Record) error {
	var err error
	p := int64(rec.Position)
	w.hashes, err = chain.AppendStored(w.hashes[:0], p, chain.LeafHash(rec.Hash), func(i int64) (chain.Hash, error) {
		h, err := storedHash3(w.log, i)
		if err != nil {
			return h, &storageError{err}
		}
		return h, nil
	})
	if err != nil {
		return err
	}
	b := rec.AppendCanonical(make([]byte, 0, 256+len(rec.Data)+len(rec.Stream)+hashSize*(1+len(w.hashes))))
	b = append(b, rec.Hash[:]...)
	for k := range w.hashes {
		b = append(b, w.hashes[k][:]...)
	}
	if err := w.log.Put(posKey(rec.Position), b); err != nil {
		return &storageError{err}
	}
	return nil
}

// record reads the record at pos, for an idempotent append's check,
// before the append writes anything: a damaged one is ErrCorrupt, refusing
// that append alone, not a storageError failing its group.
func (w *txWriter) record(pos events.Position) (events.Record, error) {
	v, ok := layout3{}.record(uint64(pos), w.log.Get(posKey(pos)))
	if !ok {
		return events.Record{}, fmt.Errorf("%w: position %d is indexed but missing", ErrCorrupt, pos)
	}
	var r events.Record
	if err := r.UnmarshalBinary(v); err != nil {
		return events.Record{}, fmt.Errorf("%w: position %d: %v", ErrCorrupt, pos, err)
	}
	r.Position = pos
	return r, nil
}

// apply checks and writes one append, in the order every Store follows:
// idempotency, seal, expected revision.
func (w *txWriter) apply(r *request, next *events.Position, now time.Time) (events.AppendResult, error) {
	h, err := head3(w.index, w.log, r.stream)
	if err != nil {
		return events.AppendResult{}, err
	}
	if res, done, err := w.idempotent(r); done {
		return res, err
	}
	if h.sealed {
		return events.AppendResult{}, &events.StreamSealedError{Stream: r.stream, SealedAt: h.last}
	}
	if err := r.expected.Require(r.stream, h.last, h.exists); err != nil {
		return events.AppendResult{}, err
	}
	rev := uint64(0)
	if h.exists {
		rev = h.last + 1
	}
	prev := h.hash
	var res events.AppendResult
	for i := range r.events {
		e := &r.events[i]
		rec := events.NewRecord(r.stream, rev, now, prev, *e)
		rec.Position = *next
		if err := w.putRecord(&rec); err != nil {
			return events.AppendResult{}, err
		}
		pk := posKey(rec.Position)
		if err := w.index.Put(indexKey(r.stream, rev), pk); err != nil {
			return events.AppendResult{}, &storageError{err}
		}
		if err := w.ids.Put(append([]byte(nil), e.ID[:]...), pk); err != nil {
			return events.AppendResult{}, &storageError{err}
		}
		res = events.AppendResult{Revision: rev, Position: rec.Position, Hash: rec.Hash}
		prev = rec.Hash
		rev++
		*next++
	}
	return res, nil
}

func (w *txWriter) idempotent(r *request) (events.AppendResult, bool, error) {
	first := w.ids.Get(r.events[0].ID[:])
	if first == nil {
		for i := 1; i < len(r.events); i++ {
			if w.ids.Get(r.events[i].ID[:]) != nil {
				return events.AppendResult{}, true, &events.DuplicateEventError{Stream: r.stream, ID: r.events[i].ID, Reason: "the ID was already written"}
			}
		}
		return events.AppendResult{}, false, nil
	}
	rec, err := w.record(events.Position(binary.BigEndian.Uint64(first)))
	if err != nil {
		return events.AppendResult{}, true, err
	}
	if rec.Stream != r.stream {
		return events.AppendResult{}, true, &events.DuplicateEventError{Stream: r.stream, ID: r.events[0].ID, Reason: "the ID was already written to another stream"}
	}
	for i := range r.events {
		if i > 0 {
			pos := w.index.Get(indexKey(r.stream, rec.Revision+1))
			if pos == nil {
				return events.AppendResult{}, true, &events.DuplicateEventError{Stream: r.stream, ID: r.events[i].ID, Reason: "the append repeats earlier events and adds new ones"}
			}
			if rec, err = w.record(events.Position(binary.BigEndian.Uint64(pos))); err != nil {
				return events.AppendResult{}, true, err
			}
		}
		if !rec.SameContent(&r.events[i]) {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: r.stream, ID: r.events[i].ID, Reason: "the ID was already written with other content"}
		}
	}
	return events.AppendResult{Revision: rec.Revision, Position: rec.Position, Hash: rec.Hash}, true, nil
}

// Close stops the writer (queued appends fail with ErrClosed), waits for a
// commit in progress, wakes every subscriber, and closes the file. Close is
// idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	close(s.notify)
	s.mu.Unlock()
	<-s.stopped // closed at once for a read-only store, which has no writer
	s.ahead.wait()
	s.wmu.Lock() // wait for a commit in an appending goroutine (commitHere)
	defer s.wmu.Unlock()
	return s.db.Close()
}
