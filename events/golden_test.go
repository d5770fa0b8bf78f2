package events_test

import (
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// TestGolden pins what a ledger already written depends on: stream names
// (HMAC over the participant's canonical bytes) and a record's hash (its
// canonical encoding, the payload as the codec writes it, a participant in
// the metadata). The values were computed by the library before the
// Merkle tree, the masked text form of TIN and the allocation-free
// participant encoding: a change that moves any of them would orphan or
// break every existing ledger.
func TestGolden(t *testing.T) {
	n, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	py := events.PY(events.MIPS, 2024)
	tin := events.MustParseTIN(fullTIN)
	ind := events.Individual(tin, events.MustParseNPI("1234567893"))
	vg, _ := events.NewVirtualGroup("vg-7")
	apm, _ := events.NewAPMEntity("A1234")
	for p, want := range map[events.Participant]string{
		events.Group(tin): "election-mips-2024-4597cb24db83710fe54d6f3cd0ed6bd0",
		ind:               "election-mips-2024-4049b98ebe0ee8bf2dc79a915d768c8b",
		vg:                "election-mips-2024-eed70defb92fa953d13684f25d0729a6",
		apm:               "election-mips-2024-047c022f0d687d32d0c736c50b2f3204",
	} {
		if got := n.Election(py, p); got != want {
			t.Errorf("the stream of %v is %s, was %s", p, got, want)
		}
	}
	d, err := events.NewRegistry().Encode(uuid.MustParse("11111111-2222-3333-4444-555555555555"),
		events.ElectionRequested{Participant: ind, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)},
		events.Metadata{Actor: "r", ActorRole: events.RoleRegistry, OnBehalfOf: ind, AttestedAt: time.Date(2025, 2, 3, 14, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	const payload = `{"participant":{"kind":"individual","tin":"987654321","npi":"1234567893"},"programYear":{"program":"MIPS","year":2024},"choice":"opt-in","pathway":"traditional","requestedAt":"2025-02-03T15:00:00Z"}`
	if string(d.Data) != payload {
		t.Errorf("the payload is\n%s\nwas\n%s", d.Data, payload)
	}
	r := events.NewRecord("s", 0, time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC), events.Hash{}, d)
	if got := r.Hash.String(); got != "ac6b060801f5ffc331bbeea852f4e5b68b9d1f9bdd60211b40d549930136daad" {
		t.Errorf("the record's hash is %s", got)
	}
}
