package main

import (
	"context"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/hallgren/eventsourcing"
	"github.com/hallgren/eventsourcing/aggregate"
	"github.com/hallgren/eventsourcing/eventstore/memory"
)

const hallgrenName = "hallgren"

// hgElection is the election aggregate on hallgren/eventsourcing: the
// library's Root embedded, the events registered by their Go types.
type hgElection struct {
	aggregate.Root
	facts electionFacts
}

// Transition folds an event into the aggregate (the library's Transition
// has no error to return: an unknown event shows as a version short).
func (a *hgElection) Transition(e eventsourcing.Event) { _ = a.facts.apply(e.Data()) }

// Register names the aggregate's events.
func (a *hgElection) Register(r aggregate.RegisterFunc) {
	r(&events.ElectionRequested{}, &events.ElectionRequestWithdrawn{}, &events.ElectionConfirmed{})
}

// hgEligibility is a participant's eligibility, an aggregate of its own.
type hgEligibility struct {
	aggregate.Root
	status events.EligibilityStatus
}

// Transition folds a determination.
func (a *hgEligibility) Transition(e eventsourcing.Event) {
	if d, ok := e.Data().(*events.EligibilityDetermined); ok {
		a.status = d.Status
	}
}

// Register names the aggregate's events.
func (a *hgEligibility) Register(r aggregate.RegisterFunc) { r(&events.EligibilityDetermined{}) }

// hallgren runs the workloads on hallgren/eventsourcing v0.8.0 with its
// in-memory event store. The library registers aggregates in a registry of
// its own package, once.
type hallgren struct{ fx *fixture }

func newHallgren(fx *fixture) *hallgren {
	aggregate.Register(&hgElection{})
	aggregate.Register(&hgEligibility{})
	eventsourcing.SetEventEncoder(jsonV2{})
	return &hallgren{fx: fx}
}

// jsonV2 is the encoder hallgren's events are saved with here: json v2
// (github.com/go-json-experiment/json, the codec our library uses), set
// with the library's own SetEventEncoder. Its default, encoding/json,
// writes our TIN type masked (a TIN leaves only the payload codec in full),
// so the events it saved could not be read back.
type jsonV2 struct{}

// Serialize implements eventsourcing.Encoder.
func (jsonV2) Serialize(v any) ([]byte, error) { return json.Marshal(v) }

// Deserialize implements eventsourcing.Encoder.
func (jsonV2) Deserialize(data []byte, v any) error { return json.Unmarshal(data, v) }

// track starts a new aggregate for stream i with one event.
func (h *hallgren) newElection(i int, data any) (*hgElection, error) {
	a := &hgElection{}
	if err := a.SetID(h.fx.streams[i]); err != nil {
		return nil, err
	}
	aggregate.TrackChangeWithMetadata(a, data, metadata(h.fx.eventIDs[i]))
	return a, nil
}

// appendNew: per operation, a new election aggregate with one request,
// saved (its Save encodes the event and its metadata with the event
// encoder, json v2 here: see jsonV2).
func (h *hallgren) appendNew(n int) side {
	return side{name: hallgrenName,
		note: "hallgren: through its aggregate package (its only writer of encoded events)",
		setup: func(ctx context.Context) (*trial, error) {
			es := memory.Create()
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						r := requested(h.fx.participants[i])
						a, err := h.newElection(i, &r)
						if err != nil {
							return err
						}
						return aggregate.Save(es, a)
					})
				},
				check: func(ctx context.Context, done int) error {
					return h.checkVersions(ctx, es, done, 1)
				}}, nil
		}}
}

// checkVersions loads the first done elections and checks their version.
func (h *hallgren) checkVersions(ctx context.Context, es *memory.Memory, done, version int) error {
	for i := range done {
		var a hgElection
		if err := aggregate.Load(ctx, es, h.fx.streams[i], &a); err != nil {
			return err
		}
		if int(a.Version()) != version {
			return fmt.Errorf("election %d at version %d, want %d", i, a.Version(), version)
		}
	}
	return nil
}

