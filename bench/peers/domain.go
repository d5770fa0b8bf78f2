package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// The workload: MIPS program year 2024, practices (groups) electing to opt
// in, on 3 February 2025.
var (
	py24 = events.PY(events.MIPS, 2024)
	now  = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
)

// fixture holds what every side gets before its timer starts, as a caller
// would have it: the participants parsed, their election streams named
// (HMAC under the development key, so no name holds a TIN), the peers'
// aggregate IDs derived from those names, and event IDs drawn.
type fixture struct {
	names        *events.StreamNamer
	participants []events.Participant
	streams      []string    // election-mips-2024-<hmac>
	eligStreams  []string    // the eligibility stream names, for the peers' eligibility aggregates
	ids          []uuid.UUID // aggregate IDs for eventhorizon and goes: UUIDv5 of the stream name
	eligIDs      []uuid.UUID
	eventIDs     []uuid.UUID // one per stream, for the event an operation appends
}

// peerNamespace roots the peers' aggregate IDs.
var peerNamespace = uuid.MustParse("6f1d3c1e-2b0a-4f3e-9a57-0c2f1b8e4d21")

func newFixture(n int) *fixture {
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		panic(err) // the development key is valid
	}
	fx := &fixture{names: names}
	for i := range n {
		p := events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 100_000_000+i)))
		s := names.Election(py24, p)
		e := names.Eligibility(py24, p)
		fx.participants = append(fx.participants, p)
		fx.streams = append(fx.streams, s)
		fx.eligStreams = append(fx.eligStreams, e)
		fx.ids = append(fx.ids, uuid.NewSHA1(peerNamespace, []byte(s)))
		fx.eligIDs = append(fx.eligIDs, uuid.NewSHA1(peerNamespace, []byte(e)))
		fx.eventIDs = append(fx.eventIDs, uuid.New())
	}
	return fx
}

// The events every side appends, built inside the timed loops.

func requested(p events.Participant) events.ElectionRequested {
	return events.ElectionRequested{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, RequestedAt: now}
}

func withdrawn(p events.Participant) events.ElectionRequestWithdrawn {
	return events.ElectionRequestWithdrawn{Participant: p, ProgramYear: py24, WithdrawnAt: now}
}

// determination is the opt-in-eligible determination every participant has
// (segment 1: it exceeds one low-volume criterion, not all three).
func determination(p events.Participant) events.EligibilityDetermined {
	return events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusOptInEligible,
		Exceeded: events.CriterionCharges, Source: events.SourceSegment1, EligibleClinicians: 1,
		DeterminedAt: time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)}
}

// The actor of every command: a registry acting for its client, signed in an
// hour before.
const (
	actorID  = "qcdr-7-user"
	registry = "QCDR-7"
)

func actor() election.Actor {
	return election.Actor{ID: actorID, Role: events.RoleRegistry, Organization: registry, AttestedAt: now.Add(-time.Hour)}
}

// metadata is what the peers record about who acted: the same facts our
// events.Metadata holds, as the map their event types carry.
func metadata(commandID uuid.UUID) map[string]any {
	return map[string]any{"actor": actorID, "actorRole": "registry", "organization": registry,
		"attestedAt": now.Add(-time.Hour).Format(time.RFC3339), "commandId": commandID.String()}
}

// ourMetadata is metadata as our ledger records it.
func ourMetadata(commandID uuid.UUID) events.Metadata {
	return events.Metadata{Actor: actorID, ActorRole: events.RoleRegistry, Organization: registry,
		AttestedAt: now.Add(-time.Hour), CommandID: commandID}
}

// electionFacts is what a peer's election aggregate folds from its events:
// enough to decide a confirmation the way our decider does.
type electionFacts struct {
	version   int // events folded
	pending   bool
	confirmed bool
	choice    events.Choice
	pathway   events.Pathway
	requestAt uint64 // the revision of the pending request
}

