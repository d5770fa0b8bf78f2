package memstore_test

import (
	"context"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// Subscribe catches up on what is already in the log, then follows it live.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := memstore.New()
	defer s.Close()
	add := func(stream string) {
		e := events.EventData{ID: uuid.New(), Type: "demo.event", SchemaVersion: 1, Data: []byte(`{}`)}
		if _, err := s.Append(ctx, stream, events.Any, e); err != nil {
			fmt.Println(err)
		}
	}
	add("election-mips-2024-a")
	add("score-mips-2024-a")
	add("election-mips-2024-b")

	seen := 0
	for rec, err := range s.Subscribe(ctx, 0, events.Filter{StreamPrefixes: []string{"election-"}}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(rec.Position, rec.Stream)
		if seen++; seen == 2 {
			add("election-mips-2024-c") // arrives live
		}
		if seen == 3 {
			break
		}
	}
	// Output:
	// 0 election-mips-2024-a
	// 2 election-mips-2024-b
	// 3 election-mips-2024-c
}
