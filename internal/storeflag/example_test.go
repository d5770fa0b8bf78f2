package storeflag_test

import (
	"context"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/google/uuid"
)

// An empty -store opens a temporary ledger file, removed on Close.
func Example() {
	o, err := storeflag.Open("", time.Now, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Close()
	e := events.EventData{ID: uuid.New(), Type: "demo.event", SchemaVersion: 1, Data: []byte(`{}`)}
	if _, err := o.Store.Append(context.Background(), "demo", events.NoStream, e); err != nil {
		fmt.Println(err)
	}
	rep, err := o.Verify()
	fmt.Println(o.Kind, rep.Records, err)
	// Output: file 1 <nil>
}
