package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
	eh "github.com/looplab/eventhorizon"
	ehagg "github.com/looplab/eventhorizon/aggregatestore/events"
	ehjson "github.com/looplab/eventhorizon/codec/json"
	ehcmd "github.com/looplab/eventhorizon/commandhandler/aggregate"
	ehmemory "github.com/looplab/eventhorizon/eventstore/memory"
	"github.com/looplab/eventhorizon/uuid"
)

const horizonName = "eventhorizon"

// The eventhorizon names of the aggregates, events and command.
const (
	ehElectionType    = eh.AggregateType("election")
	ehEligibilityType = eh.AggregateType("eligibility")
	ehRequested       = eh.EventType(events.TypeElectionRequested)
	ehWithdrawn       = eh.EventType(events.TypeElectionRequestWithdrawn)
	ehConfirmed       = eh.EventType(events.TypeElectionConfirmed)
	ehDetermined      = eh.EventType(events.TypeEligibilityDetermined)
	ehConfirmCommand  = eh.CommandType("confirm_election")
)

// ehElection is the election aggregate on looplab/eventhorizon.
type ehElection struct {
	*ehagg.AggregateBase
	facts electionFacts
}

// HandleCommand decides a confirmation. The handler in front of it has put
// the participant's standing into the command.
func (a *ehElection) HandleCommand(ctx context.Context, cmd eh.Command) error {
	c, ok := cmd.(*ehConfirm)
	if !ok {
		return fmt.Errorf("election: unknown command %s", cmd.CommandType())
	}
	conf, err := decideConfirm(&a.facts, c.Status, c.Participant, c.Phrase)
	if err != nil {
		return err
	}
	a.AppendEvent(ehConfirmed, &conf, now, eh.WithMetadata(metadata(c.CommandID)))
	return nil
}

// ApplyEvent folds an event.
func (a *ehElection) ApplyEvent(ctx context.Context, e eh.Event) error {
	return a.facts.apply(e.Data())
}

// ehEligibility is a participant's eligibility, an aggregate of its own.
type ehEligibility struct {
	*ehagg.AggregateBase
	status events.EligibilityStatus
}

// HandleCommand refuses every command: determinations are recorded, not
// commanded, here.
func (a *ehEligibility) HandleCommand(context.Context, eh.Command) error {
	return errors.New("eligibility takes no command")
}

// ApplyEvent folds a determination.
func (a *ehEligibility) ApplyEvent(ctx context.Context, e eh.Event) error {
	d, ok := e.Data().(*events.EligibilityDetermined)
	if !ok {
		return fmt.Errorf("eligibility: unexpected event %s", e.EventType())
	}
	a.status = d.Status
	return nil
}

// ehConfirm confirms a pending request.
type ehConfirm struct {
	ID            uuid.UUID
	EligibilityID uuid.UUID
	Participant   events.Participant
	Phrase        string
	CommandID     uuid.UUID
	// Status is filled in by the handler from the eligibility aggregate.
	Status events.EligibilityStatus `eh:"optional"`
}

// AggregateID implements eh.Command.
func (c *ehConfirm) AggregateID() uuid.UUID { return c.ID }

// AggregateType implements eh.Command.
func (c *ehConfirm) AggregateType() eh.AggregateType { return ehElectionType }

// CommandType implements eh.Command.
func (c *ehConfirm) CommandType() eh.CommandType { return ehConfirmCommand }

// ehEncoding is an eh.EventStore in front of the in-memory one that encodes
// every saved event with eventhorizon's JSON codec, as its durable stores
// encode what they write, and keeps the bytes.
type ehEncoding struct {
	eh.EventStore
	codec ehjson.EventCodec
	mu    sync.Mutex
	log   [][]byte
}

// Save encodes the events, then saves them.
func (s *ehEncoding) Save(ctx context.Context, evs []eh.Event, originalVersion int) error {
	s.mu.Lock()
	for _, e := range evs {
		b, err := s.codec.MarshalEvent(ctx, e)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.log = append(s.log, b)
	}
	s.mu.Unlock()
	return s.EventStore.Save(ctx, evs, originalVersion)
}

// horizon runs the workloads on looplab/eventhorizon v0.16.0 with its
// in-memory event store. The library registers aggregates and event types in
// registries of its own package, once.
type horizon struct{ fx *fixture }

