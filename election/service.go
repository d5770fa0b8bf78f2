package election

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
)

// EligibilitySource gives the determination that stands for a participant
// at an instant. The default reads the ledger's eligibility streams; a
// service may supply a read model instead.
type EligibilitySource interface {
	Eligibility(ctx context.Context, py events.ProgramYear, p events.Participant, asOf time.Time) (events.EligibilityDetermined, bool, error)
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
	cache    stateCache
}

// stateCache keeps, per participant and program year, the election
// stream's name, its folded state and the commands it holds, so a command
// needs one lookup, and reads only the events appended since (usually none)
// instead of decoding the whole stream. An entry is never trusted beyond
// its revision: loading always reads on from there.
type stateCache struct {
	mu    sync.Mutex
	idx   map[electionKey]int32 // where each election's entry is in slots
	slots []loaded              // updated in place: no allocation per command
}

// electionKey names an election: a participant in a program year.
type electionKey struct {
	py events.ProgramYear
	p  events.Participant
}

// maxCached bounds the cache; past it the cache starts over.
const maxCached = 200_000

func (c *stateCache) get(k electionKey) (loaded, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.idx[k]
	if !ok {
		return loaded{}, false
	}
	return c.slots[i], true
}

func (c *stateCache) put(k electionKey, l loaded) {
	l.prior, l.priorType, l.cached = nil, "", false
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx == nil || len(c.slots) >= maxCached {
		c.idx, c.slots = make(map[electionKey]int32), nil
	}
	if i, ok := c.idx[k]; ok {
		if l.state.Next > c.slots[i].state.Next {
			c.slots[i] = l
		}
		return
	}
	c.idx[k] = int32(len(c.slots))
	c.slots = append(c.slots, l)
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Names == nil || cfg.Authorizer == nil {
		return nil, errors.New("election: NewService needs a Store, a StreamNamer and an Authorizer")
	}
	s := &Service{store: cfg.Store, names: cfg.Names, auth: cfg.Authorizer, reg: cfg.Registry, table: cfg.Table,
		elig: cfg.Eligibility, now: cfg.Clock, attempts: cfg.MaxAttempts, workers: cfg.BatchWorkers}
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
	return s, nil
}

type storeEligibility struct{ s *Service }

func (e storeEligibility) Eligibility(ctx context.Context, py events.ProgramYear, p events.Participant, asOf time.Time) (events.EligibilityDetermined, bool, error) {
	return eligibility.Current(ctx, e.s.store, e.s.names, e.s.reg, py, p, asOf)
}

