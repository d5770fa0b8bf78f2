package electiontest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/events"
)

// A scenario test in a few lines: given a pending opt-in, when the
// representative confirms with the wrong phrase, then it is refused.
func TestScenario(t *testing.T) {
	py := events.PY(events.MIPS, 2024)
	p := electiontest.Group(456789)
	det := electiontest.OptInEligible(p, py)
	now := time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
	ctx := electiontest.Context(t, p, py, now, &det)

	electiontest.Given(t, ctx, events.ElectionRequested{Participant: p, ProgramYear: py,
		Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: now}).
		When(election.Confirm{Phrase: "confirm"}).
		ThenRefused(election.ErrConfirmPhrase)
}

// A working ledger in three lines: a harness, a determination, a command.
func Example() {
	h := electiontest.New(&testing.T{})
	py, practice := events.PY(events.MIPS, 2024), electiontest.Group(456789)
	h.Determine(electiontest.OptInEligible(practice, py))

	ctx := context.Background()
	rep := h.Rep(practice.TIN)
	_, err := h.Service.Request(ctx, rep, py, practice, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	fmt.Println("requested:", err)
	rep.CommandID = h.IDs.New()
	receipt, err := h.Service.Confirm(ctx, rep, py, practice, "CONFIRM")
	fmt.Println("confirmed:", err, receipt.Type)
	rep.CommandID = h.IDs.New()
	_, err = h.Service.Withdraw(ctx, rep, py, practice, "changed my mind")
	fmt.Println("withdraw after confirm is final:", errors.Is(err, election.ErrElectionFinal))
	// Output:
	// requested: <nil>
	// confirmed: <nil> election.confirmed
	// withdraw after confirm is final: true
}
