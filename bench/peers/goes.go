package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
	"github.com/modernice/goes/aggregate"
	"github.com/modernice/goes/aggregate/repository"
	"github.com/modernice/goes/codec"
	"github.com/modernice/goes/event"
	"github.com/modernice/goes/event/eventstore"
	"github.com/modernice/goes/event/query"
	"github.com/modernice/goes/projection"
)

const goesName = "goes"

// The goes names of the aggregates.
const (
	gsElectionName    = "election"
	gsEligibilityName = "eligibility"
)

// gsElection is the election aggregate on modernice/goes.
type gsElection struct {
	*aggregate.Base
	facts electionFacts
}

func newGsElection(id uuid.UUID) *gsElection {
	return &gsElection{Base: aggregate.New(gsElectionName, id)}
}

// ApplyEvent folds an event (goes' ApplyEvent has no error to return: an
// unknown event shows as a version short).
func (a *gsElection) ApplyEvent(e event.Event) { _ = a.facts.apply(e.Data()) }

// gsEligibility is a participant's eligibility, an aggregate of its own.
type gsEligibility struct {
	*aggregate.Base
	status events.EligibilityStatus
}

func newGsEligibility(id uuid.UUID) *gsEligibility {
	return &gsEligibility{Base: aggregate.New(gsEligibilityName, id)}
}

// ApplyEvent folds a determination.
func (a *gsEligibility) ApplyEvent(e event.Event) {
	if d, ok := e.Data().(events.EligibilityDetermined); ok {
		a.status = d.Status
	}
}

// gsEncoding is an event.Store in front of the in-memory one that encodes
// every inserted event's data with goes' codec registry, as its durable
// stores encode what they write, and keeps the bytes.
type gsEncoding struct {
	event.Store
	reg *codec.Registry
	mu  sync.Mutex
	log [][]byte
}

// Insert encodes the events' data, then inserts them.
func (s *gsEncoding) Insert(ctx context.Context, evs ...event.Event) error {
	s.mu.Lock()
	for _, e := range evs {
		b, err := s.reg.Marshal(e.Data())
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.log = append(s.log, b)
	}
	s.mu.Unlock()
	return s.Store.Insert(ctx, evs...)
}

// goes runs the workloads on modernice/goes v0.5.0 with its in-memory event
// store.
type goes struct {
	fx  *fixture
	reg *codec.Registry
}

func newGoes(fx *fixture) *goes {
	reg := event.NewRegistry()
	codec.Register[events.ElectionRequested](reg, events.TypeElectionRequested)
	codec.Register[events.ElectionRequestWithdrawn](reg, events.TypeElectionRequestWithdrawn)
	codec.Register[events.ElectionConfirmed](reg, events.TypeElectionConfirmed)
	codec.Register[events.EligibilityDetermined](reg, events.TypeEligibilityDetermined)
	return &goes{fx: fx, reg: reg}
}

// newStore returns an encoding in-memory store holding evs.
func (g *goes) newStore(evs ...event.Event) *gsEncoding {
	return &gsEncoding{Store: eventstore.New(evs...), reg: g.reg}
}

// event builds an event of aggregate name/id at version v.
func gsEvent[D any](name string, data D, id uuid.UUID, aggregateName string, v int, at time.Time) event.Event {
	return event.New(name, data, event.ID(uuid.New()), event.Time(at), event.Aggregate(id, aggregateName, v)).Any()
}

// appendNew: per operation, one request inserted as a new aggregate's first
// event, its data encoded with the codec registry.
func (g *goes) appendNew(n int) side {
	return side{name: goesName, grows: true,
		note: "goes: its in-memory store rebuilds its event list on every insert, so an append costs more as the store grows",
		setup: func(ctx context.Context) (*trial, error) {
			store := g.newStore()
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						e := event.New(events.TypeElectionRequested, requested(g.fx.participants[i]), event.ID(g.fx.eventIDs[i]),
							event.Time(now), event.Aggregate(g.fx.ids[i], gsElectionName, 1))
						return store.Insert(ctx, e.Any())
					})
				},
				check: func(ctx context.Context, done int) error {
					for i := range min(done, 100) { // a query scans the whole store
						if _, err := store.Find(ctx, g.fx.eventIDs[i]); err != nil {
							return err
						}
					}
					return nil
				}}, nil
		}}
}

