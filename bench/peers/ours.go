package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
)

const oursName = "electionledger"

// ours runs the workloads on this library: memstore in memory, boltstore on
// a file, the election.Service for commands, the projection runner for
// replay.
type ours struct{ fx *fixture }

func newOurs(fx *fixture) *ours { return &ours{fx: fx} }

// appendNew: per operation, encode an election request (registry.Encode)
// and append it to a new stream (hash chain, idempotency index).
func (o *ours) appendNew(n int) side {
	return side{name: oursName, ours: true,
		note: "ours also chains each record (SHA-256), adds it to the Merkle tree over the log and indexes its event ID (idempotent appends)",
		setup: func(ctx context.Context) (*trial, error) {
			store, reg, fx := memstore.New(), events.NewRegistry(), o.fx
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error { return fx.appendRequest(ctx, store, reg, i) })
				},
				check: func(ctx context.Context, done int) error {
					if store.Len() != done {
						return fmt.Errorf("the store holds %d records", store.Len())
					}
					return nil
				}}, nil
		}}
}

// service returns a Service over store reading eligibility from the ledger
// (its default source), with the registry authorized for the first n
// participants and each of them given a recorded determination.
func (o *ours) service(ctx context.Context, store events.Store, n int) (*election.Service, *events.Registry, error) {
	reg, table, auth := events.NewRegistry(), eligibility.Default(), election.NewMemoryAuthorizer()
	svc, err := election.NewService(election.Config{Store: store, Names: o.fx.names, Authorizer: auth,
		Registry: reg, Table: table, Clock: func() time.Time { return now }})
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		p := o.fx.participants[i]
		auth.AuthorizeRegistry(registry, p.TIN)
		if _, err := eligibility.Record(ctx, store, o.fx.names, reg, table, determination(p), events.Metadata{ActorRole: events.RoleSystem}); err != nil {
			return nil, nil, fmt.Errorf("record determination %d: %w", i, err)
		}
	}
	return svc, reg, nil
}

// appendRequest encodes participant i's election request and appends it
// to its new stream: the operation of the append workloads.
func (fx *fixture) appendRequest(ctx context.Context, store events.Store, reg *events.Registry, i int) error {
	data, err := reg.Encode(fx.eventIDs[i], requested(fx.participants[i]), ourMetadata(fx.eventIDs[i]))
	if err != nil {
		return err
	}
	_, err = store.Append(ctx, fx.streams[i], events.NoStream, data)
	return err
}

func meta(id uuid.UUID) election.Meta { return election.Meta{CommandID: id, Actor: actor()} }

// command: per operation, confirm a pending request through the Service,
// which checks the attestation and the authorization, reads the
// participant's eligibility from its eligibility stream in the ledger (as a
// service does: decode, reconcile), decides, encodes and appends.
func (o *ours) command(n int) side {
	return side{name: oursName, ours: true,
		note: "ours also checks the attestation and the authorization, records the command ID's claim (a second append), reconciles the eligibility segments, chains the records and adds them to the tree; it decides on the election state its Service cached (the append still checks the revision)",
		setup: func(ctx context.Context) (*trial, error) {
			store := memstore.New()
			svc, _, err := o.service(ctx, store, n)
			if err != nil {
				return nil, err
			}
			fx := o.fx
			for i := range n {
				if _, err := svc.Request(ctx, meta(uuid.New()), py24, fx.participants[i], election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
					return nil, fmt.Errorf("request %d: %w", i, err)
				}
			}
			confirmed := 0
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, n, func(i int) error {
						r, err := svc.Confirm(ctx, meta(fx.eventIDs[i]), py24, fx.participants[i], election.ConfirmPhrase)
						if err == nil && r.Type == events.TypeElectionConfirmed && !r.Replayed {
							confirmed++
						}
						return err
					})
				},
				check: func(ctx context.Context, done int) error {
					if confirmed != done {
						return fmt.Errorf("%d of %d commands recorded a confirmation", confirmed, done)
					}
					return nil
				}}, nil
		}}
}

// rehydrate: per operation, read one stream of n events (requests and
// withdrawals) from revision 0, decode each, and fold it into the election
// state, as a process does that has not cached it.
func (o *ours) rehydrate(n, folds int) side {
	return side{name: oursName, ours: true,
		setup: func(ctx context.Context) (*trial, error) {
			store := memstore.New()
			svc, reg, err := o.service(ctx, store, 1)
			if err != nil {
				return nil, err
			}
			p, stream := o.fx.participants[0], o.fx.streams[0]
			for range n / 2 {
				if _, err := svc.Request(ctx, meta(uuid.New()), py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
					return nil, err
				}
				if _, err := svc.Withdraw(ctx, meta(uuid.New()), py24, p, ""); err != nil {
					return nil, err
				}
			}
			return &trial{want: folds,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return loop(deadline, folds, func(int) error {
						st, err := foldStream(ctx, store, reg, stream)
						if err != nil {
							return err
						}
						if st.Next != uint64(n) {
							return fmt.Errorf("folded %d events, want %d", st.Next, n)
						}
						return nil
					})
				}}, nil
		}}
}

