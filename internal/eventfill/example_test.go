package eventfill_test

import (
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/eventfill"
)

// Fill a score event: every field gets a value, so a codec or store that
// dropped one would be caught by comparing the value read back.
func Example() {
	var e events.ScoreReported
	if err := eventfill.Fill(&e, eventfill.Plain); err != nil {
		fmt.Println(err)
	}
	fmt.Println(e.Participant, e.ProgramYear.Year, e.Pathway, e.Score, e.ScoredCategories, e.ReportedAt.Format("2006-01-02"))
	// Output:
	// group *****6789 7 traditional 12.5 7 2025-02-03
}
