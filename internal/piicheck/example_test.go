package piicheck_test

import (
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/piicheck"
)

func Example() {
	p := events.Group(events.MustParseTIN(piicheck.TestTIN))
	fmt.Println(piicheck.Find(fmt.Sprintf("%v", p)))
	fmt.Println(piicheck.Find("refused 987654321 and 123-45-6789"))
	// Output:
	// []
	// [987654321 123-45-6789]
}
