package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
)

var (
	bg   = context.Background()
	py24 = events.PY(events.MIPS, 2024)
	now  = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
)

func participant(i int) events.Participant {
	return events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 100_000_000+i)))
}

func names(b *testing.B) *events.StreamNamer {
	n, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkAppendNewStreams appends an election request to each of 100,000
// new streams (per op: one append, hash chain included), in memory.
func BenchmarkAppendNewStreams(b *testing.B) {
	reg, nm := events.NewRegistry(), names(b)
	const streams = 100_000
	data := make([]events.EventData, streams)
	ss := make([]string, streams)
	for i := range data {
		p := participant(i)
		data[i], _ = reg.Encode(uuid.New(), events.ElectionRequested{Participant: p, ProgramYear: py24,
			Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: now}, events.Metadata{Actor: "rep"})
		ss[i] = nm.Election(py24, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var s *memstore.Store
	for i := 0; i < b.N; i++ {
		if i%streams == 0 {
			b.StopTimer()
			s = memstore.New()
			b.StartTimer()
		}
		if _, err := s.Append(bg, ss[i%streams], events.NoStream, data[i%streams]); err != nil {
			b.Fatal(err)
		}
	}
}

// service returns a Service over a memstore holding n pending requests,
// with an in-memory eligibility source (as a service's read model would be).
func service(b *testing.B, n int) (*election.Service, *memstore.Store) {
	s := memstore.New()
	auth := election.NewMemoryAuthorizer()
	elig := staticEligibility{}
	nm := names(b)
	svc, err := election.NewService(election.Config{Store: s, Names: nm, Authorizer: auth, Eligibility: elig,
		Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	for i := range max(n, 1) {
		p := participant(i)
		auth.AuthorizeRegistry("R", p.TIN)
		if i >= n {
			break
		}
		if _, err := svc.Request(bg, meta(uuid.New()), py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
			b.Fatal(err)
		}
	}
	return svc, s
}

type staticEligibility struct{}

func (staticEligibility) Eligibility(_ context.Context, r *eligibility.Rules, p events.Participant, _ time.Time) (eligibility.Standing, error) {
	return eligibility.Standing{Participant: p, ProgramYear: r.ProgramYear, Status: events.StatusOptInEligible, Phase: eligibility.PhaseFinal}, nil
}

func meta(id uuid.UUID) election.Meta {
	return election.Meta{CommandID: id, Actor: election.Actor{ID: "r", Role: events.RoleRegistry, Organization: "R", AttestedAt: now.Add(-time.Hour)}}
}

// BenchmarkCommandExistingStream confirms one pending request among
// 100,000 streams per op: load, decide, append.
func BenchmarkCommandExistingStream(b *testing.B) {
	const streams = 100_000
	svc, _ := service(b, streams)
	ids := make([]uuid.UUID, streams)
	ps := make([]events.Participant, streams) // parsed once, as a caller's request would be
	for i := range ids {
		ids[i], ps[i] = uuid.New(), participant(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%streams == 0 {
			b.StopTimer()
			svc, _ = service(b, streams)
			b.StartTimer()
		}
		if _, err := svc.Confirm(bg, meta(ids[i%streams]), py24, ps[i%streams], "CONFIRM"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRehydrate folds one stream of 100 and of 10,000 events
// (requests and withdrawals) from revision 0 into its election state, as a
// process that has not cached it does: read, decode, evolve.
func BenchmarkRehydrate(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			svc, store := service(b, 0)
			reg, stream := events.NewRegistry(), names(b).Election(py24, participant(0))
			p := participant(0)
			for i := 0; i < n/2; i++ {
				if _, err := svc.Request(bg, meta(uuid.New()), py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
					b.Fatal(err)
				}
				if _, err := svc.Withdraw(bg, meta(uuid.New()), py24, p, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var st election.State
				for rec, err := range store.ReadStream(bg, stream, 0) {
					if err != nil {
						b.Fatal(err)
					}
					e, err := reg.Decode(&rec)
					if err != nil {
						b.Fatal(err)
					}
					if st, err = election.Evolve(st, e); err != nil {
						b.Fatal(err)
					}
				}
				if st.Next != uint64(n) {
					b.Fatal(st.Next)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkReplay replays 100,000 elections (request and confirm, each
// command with its claim: 400,000 records) into the read models.
func BenchmarkReplay(b *testing.B) {
	svc, s := service(b, 100_000)
	for i := range 100_000 {
		if _, err := svc.Confirm(bg, meta(uuid.New()), py24, participant(i), "CONFIRM"); err != nil {
			b.Fatal(err)
		}
	}
	records := s.Len()
	if records != 400_000 {
		b.Fatalf("%d records, want 400,000: two events and two claims an election", records)
	}
	reg := events.NewRegistry()
	for _, verify := range []bool{true, false} {
		b.Run(fmt.Sprintf("verify=%v", verify), func(b *testing.B) {
			var opts []projection.RunnerOption
			if !verify {
				opts = append(opts, projection.WithoutChainVerification())
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
				rep, err := projection.NewRunner(s, reg, m.Projections(), opts...).Rebuild(bg)
				if err != nil || rep.Applied != records {
					b.Fatal(err, rep.Applied)
				}
			}
			b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
