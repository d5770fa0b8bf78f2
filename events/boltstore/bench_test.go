package boltstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

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
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
