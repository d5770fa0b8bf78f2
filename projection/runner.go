package projection

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/internal/ordered"
)

// ErrViolation matches every ledger violation the Runner reports.
var ErrViolation = errors.New("projection: ledger violation")

// Violation is a record the Runner refused to apply: a broken hash chain, an
// event after a confirmed election, an event the model cannot take, or an
// undecodable payload.
type Violation struct {
	Stream   string
	Revision uint64
	Position events.Position
	Problem  string
	Err      error
}

// Error implements error.
func (v *Violation) Error() string {
	s := fmt.Sprintf("projection: ledger violation at %s@%d: %s", v.Stream, v.Revision, v.Problem)
	if v.Err != nil {
		s += ": " + v.Err.Error()
	}
	return s
}

// Unwrap matches ErrViolation and the cause.
func (v *Violation) Unwrap() []error {
	if v.Err != nil {
		return []error{ErrViolation, v.Err}
	}
	return []error{ErrViolation}
}

// Checkpoints stores how far a named runner got: the next position to read.
type Checkpoints interface {
	Load(ctx context.Context, name string) (next events.Position, found bool, err error)
	Save(ctx context.Context, name string, next events.Position) error
}

// MemoryCheckpoints keeps checkpoints in memory. It is safe for concurrent
// use.
type MemoryCheckpoints struct {
	mu sync.Mutex
	m  map[string]events.Position
}

// NewMemoryCheckpoints returns an empty checkpoint store.
func NewMemoryCheckpoints() *MemoryCheckpoints {
	return &MemoryCheckpoints{m: map[string]events.Position{}}
}

// Load implements Checkpoints.
func (c *MemoryCheckpoints) Load(_ context.Context, name string) (events.Position, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[name]
	return p, ok, nil
}

// Save implements Checkpoints.
func (c *MemoryCheckpoints) Save(_ context.Context, name string, next events.Position) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[name] = next
	return nil
}

// FileCheckpoints keeps one checkpoint file per runner name in a directory,
// replaced atomically (write, fsync, rename) on each save.
type FileCheckpoints struct{ Dir string }

func (c FileCheckpoints) path(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("projection: checkpoint name %s must be a plain file name (no slash, backslash, . or ..)", events.DescribeInput(name))
	}
	return filepath.Join(c.Dir, name+".checkpoint"), nil
}

// Load implements Checkpoints.
func (c FileCheckpoints) Load(_ context.Context, name string) (events.Position, bool, error) {
	p, err := c.path(name)
	if err != nil {
		return 0, false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("projection: checkpoint %s is damaged: %s is not a position; remove the file to rebuild from the start", p, events.DescribeInput(strings.TrimSpace(string(b))))
	}
	return events.Position(n), true, nil
}