// seed gives the first n participants a determination and a pending
// request.
func (h *hallgren) seed(es *memory.Memory, n int) error {
	for i := range n {
		p := h.fx.participants[i]
		el := &hgEligibility{}
		if err := el.SetID(h.fx.eligStreams[i]); err != nil {
			return err
		}
		d := determination(p)
		aggregate.TrackChange(el, &d)
		if err := aggregate.Save(es, el); err != nil {
			return err
		}
		r := requested(p)
		a, err := h.newElection(i, &r)
		if err != nil {
			return err
		}
		if err := aggregate.Save(es, a); err != nil {
			return err
		}
	}
	return nil
}

// command: per operation, load the participant's eligibility and election
// aggregates (decoding their events), decide the confirmation, and save it.
func (h *hallgren) command(n int) side {
	return side{name: hallgrenName,
		note: "hallgren: loads both aggregates from its store on every command",
		setup: func(ctx context.Context) (*trial, error) {
			es := memory.Create()
			if err := h.seed(es, n); err != nil {
				return nil, err
			}
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						var el hgEligibility
						if err := aggregate.Load(ctx, es, h.fx.eligStreams[i], &el); err != nil {
							return err
						}
						var a hgElection
						if err := aggregate.Load(ctx, es, h.fx.streams[i], &a); err != nil {
							return err
						}
						c, err := decideConfirm(&a.facts, el.status, h.fx.participants[i], "CONFIRM")
						if err != nil {
							return err
						}
						aggregate.TrackChangeWithMetadata(&a, &c, metadata(h.fx.eventIDs[i]))
						return aggregate.Save(es, &a)
					})
				},
				check: func(ctx context.Context, done int) error {
					return h.checkVersions(ctx, es, done, 2)
				}}, nil
		}}
}

// rehydrate: per operation, load one election aggregate of n events.
func (h *hallgren) rehydrate(n, folds int) side {
	return side{name: hallgrenName,
		setup: func(ctx context.Context) (*trial, error) {
			es := memory.Create()
			p := h.fx.participants[0]
			a := &hgElection{}
			if err := a.SetID(h.fx.streams[0]); err != nil {
				return nil, err
			}
			for range n / 2 {
				r, w := requested(p), withdrawn(p)
				aggregate.TrackChangeWithMetadata(a, &r, metadata(h.fx.eventIDs[0]))
				aggregate.TrackChangeWithMetadata(a, &w, metadata(h.fx.eventIDs[0]))
				if err := aggregate.Save(es, a); err != nil {
					return nil, err
				}
			}
			return &trial{want: folds,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, folds, func(int) error {
						var a hgElection
						if err := aggregate.Load(ctx, es, h.fx.streams[0], &a); err != nil {
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

// hgReplay is hallgren's replay log, built once.
type hgReplay struct {
	h  *hallgren
	n  int
	es *memory.Memory
}

func (h *hallgren) replayLog(elections int) *hgReplay { return &hgReplay{h: h, n: elections} }

func (r *hgReplay) build() (*memory.Memory, error) {
	if r.es != nil {
		return r.es, nil
	}
	es := memory.Create()
	for i := range r.n {
		p := r.h.fx.participants[i]
		req := requested(p)
		a, err := r.h.newElection(i, &req)
		if err != nil {
			return nil, err
		}
		c := events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: now}
		aggregate.TrackChangeWithMetadata(a, &c, metadata(r.h.fx.eventIDs[i]))
		if err := aggregate.Save(es, a); err != nil {
			return nil, err
		}
	}
	r.es = es
	return es, nil
}

// hgReplayBatch is how many events the projection fetches at a time.
const hgReplayBatch = 1000

// side: per operation (one event), a projection over the whole store, in
// global order, into the status map.
func (r *hgReplay) side() side {
	return side{name: hallgrenName,
		setup: func(ctx context.Context) (*trial, error) {
			es, err := r.build()
			if err != nil {
				return nil, err
			}
			var view *statusView
			return &trial{want: 2 * r.n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					view = newStatusView(r.n)
					p := eventsourcing.NewProjection(es.All(0, hgReplayBatch), func(e eventsourcing.Event) error { return view.apply(e.Data()) })
					res := p.RunToEnd(ctx)
					return view.applied, res.Error
				},
				check: func(ctx context.Context, done int) error { return view.check(r.n) }}, nil
		}}
}
