package events_test

import (
	"context"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// A practice's opt-in request, appended to its election stream and read
// back with its hash chain verified.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	defer store.Close()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	registry := events.NewRegistry()

	practice := events.Group(events.MustParseTIN("000456789"))
	py := events.PY(events.MIPS, 2024)
	stream := names.Election(py, practice)

	req := events.ElectionRequested{Participant: practice, ProgramYear: py, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, RequestedAt: time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)}
	data, _ := registry.Encode(uuid.New(), req, events.Metadata{Actor: "rep-7", ActorRole: events.RolePracticeRepresentative})
	if _, err := store.Append(ctx, stream, events.NoStream, data); err != nil {
		fmt.Println(err)
		return
	}
	for rec, err := range store.ReadStream(ctx, stream, 0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		e, _ := registry.Decode(&rec)
		fmt.Println(rec.Revision, rec.Type, e.(events.ElectionRequested).Participant, rec.Verify(events.Hash{}))
	}
	// Output: 0 election.requested group *****6789 <nil>
}

// A TIN never shows in full, whatever the verb.
func ExampleTIN() {
	tin, err := events.ParseTIN("123456789")
	fmt.Println(tin, err)
	fmt.Printf("%+v %q %#v\n", tin, tin, tin)
	_, err = events.ParseTIN("12345678")
	fmt.Println(err)
	// Output:
	// *****6789 <nil>
	// *****6789 "*****6789" events.TIN("*****6789")
	// invalid TIN: wrong length: 8 characters; want exactly 9 digits
}
