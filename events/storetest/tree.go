package storetest

import (
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"golang.org/x/mod/sumdb/tlog"
)

// testTree: the Merkle tree over the log is computable from ReadAll for any
// store, and a store that keeps it beside its log (chain.TreeStore) keeps
// exactly that tree, hash for hash, with a record's position as its leaf.
// (On a store shared with other data the tree covers all of it.)
func testTree(t *testing.T, s events.Store) {
	name := stream(s, "tree")
	for i := range 5 {
		mustAppend(t, s, name, events.Any, ev(i), ev(10+i))
	}
	built, err := chain.Build(ctxFor(t), s.(*scoped).Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if built.Size() < 10 {
		t.Fatalf("the tree built from ReadAll covers %d records, the subtest wrote 10", built.Size())
	}
	ts, ok := s.(*scoped).Store.(chain.TreeStore)
	if !ok {
		return
	}
	fs, err := chain.CompareStored(ctxFor(t), ts, built)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Error(f)
	}
	for i, r := range readAll(t, s, 0) {
		leaf, ok := built.Stored(tlog.StoredHashIndex(0, int64(r.Position)))
		if !ok || leaf != chain.LeafHash(r.Hash) {
			t.Fatalf("record %d at position %d is not the tree's leaf %d", i, r.Position, r.Position)
		}
	}
}
