package events_test

import (
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// BenchmarkDecode measures decoding the payloads a rebuild reads most.
func BenchmarkDecode(b *testing.B) {
	reg := events.NewRegistry()
	now := time.Date(2024, 11, 15, 14, 0, 0, 0, time.UTC)
	for name, e := range map[string]events.Event{
		"eligibility": events.EligibilityDetermined{Participant: events.Individual(testTIN, testNPI), ProgramYear: py2024,
			Status: events.StatusOptInEligible, Exceeded: events.CriterionCharges, Volumes: events.Volumes{AllowedChargesCents: 9_500_000, PartBPatients: 150, CoveredServices: 180},
			Source: events.SourceSegment2, SourceDate: now, DeterminedAt: now, ClinicianType: "physician"},
		"score":     events.ScoreReported{Participant: events.Individual(testTIN, testNPI), ProgramYear: py2024, Pathway: events.PathwayTraditional, Score: 81.5, ScoredCategories: 3, ReportedAt: now},
		"confirmed": events.ElectionConfirmed{Participant: events.Group(testTIN), ProgramYear: py2024, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: now},
	} {
		d, err := reg.Encode(uuid.New(), e, events.Metadata{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.DecodeData(d.Type, d.SchemaVersion, d.Data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(d.Data)), "bytes")
		})
	}
}
