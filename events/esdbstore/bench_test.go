package esdbstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
)

// benchLatency is the latency the double adds to every request in
// BenchmarkAppendCost: an append's time divided by it counts the round
// trips it waits for.
const benchLatency = 10 * time.Millisecond

// BenchmarkAppendCost measures what one append costs against the double:
// requests to the server (requests/op) and round trips waited for one after
// another (round-trips/op, the time per append divided by the latency the
// double adds to each request). docs/stores.md quotes these figures.
func BenchmarkAppendCost(b *testing.B) {
	seal := func() events.EventData { e := ev(9); e.Type = events.TypeElectionConfirmed; return e }
	cases := []struct {
		name string
		n    int  // events per append
		seal bool // the last one seals
		exp  func(i int) events.ExpectedRevision
		new  bool // a new stream each time
		long int  // events already in the stream
	}{
		{"one event, exact revision", 1, false, func(i int) events.ExpectedRevision { return events.Exact(uint64(i)) }, false, 1},
		{"one event, new stream", 1, false, func(int) events.ExpectedRevision { return events.NoStream }, true, 0},
		{"one event, any", 1, false, func(int) events.ExpectedRevision { return events.Any }, false, 1},
		{"ten events, new stream", 10, false, func(int) events.ExpectedRevision { return events.NoStream }, true, 0},
		{"a confirmation (seals)", 1, true, func(int) events.ExpectedRevision { return events.Exact(0) }, true, 0},
		{"one event, exact revision, 2000-event stream", 1, false, func(i int) events.ExpectedRevision { return events.Exact(uint64(1999 + i)) }, false, 2000},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := esdbfake.Run(b, esdbfake.WithLatency(benchLatency))
			s, err := esdbstore.Open(srv.ConnectionString())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if c.long > 0 {
				evs := make([]events.EventData, c.long)
				for k := range evs {
					evs[k] = ev(k)
				}
				if _, err := s.Append(ctx, "score-bench", events.NoStream, evs...); err != nil {
					b.Fatal(err)
				}
			}
			before := srv.Calls()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				stream := "score-bench"
				if c.new {
					stream = fmt.Sprintf("election-bench-%d", i)
					if c.seal {
						if _, err := s.Append(ctx, stream, events.NoStream, ev(0)); err != nil {
							b.Fatal(err)
						}
					}
				}
				evs := make([]events.EventData, c.n)
				for k := range evs {
					evs[k] = ev(k)
				}
				if c.seal {
					evs[c.n-1] = seal()
				}
				if _, err := s.Append(ctx, stream, c.exp(i), evs...); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			calls := srv.Calls().Sub(before).Total()
			perOp := float64(b.N)
			if c.seal {
				// The setup append to a new stream costs what "one event,
				// new stream" does (4 requests, 3 round trips); count only
				// the confirmation.
				elapsed -= time.Duration(perOp * 3 * float64(benchLatency))
				calls -= int64(4 * b.N)
			}
			b.ReportMetric(float64(calls)/perOp, "requests/op")
			b.ReportMetric(float64(elapsed)/float64(benchLatency)/perOp, "round-trips/op")
		})
	}
}