func newHorizon(fx *fixture) *horizon {
	if _, err := eh.CreateAggregate(ehElectionType, uuid.New()); err != nil {
		eh.RegisterAggregate(func(id uuid.UUID) eh.Aggregate {
			return &ehElection{AggregateBase: ehagg.NewAggregateBase(ehElectionType, id)}
		})
		eh.RegisterAggregate(func(id uuid.UUID) eh.Aggregate {
			return &ehEligibility{AggregateBase: ehagg.NewAggregateBase(ehEligibilityType, id)}
		})
		eh.RegisterEventData(ehRequested, func() eh.EventData { return &events.ElectionRequested{} })
		eh.RegisterEventData(ehWithdrawn, func() eh.EventData { return &events.ElectionRequestWithdrawn{} })
		eh.RegisterEventData(ehConfirmed, func() eh.EventData { return &events.ElectionConfirmed{} })
		eh.RegisterEventData(ehDetermined, func() eh.EventData { return &events.EligibilityDetermined{} })
	}
	return &horizon{fx: fx}
}

func (h *horizon) newStore() (*ehEncoding, error) {
	mem, err := ehmemory.NewEventStore()
	if err != nil {
		return nil, err
	}
	return &ehEncoding{EventStore: mem}, nil
}

// event builds event data for aggregate id of type t at version v.
func (h *horizon) event(et eh.EventType, data eh.EventData, t eh.AggregateType, id uuid.UUID, v int, cmd uuid.UUID) eh.Event {
	return eh.NewEvent(et, data, now, eh.ForAggregate(t, id, v), eh.WithMetadata(metadata(cmd)))
}

// appendNew: per operation, one request saved to a new aggregate's stream in
// the event store, encoded with codec/json.
func (h *horizon) appendNew(n int) side {
	return side{name: horizonName,
		note: "eventhorizon: event store Save; its in-memory store keeps a deep copy (copier), the codec/json encoding is added in front of it",
		setup: func(ctx context.Context) (*trial, error) {
			es, err := h.newStore()
			if err != nil {
				return nil, err
			}
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						r := requested(h.fx.participants[i])
						return es.Save(ctx, []eh.Event{h.event(ehRequested, &r, ehElectionType, h.fx.ids[i], 1, h.fx.eventIDs[i])}, 0)
					})
				},
				check: func(ctx context.Context, done int) error { return h.checkVersions(ctx, es, done, 1) }}, nil
		}}
}

func (h *horizon) checkVersions(ctx context.Context, es eh.EventStore, done, version int) error {
	for i := range done {
		evs, err := es.Load(ctx, h.fx.ids[i])
		if err != nil {
			return err
		}
		if len(evs) != version {
			return fmt.Errorf("election %d has %d events, want %d", i, len(evs), version)
		}
	}
	return nil
}

// command: per operation, a command through eventhorizon's aggregate
// command handler, behind a handler that first loads the participant's
// eligibility aggregate; the command handler loads the election aggregate,
// lets it decide, and saves what it appended.
func (h *horizon) command(n int) side {
	return side{name: horizonName,
		note: "eventhorizon: loads both aggregates from its store on every command; its in-memory store deep-copies events (copier) instead of decoding",
		setup: func(ctx context.Context) (*trial, error) {
			es, err := h.newStore()
			if err != nil {
				return nil, err
			}
			for i := range n {
				p := h.fx.participants[i]
				d, r := determination(p), requested(p)
				if err := es.Save(ctx, []eh.Event{h.event(ehDetermined, &d, ehEligibilityType, h.fx.eligIDs[i], 1, h.fx.eventIDs[i])}, 0); err != nil {
					return nil, err
				}
				if err := es.Save(ctx, []eh.Event{h.event(ehRequested, &r, ehElectionType, h.fx.ids[i], 1, h.fx.eventIDs[i])}, 0); err != nil {
					return nil, err
				}
			}
			aggs, err := ehagg.NewAggregateStore(es)
			if err != nil {
				return nil, err
			}
			inner, err := ehcmd.NewCommandHandler(ehElectionType, aggs)
			if err != nil {
				return nil, err
			}
			handler := eh.CommandHandlerFunc(func(ctx context.Context, cmd eh.Command) error {
				c := cmd.(*ehConfirm)
				a, err := aggs.Load(ctx, ehEligibilityType, c.EligibilityID)
				if err != nil {
					return err
				}
				c.Status = a.(*ehEligibility).status
				return inner.HandleCommand(ctx, c)
			})
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						return handler.HandleCommand(ctx, &ehConfirm{ID: h.fx.ids[i], EligibilityID: h.fx.eligIDs[i],
							Participant: h.fx.participants[i], Phrase: "CONFIRM", CommandID: h.fx.eventIDs[i]})
					})
				},
				check: func(ctx context.Context, done int) error { return h.checkVersions(ctx, es, done, 2) }}, nil
		}}
}