// ourReplay is the log the replay workload rebuilds from: built once, read
// by every round.
type ourReplay struct {
	o     *ours
	n     int // elections
	once  sync.Once
	store *memstore.Store
	err   error
}

func (o *ours) replayLog(elections int) *ourReplay { return &ourReplay{o: o, n: elections} }

// build appends a request and a confirmation for each of n participants.
func (r *ourReplay) build(ctx context.Context) (*memstore.Store, error) {
	r.once.Do(func() {
		store, reg, fx := memstore.New(), events.NewRegistry(), r.o.fx
		for i := range r.n {
			p := fx.participants[i]
			req, err := reg.Encode(uuid.New(), requested(p), ourMetadata(uuid.New()))
			if err != nil {
				r.err = err
				return
			}
			conf, err := reg.Encode(uuid.New(), events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn,
				Pathway: events.PathwayTraditional, ConfirmedAt: now}, ourMetadata(uuid.New()))
			if err != nil {
				r.err = err
				return
			}
			if _, r.err = store.Append(ctx, fx.streams[i], events.NoStream, req); r.err != nil {
				return
			}
			if _, r.err = store.Append(ctx, fx.streams[i], events.Exact(0), conf); r.err != nil {
				return
			}
		}
		r.store = store
	})
	return r.store, r.err
}

// side: per operation (one event), the runner's rebuild of the status,
// scoring and feedback models from the whole log, with the hash chains
// verified or not.
func (r *ourReplay) side(verify bool) side {
	name, note := oursName+", unverified", "ours builds the status, scoring and feedback models (the peers: one status map)"
	if verify {
		name, note = oursName+", chain verified", note+", and verifies every stream's hash chain, every payload's stream binding and the Merkle tree over the log"
	}
	return side{name: name, ours: true, note: note,
		setup: func(ctx context.Context) (*trial, error) {
			store, err := r.build(ctx)
			if err != nil {
				return nil, err
			}
			var opts []projection.RunnerOption
			if !verify {
				opts = append(opts, projection.WithoutChainVerification())
			}
			want := 2 * r.n
			var rep projection.Report
			var models *projection.Models
			return &trial{want: want,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					models = projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
					rep, err = projection.NewRunner(store, events.NewRegistry(), models.Projections(), opts...).Rebuild(ctx)
					return rep.Applied, err
				},
				check: func(ctx context.Context, done int) error {
					if done != want || len(rep.Violations) > 0 {
						return fmt.Errorf("applied %d of %d events, %d violations", done, want, len(rep.Violations))
					}
					return nil
				}}, nil
		}}
}

// durable: per operation, encode an election request and append it to a
// new stream of a ledger file (boltstore, fsync on, group commit), from
// writers goroutines at once.
func (o *ours) durable(dir string, n, writers int) side {
	return side{name: oursName, ours: true,
		note: "ours writes three buckets per record (log, with the record's Merkle tree hashes beside it; stream index; event-ID index: file format 3) and chains it",
		setup: func(ctx context.Context) (*trial, error) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			path := filepath.Join(dir, "ours.ledger")
			os.Remove(path)
			store, err := boltstore.Open(path)
			if err != nil {
				return nil, err
			}
			reg, fx := events.NewRegistry(), o.fx
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return writeConcurrently(ctx, deadline, n, writers, func(i int) error { return fx.appendRequest(ctx, store, reg, i) })
				},
				check: func(ctx context.Context, done int) error {
					if store.Len() != done {
						return fmt.Errorf("the file holds %d records", store.Len())
					}
					return nil
				},
				cleanup: func() {
					store.Close()
					os.Remove(path)
				}}, nil
		}}
}

// writeConcurrently runs op for i = 0..n-1 on writers goroutines, each
// taking the next i, until the deadline; it returns how many ran. Every
// operation that started is finished before it returns.
func writeConcurrently(ctx context.Context, deadline time.Time, n, writers int, op func(i int) error) (int, error) {
	var (
		mu      sync.Mutex
		next    int
		done    int
		firstEr error
		wg      sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || firstEr != nil || ctx.Err() != nil || (next%checkEvery == checkEvery-1 && time.Now().After(deadline)) {
			next = n // stop every writer
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				err := op(i)
				mu.Lock()
				if err != nil && firstEr == nil {
					firstEr = fmt.Errorf("operation %d: %w", i, err)
				}
				if err == nil {
					done++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstEr == nil {
		firstEr = ctx.Err()
	}
	return done, firstEr
}

// foldStream reads an election stream from revision 0, decodes each record
// and folds it into the election state.
func foldStream(ctx context.Context, store events.Store, reg *events.Registry, stream string) (election.State, error) {
	var st election.State
	for rec, err := range store.ReadStream(ctx, stream, 0) {
		if err != nil {
			return st, err
		}
		e, err := reg.Decode(&rec)
		if err != nil {
			return st, err
		}
		if st, err = election.Evolve(st, e); err != nil {
			return st, err
		}
	}
	return st, nil
}
