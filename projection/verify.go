package projection

import (
	"context"
	"fmt"
	"sort"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// WithStreamNames gives the runner the ledger's stream namer (its key), so
// that verification binds each payload to its stream: an event whose
// participant and program year do not derive to the name of the stream it
// sits in is a violation, never applied. Without it, the runner checks only
// what needs no key (the category, program and year in the name), which
// cannot tell one participant's stream from another's.
func WithStreamNames(names *events.StreamNamer) RunnerOption {
	return func(r *Runner) { r.names = names }
}

// WithLogSummary has a verifying rebuild also compute the digest of the
// records' hashes (about 50 ns a record, on the reader's goroutine), so
// that Report.Digest is the whole summary of the log it verified: sign it
// (chain.Sign) and a later rebuild can trust what this one verified
// (TrustCheckpoint) at little cost.
func WithLogSummary() RunnerOption { return func(r *Runner) { r.summarize = true } }

// VerifyCheckpoint has a verifying rebuild check the log against a
// checkpoint the caller trusts (opened with chain.Open, so its signature
// verified): the tree over the log's first c.Size records must have its
// root. Otherwise Rebuild stops with an error matching
// chain.ErrInconsistent (history was rewritten, reordered or removed) or
// chain.ErrTruncated (the log is shorter than the checkpoint).
func VerifyCheckpoint(c chain.Checkpoint) RunnerOption {
	return func(r *Runner) { r.checks = append(r.checks, c) }
}

// TrustCheckpoint lets a rebuild skip re-verifying what was verified
// before: given a signed checkpoint that keys verify, of a log whose
// records up to it were verified once (by a full rebuild or an audit), the
// rebuild checks only that the log still holds exactly those records (the
// tree over them must have the checkpoint's root; a store that keeps its
// tree is checked before anything is applied) and verifies hash chains and
// stream bindings only after them. This is what keeps a verified rebuild
// of a long log cheap.
//
// What it trusts: that each record before the checkpoint still has the
// content it had when verified, given that its hash is the one the
// checkpoint's tree holds. A record whose content was changed but whose
// stored hash was kept would pass; a full verification (Rebuild without
// this option, or chain.Verify) recomputes every hash. If the tree does
// not match, Rebuild returns an error matching chain.ErrInconsistent (or
// ErrTruncated); the models may then hold records from before the
// mismatch was found and must be discarded. A note that does not verify is
// chain.ErrSignature, before anything is read.
func TrustCheckpoint(signed []byte, keys ...note.Verifier) RunnerOption {
	return func(r *Runner) { r.trust = &trust{signed: signed, keys: keys} }
}

// toVerify returns how many of a log's first end records a rebuild
// verifies the chains of: those after a trusted checkpoint. The verifiers
// are sized by it: a table sized for the whole log would be touched, a page
// fault at a time, by the few streams that go past the checkpoint.
func (r *Runner) toVerify(end events.Position) int {
	if r.trust != nil {
		return max(int(end)-int(r.trust.cp.Size), 0)
	}
	return int(end)
}

// trust is a checkpoint a rebuild trusts.
type trust struct {
	signed []byte
	keys   []note.Verifier
	cp     chain.Checkpoint
}

// bind checks that a record's decoded payload belongs to its stream.
func (r *Runner) bind(rec *events.Record, e events.Event) error {
	if r.names != nil {
		return r.names.Bind(rec, e)
	}
	return events.CheckStreamShape(rec, e)
}

// subtree is a perfect subtree of the log's tree, hashed by a worker.
type subtree struct {
	start int64
	level int
	root  chain.Hash
}

// treeState is a rebuild's tree and digest of the records' hashes: the
// range joined so far, and the sizes at which each is compared with a
// checkpoint.
type treeState struct {
	on     bool
	rng    chain.Range
	end    int64              // records past end are not hashed into the tree (-1: none are past it)
	cuts   []int64            // sizes where a subtree must end (checkpoint sizes)
	check  []chain.Checkpoint // roots to compare, by size, ascending
	dcheck []chain.Checkpoint // digests to compare, by size, ascending
	dig    chain.Digester     // the reader's: every record's hash, in log order
	digest bool               // whether the reader computes dig
	read   int64              // records the applier has had
}

// digestAt is the digest of the records' hashes at a checkpoint's size,
// taken by the reader as it passes.
type digestAt struct {
	size int64
	sum  chain.Hash
}

// startTree opens a trusted checkpoint and checks it against a store that
// keeps its tree, and readies the rebuild's tree and digest. A checkpoint
// to verify against is compared by its root (and its digest, when it has
// one); a trusted checkpoint by its digest when it has one (the records it
// covers are then not hashed into the tree at all), else by its root.
func (r *Runner) startTree(ctx context.Context) error {
	r.tree = treeState{on: r.verify, end: -1}
	if !r.verify {
		return nil
	}
	t := &r.tree
	t.check = append(t.check, r.checks...)
	for _, c := range r.checks {
		if c.HasDigest {
			t.dcheck = append(t.dcheck, c)
		}
	}
	if r.trust != nil {
		c, err := chain.Open(r.trust.signed, r.trust.keys...)
		if err != nil {
			return fmt.Errorf("projection: trusted checkpoint: %w", err)
		}
		r.trust.cp = c
		t.end = 0
		if c.HasDigest {
			t.dcheck = append(t.dcheck, c)
		} else {
			t.check = append(t.check, c)
		}
		if l, ok := r.store.(interface{ Len() int }); ok && int64(l.Len()) < c.Size {
			return fmt.Errorf("projection: the log holds %d records, the trusted checkpoint %v covers %d: %w", l.Len(), c, c.Size, chain.ErrTruncated)
		}
		// A store that keeps its tree answers at once whether it still
		// holds what the checkpoint covers.
		if err := storedTreeHolds(ctx, r.store, c); err != nil {
			return err
		}
	}
	t.digest = r.summarize || len(t.dcheck) > 0
	bySize := func(cs []chain.Checkpoint) {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Size < cs[j].Size })
	}
	bySize(t.check)
	bySize(t.dcheck)
	for len(t.check) > 0 && t.check[0].Size == 0 { // the empty log: nothing to reach
		var empty chain.Range
		if err := compareRoot(empty.Root(), t.check[0]); err != nil {
			return err
		}
		t.check = t.check[1:]
	}
	for len(t.dcheck) > 0 && t.dcheck[0].Size == 0 {
		var empty chain.Digester
		if err := compareDigest(empty.Sum(), t.dcheck[0]); err != nil {
			return err
		}
		t.dcheck = t.dcheck[1:]
	}
	for _, c := range t.check {
		t.cuts = append(t.cuts, c.Size)
		if t.end >= 0 {
			t.end = max(t.end, c.Size) // hash as far as the last root to compare
		}
	}
	return nil
}

