package events_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
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

// TestBindingEveryStreamKind: each of the ledger's event types binds to the
// stream the Service appends it to, and to no stream of another kind.
func TestBindingEveryStreamKind(t *testing.T) {
	n, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	py := events.PY(events.MIPS, 2024)
	a := events.Group(events.MustParseTIN(fullTIN))
	ind := events.Individual(a.TIN, events.MustParseNPI("1234567893"))
	vg := events.Participant{Kind: events.KindVirtualGroup, ID: "VG-2024-0001"}
	id := uuid.MustParse("7d444840-9dc0-11d1-b245-5ffdce74fad2")
	cases := []struct {
		name   string
		stream string
		e      events.Event
	}{
		{"partial QP request", n.PartialQPElection(py, ind), events.ElectionRequested{Participant: ind, ProgramYear: py, Choice: events.ChoicePartialQP}},
		{"partial QP confirmation", n.PartialQPElection(py, ind), events.ElectionConfirmed{Participant: ind, ProgramYear: py, Choice: events.ChoicePartialQP}},
		{"partial QP withdrawal", n.PartialQPElection(py, ind), events.ElectionRequestWithdrawn{Participant: ind, ProgramYear: py}},
		{"election withdrawal", n.Election(py, ind), events.ElectionRequestWithdrawn{Participant: ind, ProgramYear: py}},
		{"virtual group retracted", n.VirtualGroup(py, vg), events.VirtualGroupRetracted{VirtualGroup: vg, ProgramYear: py}},
		{"member admitted", n.VirtualGroupMember(py, a.TIN), events.VirtualGroupMemberAdmitted{Member: a, ProgramYear: py}},
		{"member released", n.VirtualGroupMember(py, a.TIN), events.VirtualGroupMemberReleased{Member: a, ProgramYear: py}},
		{"reporting opt-out", n.Reporting(py, a), events.PublicReportingOptedOut{Participant: a, ProgramYear: py}},
		{"upload cancelled", n.Upload(py, "registry-1", "upload-7"), events.UploadCancelled{Organization: "registry-1", BatchID: "upload-7", ProgramYear: py}},
		{"command claim", n.Command(id), events.CommandRecorded{CommandID: id, ProgramYear: py}},
	}
	for _, c := range cases {
		rec := &events.Record{Stream: c.stream, Type: c.e.EventType()}
		if err := n.Bind(rec, c.e); err != nil {
			t.Errorf("%s in its own stream: %v", c.name, err)
		}
		if err := events.CheckStreamShape(rec, c.e); err != nil {
			t.Errorf("%s, shape of its own stream: %v", c.name, err)
		}
		for _, other := range cases {
			if other.stream == c.stream || events.StreamCategory(other.stream) == events.StreamCategory(c.stream) {
				continue
			}
			if _, ok := c.e.(events.ElectionRequestWithdrawn); ok && strings.HasSuffix(events.StreamCategory(other.stream), events.CategoryElection) {
				continue // a withdrawal may sit in either kind of election stream
			}
			rec := &events.Record{Stream: other.stream, Type: c.e.EventType()}
			if err := n.Bind(rec, c.e); !errors.Is(err, events.ErrUnbound) {
				t.Errorf("%s bound to the stream of a %s: %v", c.name, other.name, err)
			}
		}
	}
	// A request for an election of another kind does not sit in a Partial QP
	// stream, and the keyed check tells one registry's upload from another's.
	if err := n.Bind(&events.Record{Stream: n.PartialQPElection(py, ind)}, events.ElectionRequested{Participant: ind, ProgramYear: py, Choice: events.ChoiceOptIn}); !errors.Is(err, events.ErrUnbound) {
		t.Errorf("an opt-in request in a Partial QP stream: %v", err)
	}
	if err := n.Bind(&events.Record{Stream: n.Upload(py, "registry-2", "upload-7")}, events.UploadCancelled{Organization: "registry-1", BatchID: "upload-7", ProgramYear: py}); !errors.Is(err, events.ErrUnbound) {
		t.Errorf("a cancellation in another registry's upload stream: %v", err)
	}
	if err := n.Bind(&events.Record{Stream: n.Command(uuid.New())}, events.CommandRecorded{CommandID: id}); !errors.Is(err, events.ErrUnbound) {
		t.Errorf("a claim in another command's stream: %v", err)
	}
}
