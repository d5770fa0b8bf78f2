package bench

import (
	"fmt"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// One command of the kind BenchmarkCommandExistingStream repeats: a
// registry confirms a pending request, on the in-memory store.
func Example() {
	nm, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	auth := election.NewMemoryAuthorizer()
	svc, _ := election.NewService(election.Config{Store: memstore.New(), Names: nm, Authorizer: auth,
		Eligibility: staticEligibility{}, Clock: func() time.Time { return now }})
	p := participant(1)
	auth.AuthorizeRegistry("R", p.TIN)
	if _, err := svc.Request(bg, meta(uuid.New()), py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
		fmt.Println(err)
	}
	rc, err := svc.Confirm(bg, meta(uuid.New()), py24, p, "CONFIRM")
	fmt.Println(rc.Type, rc.Revision, err)
	// Output: election.confirmed 1 <nil>
}
