package events_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

func benchRecord() events.Record {
	reg := events.NewRegistry()
	d, _ := reg.Encode(uuid.New(), events.EligibilityDetermined{Participant: events.Individual(testTIN, testNPI), ProgramYear: py2024,
		Status: events.StatusOptInEligible, Source: events.SourceSegment2, DeterminedAt: time.Now()},
		events.Metadata{Actor: "sim", ActorRole: events.RoleSystem, CommandID: uuid.New()})
	return events.NewRecord("eligibility-mips-2024-0123456789abcdef0123456789abcdef", 0, time.Now(), events.Hash{}, d)
}

// BenchmarkComputeHash measures the hash-chain link of a typical record:
// the canonical encoding and SHA-256 over it.
func BenchmarkComputeHash(b *testing.B) {
	r := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		_ = r.ComputeHash()
	}
}

func BenchmarkAppendCanonical(b *testing.B) {
	r := benchRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendCanonical(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkSHA256(b *testing.B) {
	r := benchRecord()
	buf := r.AppendCanonical(nil)
	for b.Loop() {
		_ = sha256.Sum256(buf)
	}
}
