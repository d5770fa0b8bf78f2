package chain

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math/bits"

	"github.com/electionledger/ledger/events"
	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a node of the Merkle tree: a leaf, an interior node or a root.
type Hash = tlog.Hash

// LeafHash returns the tree's leaf for a record whose hash-chain link is h:
// RFC 6962's leaf hash, SHA-256 over a zero byte and h, exactly
// tlog.RecordHash(h[:]). The record's hash covers everything the record
// holds (see events.Record.AppendCanonical), so the leaf commits to the
// record's content and the tree to the order of every record in the log.
// (tlog.RecordHash allocates its hash state on every call; a rebuild
// hashes millions of leaves, so the input is assembled on the stack, as
// tlog.NodeHash does.)
func LeafHash(h events.Hash) Hash {
	var buf [1 + len(h)]byte // 0x00 || h
	copy(buf[1:], h[:])
	return sha256.Sum256(buf[:])
}

// emptyRoot is the root of the tree of no records (RFC 6962: SHA-256 of
// nothing).
func emptyRoot() Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// Range is the compact form of the tree over the records [0, n): the roots
// of the perfect subtrees that cover it, largest first (one for each bit
// set in n). It takes records one at a time (Append) or whole aligned
// subtrees computed elsewhere (AppendSubtree), and gives the root of the
// tree so far without storing it. The zero Range is the empty tree.
//
// The hashing is tlog's (RFC 6962); Range only keeps the frontier. It
// exists because tlog's own incremental functions allocate on every
// record, which the stores' appends and a rebuild cannot afford (see
// BenchmarkStoredHashes in this package's tests).
type Range struct {
	n     int64
	roots []Hash // roots[i] covers 2^level(i) records; levels strictly decrease
}

// Size returns how many records the range covers.
func (r *Range) Size() int64 { return r.n }

// Append adds the next record's leaf.
func (r *Range) Append(leaf Hash) {
	h := leaf
	for m := r.n; m&1 == 1; m >>= 1 {
		last := len(r.roots) - 1
		h = tlog.NodeHash(r.roots[last], h)
		r.roots = r.roots[:last]
	}
	r.roots = append(r.roots, h)
	r.n++
}

// AppendLeaf adds the next record's leaf, as Append does, and appends to
// dst the hashes a store keeps for that record: the leaf, then the root of
// each subtree it completes (AppendStored's hashes, taken from the
// frontier instead of read back from the stored ones). A store that keeps
// a Range beside its stored hashes grows its tree with no reads and no
// index arithmetic.
func (r *Range) AppendLeaf(dst []Hash, leaf Hash) []Hash {
	dst = append(dst, leaf)
	h := leaf
	for m := r.n; m&1 == 1; m >>= 1 {
		last := len(r.roots) - 1
		h = tlog.NodeHash(r.roots[last], h)
		r.roots = r.roots[:last]
		dst = append(dst, h)
	}
	r.roots = append(r.roots, h)
	r.n++
	return dst
}

// ErrUnaligned is returned by AppendSubtree for a subtree that does not
// start where the range ends or is not aligned to its size.
var ErrUnaligned = errors.New("chain: subtree not aligned with the range")

// AppendSubtree adds the perfect subtree of 2^level records that starts
// where the range ends, given its root. The range's size must be a
// multiple of 2^level.
func (r *Range) AppendSubtree(start int64, level int, root Hash) error {
	if level < 0 || level > 62 || start != r.n || start&(1<<level-1) != 0 {
		return fmt.Errorf("%w: a subtree of 2^%d records at %d after %d records", ErrUnaligned, level, start, r.n)
	}
	h := root
	for m := r.n >> level; m&1 == 1; m >>= 1 {
		last := len(r.roots) - 1
		h = tlog.NodeHash(r.roots[last], h)
		r.roots = r.roots[:last]
	}
	r.roots = append(r.roots, h)
	r.n += 1 << level
	return nil
}

// Root returns the root of the tree over the records so far (the RFC 6962
// tree hash).
func (r *Range) Root() Hash {
	if r.n == 0 {
		return emptyRoot()
	}
	h := r.roots[len(r.roots)-1]
	for i := len(r.roots) - 2; i >= 0; i-- {
		h = tlog.NodeHash(r.roots[i], h)
	}
	return h
}

// Subtrees splits the records [start, start+len(leaves)) into the perfect
// subtrees, aligned to their sizes, that a Range starting at start takes in
// order, and calls fn with each one's level and root. Each subtree is
// hashed bottom-up in place: leaves is overwritten. Workers hash the
// subtrees of separate batches at once; one Range then joins them.
func Subtrees(start int64, leaves []Hash, fn func(start int64, level int, root Hash)) {
	for len(leaves) > 0 {
		// The largest subtree aligned at start that fits.
		level := bits.Len64(uint64(len(leaves))) - 1
		if start != 0 {
			level = min(level, bits.TrailingZeros64(uint64(start)))
		}
		size := 1 << level
		fn(start, level, subtreeRoot(leaves[:size]))
		leaves, start = leaves[size:], start+int64(size)
	}
}

