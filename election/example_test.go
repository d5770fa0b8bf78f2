package election_test

import (
	"fmt"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// The pure decider: a pending opt-in confirmed with CONFIRM, then any
// further command refused because the election is final.
func Example() {
	rules, _ := eligibility.Default().Rules(events.PY(events.MIPS, 2024))
	practice := events.Group(events.MustParseTIN("000456789"))
	// The practice's standing: in the opt-in range in both segments.
	standing := eligibility.Reconcile(&rules, practice, []events.EligibilityDetermined{
		{Participant: practice, ProgramYear: rules.ProgramYear, Status: events.StatusOptInEligible, Source: events.SourceSegment1,
			Exceeded: events.CriterionCharges, DeterminedAt: time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)},
		{Participant: practice, ProgramYear: rules.ProgramYear, Status: events.StatusOptInEligible, Source: events.SourceSegment2,
			Exceeded: events.CriterionServices, DeterminedAt: time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)},
	}, time.Time{})
	fmt.Println(standing)
	ctx := election.Context{
		Participant: practice, ProgramYear: rules.ProgramYear, Rules: &rules, Eligibility: standing,
		Now: time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC),
	}
	var state election.State
	for _, cmd := range []election.Command{
		election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional},
		election.Confirm{Phrase: "CONFIRM"},
		election.Withdraw{},
	} {
		evs, err := election.Decide(state, cmd, ctx)
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, e := range evs {
			state, _ = election.Evolve(state, e)
			fmt.Println(e.EventType(), "->", state.Phase)
		}
	}
	// Output:
	// group *****6789: opt-in-eligible (final)
	// election.requested -> pending confirmation
	// election.confirmed -> final
	// election refused for group *****6789 in MIPS-2024: election is final: opt-in/traditional confirmed at 2025-02-03T15:00:00Z; to pass: nothing: a confirmed election can never be undone or changed
}
