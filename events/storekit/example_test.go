package storekit_test

import (
	"context"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/storekit"
)

// A store's ReadAll built from the one function that reads a batch of its
// log.
func Example() {
	log := []events.Record{{Stream: "a", Position: 0}, {Stream: "b", Position: 1}, {Stream: "a", Position: 2}}
	fill := func(buf []events.Record, next events.Position, f events.Filter, wait bool) ([]events.Record, events.Position, <-chan struct{}, error) {
		for ; int(next) < len(log) && len(buf) < 2; next++ { // two records a read
			if f.Accepts(log[next].Stream) {
				buf = append(buf, log[next])
			}
		}
		return buf, next, nil, nil
	}
	for r, err := range storekit.PollAll(context.Background(), 1, fill) {
		fmt.Println(r.Stream, r.Position, err)
	}
	// Output:
	// b 1 <nil>
	// a 2 <nil>
}