// Meta is what every command carries besides its content.
type Meta struct {
	// CommandID identifies the command: retrying it with the same ID
	// appends nothing new and returns the original receipt. Required.
	CommandID uuid.UUID
	Actor     Actor
	// OnBehalfOf is the client a registry acts for (default: the
	// participant's practice, for a registry actor).
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

// Execute runs any command: checks, authorizes, then load-decide-append
// with bounded retries. A refused command appends nothing.
func (s *Service) Execute(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, c Command) (Receipt, error) {
	dctx, err := s.prepare(ctx, m, py, p, true)
	if err != nil {
		return Receipt{}, err
	}
	return s.run(ctx, m, dctx, func(st State, dctx Context) ([]events.Event, error) { return Decide(st, c, dctx) }, kindOf(c))
}

// prepare validates a command, checks attestation and authorization, and
// builds the decision context.
func (s *Service) prepare(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant, authorize bool) (Context, error) {
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
	if m.Actor.AttestedAt.IsZero() || m.Actor.AttestedAt.After(now) {
		return Context{}, refuse(ErrNotAttested, p, py, "", "accept the Statement of Truth at sign-in")
	}
	if authorize {
		if err := s.auth.Authorize(ctx, m.Actor, p); err != nil {
			return Context{}, refuse(ErrUnauthorized, p, py, err.Error(), "act as a representative connected to the TIN, the clinician themself, or a registry authorized for the client")
		}
	}
	det, found, err := s.elig.Eligibility(ctx, py, p, now)
	if err != nil {
		return Context{}, fmt.Errorf("election: eligibility of %v: %w", p, err)
	}
	return Context{Participant: p, ProgramYear: py, Rules: rules, Eligibility: det, Determined: found, Now: now}, nil
}

// commandKind says which event type a command's last event has, to tell a
// retried command from a reused ID.
type commandKind string

func kindOf(c Command) commandKind {
	switch c.(type) {
	case Request:
		return events.TypeElectionRequested
	case Confirm:
		return events.TypeElectionConfirmed
	case Withdraw:
		return events.TypeElectionRequestWithdrawn
	}
	return ""
}

// loaded is a folded election stream.
type loaded struct {
	stream string // the election stream's name
	state  State
	// cmds are the commands the stream holds: the last record of each.
	cmds []commandRecord
	// prior is the receipt of this command if the stream already holds it.
	prior *Receipt
	// priorType is the type of the last event the command recorded.
	priorType string
	// cached says the state came from the cache without reading the
	// stream: it may be behind.
	cached bool
}

type commandRecord struct {
	id       uuid.UUID
	typ      string
	revision uint64
	position events.Position
	hash     events.Hash
}

func (s *Service) load(ctx context.Context, m Meta, dctx Context, fresh bool) (loaded, error) {
	key := electionKey{dctx.ProgramYear, dctx.Participant}
	l, hit := s.cache.get(key)
	if !hit {
		l.stream = s.names.Election(dctx.ProgramYear, dctx.Participant)
	}
	stream := l.stream
	l.cmds = slices.Clip(l.cmds) // appends below must not write into the cached slice
	l.cached = hit && !fresh && l.state.Next > 0
	if l.cached {
		// Decide on the cached state without reading: the append expects
		// exactly its revision, so it fails if the stream moved on, and a
		// refusal is decided again on a fresh read (see run).
		l.prior, l.priorType = l.findCommand(m, dctx, stream)
		s.indexReceipt(l.prior)
		return l, nil
	}
	l, err := s.read(ctx, stream, l)
	if err != nil {
		return loaded{}, err
	}
	if l.state.Next > 0 {
		s.cache.put(key, l)
	}
	l.prior, l.priorType = l.findCommand(m, dctx, stream)
	s.indexReceipt(l.prior)
	return l, nil
}

// indexReceipt sets a receipt's log index: its position, in a store whose
// positions are log indexes (one that keeps the Merkle tree); else -1.
func (s *Service) indexReceipt(rc *Receipt) {
	if rc == nil {
		return
	}
	rc.LogIndex = -1
	if _, ok := s.store.(chain.TreeStore); ok {
		rc.LogIndex = int64(rc.Position)
	}
}

// read folds the stream's records after l's state into it. (It is apart
// from load so that only a read, not a decision on the cached state, pays
// for the state escaping into the read's loop.)
func (s *Service) read(ctx context.Context, stream string, l loaded) (loaded, error) {
	for rec, err := range s.store.ReadStream(ctx, stream, l.state.Next) {
		if errors.Is(err, events.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return loaded{}, err
		}
		e, err := s.reg.Decode(&rec)
		if err != nil {
			return loaded{}, fmt.Errorf("election: %s@%d: %w", rec.Stream, rec.Revision, err)
		}
		if l.state, err = Evolve(l.state, e); err != nil {
			var v *ViolationError
			if errors.As(err, &v) {
				v.Stream, v.Revision = rec.Stream, rec.Revision
			}
			return loaded{}, err
		}
		l.remember(&rec)
	}
	return l, nil
}

// findCommand returns the receipt of m's command if the stream holds it.
func (l *loaded) findCommand(m Meta, dctx Context, stream string) (*Receipt, string) {
	if m.CommandID == uuid.Nil {
		return nil, ""
	}
	for i := len(l.cmds) - 1; i >= 0; i-- {
		if c := l.cmds[i]; c.id == m.CommandID {
			return &Receipt{Participant: dctx.Participant, ProgramYear: dctx.ProgramYear, Stream: stream,
				Type: c.typ, Revision: c.revision, Position: c.position, Hash: c.hash, Replayed: true}, c.typ
		}
	}
	return nil, ""
}

// remember notes the command that wrote rec (the last record of a command
// replaces its earlier ones).
func (l *loaded) remember(rec *events.Record) {
	c := commandRecord{id: rec.Metadata.CommandID, typ: rec.Type, revision: rec.Revision, position: rec.Position, hash: rec.Hash}
	if n := len(l.cmds); n > 0 && l.cmds[n-1].id == c.id {
		l.cmds[n-1] = c
		return
	}
	l.cmds = append(l.cmds, c)
}

// decideFunc is a decision over a loaded state.
type decideFunc func(State, Context) ([]events.Event, error)

// run is the load-decide-append loop shared by every command.
func (s *Service) run(ctx context.Context, m Meta, dctx Context, decide decideFunc, kind commandKind) (Receipt, error) {
	md := s.metadata(m, dctx.Participant)
	var lastErr error
	fresh := false
	for attempt := 0; attempt < s.attempts; attempt++ {
		l, err := s.load(ctx, m, dctx, fresh)
		if err != nil {
			return Receipt{}, err
		}
		stream := l.stream
		fresh = true // a retry reads what the conflict appended
		var evs []events.Event
		if l.prior == nil {
			evs, err = decide(l.state, dctx)
		}
		if l.cached && (l.prior != nil || err != nil) {
			// Refuse, or answer from a prior command, only on a fresh read:
			// the cached state may be behind.
			if l, err = s.load(ctx, m, dctx, true); err != nil {
				return Receipt{}, err
			}
			if l.prior == nil {
				evs, err = decide(l.state, dctx)
			}
		}
		if l.prior != nil {
			if kind != "" && string(kind) != l.priorType {
				return Receipt{}, refuse(ErrCommandIDReused, dctx.Participant, dctx.ProgramYear,
					fmt.Sprintf("command %s already recorded %s", m.CommandID, l.priorType), "give a new command a new ID")
			}
			return *l.prior, nil
		}
		if err != nil {
			return Receipt{}, err
		}
		data := make([]events.EventData, len(evs))
		for i, e := range evs {
			if data[i], err = s.reg.Encode(eventID(m.CommandID, i), e, md); err != nil {
				return Receipt{}, err
			}
		}
		expected := events.NoStream
		if l.state.Next > 0 {
			expected = events.Exact(l.state.Next - 1)
		}
		res, err := s.store.Append(ctx, stream, expected, data...)
		switch {
		case err == nil && l.cached && res.Revision != l.state.Next+uint64(len(data))-1:
			// The store took the events as a retry of an earlier append of
			// this command, which the cache had not seen: answer from a read.
			lastErr = nil
			attempt--
			continue
		case err == nil:
			s.remember(dctx, l, evs, data, res)
			rc := Receipt{Participant: dctx.Participant, ProgramYear: dctx.ProgramYear, Stream: stream,
				Type: data[len(data)-1].Type, Revision: res.Revision, Position: res.Position, Hash: res.Hash}
			s.indexReceipt(&rc)
			return rc, nil
		case errors.Is(err, events.ErrWrongExpectedRevision), errors.Is(err, events.ErrDuplicateEvent), errors.Is(err, events.ErrStreamSealed):
			// Someone else appended first (maybe this very command, retried
			// concurrently): reload and decide again.
			lastErr = err
			dctx.Now = s.now()
			continue
		default:
			return Receipt{}, err
		}
	}
	return Receipt{}, fmt.Errorf("election: %v: gave up after %d conflicting attempts: %w", dctx.Participant, s.attempts, lastErr)
}

// remember folds a successful append into the state cache.
func (s *Service) remember(dctx Context, l loaded, evs []events.Event, data []events.EventData, res events.AppendResult) {
	st := l.state
	for _, e := range evs {
		var err error
		if st, err = Evolve(st, e); err != nil {
			return // cannot happen for decided events; leave the cache as it was
		}
	}
	l.state, l.prior = st, nil
	l.cmds = append(l.cmds, commandRecord{id: data[len(data)-1].Metadata.CommandID, typ: data[len(data)-1].Type,
		revision: res.Revision, position: res.Position, hash: res.Hash})
	s.cache.put(electionKey{dctx.ProgramYear, dctx.Participant}, l)
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

// State loads p's election state for py.
func (s *Service) State(ctx context.Context, py events.ProgramYear, p events.Participant) (State, error) {
	l, err := s.load(ctx, Meta{}, Context{Participant: p, ProgramYear: py}, true)
	return l.state, err
}
