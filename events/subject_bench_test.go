package events_test

import (
	"testing"

	"github.com/electionledger/ledger/events"
)

// BenchmarkCheckStreamShape checks a million records' payloads, spread in
// memory as a large log's are (each a cache miss), against their streams'
// names without a key.
func BenchmarkCheckStreamShape(b *testing.B) {
	const n = 1 << 20
	recs := make([]events.Record, n)
	evs := make([]events.Event, n)
	py := events.PY(events.MIPS, 2024)
	for i := range recs {
		p := events.Group(events.MustParseTIN("100000001"))
		evs[i] = events.EligibilityDetermined{Participant: p, ProgramYear: py, Run: i}
		recs[i].Stream = "eligibility-mips-2024-0123456789abcdef0123456789abcdef"
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := (i * 7919) % n
		if err := events.CheckStreamShape(&recs[j], evs[j]); err != nil {
			b.Fatal(err)
		}
	}
}
