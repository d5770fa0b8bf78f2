package election

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/internal/fastpath"
	"github.com/google/uuid"
)

// EligibilitySource gives a participant's standing at an instant,
// reconciled from its determinations (eligibility.Reconcile). The default
// reads the ledger's eligibility streams; a service may supply a read model
// instead. A participant with no determination has a Standing whose
// Determined() is false.
type EligibilitySource interface {
	Eligibility(ctx context.Context, rules *eligibility.Rules, p events.Participant, asOf time.Time) (eligibility.Standing, error)
}

// Config wires a Service. Store, Names and Authorizer are required.
type Config struct {
	Store      events.Store
	Names      *events.StreamNamer
	Authorizer Authorizer
	// Registry encodes and decodes events (default events.NewRegistry()).
	Registry *events.Registry
	// Table holds the program-year rules (default eligibility.Default()).
	Table *eligibility.Table
	// Eligibility answers determinations (default: the ledger's streams).
	Eligibility EligibilitySource
	// Clock is the time source (default time.Now).
	Clock func() time.Time
	// MaxAttempts bounds load-decide-append attempts under concurrency
	// conflicts (default 8).
	MaxAttempts int
	// BatchWorkers is how many participants of a batch are processed at
	// once (default 64): on a file store, concurrent appends share fsyncs.
	BatchWorkers int
	// NoStateCache turns the state cache off: every command reads its
	// election stream from the start. The answers are the same either way
	// (the test suite runs both); the cache saves the read. Setting
	// ELECTIONLEDGER_FAST_PATHS=off turns it off too.
	NoStateCache bool
}

