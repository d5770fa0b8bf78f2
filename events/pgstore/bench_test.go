package pgstore_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/google/uuid"
)

var payload = []byte(`{"participant":{"kind":"individual","tin":"000456789","npi":"1234567893"},` +
	`"programYear":{"program":"MIPS","year":2024},"choice":"opt-in","pathway":"traditional",` +
	`"requestedAt":"2025-02-03T15:00:00Z","batchId":"registry-upload-2025-02-03-0001"}`)

func benchEvent() events.EventData {
	return events.EventData{ID: uuid.New(), Type: events.TypeElectionRequested, SchemaVersion: 2, Data: payload,
		Metadata: events.Metadata{Actor: "rep-1", ActorRole: events.RolePracticeRepresentative, CommandID: uuid.New()}}
}

// BenchmarkAppendWriters measures single-event appends to distinct new
// streams with 1, 16 and 64 concurrent writers (the default pool: 16
// connections on this machine), each append committed on its own with the
// expected-revision check and the hash chain, the server's fsync and
// synchronous_commit on (checked), on the fast path and on the general
// path alone. The appends/s metric is the figure.
func BenchmarkAppendWriters(b *testing.B) {
	for _, path := range []string{"fast", "general"} {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", path, writers), func(b *testing.B) {
				s := pgtest.Open(b, paths[path]...)
				requireDurable(b)
				ctx := context.Background()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range writers {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							if _, err := s.Append(ctx, fmt.Sprintf("election-mips-2024-%d", i), events.NoStream, benchEvent()); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			})
		}
	}
}

// requireDurable fails a benchmark whose server would not make each
// commit durable, so no figure is taken with fsync off by mistake.
func requireDurable(b *testing.B) {
	c := connect(b, pgtest.URL(b))
	var fsync, sync string
	if err := c.QueryRow(context.Background(), `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &sync); err != nil {
		b.Fatal(err)
	}
	if fsync != "on" || sync != "on" {
		b.Fatalf("the server runs with fsync=%s synchronous_commit=%s; the append figures need both on", fsync, sync)
	}
}

// load appends n events, 100 to a stream, quickly: without waiting for
// each commit's flush (synchronous_commit off for the loading store only).
func load(b *testing.B, schema string, n int) {
	u, err := url.Parse(pgtest.URL(b))
	if err != nil || u.Scheme == "" {
		b.Skip("the server's connection string is not a URL")
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	s, err := pgstore.Open(context.Background(), u.String(), pgstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i*100 >= int64(n) {
					return
				}
				evs := make([]events.EventData, min(100, n-int(i)*100))
				for k := range evs {
					evs[k] = benchEvent()
				}
				if _, err := s.Append(context.Background(), fmt.Sprintf("election-mips-2024-%d", i), events.NoStream, evs...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkReadBatch reads 200,000 events into decoded records through
// events.BatchReader, as a rebuild does. The records/s metric is the figure.
func BenchmarkReadBatch(b *testing.B) {
	const n = 200_000
	s := pgtest.Open(b)
	load(b, s.Schema(), n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var buf []events.Record
	for i := 0; i < b.N; i++ {
		count := 0
		var pos events.Position
		for {
			var err error
			buf, pos, err = s.ReadBatch(ctx, buf[:0], pos)
			if err != nil {
				b.Fatal(err)
			}
			if len(buf) == 0 {
				break
			}
			count += len(buf)
		}
		if count != n {
			b.Fatalf("read %d of %d", count, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