func (f *electionFacts) requested(e *events.ElectionRequested) {
	f.pending, f.choice, f.pathway, f.requestAt = true, e.Choice, e.Pathway, uint64(f.version)
	f.version++
}

func (f *electionFacts) withdrawn(*events.ElectionRequestWithdrawn) {
	f.pending = false
	f.version++
}

func (f *electionFacts) confirmedBy(*events.ElectionConfirmed) {
	f.pending, f.confirmed = false, true
	f.version++
}

// apply folds an event's data as a peer hands it over: a pointer to our
// event type (hallgren, eventhorizon) or the value itself (goes).
func (f *electionFacts) apply(data any) error {
	switch d := data.(type) {
	case *events.ElectionRequested:
		f.requested(d)
	case events.ElectionRequested:
		f.requested(&d)
	case *events.ElectionRequestWithdrawn:
		f.withdrawn(d)
	case events.ElectionRequestWithdrawn:
		f.withdrawn(&d)
	case *events.ElectionConfirmed:
		f.confirmedBy(d)
	case events.ElectionConfirmed:
		f.confirmedBy(&d)
	default:
		return fmt.Errorf("election: unexpected event %T", data)
	}
	return nil
}

// The peers' refusals.
var (
	errFinal      = errors.New("election is final")
	errNoRequest  = errors.New("no pending request to confirm")
	errPhrase     = errors.New("confirm with the exact phrase CONFIRM")
	errIneligible = errors.New("not opt-in eligible")
)

// decideConfirm is the peers' decision on a confirmation: the checks our
// decider makes for it, given the participant's standing.
func decideConfirm(f *electionFacts, status events.EligibilityStatus, p events.Participant, phrase string) (events.ElectionConfirmed, error) {
	switch {
	case phrase != election.ConfirmPhrase:
		return events.ElectionConfirmed{}, errPhrase
	case f.confirmed:
		return events.ElectionConfirmed{}, errFinal
	case !f.pending:
		return events.ElectionConfirmed{}, errNoRequest
	case f.choice == events.ChoiceOptIn && status != events.StatusOptInEligible:
		return events.ElectionConfirmed{}, errIneligible
	}
	return events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: f.choice, Pathway: f.pathway,
		ConfirmedAt: now, RequestRevision: f.requestAt}, nil
}

// statusView is the peers' read model: where each participant's election
// stands, the core of our status model.
type statusView struct {
	m       map[events.Participant]standing
	applied int // events applied
}

type standing struct {
	choice      events.Choice
	pathway     events.Pathway
	confirmed   bool
	requestedAt time.Time
	confirmedAt time.Time
}

func newStatusView(n int) *statusView {
	return &statusView{m: make(map[events.Participant]standing, n)}
}

func (v *statusView) requested(e *events.ElectionRequested) {
	s := v.m[e.Participant]
	s.choice, s.pathway, s.requestedAt = e.Choice, e.Pathway, e.RequestedAt
	v.m[e.Participant] = s
}

func (v *statusView) confirmedBy(e *events.ElectionConfirmed) {
	s := v.m[e.Participant]
	s.confirmed, s.confirmedAt = true, e.ConfirmedAt
	v.m[e.Participant] = s
}

// apply folds a decoded event, as the peers hand it over (a pointer to our
// event type).
func (v *statusView) apply(data any) error {
	switch d := data.(type) {
	case *events.ElectionRequested:
		v.requested(d)
	case *events.ElectionConfirmed:
		v.confirmedBy(d)
	default:
		return fmt.Errorf("unexpected event %T", data)
	}
	v.applied++
	return nil
}

// check says whether the view holds n confirmed opt-ins.
func (v *statusView) check(n int) error {
	confirmed := 0
	for _, s := range v.m {
		if s.confirmed && s.choice == events.ChoiceOptIn {
			confirmed++
		}
	}
	if len(v.m) != n || confirmed != n {
		return fmt.Errorf("read model holds %d participants, %d confirmed; want %d", len(v.m), confirmed, n)
	}
	return nil
}