// digest adds a batch's records to the digest of the records' hashes, in
// the reader's goroutine, noting it at every size a checkpoint's digest is
// compared at.
func (r *Runner) digest(b *batch) {
	b.digests = b.digests[:0]
	t := &r.tree
	if !t.on || !t.digest {
		return
	}
	next := 0 // the next digest to compare, among those not yet passed
	for next < len(t.dcheck) && t.dcheck[next].Size <= t.dig.Size() {
		next++
	}
	for i := range b.recs {
		t.dig.Add(b.recs[i].Hash)
		for next < len(t.dcheck) && t.dcheck[next].Size == t.dig.Size() {
			b.digests = append(b.digests, digestAt{t.dig.Size(), t.dig.Sum()})
			next++
		}
	}
}

// compareDigest compares the digest of the records' hashes at a
// checkpoint's size with it.
func compareDigest(sum chain.Hash, c chain.Checkpoint) error {
	if sum != c.Digest {
		return fmt.Errorf("projection: the hashes of the log's first %d records are not those checkpoint %v covered (a record deleted, rewritten, reordered or inserted): %w", c.Size, c, chain.ErrInconsistent)
	}
	return nil
}

// storedTreeHolds checks, before a rebuild applies anything, that a store
// keeping its tree that far holds the trusted checkpoint's tree; a tree not
// stored that far (an older file opened read-only) is checked while the
// records are read instead.
func storedTreeHolds(ctx context.Context, s events.Store, c chain.Checkpoint) error {
	ts, ok := s.(chain.TreeStore)
	if !ok {
		return nil
	}
	size, err := ts.TreeSize(ctx)
	if err != nil || size < c.Size {
		return err
	}
	root, err := tlog.TreeHash(c.Size, chain.StoredReader(ctx, ts))
	if err != nil {
		return err
	}
	if root != c.Root {
		return fmt.Errorf("projection: the store's tree at %d records is not the trusted checkpoint's (%v): %w", c.Size, c, chain.ErrInconsistent)
	}
	return nil
}

