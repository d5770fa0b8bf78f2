package electiontest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// Clock is a deterministic clock: it stands still until Set or Advance.
// It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// IDs is a deterministic UUID source: the same seed yields the same
// sequence. It is safe for concurrent use.
type IDs struct {
	mu sync.Mutex
	ns uuid.UUID
	n  uint64
}

// NewIDs returns a source seeded with seed.
func NewIDs(seed string) *IDs { return &IDs{ns: uuid.NewSHA1(uuid.Nil, []byte(seed))} }

// New returns the next UUID.
func (g *IDs) New() uuid.UUID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return uuid.NewSHA1(g.ns, fmt.Appendf(nil, "%d", g.n))
}

// TIN returns a deterministic TIN for n (0 <= n < 1e9).
func TIN(n int) events.TIN { return events.MustParseTIN(fmt.Sprintf("%09d", n%1_000_000_000)) }

// NPI returns a deterministic, valid NPI for n: "1" and eight digits of n,
// then the check digit.
func NPI(n int) events.NPI {
	base := fmt.Sprintf("1%08d", n%100_000_000)
	return events.MustParseNPI(base + string(events.NPICheckDigit(base)))
}

// Group returns the group participant of TIN(n).
func Group(n int) events.Participant { return events.Group(TIN(n)) }

// Clinician returns the individual participant TIN(tin)/NPI(npi).
func Clinician(tin, npi int) events.Participant { return events.Individual(TIN(tin), NPI(npi)) }

// DeterminationOption adjusts a built determination.
type DeterminationOption func(*events.EligibilityDetermined)

// MIPSAPM marks the participant as a MIPS APM participant.
func MIPSAPM() DeterminationOption {
	return func(d *events.EligibilityDetermined) { d.MIPSAPM = true }
}

// PortalRegistered marks the practice as registered on the payer's portal.
func PortalRegistered() DeterminationOption {
	return func(d *events.EligibilityDetermined) { d.PortalRegistered = true }
}

// At sets when the determination was made.
func At(t time.Time) DeterminationOption {
	return func(d *events.EligibilityDetermined) { d.DeterminedAt = t.UTC() }
}

// Segment2 makes a determination segment 2's (the final one), made on Dec 1
// of the performance year; reconciled with a segment 1 determination of the
// same status it gives that status, final.
func Segment2() DeterminationOption {
	return func(d *events.EligibilityDetermined) {
		d.Source, d.DeterminedAt = events.SourceSegment2, time.Date(d.ProgramYear.Year, 12, 1, 0, 0, 0, 0, time.UTC)
	}
}

