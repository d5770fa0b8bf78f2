package eligibility_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// A v6 NPI lookup: the clinician's and the practice's determinations, the
// criteria each exceeded (from lowVolumeStatusReasons), and a qpStatus whose
// meaning is unconfirmed, recorded and noted. Nothing printed holds a TIN in
// full.
func ExampleReadNPILookup() {
	doc := `{"data":[{"npi":"1234567893","qpStatus":"Q","organizations":[{"TIN":"000456789",
	  "individualScenario":{"isOptInEligible":true,"isOptedIn":null,"optInDecisionDate":null,"lowVolumeSwitch":true,
	    "lowVolumeStatusReasons":[{"lowVolStusRsnCd":"CHRG","lowVolStusRsnDesc":"Allowed charges"}],"mipsEligibleSwitch":true},
	  "groupScenario":{"isOptInEligible":false,"isOptedIn":null,"optInDecisionDate":null,"lowVolumeSwitch":false,"lowVolumeStatusReasons":[]}}]}]}`
	imp, err := eligibility.ReadNPILookup(context.Background(), eligibility.Default(), events.PY(events.MIPS, 2024),
		strings.NewReader(doc), eligibility.ImportOptions{ImportedAt: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range imp.Determinations {
		fmt.Printf("%v %v, exceeded %v, qpStatus %q\n", d.Participant, d.Status, d.Exceeded, d.QPStatus)
	}
	note, _, _ := strings.Cut(imp.Report.Notes[0].Reason, ";")
	fmt.Println(imp.Report.Notes[0].Field, note)
	// Output:
	// individual *****6789/1234567893 opt-in-eligible, exceeded patients+services, qpStatus "Q"
	// group *****6789 required, exceeded charges+patients+services, qpStatus ""
	// qpStatus Q: recorded as given
}

// Decision records for CMS, opt-in and voluntary alike, and the
// Qpp-Opt-In-Entities header for the same entities. Both hold full TINs:
// send them, never log them.
func ExampleWriteDecisions() {
	py := events.PY(events.MIPS, 2024)
	tin := events.MustParseTIN("000456789")
	ds := []eligibility.Decision{
		{Participant: events.Group(tin), ProgramYear: py, Choice: events.ChoiceVoluntary, DecidedAt: time.Date(2025, 3, 3, 14, 0, 0, 0, time.UTC), RunNum: 2},
		{Participant: events.Individual(tin, events.MustParseNPI("1234567893")), ProgramYear: py, Choice: events.ChoiceOptIn,
			DecidedAt: time.Date(2025, 2, 3, 15, 4, 5, 123e6, time.UTC), RunNum: 2},
	}
	if err := eligibility.WriteDecisions(os.Stdout, ds); err != nil {
		fmt.Println(err)
	}
	fmt.Println(eligibility.DecisionEntities(ds))
	// Output:
	// {"data":[{"tin":"000456789","isOptInEligible":true,"isOptedIn":false,"optInDecisionDate":"2025-03-03T14:00:00.000Z","year":2024,"runNum":2},{"tin":"000456789","npi":"1234567893","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05.123Z","year":2024,"runNum":2}]}
	// 000456789,000456789|1234567893
}
