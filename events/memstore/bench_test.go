package memstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// payload is a realistic election.requested payload (about 300 bytes).
var payload = []byte(`{"participant":{"kind":"individual","tin":"000456789","npi":"1234567893"},` +
	`"programYear":{"program":"MIPS","year":2024},"choice":"opt-in","pathway":"traditional",` +
	`"requestedAt":"2025-02-03T15:00:00Z","batchId":"registry-upload-2025-02-03-0001",` +
	`"officeChampion":null,"clinicalChampion":null}`)

func event() events.EventData {
	return events.EventData{ID: uuid.New(), Type: events.TypeElectionRequested, SchemaVersion: 2, Data: payload,
		Metadata: events.Metadata{Actor: "rep-1", ActorRole: events.RolePracticeRepresentative, CommandID: uuid.New()}}
}

func streamNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("election-mips-2024-%032x", i)
	}
	return out
}

// TestAppendAllocations guards the hot path: appending one event to an
// existing stream costs a bounded, small number of allocations (the payload
// copy and amortized growth), with no reflection-driven copying.
func TestAppendAllocations(t *testing.T) {
	s := memstore.New()
	ctx := context.Background()
	evs := make([]events.EventData, 1200)
	for i := range evs {
		evs[i] = event()
	}
	if _, err := s.Append(ctx, "s", events.NoStream, evs[0]); err != nil {
		t.Fatal(err)
	}
	i := 1
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := s.Append(ctx, "s", events.Any, evs[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs > 2 {
		t.Fatalf("append allocates %.1f times per event, want at most 2 (the payload copy, amortized growth)", allocs)
	}
}

// BenchmarkAppendNewStream appends one event to a new stream per op.
func BenchmarkAppendNewStream(b *testing.B) {
	s := memstore.New()
	ctx := context.Background()
	names := streamNames(b.N)
	evs := make([]events.EventData, b.N)
	for i := range evs {
		evs[i] = event()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(ctx, names[i], events.NoStream, evs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel appends from every core to distinct streams.
func BenchmarkAppendParallel(b *testing.B) {
	s := memstore.New()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		name := uuid.NewString()
		for pb.Next() {
			if _, err := s.Append(ctx, name, events.Any, event()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadAll replays the whole log (records/s is the figure).
func BenchmarkReadAll(b *testing.B) {
	const n = 200_000
	s := memstore.New()
	ctx := context.Background()
	names := streamNames(n / 2)
	for i := range n {
		if _, err := s.Append(ctx, names[i/2], events.Any, event()); err != nil {
			b.Fatal(err)
		}
	}
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
			b.Fatalf("read %d", count)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestPayloadsDoNotShareCapacity appends to the payload of every record a
// reader got and checks that no other record's payload changed: payloads
// share the store's arena, but none can grow into the next.
func TestPayloadsDoNotShareCapacity(t *testing.T) {
	s := memstore.New()
	ctx := context.Background()
	var want [][]byte
	for i := range 3000 {
		e := event()
		e.Data = fmt.Appendf(nil, `{"n":%d,"pad":"%0*d"}`, i, i%700, 0)
		want = append(want, e.Data)
		if _, err := s.Append(ctx, fmt.Sprint("s-", i%7), events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	for rec, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		_ = append(rec.Data, "overwritten"...)
	}
	i := 0
	for rec, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Data) != string(want[i]) {
			t.Fatalf("record %d holds %q, want %q", i, rec.Data, want[i])
		}
		if err := rec.Verify(rec.PrevHash); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("read %d records, want %d", i, len(want))
	}
}