// Save implements Checkpoints.
func (c FileCheckpoints) Save(_ context.Context, name string, next events.Position) error {
	p, err := c.path(name)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(c.Dir, name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := fmt.Fprintf(f, "%d\n", next); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// Progress reports a long rebuild's progress.
type Progress struct {
	Applied  int             // records applied so far
	Position events.Position // the last record's position
	End      events.Position // the log's end when the rebuild began (Rebuild only)
	Elapsed  time.Duration
}

// Report summarizes a rebuild.
type Report struct {
	Applied    int
	Violations []*Violation
	Next       events.Position // where a follower would resume
	Elapsed    time.Duration
	// Size and Root are the Merkle tree over the records read, when the
	// rebuild verified (none when it trusted a checkpoint with a digest;
	// up to a trusted checkpoint without one: see TrustCheckpoint).
	Size int64
	Root chain.Hash
	// Digest is, when the rebuild verified with WithLogSummary, what a
	// checkpoint of the log it read says but its origin: size, digest of
	// the records' hashes and (unless it trusted a checkpoint) the tree's
	// root. Sign it (chain.Sign) to let a later rebuild trust what this
	// one verified.
	Digest chain.Checkpoint
	// Trusted counts the records a trusted checkpoint covered, applied
	// without verifying their chains again.
	Trusted int64
}

// Runner feeds projections from a store: Rebuild replays the whole log;
// Follow catches up from a checkpoint and then follows live appends.
// Unless told otherwise (WithoutChainVerification) it verifies each record
// before applying it: its hash chain, and that its payload belongs to its
// stream (with the ledger key, WithStreamNames: the payload's participant
// and program year derive to the stream's name; without it, the category,
// program and year in the name). A violation is reported and the record is
// not applied. A verifying rebuild also computes the Merkle tree over the
// log and checks it against the store's stored tree and any checkpoint
// given (VerifyCheckpoint, TrustCheckpoint). Projections are always applied
// from one goroutine, in log order; a rebuild verifies, decodes and hashes
// the tree on one goroutine per processor beside it.
type Runner struct {
	store       events.Store
	reg         *events.Registry
	projections []Projection
	name        string
	checkpoints Checkpoints
	every       int
	progress    func(Progress)
	progEvery   int
	onViolation func(*Violation)
	verify      bool
	asOf        time.Time
	durable     bool                // the projections keep their state with the checkpoint
	fed         events.Position     // the models hold every record before it (this process's Rebuild and Follow)
	names       *events.StreamNamer // binds payloads to streams (WithStreamNames)
	checks      []chain.Checkpoint  // the log must match each (VerifyCheckpoint)
	trust       *trust              // a checkpoint whose prefix is not verified again (TrustCheckpoint)
	summarize   bool                // compute the digest of the records' hashes (WithLogSummary)
	tree        treeState           // Rebuild's tree over the log

	chain   chain.StreamVerifier   // Follow's
	chains  []chain.StreamVerifier // Rebuild's, one per worker
	workers int                    // Rebuild's goroutines that verify and decode
	seed    maphash.Seed           // splits streams among chains
}

// warmer is a model that, given a batch of decoded events about to be
// applied, first reads what applying them will touch, so that their cache
// misses overlap instead of coming one event at a time.
type warmer interface{ warm(evs []events.Event) }

// reserver is a model that can size itself for a log's length before a
// rebuild, instead of regrowing as participants arrive.
type reserver interface{ reserve(records int) }

// RunnerOption configures a Runner.
type RunnerOption func(*Runner)

// WithCheckpoints names the runner and stores its checkpoints in c (Follow
// needs them).
func WithCheckpoints(name string, c Checkpoints) RunnerOption {
	return func(r *Runner) { r.name, r.checkpoints = name, c }
}

// WithCheckpointEvery saves the checkpoint every n applied records (default
// 1000) besides on exit.
func WithCheckpointEvery(n int) RunnerOption { return func(r *Runner) { r.every = max(n, 1) } }

// WithProgress calls fn every 100,000 records (see WithProgressEvery) and
// at the end of a rebuild.
func WithProgress(fn func(Progress)) RunnerOption { return func(r *Runner) { r.progress = fn } }

// WithProgressEvery sets how many records pass between progress reports.
func WithProgressEvery(n int) RunnerOption { return func(r *Runner) { r.progEvery = max(n, 1) } }

// WithViolations calls fn for each violation as it is found.
func WithViolations(fn func(*Violation)) RunnerOption { return func(r *Runner) { r.onViolation = fn } }

// WithoutChainVerification skips verification: hash chains, stream
// bindings and the Merkle tree (faster; seals and the ledger's other rules
// are still enforced by the models).
func WithoutChainVerification() RunnerOption { return func(r *Runner) { r.verify = false } }

// AsOf applies only what took effect at or before t: the models then answer
// as the ledger stood at t. A record takes effect at the time its event
// names (an election's RequestedAt, ConfirmedAt or WithdrawnAt, a
// determination's DeterminedAt, a score's ReportedAt, an APM snapshot's
// SnapshotDate, ...), which the Service stamps with its own clock, so an
// election the Service recorded at T shows at every instant from T on,
// whatever clock the store stamps RecordedAt with; an event that names no
// time takes effect when the store recorded it. The models fed are told t
// too, and tell time by it: a deadline before t has passed even when no
// event applied is dated after it (a selection never confirmed has
// expired; a member's opt-in through a virtual group is final).
func AsOf(t time.Time) RunnerOption {
	return func(r *Runner) {
		r.asOf = t
		for _, p := range r.projections {
			if a, ok := p.(asOfAware); ok {
				a.answerAsOf(t)
			}
		}
	}
}

// asOfAware is a projection that answers as of an instant (AsOf): it tells
// time by that instant rather than by the latest event it applied.
type asOfAware interface{ answerAsOf(t time.Time) }

// later reports whether rec (decoded as e) took effect after the AsOf time.
func (r *Runner) later(rec *events.Record, e events.Event) bool {
	if r.asOf.IsZero() {
		return false
	}
	at := eventTime(e)
	if at.IsZero() {
		at = rec.RecordedAt
	}
	return at.After(r.asOf)
}

// NewRunner returns a runner feeding projections from store.
func NewRunner(store events.Store, reg *events.Registry, projections []Projection, opts ...RunnerOption) *Runner {
	r := &Runner{store: store, reg: reg, projections: projections, every: 1000, progEvery: 100_000, verify: true}
	for _, o := range opts {
		o(r)
	}
	return r
}

// apply verifies (unless verified says the chain was checked already),
// decodes and applies one record; a violation is returned (and reported)
// without applying it.
func (r *Runner) apply(rec *events.Record, verified bool) *Violation {
	if r.verify && !verified {
		if err := r.chain.Check(rec); err != nil {
			return r.violation(rec, "hash chain", err)
		}
	}
	e, err := r.reg.Decode(rec)
	if r.later(rec, e) {
		return nil
	}
	if err == nil && r.verify && !verified {
		if err := r.bind(rec, e); err != nil {
			return r.violation(rec, "stream binding", err)
		}
	}
	return r.applyDecoded(rec, e, err)
}

// applyDecoded applies a verified record decoded as e (or failing to
// decode with err).
func (r *Runner) applyDecoded(rec *events.Record, e events.Event, err error) *Violation {
	if err != nil {
		if errors.Is(err, events.ErrUnknownEventType) {
			return nil // a caller's own event type: not ours to project
		}
		return r.violation(rec, "undecodable payload", err)
	}
	for _, p := range r.projections {
		if err := p.Apply(rec, e); err != nil {
			var v *Violation
			if errors.As(err, &v) {
				v.Stream, v.Revision, v.Position = rec.Stream, rec.Revision, rec.Position
				if r.onViolation != nil {
					r.onViolation(v)
				}
				return v
			}
			return r.violation(rec, "projection refused the event", err)
		}
	}
	return nil
}

func (r *Runner) violation(rec *events.Record, problem string, err error) *Violation {
	v := &Violation{Stream: rec.Stream, Revision: rec.Revision, Position: rec.Position, Problem: problem, Err: err}
	if r.onViolation != nil {
		r.onViolation(v)
	}
	return v
}

// Rebuild replays the log from position zero into the projections (which
// should be new) and returns what it applied and every violation.
func (r *Runner) Rebuild(ctx context.Context) (Report, error) {
	start := time.Now()
	var rep Report
	fail := func(err error) (Report, error) {
		rep.Elapsed = time.Since(start)
		return rep, err
	}
	if err := r.startTree(ctx); err != nil {
		return fail(err)
	}
	end := r.logEnd(ctx)
	warmers := r.startRebuild(end)
	ap := batchApplier{r: r, rep: &rep, start: start, end: end, bindFrom: -1}
	if r.trust != nil {
		ap.bindFrom = r.trust.cp.Size
	}
	for b := range r.hashed(ctx) {
		if err := r.joinTree(b); err != nil {
			return fail(err)
		}
		for _, w := range warmers {
			w.warm(b.evs)
		}
		if b.err != nil {
			r.readFailed(b.err, &rep)
			return fail(b.err)
		}
		ap.apply(b)
	}
	if err := r.endTree(ctx, &rep); err != nil {
		return fail(err)
	}
	r.fed = rep.Next
	return r.finish(rep, start, end), nil
}

// startRebuild readies the runner and the projections for a rebuild of a
// log of about end records: the chain verifiers, one per worker (as many
// as there are processors, up to 8; the applier runs beside them), and
// the projections' room; it returns the projections that warm their
// tables ahead of the applier.
func (r *Runner) startRebuild(end events.Position) []warmer {
	r.chains = nil
	n := min(max(runtime.GOMAXPROCS(0), 1), 8)
	r.workers = n
	if r.verify {
		r.chains = make([]chain.StreamVerifier, n)
		for i := range r.chains {
			r.chains[i] = *chain.NewStreamVerifier(r.toVerify(end) / n) // at most one stream per record it verifies
		}
		r.seed = maphash.MakeSeed()
	}
	var warmers []warmer
	for _, p := range r.projections {
		if rs, ok := p.(reserver); ok && end > 0 {
			rs.reserve(int(end))
		}
		if w, ok := p.(warmer); ok {
			warmers = append(warmers, w)
		}
	}
	return warmers
}

// readFailed reports the read error that ended a rebuild as a violation
// when it is a stored record that does not decode.
func (r *Runner) readFailed(err error, rep *Report) {
	var ce *events.ChainError
	if !errors.As(err, &ce) {
		return
	}
	v := &Violation{Stream: ce.Stream, Revision: ce.Revision, Problem: "undecodable record", Err: err}
	rep.Violations = append(rep.Violations, v)
	if r.onViolation != nil {
		r.onViolation(v)
	}
}

// batchApplier applies a rebuild's batches, in log order, on the
// applier's goroutine.
type batchApplier struct {
	r        *Runner
	rep      *Report
	start    time.Time
	end      events.Position
	bindFrom int64 // records before it a trusted checkpoint covers: not bound again
}

// apply applies a batch the workers are done with: each record that
// verified, and a violation for each that did not.
func (a *batchApplier) apply(b *batch) {
	r := a.r
	for i := range b.recs {
		rec := &b.recs[i]
		a.rep.Next = rec.Position + 1
		if r.later(rec, b.evs[i]) {
			continue
		}
		err := b.errs[i]
		if err == nil && r.verify && r.names == nil && b.decErrs[i] == nil && b.start+int64(i) >= a.bindFrom {
			// The keyless check, here: the warming pass has just read the
			// event, where a worker would wait for it.
			err = events.CheckStreamShape(rec, b.evs[i])
		}
		if err != nil {
			problem := "hash chain"
			if errors.Is(err, events.ErrUnbound) {
				problem = "stream binding"
			}
			a.rep.Violations = append(a.rep.Violations, r.violation(rec, problem, err))
			continue
		}
		r.applyCounted(rec, b.evs[i], b.decErrs[i], a.rep, a.start, a.end)
	}
}

// applyCounted applies one verified, decoded record during a rebuild,
// keeping the report and the progress reports.
func (r *Runner) applyCounted(rec *events.Record, e events.Event, decErr error, rep *Report, start time.Time, end events.Position) {
	if v := r.applyDecoded(rec, e, decErr); v != nil {
		rep.Violations = append(rep.Violations, v)
		return
	}
	rep.Applied++
	if r.progress != nil && rep.Applied%r.progEvery == 0 {
		r.progress(Progress{Applied: rep.Applied, Position: rec.Position, End: end, Elapsed: time.Since(start)})
	}
}

// finish stamps the rebuild's elapsed time and sends the last progress report.
func (r *Runner) finish(rep Report, start time.Time, end events.Position) Report {
	rep.Elapsed = time.Since(start)
	if r.progress != nil {
		r.progress(Progress{Applied: rep.Applied, Position: rep.Next, End: end, Elapsed: rep.Elapsed})
	}
	return rep
}

// batch is a run of records read ahead; errs[i] is the chain violation of
// recs[i] (nil when it verified, or when verification is off).
type batch struct {
	recs    []events.Record
	errs    []error
	evs     []events.Event // recs[i] decoded, or
	decErrs []error        // why it could not be
	shard   []uint8        // which worker verifies and decodes recs[i]
	err     error          // the read's own error: the last batch

	start    int64           // the log index of recs[0]
	seq      int             // the batch's number, from 0
	boundary events.Position // the position of the first record a trusted checkpoint does not cover (once known)
	leaves   []chain.Hash    // scratch for the tree worker
	subtrees []subtree       // the tree over recs, in aligned subtrees
	digests  []digestAt      // the digest of the records' hashes at checkpoint sizes within recs
}

// batches is how many read-ahead batches circulate between the reader, the
// verifiers and the applier; they are reused, so a rebuild makes no garbage
// per record.
const (
	batches   = 8
	batchSize = 512
)

// prepare readies a read batch for the workers: errs and evs cleared, and
// each record assigned to a worker. When verifying, the assignment is by a
// hash of the stream, so every record of a stream goes to the same
// verifier, in log order (records a trusted checkpoint covers are not
// verified, and go round the workers).
func (r *Runner) prepare(b *batch) {
	b.errs, b.evs, b.decErrs = b.errs[:0], b.evs[:0], b.decErrs[:0]
	for range b.recs {
		b.errs, b.evs, b.decErrs = append(b.errs, nil), append(b.evs, nil), append(b.decErrs, nil)
	}
	if n := r.workers; n > 1 {
		b.shard = b.shard[:0]
		trusted := int64(-1)
		if r.trust != nil {
			trusted = r.trust.cp.Size
		}
		for i := range b.recs {
			k := i % n
			if r.verify && b.start+int64(i) >= trusted {
				k = int(maphash.String(r.seed, b.recs[i].Stream) % uint64(n))
			}
			b.shard = append(b.shard, uint8(k))
		}
	}
}

// work does worker k's share of a batch: verify the hash chains (of the
// records a trusted checkpoint does not cover), decode the records that
// verified and check that their payloads belong to their streams; and, for
// one worker per batch, hash the batch's part of the tree.
func (r *Runner) work(b *batch, k int) {
	var mine func(int) bool
	if r.workers > 1 {
		mine = func(i int) bool { return int(b.shard[i]) == k }
	}
	check := mine
	if r.verify && r.trust != nil {
		check = r.untrusted(b, k, mine)
	}
	if r.verify {
		r.chains[k].CheckBatch(b.recs, b.errs, check)
	}
	bindFrom := int64(-1) // records before it a trusted checkpoint covers: not bound again
	if r.verify && r.trust != nil {
		bindFrom = r.trust.cp.Size
	}
	keyed := r.names != nil // the keyless check is the applier's (see Rebuild)
	for i := range b.recs {
		if (mine == nil || mine(i)) && b.errs[i] == nil {
			b.evs[i], b.decErrs[i] = r.reg.Decode(&b.recs[i])
			if keyed && r.verify && b.decErrs[i] == nil && b.start+int64(i) >= bindFrom {
				b.errs[i] = r.names.Bind(&b.recs[i], b.evs[i])
			}
		}
	}
	if r.tree.on && b.seq%r.workers == k {
		r.hashTree(b)
	}
}

// hashed reads the log on another goroutine, and verifies the hash chains
// (when verifying) and decodes the records on one goroutine per worker, so
// that reading, verifying, decoding and applying overlap on every core
// (internal/ordered: each batch goes to every worker, which does its
// share, and then, in log order, to the consumer). A batch is reused once
// the consumer is done with it, so a rebuild makes no garbage per record.
func (r *Runner) hashed(ctx context.Context) iter.Seq[*batch] {
	return func(yield func(*batch) bool) {
		// The caller's ctx ends the read, and that error is still
		// delivered; rctx also ends it when the consumer leaves.
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cfg := ordered.Config[batch]{Workers: r.workers, Ahead: batches, Every: true,
			New: func() *batch {
				return &batch{recs: make([]events.Record, 0, batchSize), errs: make([]error, 0, batchSize)}
			},
			Work: r.work,
		}
		produce := func(take ordered.Take[batch], send ordered.Send[batch]) {
			lr := &logReader{r: r, take: take, send: send, boundary: math.MaxUint64}
			lr.read(rctx)
		}
		for b := range ordered.Run(cfg, produce) {
			if !yield(b) {
				cancel()
				return
			}
		}
	}
}

// logReader fills batches from the log, in order, and hands each on with
// where it sits in the log.
type logReader struct {
	r        *Runner
	take     ordered.Take[batch]
	send     ordered.Send[batch]
	b        *batch          // the batch being filled
	index    int64           // the log index of the next record read
	seq      int             // the next batch's number
	boundary events.Position // the first position a trusted checkpoint does not cover, once read
}

// read reads the whole log, straight into the batches when the store is a
// BatchReader (one copy per record), else through ReadAll. A read error
// ends the log: it goes in the last batch.
func (lr *logReader) read(ctx context.Context) {
	if !lr.next() {
		return
	}
	if br, ok := lr.r.store.(events.BatchReader); ok {
		var pos events.Position
		for {
			var err error
			lr.b.recs, pos, err = br.ReadBatch(ctx, lr.b.recs, pos)
			switch {
			case err != nil:
				lr.b.err = err
				lr.flush()
				return
			case len(lr.b.recs) == 0:
				return
			}
			if !lr.flush() || !lr.next() {
				return
			}
		}
	}
	for rec, err := range lr.r.store.ReadAll(ctx, 0) {
		if err != nil {
			lr.b.err = err
			lr.flush()
			return
		}
		lr.b.recs = append(lr.b.recs, rec)
		if len(lr.b.recs) == batchSize && (!lr.flush() || !lr.next()) {
			return
		}
	}
	if len(lr.b.recs) > 0 {
		lr.flush()
	}
}

// next takes a free batch to fill; false once the consumer has left.
func (lr *logReader) next() bool {
	b, ok := lr.take()
	if !ok {
		return false
	}
	b.recs, b.errs, b.err = b.recs[:0], b.errs[:0], nil
	lr.b = b
	return true
}

// flush numbers the filled batch, readies it for the workers and sends
// it; false once the consumer has left.
func (lr *logReader) flush() bool {
	b, r := lr.b, lr.r
	b.start, b.seq = lr.index, lr.seq
	if r.trust != nil && lr.boundary == math.MaxUint64 && lr.index+int64(len(b.recs)) > r.trust.cp.Size {
		lr.boundary = b.recs[r.trust.cp.Size-lr.index].Position
	}
	b.boundary = lr.boundary
	lr.index += int64(len(b.recs))
	lr.seq++
	r.digest(b)
	r.prepare(b)
	return lr.send(b)
}

// logEnd finds the last position (for progress reports).
func (r *Runner) logEnd(ctx context.Context) events.Position {
	type lener interface{ Len() int }
	if l, ok := r.store.(lener); ok {
		return events.Position(l.Len())
	}
	return 0
}

// WithDurableModels says the projections keep their own state, saved in
// step with the runner's checkpoint (a database table written in the same
// transaction as the checkpoint, say): Follow then resumes at the
// checkpoint without replaying what came before it. Without it the models
// are taken to live in this process, and Follow first replays into them
// every record before the checkpoint that this runner has not fed them, so
// fresh in-memory models resume complete, never silently empty.
func WithDurableModels() RunnerOption { return func(r *Runner) { r.durable = true } }

// ErrCheckpoint is the rule a saved checkpoint breaks when Follow cannot
// resume from it (CheckpointError says how).
var ErrCheckpoint = errors.New("projection: the saved checkpoint names no place in the log")

// CheckpointError is a saved checkpoint Follow cannot resume from: past the
// end of the log (a checkpoint of another ledger, or of records since
// deleted), or not just after a record.
type CheckpointError struct {
	Name       string          // the runner's name (WithCheckpoints)
	Checkpoint events.Position // the position saved
	Problem    string          // what is wrong, and what would fix it
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("projection: checkpoint %q at position %d: %s", e.Name, e.Checkpoint, e.Problem)
}

// Unwrap returns ErrCheckpoint.
func (e *CheckpointError) Unwrap() error { return ErrCheckpoint }

// checkCheckpoint checks that a saved checkpoint is zero or just after a
// record of the log: a follower resuming past the end would wait forever
// for records it already claims to have, and skip the ones that come.
func (r *Runner) checkCheckpoint(ctx context.Context, next events.Position) error {
	if next == 0 {
		return nil
	}
	bad := func(problem string) error {
		return &CheckpointError{Name: r.name, Checkpoint: next, Problem: problem}
	}
	for rec, err := range r.store.ReadAll(ctx, next-1) {
		if err != nil {
			return fmt.Errorf("projection: checking checkpoint %q at position %d: %w", r.name, next, err)
		}
		if rec.Position != next-1 {
			return bad(fmt.Sprintf("no record ends just before it (the next is at %d); delete the checkpoint to rebuild from the start", rec.Position))
		}
		return nil
	}
	return bad("the log ends before it: it was saved for another ledger, or records it covered are gone; verify the ledger, or delete the checkpoint to rebuild from the start")
}

// Follow resumes from the saved checkpoint (or zero), catches up, then
// applies new records as they are appended, until ctx ends. It saves the
// checkpoint every N records (WithCheckpointEvery) and on return, so a
// restart resumes exactly after the last applied record: none twice, none
// skipped. A checkpoint past the end of the log, or not just after a
// record, is refused with a CheckpointError. Models that live in this
// process are first brought up to the checkpoint (see WithDurableModels).
// (A process that dies without returning resumes from the last periodic
// save.) It returns ctx's error when stopped.
func (r *Runner) Follow(ctx context.Context) error {
	if r.checkpoints == nil || r.name == "" {
		return errors.New("projection: Follow needs WithCheckpoints")
	}
	next, _, err := r.checkpoints.Load(ctx, r.name)
	if err != nil {
		return err
	}
	if err := r.checkCheckpoint(ctx, next); err != nil {
		return err
	}
	if next, err = r.catchUpTo(ctx, next); err != nil {
		return err
	}
	saved := next
	save := func() error {
		if next == saved {
			return nil
		}
		// Save even when ctx is done: the checkpoint must name what was applied.
		if err := r.checkpoints.Save(context.WithoutCancel(ctx), r.name, next); err != nil {
			return err
		}
		saved = next
		return nil
	}
	applied := 0
	for rec, err := range r.store.Subscribe(ctx, next, events.Filter{}) {
		if err != nil {
			if serr := save(); serr != nil {
				return errors.Join(err, serr)
			}
			return err
		}
		r.apply(&rec, false) // violations are reported through WithViolations
		next = rec.Position + 1
		r.fed = next
		applied++
		if applied%r.every == 0 {
			if err := save(); err != nil {
				return err
			}
		}
		if r.progress != nil && applied%r.progEvery == 0 {
			r.progress(Progress{Applied: applied, Position: rec.Position})
		}
	}
	return save()
}

// catchUpTo reads the log before a follower resumes at checkpoint: it
// rebuilds the chain tips (so verification continues where it left off)
// and, unless the models are durable, feeds them the records they lack. It
// returns where to resume: the checkpoint, or further if this runner's
// models already hold more (a Rebuild that ran past it).
func (r *Runner) catchUpTo(ctx context.Context, checkpoint events.Position) (events.Position, error) {
	r.chain = chain.StreamVerifier{}
	resume := checkpoint
	if !r.durable {
		resume = max(checkpoint, r.fed)
	}
	feed := !r.durable && r.fed < checkpoint
	if resume == 0 || (!r.verify && !feed) {
		return resume, nil
	}
	from := events.Position(0)
	if !r.verify {
		from = r.fed
	}
	for rec, err := range r.store.ReadAll(ctx, from) {
		if err != nil {
			return 0, err
		}
		if rec.Position >= resume {
			break
		}
		if feed && rec.Position >= r.fed && rec.Position < checkpoint {
			r.apply(&rec, false) // violations are reported through WithViolations
			continue
		}
		if r.verify {
			_ = r.chain.Check(&rec)
		}
	}
	r.fed = max(r.fed, resume)
	return resume, nil
}
