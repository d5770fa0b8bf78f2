package main

import (
	"context"
	"fmt"
	"os"

	"github.com/electionledger/ledger/events"
)

// Verifying a ledger: here the empty in-memory one, with the public
// development key (a real ledger's key comes from -key-file or
// ELECTIONLEDGER_KEY).
func Example() {
	getenv := func(k string) string {
		if k == "ELECTIONLEDGER_KEY" {
			return events.DevelopmentKey
		}
		return ""
	}
	code := run(context.Background(), []string{"verify", "-store", "memory"}, os.Stdout, os.Stderr, getenv)
	fmt.Println("exit", code)
	// Output:
	// 0 records in 0 streams; tree size 0, root 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
	// verified: every hash chain, stream binding and ledger rule holds; the tree is the log's
	// exit 0
}