// rehydrate: per operation, load one election aggregate of n events
// through the aggregate store.
func (h *horizon) rehydrate(n, folds int) side {
	return side{name: horizonName,
		note: "eventhorizon: its in-memory store deep-copies Go values (copier) instead of decoding",
		setup: func(ctx context.Context) (*trial, error) {
			es, err := h.newStore()
			if err != nil {
				return nil, err
			}
			p, id := h.fx.participants[0], h.fx.ids[0]
			for k := 0; k < n; k += 2 {
				r, w := requested(p), withdrawn(p)
				evs := []eh.Event{h.event(ehRequested, &r, ehElectionType, id, k+1, h.fx.eventIDs[0]), h.event(ehWithdrawn, &w, ehElectionType, id, k+2, h.fx.eventIDs[0])}
				if err := es.Save(ctx, evs, k); err != nil {
					return nil, err
				}
			}
			aggs, err := ehagg.NewAggregateStore(es)
			if err != nil {
				return nil, err
			}
			return &trial{want: folds,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, folds, func(int) error {
						a, err := aggs.Load(ctx, ehElectionType, id)
						if err != nil {
							return err
						}
						if v := a.(*ehElection).facts.version; v != n {
							return fmt.Errorf("folded %d events, want %d", v, n)
						}
						return nil
					})
				}}, nil
		}}
}

// ehReplay is eventhorizon's replay log, built once.
type ehReplay struct {
	h  *horizon
	n  int
	es *ehEncoding
}

func (h *horizon) replayLog(elections int) *ehReplay { return &ehReplay{h: h, n: elections} }

func (r *ehReplay) build(ctx context.Context) (*ehEncoding, error) {
	if r.es != nil {
		return r.es, nil
	}
	es, err := r.h.newStore()
	if err != nil {
		return nil, err
	}
	for i := range r.n {
		p, id := r.h.fx.participants[i], r.h.fx.ids[i]
		req := requested(p)
		c := events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: now}
		evs := []eh.Event{r.h.event(ehRequested, &req, ehElectionType, id, 1, r.h.fx.eventIDs[i]), r.h.event(ehConfirmed, &c, ehElectionType, id, 2, r.h.fx.eventIDs[i])}
		if err := es.Save(ctx, evs, 0); err != nil {
			return nil, err
		}
	}
	es.log = nil // the replay reads the store, not the encoded copies
	r.es = es
	return es, nil
}

// side: per operation (one event), every aggregate's events loaded from the
// store and handed to an event handler that keeps the status map. The
// in-memory store cannot read all events in log order, so it is read
// aggregate by aggregate.
func (r *ehReplay) side() side {
	return side{name: horizonName,
		note: "eventhorizon: its in-memory store has no read-all: read aggregate by aggregate (Load), deep-copied, not decoded",
		setup: func(ctx context.Context) (*trial, error) {
			es, err := r.build(ctx)
			if err != nil {
				return nil, err
			}
			var view *statusView
			return &trial{want: 2 * r.n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					view = newStatusView(r.n)
					err := r.replayInto(ctx, es, view)
					return view.applied, err
				},
				check: func(ctx context.Context, done int) error { return view.check(r.n) }}, nil
		}}
}

// replayInto loads every aggregate's events from the store, one aggregate
// after another, and hands them to an event handler keeping view.
func (r *ehReplay) replayInto(ctx context.Context, es *ehEncoding, view *statusView) error {
	handler := eh.EventHandlerFunc(func(ctx context.Context, e eh.Event) error { return view.apply(e.Data()) })
	for i := range r.n {
		evs, err := es.Load(ctx, r.h.fx.ids[i])
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := handler.HandleEvent(ctx, e); err != nil {
				return err
			}
		}
	}
	return nil
}
