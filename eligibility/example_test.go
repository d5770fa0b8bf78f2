package eligibility_test

import (
	"fmt"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// A clinician just above the charges threshold, at the patients and services
// thresholds, is opt-in eligible for PY2024 until 8 pm Eastern on Mar 31 2025.
func Example() {
	table := eligibility.Default()
	rules, err := table.Rules(events.PY(events.MIPS, 2024))
	if err != nil {
		fmt.Println(err)
		return
	}
	clinician := events.Individual(events.MustParseTIN("000456789"), events.MustParseNPI("1234567893"))
	d, err := eligibility.Determine(&rules, eligibility.Input{
		Participant: clinician,
		Volumes:     events.Volumes{AllowedChargesCents: 90_000_01, PartBPatients: 200, CoveredServices: 200},
		Clinician:   eligibility.Clinician{Type: eligibility.NursePractitioner},
		Source:      events.SourceSegment2, SourceDate: time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC),
		DeterminedAt: time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Participant, d.Status, d.Exceeded)
	fmt.Println("elections close", rules.ElectionWindow.Close.UTC())
	// Output:
	// individual *****6789/1234567893 opt-in-eligible charges
	// elections close 2025-04-01 00:00:00 +0000 UTC
}
