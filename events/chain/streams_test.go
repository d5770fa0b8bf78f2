package chain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
)

// interleaved builds n records over streams streams, in log order, the way
// a store chains them.
func interleaved(n, streams int) []events.Record {
	prev := make([]events.Hash, streams)
	next := make([]uint64, streams)
	recs := make([]events.Record, 0, n)
	at := time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
	for i := range n {
		s := (i * 7919) % streams
		e := events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{"n":1}`)}
		r := events.NewRecord(fmt.Sprintf("score-mips-2024-%08d", s), next[s], at, prev[s], e)
		prev[s], next[s] = r.Hash, next[s]+1
		recs = append(recs, r)
	}
	return recs
}

// TestStreamVerifierBatchesAsRecords: CheckBatch, with or without a share,
// finds what Check finds record by record, across table growth.
func TestStreamVerifierBatchesAsRecords(t *testing.T) {
	recs := interleaved(20_000, 5_000)
	recs[12_345].Data = []byte(`{"n":2}`) // breaks its stream from here on
	var one chain.StreamVerifier
	want := make([]error, len(recs))
	for i := range recs {
		want[i] = one.Check(&recs[i])
	}
	for _, share := range []bool{false, true} {
		v := chain.NewStreamVerifier(0)
		got := make([]error, len(recs))
		for start := 0; start < len(recs); start += 512 {
			end := min(start+512, len(recs))
			var mine func(int) bool
			if share {
				mine = func(i int) bool { return (start+i)%2 == 0 }
			}
			v.CheckBatch(recs[start:end], got[start:end], mine)
			if share { // the other half, by a second pass of the same verifier
				v.CheckBatch(recs[start:end], got[start:end], func(i int) bool { return (start+i)%2 == 1 })
			}
		}
		failed := 0
		for i := range recs {
			if (got[i] == nil) != (want[i] == nil) {
				t.Fatalf("share=%v: record %d: got %v, want %v", share, i, got[i], want[i])
			}
			if got[i] != nil {
				failed++
			}
		}
		if failed == 0 || v.Streams() != one.Streams() {
			t.Fatalf("share=%v: %d failures, %d streams (want some, %d)", share, failed, v.Streams(), one.Streams())
		}
	}
}

// BenchmarkStreamVerifier verifies 200,000 records over 50,000 streams in
// batches of 512, as a rebuild's worker does.
func BenchmarkStreamVerifier(b *testing.B) {
	recs := interleaved(200_000, 50_000)
	errs := make([]error, 512)
	b.ReportAllocs()
	for b.Loop() {
		v := chain.NewStreamVerifier(50_000)
		for start := 0; start < len(recs); start += 512 {
			end := min(start+512, len(recs))
			v.CheckBatch(recs[start:end], errs[:end-start], nil)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}
