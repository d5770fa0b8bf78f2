package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/google/uuid"
)

// A ledger file survives a reopen, and its chains verify.
func Example() {
	dir, _ := os.MkdirTemp("", "ledger")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ledger.db")
	ctx := context.Background()

	s, err := boltstore.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	e := events.EventData{ID: uuid.New(), Type: events.TypeElectionConfirmed, SchemaVersion: 1, Data: []byte(`{}`)}
	if _, err := s.Append(ctx, "election-mips-2024-demo", events.NoStream, e); err != nil {
		fmt.Println(err)
	}
	s.Close()

	s, err = boltstore.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	_, err = s.Append(ctx, "election-mips-2024-demo", events.Any, events.EventData{ID: uuid.New(), Type: "x", SchemaVersion: 1})
	fmt.Println(err != nil, "sealed:", errors.Is(err, events.ErrStreamSealed))
	rep, err := s.Verify(ctx)
	fmt.Println(rep.Records, rep.Streams, err)
	// Output:
	// true sealed: true
	// 1 1 <nil>
}
