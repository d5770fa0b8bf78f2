package esdbstore_test

import (
	"context"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/google/uuid"
)

// Append and read on EventStoreDB. Here the server is the in-process
// double; with a real one, pass its connection string, e.g.
// esdb://localhost:2113?tls=false.
func Example() {
	srv := esdbfake.New()
	if err := srv.Start("127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()
	s, err := esdbstore.Open(srv.ConnectionString())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	confirm := events.EventData{ID: uuid.New(), Type: events.TypeElectionConfirmed, SchemaVersion: 1, Data: []byte(`{"choice":"opt-in"}`)}
	if _, err := s.Append(ctx, "election-mips-2024-demo", events.NoStream, confirm); err != nil {
		fmt.Println(err)
	}
	for rec, err := range s.ReadStream(ctx, "election-mips-2024-demo", 0) {
		fmt.Println(rec.Revision, rec.Type, string(rec.Data), err, rec.Verify(events.Hash{}))
	}
	_, err = s.Append(ctx, "election-mips-2024-demo", events.Any, events.EventData{ID: uuid.New(), Type: "x", SchemaVersion: 1})
	fmt.Println(err)
	// Output:
	// 0 election.confirmed {"choice":"opt-in"} <nil> <nil>
	// events: append to election-mips-2024-demo: stream sealed by the event at revision 0; nothing may follow a confirmed election
}
