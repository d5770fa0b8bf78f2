package events_test

import (
	"errors"
	"testing"

	"github.com/electionledger/ledger/events"
)

// TestBinding: a ledger event belongs to the stream its participant,
// program year and category derive to, and to no other; without the key,
// the category, program and year in the name are what can be checked.
func TestBinding(t *testing.T) {
	n, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	py := events.PY(events.MIPS, 2024)
	a := events.Group(events.MustParseTIN(fullTIN))
	b := events.Group(events.MustParseTIN("123456780"))
	conf := events.ElectionConfirmed{Participant: a, ProgramYear: py}
	rec := func(stream string) *events.Record {
		return &events.Record{Stream: stream, Revision: 3, Type: events.TypeElectionConfirmed}
	}
	if err := n.Bind(rec(n.Election(py, a)), conf); err != nil {
		t.Fatalf("its own stream: %v", err)
	}
	key := n.ParticipantKey(a)
	for _, stream := range []string{
		n.Election(py, b),                           // another participant's
		n.Eligibility(py, a),                        // another category
		n.Election(events.PY(events.MIPS, 2023), a), // another year
		n.Election(events.PY(events.QIPS, 2024), a), // another program
		"election-mips-20245-" + key, "election-mips-2024" + key, "elections-mips-2024-" + key,
		"election-MIPS-2024-" + key, "election-mips-2024-" + key + "0", "", "election",
	} {
		err := n.Bind(rec(stream), conf)
		var be *events.BindingError
		if !errors.Is(err, events.ErrUnbound) || !errors.As(err, &be) || be.Stream != stream || be.Revision != 3 {
			t.Errorf("bound to %q: %v", stream, err)
		}
	}
	// Without the key: the shape only.
	for stream, ok := range map[string]bool{
		n.Election(py, b): true, "election-mips-2024-anything": true,
		"election-mips-20245-x": false, "election-mips-2024": false, "eligibility-mips-2024-x": false, "election-qips-2024-x": false,
	} {
		if err := events.CheckStreamShape(rec(stream), conf); (err == nil) != ok {
			t.Errorf("shape of %q: %v", stream, err)
		}
	}
	// A caller's own event types are bound to no stream.
	if err := n.Bind(rec("anything"), nil); err != nil {
		t.Errorf("an event of no ledger type: %v", err)
	}
}