// untrusted returns which of worker k's records of b a trusted checkpoint
// does not cover, after taking as trusted the last covered record of each
// stream that goes on past the checkpoint (read from the store the first
// time one of the stream's later records comes).
func (r *Runner) untrusted(b *batch, k int, mine func(int) bool) func(int) bool {
	n := r.trust.cp.Size
	check := func(i int) bool { return b.start+int64(i) >= n && (mine == nil || mine(i)) }
	if b.start+int64(len(b.recs)) <= n {
		return check
	}
	c := &r.chains[k]
	for i := range b.recs {
		rec := &b.recs[i]
		if !check(i) || rec.Revision == 0 {
			continue
		}
		if _, known := c.Next(rec.Stream); known {
			continue
		}
		// The stream began before the checkpoint: its previous record is
		// trusted (if it is not there, the check below reports the gap).
		for prev, err := range r.store.ReadStream(context.Background(), rec.Stream, rec.Revision-1) {
			if err == nil && prev.Revision == rec.Revision-1 && prev.Position < b.boundary {
				c.Resume(&prev)
			}
			break
		}
	}
	return check
}

// hashTree hashes a batch's records into the aligned subtrees the tree
// takes, cut at every checkpoint size and where hashing ends.
func (r *Runner) hashTree(b *batch) {
	b.subtrees = b.subtrees[:0]
	n := int64(len(b.recs))
	if r.tree.end >= 0 {
		n = min(n, max(r.tree.end-b.start, 0))
	}
	b.leaves = b.leaves[:0]
	for i := range n {
		b.leaves = append(b.leaves, chain.LeafHash(b.recs[i].Hash))
	}
	emit := func(start int64, level int, root chain.Hash) {
		b.subtrees = append(b.subtrees, subtree{start, level, root})
	}
	from := int64(0)
	for _, cut := range r.tree.cuts {
		if at := cut - b.start; at > from && at < n {
			chain.Subtrees(b.start+from, b.leaves[from:at], emit)
			from = at
		}
	}
	chain.Subtrees(b.start+from, b.leaves[from:n], emit)
}

// joinTree adds a batch's subtrees to the rebuild's tree, in log order,
// and compares the tree with each checkpoint when it reaches its size.
func (r *Runner) joinTree(b *batch) error {
	if !r.tree.on {
		return nil
	}
	t := &r.tree
	t.read = b.start + int64(len(b.recs))
	for _, d := range b.digests {
		for len(t.dcheck) > 0 && t.dcheck[0].Size == d.size {
			if err := compareDigest(d.sum, t.dcheck[0]); err != nil {
				return err
			}
			t.dcheck = t.dcheck[1:]
		}
	}
	for _, st := range b.subtrees {
		if err := t.rng.AppendSubtree(st.start, st.level, st.root); err != nil {
			return err
		}
		for len(t.check) > 0 && t.check[0].Size == t.rng.Size() {
			if err := compareRoot(t.rng.Root(), t.check[0]); err != nil {
				return err
			}
			t.check = t.check[1:]
		}
	}
	return nil
}

// compareRoot compares the tree's root at a checkpoint's size with it.
func compareRoot(root chain.Hash, c chain.Checkpoint) error {
	if root != c.Root {
		return fmt.Errorf("projection: the log's first %d records no longer produce the root of checkpoint %v (a record deleted, rewritten, reordered or inserted): %w", c.Size, c, chain.ErrInconsistent)
	}
	return nil
}

// endTree checks what is left once the log is read: checkpoints larger
// than the log (which was cut short), the empty checkpoint, and the
// store's stored tree against the tree of its records.
func (r *Runner) endTree(ctx context.Context, rep *Report) error {
	t := &r.tree
	if !t.on {
		return nil
	}
	rep.Size, rep.Root = t.rng.Size(), t.rng.Root()
	if r.summarize {
		rep.Digest = chain.Checkpoint{Size: t.dig.Size(), Digest: t.dig.Sum(), HasDigest: true}
		if t.end < 0 {
			rep.Digest.Root = rep.Root
		}
	}
	if r.trust != nil {
		rep.Trusted = min(r.trust.cp.Size, t.read)
	}
	for _, c := range [][]chain.Checkpoint{t.check, t.dcheck} {
		if len(c) > 0 { // a checkpoint the log never reached
			return fmt.Errorf("projection: the log holds fewer records than checkpoint %v covered: %w", c[0], chain.ErrTruncated)
		}
	}
	ts, ok := r.store.(chain.TreeStore)
	if !ok || t.end >= 0 {
		return nil
	}
	size, err := ts.TreeSize(ctx)
	if err != nil || size < rep.Size {
		return err // a store still catching up its tree: nothing to compare yet
	}
	stored, err := tlog.TreeHash(rep.Size, chain.StoredReader(ctx, ts))
	if err != nil {
		return err
	}
	if stored != rep.Root {
		return fmt.Errorf("projection: the store's stored tree disagrees with its %d records: %w", rep.Size, chain.ErrInconsistent)
	}
	return nil
}