// Determination builds a segment 1 determination of p for py with status st
// (and exclusion reason, for StatusExcluded), made on Dec 1 of the year
// before the performance year: alone, it is p's initial standing, with that
// status. A group's determination counts one eligible clinician (a solo
// practice), so the group may join a virtual group. Add a Segment2 one for
// a final standing.
func Determination(p events.Participant, py events.ProgramYear, st events.EligibilityStatus, opts ...DeterminationOption) events.EligibilityDetermined {
	d := events.EligibilityDetermined{Participant: p, ProgramYear: py, Status: st, Source: events.SourceSegment1,
		DeterminedAt: time.Date(py.Year-1, 12, 1, 0, 0, 0, 0, time.UTC)}
	if p.Kind == events.KindGroup && st != events.StatusExcluded {
		d.EligibleClinicians = 1
	}
	switch st {
	case events.StatusOptInEligible:
		d.Exceeded = events.CriterionCharges
	case events.StatusRequired:
		d.Exceeded = events.CriterionCharges | events.CriterionPatients | events.CriterionServices
	case events.StatusExcluded:
		d.Exclusion = events.ExclusionQP
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

// OptInEligible builds an opt-in-eligible determination.
func OptInEligible(p events.Participant, py events.ProgramYear, opts ...DeterminationOption) events.EligibilityDetermined {
	return Determination(p, py, events.StatusOptInEligible, opts...)
}

// Context builds a decision context for p in py at now from the default
// program-year table, with a determination d (none if d is nil).
func Context(tb testing.TB, p events.Participant, py events.ProgramYear, now time.Time, d *events.EligibilityDetermined) election.Context {
	tb.Helper()
	r, err := eligibility.Default().Rules(py)
	if err != nil {
		tb.Fatal(err)
	}
	c := election.Context{Participant: p, ProgramYear: py, Rules: &r, Now: now}
	if d != nil {
		c.Eligibility = eligibility.Reconcile(&r, p, []events.EligibilityDetermined{*d}, time.Time{})
	}
	return c
}

// Spec is a given/when/then specification of the pure decider.
type Spec struct {
	tb    testing.TB
	ctx   election.Context
	state election.State
}

// Given folds the given events (a stream's history) into the state a
// command will meet.
func Given(tb testing.TB, ctx election.Context, history ...events.Event) *Spec {
	tb.Helper()
	s := &Spec{tb: tb, ctx: ctx}
	for _, e := range history {
		var err error
		if s.state, err = election.Evolve(s.state, e); err != nil {
			tb.Fatalf("given: %v", err)
		}
	}
	return s
}

// Outcome is a decision, awaiting its Then.
type Outcome struct {
	tb  testing.TB
	evs []events.Event
	err error
}

// When decides command c.
func (s *Spec) When(c election.Command) *Outcome {
	s.tb.Helper()
	evs, err := election.Decide(s.state, c, s.ctx)
	return &Outcome{tb: s.tb, evs: evs, err: err}
}

// Then asserts the command produced exactly want.
func (o *Outcome) Then(want ...events.Event) {
	o.tb.Helper()
	if o.err != nil {
		o.tb.Fatalf("then: want %d events, got refusal: %v", len(want), o.err)
	}
	if !reflect.DeepEqual(o.evs, want) {
		o.tb.Fatalf("then:\n got  %+v\n want %+v", o.evs, want)
	}
}

// ThenRefused asserts the command was refused by rule, and that the refusal
// names the participant (masked) and a remedy.
func (o *Outcome) ThenRefused(rule error) *election.Refusal {
	o.tb.Helper()
	var r *election.Refusal
	if !errors.As(o.err, &r) {
		o.tb.Fatalf("then refused by %v: got events %+v, err %v", rule, o.evs, o.err)
	}
	if !errors.Is(o.err, rule) || !errors.Is(o.err, election.ErrRefused) {
		o.tb.Fatalf("then refused by %v: got %v", rule, o.err)
	}
	if len(o.evs) != 0 {
		o.tb.Fatalf("a refusal produced events: %+v", o.evs)
	}
	return r
}

// Harness is a working ledger for tests: an in-memory store, a Service with
// a deterministic clock and a MemoryAuthorizer, and helpers to set the
// scene.
type Harness struct {
	TB       testing.TB
	Store    events.Store
	Names    *events.StreamNamer
	Registry *events.Registry
	Clock    *Clock
	IDs      *IDs
	Table    *eligibility.Table
	Auth     *election.MemoryAuthorizer
	Service  *election.Service
}

// HarnessOption configures New.
type HarnessOption func(*harnessConfig)

type harnessConfig struct {
	store events.Store
	now   time.Time
}

// WithStore runs the harness on store instead of a new memstore.
func WithStore(s events.Store) HarnessOption { return func(c *harnessConfig) { c.store = s } }

// WithTime starts the clock at t (default: Feb 3 2025, 10:00 US Eastern,
// inside the MIPS PY2024 election window).
func WithTime(t time.Time) HarnessOption { return func(c *harnessConfig) { c.now = t } }

// New returns a harness; the store is closed when the test ends.
func New(tb testing.TB, opts ...HarnessOption) *Harness {
	tb.Helper()
	c := harnessConfig{now: eligibility.Eastern(2025, time.February, 3, 10, 0)}
	for _, o := range opts {
		o(&c)
	}
	h := &Harness{TB: tb, Clock: NewClock(c.now), IDs: NewIDs(tb.Name()), Auth: election.NewMemoryAuthorizer(),
		Registry: events.NewRegistry(), Table: eligibility.Default()}
	if c.store == nil {
		c.store = memstore.New(memstore.WithClock(h.Clock.Now))
	}
	h.Store = c.store
	tb.Cleanup(func() { _ = h.Store.Close() })
	var err error
	if h.Names, err = events.NewStreamNamer([]byte(events.DevelopmentKey)); err != nil {
		tb.Fatal(err)
	}
	h.Service, err = election.NewService(election.Config{Store: h.Store, Names: h.Names, Authorizer: h.Auth,
		Registry: h.Registry, Table: h.Table, Clock: h.Clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// Determine records determinations in the ledger.
func (h *Harness) Determine(ds ...events.EligibilityDetermined) {
	h.TB.Helper()
	for _, d := range ds {
		if _, err := eligibility.Record(context.Background(), h.Store, h.Names, h.Registry, h.Table, d,
			events.Metadata{Actor: "electiontest", ActorRole: events.RoleSystem}); err != nil {
			h.TB.Fatal(err)
		}
	}
}

// Rep returns a command Meta for a practice representative connected to
// tin, attested a minute ago, with a fresh command ID.
func (h *Harness) Rep(tin events.TIN) election.Meta {
	id := "rep-" + tin.Last4()
	h.Auth.ConnectRepresentative(id, tin)
	return h.Meta(election.Actor{ID: id, Role: events.RolePracticeRepresentative})
}

// RegistryActor returns a command Meta for a registry authorized for the
// client TINs.
func (h *Harness) RegistryActor(org string, clients ...events.TIN) election.Meta {
	for _, c := range clients {
		h.Auth.AuthorizeRegistry(org, c)
	}
	return h.Meta(election.Actor{ID: org + "-user", Role: events.RoleRegistry, Organization: org})
}

// Meta returns a Meta for actor, attested a minute ago, with a fresh
// command ID.
func (h *Harness) Meta(actor election.Actor) election.Meta {
	actor.AttestedAt = h.Clock.Now().Add(-time.Minute)
	return election.Meta{CommandID: h.IDs.New(), Actor: actor}
}

// Stream returns p's election stream records for py.
func (h *Harness) Stream(py events.ProgramYear, p events.Participant) []events.Record {
	h.TB.Helper()
	var out []events.Record
	for r, err := range h.Store.ReadStream(context.Background(), h.Names.Election(py, p), 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			h.TB.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
