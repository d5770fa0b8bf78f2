package storetest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/events/storetest"
	"github.com/google/uuid"
)

// A Factory hands each subtest a store; a durable store would open a new
// file under t.TempDir(). In a test: storetest.Run(t, newStore).
func ExampleRun() {
	var newStore storetest.Factory = func(t testing.TB) events.Store { return memstore.New() }

	s := newStore(nil)
	defer s.Close()
	e := events.EventData{ID: uuid.New(), Type: "demo.event", SchemaVersion: 1, Data: []byte(`{}`)}
	_, err := s.Append(context.Background(), "demo", events.NoStream, e)
	fmt.Println("the factory's store appends:", err)
	// Output: the factory's store appends: <nil>
}
