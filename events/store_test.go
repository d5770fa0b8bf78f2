package events_test

import (
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
)

// scopedStore says what its event IDs' scope is.
type scopedStore struct {
	events.Store
	perStream bool
}

func (s scopedStore) IDsPerStream() bool { return s.perStream }

// TestEventIDsPerStream: a store says its event IDs are unique per stream
// only through IDScope; one that does not implement it, or says false,
// keeps them unique across the log (Store's contract).
func TestEventIDsPerStream(t *testing.T) {
	mem := memstore.New()
	defer mem.Close()
	for _, c := range []struct {
		s    events.Store
		want bool
	}{
		{mem, false},
		{scopedStore{Store: mem}, false},
		{scopedStore{Store: mem, perStream: true}, true},
	} {
		if got := events.EventIDsPerStream(c.s); got != c.want {
			t.Errorf("EventIDsPerStream(%T{perStream: %v}) = %v", c.s, c.want, got)
		}
	}
}
