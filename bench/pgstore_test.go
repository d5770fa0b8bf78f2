package bench

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
)

// openPostgres opens a PostgreSQL store (ELECTIONLEDGER_PG_URL) on a schema
// of the benchmark's own. With loading set, the store does not wait for
// each commit's flush (synchronous_commit off for its own connections
// only): for filling a log that a benchmark then reads.
func openPostgres(b *testing.B, loading bool, opts ...pgstore.Option) *pgstore.Store {
	b.Helper()
	spec := pgtest.URL(b)
	if loading {
		u, err := url.Parse(spec)
		if err != nil || u.Scheme == "" {
			b.Skip("the server's connection string is not a URL")
		}
		q := u.Query()
		q.Set("synchronous_commit", "off")
		u.RawQuery = q.Encode()
		spec = u.String()
	}
	s, err := pgstore.Open(bg, spec, append([]pgstore.Option{pgstore.WithSchema(pgtest.Schema(b))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkReplayPostgres replays 200,000 events (100,000 elections:
// request and confirm, as BenchmarkReplay) from PostgreSQL into every read
// model, hash chains verified and not. The events/s metric is the figure.
func BenchmarkReplayPostgres(b *testing.B) {
	const elections = 100_000
	s := openPostgres(b, true)
	reg, nm := events.NewRegistry(), names(b)
	var wg sync.WaitGroup
	work := make(chan int, 1024)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				p := participant(i)
				req, _ := reg.Encode(uuid.New(), events.ElectionRequested{Participant: p, ProgramYear: py24,
					Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: now}, events.Metadata{Actor: "rep"})
				conf, _ := reg.Encode(uuid.New(), events.ElectionConfirmed{Participant: p, ProgramYear: py24,
					Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: now}, events.Metadata{Actor: "rep"})
				if _, err := s.Append(bg, nm.Election(py24, p), events.NoStream, req, conf); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for i := range elections {
		work <- i
	}
	close(work)
	wg.Wait()
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
				if err != nil || rep.Applied != 2*elections || len(rep.Violations) > 0 {
					b.Fatal(err, rep.Applied)
				}
			}
			b.ReportMetric(float64(2*elections*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
