package boltstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/google/uuid"
)

var payload = []byte(`{"participant":{"kind":"individual","tin":"000456789","npi":"1234567893"},` +
	`"programYear":{"program":"MIPS","year":2024},"choice":"opt-in","pathway":"traditional",` +
	`"requestedAt":"2025-02-03T15:00:00Z","batchId":"registry-upload-2025-02-03-0001"}`)

func event() events.EventData {
	return events.EventData{ID: uuid.New(), Type: events.TypeElectionRequested, SchemaVersion: 2, Data: payload,
		Metadata: events.Metadata{Actor: "rep-1", ActorRole: events.RolePracticeRepresentative, CommandID: uuid.New()}}
}

// BenchmarkAppendWriters measures single-event appends to distinct streams,
// fsync on, with 1, 8 and 64 concurrent writers: group commit side by side
// with the one-transaction-per-append baseline. The appends/s metric is the
// figure to compare.
func BenchmarkAppendWriters(b *testing.B) {
	for _, mode := range []string{"group", "baseline"} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
				var opts []boltstore.Option
				if mode == "baseline" {
					opts = append(opts, boltstore.WithoutGroupCommit())
				}
				s := open(b, opts...)
				ctx := context.Background()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							if _, err := s.Append(ctx, fmt.Sprintf("election-mips-2024-%d", i), events.NoStream, event()); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			})
		}
	}
}

// BenchmarkReadAll replays a file of 200,000 events into decoded records.
func BenchmarkReadAll(b *testing.B) {
	const n = 200_000
	s := open(b, boltstore.WithNoSync())
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if _, err := s.Append(ctx, fmt.Sprintf("election-mips-2024-%d", i/2), events.Any, event()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		count := 0
		for _, err := range s.ReadAll(ctx, 0) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("read %d of %d", count, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n*b.N), "cpu-ns/record")
}

// BenchmarkAppendWritersAlternating compares, in one run, the store as it
// is (an append with no group to join committed in its caller's goroutine)
// with every append handed to the writer goroutine (WithHandOff, the store
// before that fast path), fsync on, with 1, 8 and 64 writers appending
// single events to new streams: per round, a block of appends on each (the
// order swapping every round), so that the disk's changing speed hits both
// alike. b.N counts rounds. It reports each side's median appends/s over
// the rounds and the median, lowest and highest per-round speedup (the
// handed-off block's time ÷ the as-is block's; above 1: the store as it is
// is faster).
//
//	go test ./events/boltstore -run '^$' -bench AppendWritersAlternating -benchtime 20x
func BenchmarkAppendWritersAlternating(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			block := max(100, 32*writers) // appends per side per round
			stores := []*boltstore.Store{open(b), open(b, boltstore.WithHandOff())}
			ctx := context.Background()
			rates := make([][]float64, 2)
			var ratios []float64
			b.ResetTimer()
			for round := range b.N {
				var took [2]time.Duration
				for j := range 2 {
					k := (j + round) % 2
					var next atomic.Int64
					var wg sync.WaitGroup
					start := time.Now()
					for range writers {
						wg.Go(func() {
							for {
								i := next.Add(1)
								if i > int64(block) {
									return
								}
								name := fmt.Sprintf("election-mips-2024-%d-%d", round, i)
								if _, err := stores[k].Append(ctx, name, events.NoStream, event()); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					wg.Wait()
					took[k] = time.Since(start)
					rates[k] = append(rates[k], float64(block)/took[k].Seconds())
				}
				ratios = append(ratios, took[1].Seconds()/took[0].Seconds())
			}
			b.StopTimer()
			for k := range rates {
				slices.Sort(rates[k])
			}
			slices.Sort(ratios)
			b.ReportMetric(middle(rates[0]), "appends/s")
			b.ReportMetric(middle(rates[1]), "handoff-appends/s")
			b.ReportMetric(middle(ratios), "speedup")
			b.ReportMetric(ratios[0], "speedup-lo")
			b.ReportMetric(ratios[len(ratios)-1], "speedup-hi")
		})
	}
}

// middle is the median of sorted values.
func middle(s []float64) float64 {
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
