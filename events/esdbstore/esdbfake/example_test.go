package esdbfake_test

import (
	"context"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/google/uuid"
)

// The real EventStoreDB client, through esdbstore, against the in-process
// double: an append whose acknowledgement is lost is retried without being
// written twice.
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

	srv.DropNextAck(1) // the server applies the append, the client never hears back
	e := events.EventData{ID: uuid.New(), Type: "demo.event", SchemaVersion: 1, Data: []byte(`{}`)}
	res, err := s.Append(context.Background(), "demo-stream", events.NoStream, e)
	fmt.Println(res.Revision, err)
	n := 0
	for _, err := range s.ReadStream(context.Background(), "demo-stream", 0) {
		if err == nil {
			n++
		}
	}
	fmt.Println("events in the stream:", n)
	// Output:
	// 0 <nil>
	// events in the stream: 1
}
