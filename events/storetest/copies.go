package storetest

import (
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
)

// testCallerBuffers: a store keeps its own copy of what a caller passes.
// The caller reusing its payload buffers after Append (as an encoder
// writing the next event into the same buffer would) changes nothing a
// reader gets, and every record still verifies. (Readers, for their part,
// treat a record's Data as read-only: see events.Record.)
func testCallerBuffers(t *testing.T, s events.Store) {
	name := stream(s, "buffers")
	a, b := ev(1), ev(2)
	wantA, wantB := string(a.Data), string(b.Data)
	mustAppend(t, s, name, events.NoStream, a, b)
	for _, buf := range [][]byte{a.Data, b.Data} {
		for i := range buf {
			buf[i] = '!'
		}
	}
	recs, err := readStream(t, s, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || string(recs[0].Data) != wantA || string(recs[1].Data) != wantB {
		t.Fatalf("the caller's reused buffers changed what the store holds: %q %q", recs[0].Data, recs[1].Data)
	}
	if _, err := chain.VerifyStream(name, func(yield func(events.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
}