// command: per operation, fetch the participant's eligibility and election
// aggregates through the repository, decide, and save the confirmation.
func (g *goes) command(n int) side {
	return side{name: goesName, grows: true,
		note: "goes: loads both aggregates on every command, and its in-memory store scans every event on every query",
		setup: func(ctx context.Context) (*trial, error) {
			evs := make([]event.Event, 0, 2*n)
			for i := range n {
				p := g.fx.participants[i]
				evs = append(evs, gsEvent(events.TypeEligibilityDetermined, determination(p), g.fx.eligIDs[i], gsEligibilityName, 1, now),
					gsEvent(events.TypeElectionRequested, requested(p), g.fx.ids[i], gsElectionName, 1, now))
			}
			store := g.newStore(evs...)
			repo := repository.New(store)
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						el := newGsEligibility(g.fx.eligIDs[i])
						if err := repo.Fetch(ctx, el); err != nil {
							return err
						}
						a := newGsElection(g.fx.ids[i])
						if err := repo.Fetch(ctx, a); err != nil {
							return err
						}
						c, err := decideConfirm(&a.facts, el.status, g.fx.participants[i], "CONFIRM")
						if err != nil {
							return err
						}
						aggregate.Next(a, events.TypeElectionConfirmed, c, event.ID(g.fx.eventIDs[i]))
						return repo.Save(ctx, a)
					})
				},
				check: func(ctx context.Context, done int) error {
					for i := range min(done, 100) {
						a := newGsElection(g.fx.ids[i])
						if err := repo.Fetch(ctx, a); err != nil {
							return err
						}
						if !a.facts.confirmed {
							return fmt.Errorf("election %d not confirmed", i)
						}
					}
					return nil
				}}, nil
		}}
}

// rehydrate: per operation, fetch one election aggregate of n events
// through the repository.
func (g *goes) rehydrate(n, folds int) side {
	return side{name: goesName,
		note: "goes: its in-memory store keeps Go values: nothing to decode",
		setup: func(ctx context.Context) (*trial, error) {
			p, id := g.fx.participants[0], g.fx.ids[0]
			evs := make([]event.Event, 0, n)
			for k := 0; k < n; k += 2 {
				evs = append(evs, gsEvent(events.TypeElectionRequested, requested(p), id, gsElectionName, k+1, now.Add(time.Duration(k))),
					gsEvent(events.TypeElectionRequestWithdrawn, withdrawn(p), id, gsElectionName, k+2, now.Add(time.Duration(k+1))))
			}
			repo := repository.New(g.newStore(evs...))
			return &trial{want: folds,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, folds, func(int) error {
						a := newGsElection(id)
						if err := repo.Fetch(ctx, a); err != nil {
							return err
						}
						if a.facts.version != n {
							return fmt.Errorf("folded %d events, want %d", a.facts.version, n)
						}
						return nil
					})
				}}, nil
		}}
}

// gsReplay is goes' replay log, built once.
type gsReplay struct {
	g     *goes
	n     int
	store event.Store
}

func (g *goes) replayLog(elections int) *gsReplay { return &gsReplay{g: g, n: elections} }

func (r *gsReplay) build() event.Store {
	if r.store == nil {
		evs := make([]event.Event, 0, 2*r.n)
		for i := range r.n {
			p, id := r.g.fx.participants[i], r.g.fx.ids[i]
			c := events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: now}
			evs = append(evs, gsEvent(events.TypeElectionRequested, requested(p), id, gsElectionName, 1, now.Add(time.Duration(2*i))),
				gsEvent(events.TypeElectionConfirmed, c, id, gsElectionName, 2, now.Add(time.Duration(2*i+1))))
		}
		r.store = eventstore.New(evs...)
	}
	return r.store
}

// gsStatus is the status map as a goes projection.
type gsStatus struct {
	*projection.Base
	view *statusView
}

func newGsStatus(n int) *gsStatus {
	s := &gsStatus{Base: projection.New(), view: newStatusView(n)}
	s.RegisterEventHandler(events.TypeElectionRequested, func(e event.Event) {
		d := e.Data().(events.ElectionRequested)
		s.view.apply(&d)
	})
	s.RegisterEventHandler(events.TypeElectionConfirmed, func(e event.Event) {
		d := e.Data().(events.ElectionConfirmed)
		s.view.apply(&d)
	})
	return s
}

// side: per operation (one event), the store queried for every election
// event in time order and the stream applied to the projection.
func (r *gsReplay) side() side {
	return side{name: goesName,
		note: "goes: its in-memory store keeps Go values: nothing to decode",
		setup: func(ctx context.Context) (*trial, error) {
			store := r.build()
			var target *gsStatus
			return &trial{want: 2 * r.n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					target = newGsStatus(r.n)
					evs, errs, err := store.Query(ctx, query.New(query.AggregateName(gsElectionName), query.SortByTime()))
					if err != nil {
						return 0, err
					}
					projection.ApplyStream(target, evs)
					if err := <-errs; err != nil {
						return target.view.applied, err
					}
					return target.view.applied, nil
				},
				check: func(ctx context.Context, done int) error { return target.view.check(r.n) }}, nil
		}}
}
