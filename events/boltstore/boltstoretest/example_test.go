package boltstoretest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/boltstore/boltstoretest"
	"github.com/google/uuid"
)

// A ledger written now, turned into the format 1 an earlier version
// wrote: read-only it is read as it is (no stored tree); opened for
// writing it is upgraded, its tree computed from its log.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "downgrade")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ledger.db")
	s, _ := boltstore.Open(path)
	for i := range 3 {
		s.Append(ctx, "notes", events.Any, events.EventData{ID: uuid.New(), Type: "note", SchemaVersion: 1, Data: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	s.Close()

	if err := boltstoretest.Downgrade(path, 1); err != nil {
		fmt.Println(err)
		return
	}
	ro, _ := boltstore.Open(path, boltstore.ReadOnly())
	tree, _ := ro.TreeSize(ctx)
	fmt.Println("read-only:", ro.Len(), "records, a stored tree of", tree)
	ro.Close()

	w, _ := boltstore.Open(path)
	tree, _ = w.TreeSize(ctx)
	fmt.Println("upgraded:", w.Len(), "records, a stored tree of", tree)
	w.Close()
	// Output:
	// read-only: 3 records, a stored tree of 0
	// upgraded: 3 records, a stored tree of 3
}