// subtreeRoot hashes a power-of-two run of leaves to its root, in place.
func subtreeRoot(hs []Hash) Hash {
	for n := len(hs); n > 1; n /= 2 {
		for i := 0; i < n/2; i++ {
			hs[i] = tlog.NodeHash(hs[2*i], hs[2*i+1])
		}
	}
	return hs[0]
}

// AppendStored appends to dst the hashes a store keeps for record n, whose
// leaf is leaf: the leaf, then the root of each subtree the record
// completes. They go at tlog.StoredHashIndex(0, n) onwards, the layout tlog
// reads proofs from; read returns an earlier stored hash by its index. It
// is tlog.StoredHashesForRecordHash without its allocations.
func AppendStored(dst []Hash, n int64, leaf Hash, read func(index int64) (Hash, error)) ([]Hash, error) {
	dst = append(dst, leaf)
	h := leaf
	for level := 0; (n>>level)&1 == 1; level++ {
		left, err := read(tlog.StoredHashIndex(level, n>>level-1))
		if err != nil {
			return dst, err
		}
		h = tlog.NodeHash(left, h)
		dst = append(dst, h)
	}
	return dst, nil
}

// Digester computes a checkpoint's Digest: SHA-256 over the hashes of
// records, appended in log order, about half a SHA-256 block a record. The
// zero Digester is ready; it is not safe for concurrent use, nor to be
// copied once used.
type Digester struct {
	h       hash.Hash
	n       int64
	pending []byte // hashes added but not yet written to h
}

// digestBuffer is how many bytes of hashes a Digester gathers before
// writing them to its hash state: one call through the hash.Hash interface
// per 128 records instead of one per record, and no copy of each record's
// hash escaping to the heap (a rebuild trusting a checkpoint adds millions).
const digestBuffer = 4096

// Add appends the next record's hash.
func (d *Digester) Add(h events.Hash) {
	if d.pending == nil {
		d.pending = make([]byte, 0, digestBuffer)
	}
	d.pending = append(d.pending, h[:]...)
	if len(d.pending) == cap(d.pending) {
		d.flush()
	}
	d.n++
}

// flush writes the pending hashes to the hash state.
func (d *Digester) flush() {
	if d.h == nil {
		d.h = sha256.New()
	}
	d.h.Write(d.pending)
	d.pending = d.pending[:0]
}

// Size returns how many records were added.
func (d *Digester) Size() int64 { return d.n }

// Sum returns the digest of the records added so far (more may follow).
func (d *Digester) Sum() Hash {
	d.flush()
	var out Hash
	d.h.Sum(out[:0])
	return out
}

// A TreeStore is a Store that keeps the Merkle tree over its log beside the
// log (memstore and boltstore do), so that checkpoints and proofs need no
// pass over the log. Its positions are its log indexes: the record at
// position p is leaf p. Any other Store's tree is computed from ReadAll by
// Build.
type TreeStore interface {
	events.Store
	// TreeSize returns how many records, from the first, the stored tree
	// covers: the log's length, or less while a store catches up.
	TreeSize(ctx context.Context) (int64, error)
	// ReadTreeHashes returns the stored hashes at the given indexes
	// (tlog.StoredHashIndex's layout), each below
	// tlog.StoredHashCount(TreeSize()).
	ReadTreeHashes(ctx context.Context, indexes []int64) ([]Hash, error)
}

// Tree is a whole tree held in memory: every stored hash, in tlog's layout
// (about two per record). It answers roots, inclusion proofs and
// consistency proofs for any size up to its own. It is what Build returns
// for a store that keeps no tree, and what verification compares a
// TreeStore's stored hashes against. It is not safe for concurrent use.
type Tree struct {
	n      int64
	hashes []Hash
}

// Size returns how many records the tree covers.
func (t *Tree) Size() int64 { return t.n }

// Append adds the next record's leaf.
func (t *Tree) Append(leaf Hash) {
	t.hashes, _ = AppendStored(t.hashes, t.n, leaf, func(i int64) (Hash, error) { return t.hashes[i], nil })
	t.n++
}

// ReadHashes implements tlog.HashReader.
func (t *Tree) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("chain: stored hash %d of a tree of %d records", x, t.n)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// Stored returns the stored hash at index i and whether the tree has it.
func (t *Tree) Stored(i int64) (Hash, bool) {
	if i < 0 || i >= int64(len(t.hashes)) {
		return Hash{}, false
	}
	return t.hashes[i], true
}

