package memstore

import (
	"fmt"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// TestStreamIndexMatchesMap adds 20,000 streams (the index regrows many
// times) and checks every name finds its own stream, and unknown names
// find none, as a Go map would.
func TestStreamIndexMatchesMap(t *testing.T) {
	ix := newStreamIndex()
	want := map[string]*stream{}
	for i := range 20_000 {
		name := fmt.Sprintf("election-mips-2024-%032x", i*7919)
		if st, _, _ := ix.find(name); st != nil {
			t.Fatalf("%s found before it was added", name)
		}
		_, empty, h := ix.find(name)
		st := ix.add(empty, h, name)
		st.n = uint64(i) // mark it
		want[name] = st
	}
	if ix.n != len(want) {
		t.Fatalf("index holds %d streams, want %d", ix.n, len(want))
	}
	for name, w := range want {
		st, _, _ := ix.find(name)
		if st != w || st.name != name || st.n != w.n {
			t.Fatalf("find(%s) = %p (%q), want %p", name, st, st.name, w)
		}
	}
	for i := range 1000 {
		if st, _, _ := ix.find(fmt.Sprint("unknown-", i)); st != nil {
			t.Fatalf("an unknown name found stream %q", st.name)
		}
	}
}

// TestIDIndexMatchesMap adds 30,000 random IDs (the index regrows many
// times): each finds its own position, and IDs never added find none.
func TestIDIndexMatchesMap(t *testing.T) {
	ix := newIDIndex()
	want := map[uuid.UUID]events.Position{}
	for i := range 30_000 {
		id := uuid.New()
		if _, ok := ix.get(id); ok {
			t.Fatalf("%s found before it was added", id)
		}
		ix.put(id, events.Position(i))
		want[id] = events.Position(i)
	}
	for id, p := range want {
		if got, ok := ix.get(id); !ok || got != p {
			t.Fatalf("get(%s) = %d, %v; want %d", id, got, ok, p)
		}
	}
	for range 1000 {
		if p, ok := ix.get(uuid.New()); ok {
			t.Fatalf("an ID never added found position %d", p)
		}
	}
}
