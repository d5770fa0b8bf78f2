package chain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/electionledger/ledger/events"
	"golang.org/x/mod/sumdb/tlog"
)

func leafOf(i int64) Hash {
	var h events.Hash
	binary.BigEndian.PutUint64(h[:], uint64(i))
	h = sha256.Sum256(h[:])
	return LeafHash(h)
}

// libraryTree is the tree as tlog itself stores it, hash by hash.
type libraryTree []Hash

func (t *libraryTree) ReadHashes(ix []int64) ([]Hash, error) {
	out := make([]Hash, len(ix))
	for i, x := range ix {
		out[i] = (*t)[x]
	}
	return out, nil
}

// TestTreeAgreesWithTlog: the stored hashes, roots and compact ranges this
// package computes are exactly tlog's, for every size up to 1,100.
func TestTreeAgreesWithTlog(t *testing.T) {
	var lib libraryTree
	var ours Tree
	var r, frontier Range
	if got, want := r.Root(), emptyRoot(); got != want {
		t.Fatalf("empty range root %v, want %v", got, want)
	}
	for n := int64(0); n < 1100; n++ {
		leaf := leafOf(n)
		hs, err := tlog.StoredHashesForRecordHash(n, leaf, &lib)
		if err != nil {
			t.Fatal(err)
		}
		if got := frontier.AppendLeaf(nil, leaf); !slices.Equal(got, hs) {
			t.Fatalf("record %d: AppendLeaf's stored hashes differ from tlog's", n)
		}
		lib = append(lib, hs...)
		ours.Append(leaf)
		r.Append(leaf)
		if ours.StoredCount() != int64(len(lib)) {
			t.Fatalf("after %d records: %d stored hashes, tlog has %d", n+1, ours.StoredCount(), len(lib))
		}
		for i := tlog.StoredHashIndex(0, n); i < int64(len(lib)); i++ {
			if h, _ := ours.Stored(i); h != lib[i] {
				t.Fatalf("stored hash %d differs from tlog's", i)
			}
		}
		want, err := tlog.TreeHash(n+1, &lib)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Root(); got != want {
			t.Fatalf("range root of %d records differs from tlog's", n+1)
		}
		if got, _ := ours.Root(n + 1); got != want {
			t.Fatalf("tree root of %d records differs from tlog's", n+1)
		}
	}
	if _, err := ours.Root(ours.Size() + 1); err == nil {
		t.Fatal("a root beyond the tree's size was given")
	}
}

// TestLeafHashIsTlogs: LeafHash is tlog.RecordHash of the record's hash.
func TestLeafHashIsTlogs(t *testing.T) {
	for i := range 1000 {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		if LeafHash(h) != tlog.RecordHash(h[:]) {
			t.Fatalf("leaf %d differs from tlog's", i)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = LeafHash(events.Hash{1}) }); n != 0 {
		t.Fatalf("LeafHash allocates %v times", n)
	}
}

// TestSubtreesJoin: a range built from subtrees of arbitrary batches
// (hashed apart, as a rebuild's workers do) has the root of one built leaf
// by leaf, and unaligned subtrees are refused.
func TestSubtreesJoin(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		total := int64(rng.IntN(3000))
		var whole, joined Range
		for i := int64(0); i < total; i++ {
			whole.Append(leafOf(i))
		}
		for start := int64(0); start < total; {
			n := min(int64(1+rng.IntN(700)), total-start)
			leaves := make([]Hash, n)
			for i := range leaves {
				leaves[i] = leafOf(start + int64(i))
			}
			Subtrees(start, leaves, func(at int64, level int, root Hash) {
				if err := joined.AppendSubtree(at, level, root); err != nil {
					t.Fatal(err)
				}
			})
			start += n
		}
		if joined.Size() != total || joined.Root() != whole.Root() {
			t.Fatalf("trial %d: %d records joined from batches give another root", trial, total)
		}
	}
	var r Range
	r.Append(leafOf(0))
	if err := r.AppendSubtree(1, 1, leafOf(1)); err == nil {
		t.Fatal("a subtree of 2 at 1 was taken")
	}
	if err := r.AppendSubtree(2, 0, leafOf(1)); err == nil {
		t.Fatal("a subtree that leaves a gap was taken")
	}
}

// TestBuildFromAnyStore: Build over a store's records gives the root its
// leaves do.
func TestBuildFromAnyStore(t *testing.T) {
	recs := make([]events.Record, 37)
	var want Range
	for i := range recs {
		recs[i].Hash = sha256.Sum256([]byte{byte(i)})
		recs[i].Position = events.Position(10 * i) // positions need not be indexes
		want.Append(LeafHash(recs[i].Hash))
	}
	tree, err := Build(context.Background(), sliceStore(recs), nil)
	if err != nil {
		t.Fatal(err)
	}
	if root, _ := tree.Root(tree.Size()); tree.Size() != 37 || root != want.Root() {
		t.Fatal("the built tree differs")
	}
}

// BenchmarkStoredHashes compares tlog's own incremental function with
// AppendStored on a growing tree: the library allocates on every record,
// which an append costing about a microsecond cannot absorb.
func BenchmarkStoredHashes(b *testing.B) {
	b.Run("tlog", func(b *testing.B) {
		lib := make(libraryTree, 0, 2*b.N+64)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			hs, _ := tlog.StoredHashesForRecordHash(int64(i), leafOf(int64(i)), &lib)
			lib = append(lib, hs...)
		}
	})
	b.Run("AppendStored", func(b *testing.B) {
		hashes := make([]Hash, 0, 2*b.N+64)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			hashes, _ = AppendStored(hashes, int64(i), leafOf(int64(i)), func(x int64) (Hash, error) { return hashes[x], nil })
		}
	})
}

// TestDigesterIsSHA256OfTheHashes: the digest after any number of records,
// taken between additions and across the Digester's internal buffer, is
// SHA-256 over their hashes concatenated; adding more after a Sum goes on
// from where it was.
func TestDigesterIsSHA256OfTheHashes(t *testing.T) {
	var d Digester
	if d.Sum() != sha256.Sum256(nil) {
		t.Fatal("the empty digest is not SHA-256 of nothing")
	}
	var all []byte
	for i := range 3*digestBuffer/32 + 5 {
		var h events.Hash
		binary.BigEndian.PutUint64(h[:], uint64(i))
		h = sha256.Sum256(h[:])
		d.Add(h)
		all = append(all, h[:]...)
		if i%37 == 0 || i%128 == 127 || i%128 == 0 {
			if got, want := d.Sum(), Hash(sha256.Sum256(all)); got != want || d.Size() != int64(i+1) {
				t.Fatalf("after %d records: digest %x, want %x (size %d)", i+1, got, want, d.Size())
			}
		}
	}
	if got, want := d.Sum(), Hash(sha256.Sum256(all)); got != want {
		t.Fatalf("digest %x, want %x", got, want)
	}
}

// BenchmarkDigesterAdd is the cost of a record in a checkpoint's digest
// (a rebuild trusting a checkpoint adds every record it covers).
func BenchmarkDigesterAdd(b *testing.B) {
	var d Digester
	h := events.Hash(sha256.Sum256([]byte("x")))
	b.ReportAllocs()
	for b.Loop() {
		d.Add(h)
	}
	_ = d.Sum()
}
