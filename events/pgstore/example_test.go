package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/google/uuid"
)

// A ledger in PostgreSQL: a confirmation seals its stream, a subscriber
// follows the log, and the chains verify.
func Example() {
	ctx := context.Background()
	url := os.Getenv("ELECTIONLEDGER_PG_URL") // e.g. postgres://ledger@localhost:5432/ledger
	schema := "example_" + uuid.NewString()[:8]
	defer pgtest.Drop(url, schema) // a throwaway schema; a service keeps its own

	s, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema)) // creates the schema on first use
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	stream := "election-mips-2024-demo"
	requested := events.EventData{ID: uuid.New(), Type: events.TypeElectionRequested, SchemaVersion: 1, Data: []byte(`{}`)}
	confirmed := events.EventData{ID: uuid.New(), Type: events.TypeElectionConfirmed, SchemaVersion: 1, Data: []byte(`{}`)}
	if _, err := s.Append(ctx, stream, events.NoStream, requested); err != nil {
		fmt.Println(err)
	}
	receipt, err := s.Append(ctx, stream, events.Exact(0), confirmed)
	if err != nil {
		fmt.Println(err)
	}
	_, err = s.Append(ctx, stream, events.Any, events.EventData{ID: uuid.New(), Type: "x", SchemaVersion: 1})
	fmt.Println("after the confirmation:", errors.Is(err, events.ErrStreamSealed))

	for r, err := range s.Subscribe(ctx, 0, events.Filter{StreamPrefixes: []string{"election-"}}) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(r.Revision, r.Type, r.Hash == receipt.Hash)
		if r.Revision == receipt.Revision {
			break
		}
	}
	rep, err := chain.VerifyChains(ctx, s)
	fmt.Println(rep.Records, "records,", rep.Streams, "stream, verified:", err == nil)
	// Output:
	// after the confirmation: true
	// 0 election.requested false
	// 1 election.confirmed true
	// 2 records, 1 stream, verified: true
}
