package pgtest_test

import (
	"fmt"

	"github.com/electionledger/ledger/events/pgstore/pgtest"
)

// The variables a run sets: the server, and in CI the marker that turns a
// missing server from a skip into a failure.
func Example() {
	fmt.Println("server from", pgtest.EnvURL+"; required when", pgtest.EnvCI, "is set")
	// Output: server from ELECTIONLEDGER_PG_URL; required when ELECTIONLEDGER_CI is set
}