// Service takes election commands against any events.Store: it loads the
// participant's election stream, decides, and appends at the loaded
// revision, retrying on a concurrency conflict. It is safe for concurrent
// use.
type Service struct {
	store    events.Store
	names    *events.StreamNamer
	auth     Authorizer
	reg      *events.Registry
	table    *eligibility.Table
	elig     EligibilitySource
	now      func() time.Time
	attempts int
	workers  int
	states   stateSource // the cache in front of the store, or the store alone
	// claimFirst records a command's claim before its events, not after:
	// the store's event IDs are unique per stream only (events.IDScope).
	claimFirst bool
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Names == nil || cfg.Authorizer == nil {
		return nil, errors.New("election: NewService needs a Store, a StreamNamer and an Authorizer")
	}
	s := &Service{store: cfg.Store, names: cfg.Names, auth: cfg.Authorizer, reg: cfg.Registry, table: cfg.Table,
		elig: cfg.Eligibility, now: cfg.Clock, attempts: cfg.MaxAttempts, workers: cfg.BatchWorkers,
		claimFirst: events.EventIDsPerStream(cfg.Store)}
	if s.reg == nil {
		s.reg = events.NewRegistry()
	}
	if s.table == nil {
		s.table = eligibility.Default()
	}
	if s.elig == nil {
		s.elig = storeEligibility{s}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.attempts <= 0 {
		s.attempts = 8
	}
	if s.workers <= 0 {
		s.workers = 64
	}
	s.states = storeStates{s}
	if !cfg.NoStateCache && !fastpath.Off() {
		s.states = &cachedStates{store: storeStates{s}}
	}
	return s, nil
}

type storeEligibility struct{ s *Service }

func (e storeEligibility) Eligibility(ctx context.Context, rules *eligibility.Rules, p events.Participant, asOf time.Time) (eligibility.Standing, error) {
	return eligibility.Current(ctx, e.s.store, e.s.names, e.s.reg, rules, p, asOf)
}

// Meta is what every command carries besides its content.
type Meta struct {
	// CommandID identifies the command: retrying it with the same ID
	// appends nothing new and returns the original receipt. Required.
	CommandID uuid.UUID
	Actor     Actor
	// OnBehalfOf is the client a registry acts for (default: the
	// participant's practice, for a registry actor): a practice or a
	// clinician the participant belongs to. An APM Entity's or a virtual
	// group's election is made on behalf of nobody: naming a client there is
	// refused (ErrUnauthorized).
	OnBehalfOf    events.Participant
	CorrelationID uuid.UUID
}

// Receipt says what a command recorded. For a confirmation, Hash is the
// hash of the ElectionConfirmed event: the confirmation number to keep.
type Receipt struct {
	Participant events.Participant
	ProgramYear events.ProgramYear
	Stream      string
	Type        string // the last event's type
	Revision    uint64
	Position    events.Position
	Hash        events.Hash
	// LogIndex is the last event's index in the log: its leaf in the log's
	// Merkle tree, with which the elector can later have the election
	// proved in any newer signed checkpoint (chain.ProveReceipt). -1 when
	// the store cannot tell at append time (a store whose positions are not
	// log indexes): cmd/ledger receipt finds it by the confirmation number.
	LogIndex int64
	// Replayed: the command had already been applied; nothing was written.
	// (One case reads as a new write: another Service recorded the command,
	// this one had not read it yet, and the retry's events are byte-for-byte
	// the same, clock reading included. The store's idempotency then answers
	// and nothing is written either; the receipt is the same but for this
	// flag.)
	Replayed bool
}

// Request records a selection for p (not yet binding).
func (s *Service) Request(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, r Request) (Receipt, error) {
	return s.Execute(ctx, m, py, p, r)
}

// Confirm makes p's pending selection binding; phrase must be exactly
// CONFIRM. The receipt's Hash is the confirmation number.
func (s *Service) Confirm(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, phrase string) (Receipt, error) {
	return s.Execute(ctx, m, py, p, Confirm{Phrase: phrase})
}

// Withdraw cancels p's pending selection.
func (s *Service) Withdraw(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, reason string) (Receipt, error) {
	return s.Execute(ctx, m, py, p, Withdraw{Reason: reason})
}

// Execute runs a command against p's opt-in election: checks, authorizes,
// then load-decide-append with bounded retries. A refused command appends
// nothing. The command ID is bound to the command's content (Meta):
// retrying it returns the original receipt; reusing it for another command
// is refused with ErrCommandIDReused.
func (s *Service) Execute(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, c Command) (Receipt, error) {
	return s.execute(ctx, m, OptInElection, py, p, c, true)
}

// ExecutePartialQP runs a command against p's Partial QP election (an APM
// Entity for its Partial QPs, or an individually assessed Partial QP):
// Request{Choice: events.ChoicePartialQP}, then Confirm with CONFIRM, by
// the Partial QP election deadline. Once confirmed it is final.
func (s *Service) ExecutePartialQP(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, c Command) (Receipt, error) {
	return s.execute(ctx, m, PartialQPElection, py, p, c, true)
}

// execute is Execute for an election kind; bind says whether the command
// ID is bound to the content here (a compound command's parts are bound
// through their parent).
func (s *Service) execute(ctx context.Context, m Meta, kind ElectionKind, py events.ProgramYear, p events.Participant, c Command, bind bool) (Receipt, error) {
	return s.executeGuarded(ctx, m, kind, py, p, c, bind, nil)
}

// executeGuarded is execute with guard, when not nil, checked on the
// loaded state before the decider: its refusal is the command's.
func (s *Service) executeGuarded(ctx context.Context, m Meta, kind ElectionKind, py events.ProgramYear, p events.Participant, c Command, bind bool, guard func(State, Context) error) (Receipt, error) {
	if err := checkOwnCommand(c, p, py); err != nil {
		return Receipt{}, err
	}
	window := func(r *eligibility.Rules) eligibility.Window {
		if kind == PartialQPElection {
			return r.PartialQPElectionWindow()
		}
		return r.ElectionWindow
	}
	dctx, err := s.prepare(ctx, m, py, p, true, window)
	if err != nil {
		return Receipt{}, err
	}
	dctx.Election = kind
	var claim *commandClaim
	if bind {
		claim = newClaim(m, "election."+commandName(c)+"/"+kind.String(), py, p, c)
	}
	decide := func(st State, dctx Context) ([]events.Event, error) {
		if guard != nil {
			if err := guard(st, dctx); err != nil {
				return nil, err
			}
		}
		return Decide(st, c, dctx)
	}
	return s.run(ctx, m, dctx, decide, kindOf(c), claim)
}

// checkOwnCommand refuses, on the public path, the commands that are a
// virtual group's own: its opt-in of a member, and a request, confirmation
// or withdrawal naming it. Only ElectVirtualGroup, RetractVirtualGroup and
// FinalizeVirtualGroup make them (each checking the virtual group's
// representative and every member's authorization); a member naming the
// virtual group would otherwise opt itself in with no CONFIRM, or withdraw
// what only the virtual group may.
func checkOwnCommand(c Command, p events.Participant, py events.ProgramYear) error {
	vg := ""
	switch c := c.(type) {
	case VirtualGroupOptIn:
		vg = c.VirtualGroupID
		if vg == "" {
			vg = "(none named)"
		}
	case Request:
		vg = c.VirtualGroupID
	case Confirm:
		vg = c.VirtualGroupID
	case Withdraw:
		vg = c.VirtualGroupID
	}
	if vg == "" {
		return nil
	}
	return refuse(ErrInvalidCommand, p, py, "the command names virtual group "+vg+": a virtual group's commands are its own",
		"elect, revise, retract or finalize a virtual group through ElectVirtualGroup, RetractVirtualGroup or FinalizeVirtualGroup, as its representative")
}

// commandName names a command's type.
func commandName(c Command) string {
	switch c.(type) {
	case Request:
		return "request"
	case Confirm:
		return "confirm"
	case Withdraw:
		return "withdraw"
	}
	return fmt.Sprintf("%T", c)
}

// prepare validates a command, checks attestation and authorization, and
// builds the decision context. The Statement of Truth must have been
// accepted no earlier than the opening of the window the command belongs to
// (window; nil for none) and not in the future. A command on behalf of a
// client (Meta.OnBehalfOf) needs the actor to be authorized for that client
// too, and the participant to be the client's.
func (s *Service) prepare(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, authorize bool, window func(*eligibility.Rules) eligibility.Window) (Context, error) {
	if m.CommandID == uuid.Nil {
		return Context{}, refuse(ErrInvalidCommand, p, py, "no command ID", "give every command a UUID; reuse it only to retry the same command")
	}
	if err := p.Validate(); err != nil {
		return Context{}, refuse(ErrInvalidCommand, p, py, err.Error(), "name a valid participant")
	}
	rules, err := s.table.Lookup(py)
	if err != nil {
		return Context{}, refuse(ErrInvalidCommand, p, py, err.Error(), "elect in a program year the table holds")
	}
	now := s.now()
	if err := checkAttestation(m, p, py, rules, now, window); err != nil {
		return Context{}, err
	}
	if authorize {
		if err := s.auth.Authorize(ctx, m.Actor, p); err != nil {
			return Context{}, refuse(ErrUnauthorized, p, py, err.Error(), "act as a representative connected to the TIN, the clinician themself, or a registry authorized for the client")
		}
		if err := s.checkOnBehalfOf(ctx, m, p, py); err != nil {
			return Context{}, err
		}
	}
	standing, err := s.elig.Eligibility(ctx, rules, p, now)
	if err != nil {
		return Context{}, fmt.Errorf("election: eligibility of %v: %w", p, err)
	}
	return Context{Participant: p, ProgramYear: py, Rules: rules, Eligibility: standing, Now: now}, nil
}

// checkAttestation refuses a Statement of Truth never accepted, accepted in
// the future, or accepted before the command's window opened.
func checkAttestation(m Meta, p events.Participant, py events.ProgramYear, rules *eligibility.Rules, now time.Time, window func(*eligibility.Rules) eligibility.Window) error {
	at := m.Actor.AttestedAt
	switch {
	case at.IsZero():
		return refuse(ErrNotAttested, p, py, "never accepted", "accept the Statement of Truth at sign-in")
	case at.After(now):
		return refuse(ErrNotAttested, p, py, "accepted at "+eligibility.FormatEastern(at)+", in the future", "sign in again: the attestation time cannot be later than now")
	}
	// Before the window opens the window's own refusal says when it does.
	if window != nil {
		if w := window(rules); !w.IsZero() && !now.Before(w.Open) && at.Before(w.Open) {
			return refuse(ErrNotAttested, p, py, "accepted at "+eligibility.FormatEastern(at)+", before the window opened at "+eligibility.FormatEastern(w.Open),
				"sign in again and accept the Statement of Truth for this window")
		}
	}
	return nil
}

// checkOnBehalfOf checks a command made on behalf of a client: the client
// is a practice or clinician the participant belongs to, and the Authorizer
// lets the actor act for it. An APM Entity's or a virtual group's election
// belongs to no practice or clinician: it is made by its own
// representative, on behalf of nobody, so naming a client is refused.
func (s *Service) checkOnBehalfOf(ctx context.Context, m Meta, p events.Participant, py events.ProgramYear) error {
	on := m.OnBehalfOf
	if on.IsZero() {
		return nil
	}
	if p.Kind != events.KindGroup && p.Kind != events.KindIndividual {
		whose := "an APM Entity's"
		if p.Kind == events.KindVirtualGroup {
			whose = "a virtual group's"
		}
		return refuse(ErrUnauthorized, p, py, fmt.Sprintf("on behalf of %v: %s election is made for no practice or clinician", on, whose),
			"make it as the entity's own representative, on behalf of nobody (leave OnBehalfOf empty)")
	}
	if err := on.Validate(); err != nil || on.Kind != events.KindGroup && on.Kind != events.KindIndividual {
		return refuse(ErrUnauthorized, p, py, "on behalf of an invalid client", "name the client practice (TIN) or clinician (TIN/NPI)")
	}
	if (p.Kind == events.KindGroup || p.Kind == events.KindIndividual) && p.TIN != on.TIN {
		return refuse(ErrUnauthorized, p, py, fmt.Sprintf("on behalf of %v, which the participant does not belong to", on), "act on behalf of the participant's own practice")
	}
	if err := s.auth.Authorize(ctx, m.Actor, on); err != nil {
		return refuse(ErrUnauthorized, p, py, "on behalf of "+on.String()+": "+err.Error(), "act on behalf of a client the actor is authorized for")
	}
	return nil
}

// eventID derives the i-th event ID of a command (UUID v5 in the command's
// namespace): a retried command produces the same IDs.
func eventID(cmd uuid.UUID, i int) uuid.UUID {
	// uuid.NewSHA1(cmd, []byte{'e', byte(i)}), without its allocations.
	var in [18]byte
	copy(in[:], cmd[:])
	in[16], in[17] = 'e', byte(i)
	sum := sha1.Sum(in[:])
	var u uuid.UUID
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// SubCommandID derives the command ID of the n-th part of a compound
// command (a batch entry, a virtual group member) from the parent's.
func SubCommandID(parent uuid.UUID, part string) uuid.UUID {
	return uuid.NewSHA1(parent, []byte("part/"+part))
}

func (s *Service) metadata(m Meta, p events.Participant) events.Metadata {
	on := m.OnBehalfOf
	if on.IsZero() && m.Actor.Role == events.RoleRegistry && (p.Kind == events.KindGroup || p.Kind == events.KindIndividual) {
		on = events.Group(p.TIN)
	}
	return events.Metadata{Actor: m.Actor.ID, ActorRole: m.Actor.Role, Organization: m.Actor.Organization,
		OnBehalfOf: on, AttestedAt: m.Actor.AttestedAt.UTC(), CommandID: m.CommandID,
		CausationID: m.CommandID, CorrelationID: m.CorrelationID}
}

// State loads p's opt-in election state for py.
func (s *Service) State(ctx context.Context, py events.ProgramYear, p events.Participant) (State, error) {
	l, err := s.states.load(ctx, electionKey{py, p, OptInElection}, true)
	return l.state, err
}

// PartialQPState loads p's Partial QP election state for py.
func (s *Service) PartialQPState(ctx context.Context, py events.ProgramYear, p events.Participant) (State, error) {
	l, err := s.states.load(ctx, electionKey{py, p, PartialQPElection}, true)
	return l.state, err
}

// logIndex is a record's index in the log, given its position: the
// position itself in a store whose positions are log indexes (one that
// keeps the Merkle tree); else -1.
func (s *Service) logIndex(pos events.Position) int64 {
	if _, ok := s.store.(chain.TreeStore); ok {
		return int64(pos)
	}
	return -1
}