// StoredCount returns how many stored hashes the tree holds.
func (t *Tree) StoredCount() int64 { return int64(len(t.hashes)) }

// Root returns the root of the tree over its first n records.
func (t *Tree) Root(n int64) (Hash, error) {
	if n < 0 || n > t.n {
		return Hash{}, &SizeError{Want: n, Have: t.n}
	}
	return tlog.TreeHash(n, t)
}

// SizeError is a tree asked about more records than it covers.
type SizeError struct {
	Want, Have int64
}

// Error implements error.
func (e *SizeError) Error() string {
	return fmt.Sprintf("chain: a tree of %d records asked about %d; the log is shorter than that (truncated?)", e.Have, e.Want)
}

// Is matches ErrTruncated.
func (e *SizeError) Is(target error) bool { return target == ErrTruncated }

// ErrTruncated matches a log, or a stored tree, shorter than a checkpoint or
// a proof needs.
var ErrTruncated = errors.New("chain: log shorter than the checkpoint")

// Build computes the tree over a store's whole log, in ReadAll order, from
// the records' hashes as stored. It does not check that each record's
// content still produces its hash: Verify does. progress, when not nil, is
// called with the number of records read every 100,000 records.
func Build(ctx context.Context, s events.Store, progress func(records int64)) (*Tree, error) {
	t := &Tree{}
	for rec, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			return nil, err
		}
		t.Append(LeafHash(rec.Hash))
		if progress != nil && t.n%100_000 == 0 {
			progress(t.n)
		}
	}
	return t, nil
}

// StoredReader reads a TreeStore's stored hashes as a tlog.HashReader.
func StoredReader(ctx context.Context, s TreeStore) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]Hash, error) { return s.ReadTreeHashes(ctx, indexes) })
}

// TreeOf returns a reader of the tree over s's first n records: the store's
// own stored tree when it keeps one that covers them, otherwise one built
// from ReadAll.
func TreeOf(ctx context.Context, s events.Store, n int64) (tlog.HashReader, error) {
	if ts, ok := s.(TreeStore); ok {
		size, err := ts.TreeSize(ctx)
		if err != nil {
			return nil, err
		}
		if size >= n {
			return StoredReader(ctx, ts), nil
		}
	}
	t, err := Build(ctx, s, nil)
	if err != nil {
		return nil, err
	}
	if t.Size() < n {
		return nil, &SizeError{Want: n, Have: t.Size()}
	}
	return t, nil
}

// Summarize reads a store's whole log and returns what a checkpoint of it
// says, but its origin: the size, the tree's root (the stored tree's when
// it covers the log, else one built from the records) and the Digest of
// the records' hashes. It is what to sign after verifying a log, so that a
// later rebuild can trust the checkpoint cheaply.
func Summarize(ctx context.Context, s events.Store) (Checkpoint, error) {
	var d Digester
	var t *Tree
	ts, stored := s.(TreeStore)
	if !stored {
		t = &Tree{}
	}
	for rec, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			return Checkpoint{}, err
		}
		d.Add(rec.Hash)
		if t != nil {
			t.Append(LeafHash(rec.Hash))
		}
	}
	c := Checkpoint{Size: d.Size(), Digest: d.Sum(), HasDigest: true}
	if stored {
		size, err := ts.TreeSize(ctx)
		if err != nil {
			return Checkpoint{}, err
		}
		if size >= c.Size {
			c.Root, err = tlog.TreeHash(c.Size, StoredReader(ctx, ts))
			return c, err
		}
		// A tree not stored that far: build it.
		tr, err := Build(ctx, s, nil)
		if err != nil {
			return Checkpoint{}, err
		}
		t = tr
	}
	if t.Size() != c.Size {
		return Checkpoint{}, fmt.Errorf("%w: the log changed while it was read", ErrInconsistent)
	}
	root, err := t.Root(c.Size)
	c.Root = root
	return c, err
}

// Head returns the size of a store's log and the root of the tree over it:
// from the stored tree of a TreeStore (which covers the log up to the
// moment of the call), otherwise, or when the stored tree does not cover
// the whole log (a file of an older format opened read-only), from a tree
// built from ReadAll.
func Head(ctx context.Context, s events.Store) (int64, Hash, error) {
	if ts, ok := s.(TreeStore); ok {
		size, err := ts.TreeSize(ctx)
		if err != nil {
			return 0, Hash{}, err
		}
		if l, ok := s.(interface{ Len() int }); !ok || int64(l.Len()) <= size {
			root, err := tlog.TreeHash(size, StoredReader(ctx, ts))
			return size, root, err
		}
	}
	t, err := Build(ctx, s, nil)
	if err != nil {
		return 0, Hash{}, err
	}
	root, err := t.Root(t.Size())
	return t.Size(), root, err
}
