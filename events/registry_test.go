package events_test

import (
	"errors"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testTIN = events.MustParseTIN("000456789")
	testNPI = events.MustParseNPI("1234567893")
	py2024  = events.PY(events.MIPS, 2024)
	t0      = time.Date(2025, 2, 3, 14, 0, 0, 0, time.UTC)
)

func allEvents(t *testing.T) []events.Event {
	apm, err := events.NewAPMEntity("A1234")
	require.NoError(t, err)
	vg, err := events.NewVirtualGroup("VG-17")
	require.NoError(t, err)
	ind := events.Individual(testTIN, testNPI)
	return []events.Event{
		events.EligibilityDetermined{Participant: ind, ProgramYear: py2024, Status: events.StatusOptInEligible,
			Exceeded: events.CriterionCharges | events.CriterionServices,
			Volumes:  events.Volumes{AllowedChargesCents: 9_000_001, PartBPatients: 150, CoveredServices: 201},
			Source:   events.SourceSegment2, SourceDate: t0, DeterminedAt: t0, ClinicianType: "physician", MIPSAPM: true},
		events.ElectionRequested{Participant: ind, ProgramYear: py2024, Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP,
			RequestedAt: t0, BatchID: "b1",
			OfficeChampion:   &events.Champion{Name: "Ada", Role: "administrator"},
			ClinicalChampion: &events.Champion{Name: "Dr. Bo", Role: "physician", NPI: testNPI}},
		events.ElectionRequestWithdrawn{Participant: ind, ProgramYear: py2024, WithdrawnAt: t0, Reason: "changed mind"},
		events.ElectionConfirmed{Participant: events.Group(testTIN), ProgramYear: py2024, Choice: events.ChoiceVoluntary,
			Pathway: events.PathwayTraditional, ConfirmedAt: t0, RequestRevision: 3, VirtualGroupID: "VG-17"},
		events.APMParticipationSnapshot{Entity: apm, ProgramYear: py2024, SnapshotDate: t0, MIPSAPM: true,
			Entries: []events.APMListEntry{{TIN: testTIN, NPI: testNPI, List: events.ListAffiliatedPractitioner}}},
		events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py2024, Members: []events.TIN{testTIN}, EffectiveAt: t0},
		events.ScoreReported{Participant: ind, ProgramYear: py2024, Pathway: events.PathwayTraditional, Score: 82.5, ScoredCategories: 3, ReportedAt: t0},
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	r := events.NewRegistry()
	for _, e := range allEvents(t) {
		id := uuid.New()
		data, err := r.Encode(id, e, events.Metadata{Actor: "a"})
		require.NoError(t, err, e.EventType())
		assert.Equal(t, e.EventType(), data.Type)
		assert.Equal(t, id, data.ID)
		rec := events.Record{Type: data.Type, SchemaVersion: data.SchemaVersion, Data: data.Data}
		back, err := r.Decode(&rec)
		require.NoError(t, err, e.EventType())
		assert.Equal(t, e, back, e.EventType())
	}
	v, ok := r.Version(events.TypeElectionRequested)
	assert.True(t, ok)
	assert.Equal(t, 2, v)
}

func TestRegistryErrors(t *testing.T) {
	r := events.NewRegistry()
	cases := []struct {
		name    string
		typ     string
		version int
		data    string
		want    error
	}{
		{"unknown type", "election.revoked", 1, `{}`, events.ErrUnknownEventType},
		{"newer version", events.TypeElectionConfirmed, 2, `{}`, events.ErrUnknownSchemaVersion},
		{"version 0", events.TypeElectionConfirmed, 0, `{}`, events.ErrUnknownSchemaVersion},
		{"not JSON", events.TypeElectionConfirmed, 1, `{"participant":`, events.ErrMalformedPayload},
		{"wrong field type", events.TypeScoreReported, 1, `{"score":"high"}`, events.ErrMalformedPayload},
		{"bad TIN in payload", events.TypeElectionConfirmed, 1, `{"participant":{"kind":"group","tin":"12"}}`, events.ErrMalformedPayload},
		{"bad enum", events.TypeElectionConfirmed, 1, `{"choice":"maybe"}`, events.ErrMalformedPayload},
		{"bad v1 for upcast", events.TypeElectionRequested, 1, `{"optIn":"yes"}`, events.ErrMalformedPayload},
		{"empty payload", events.TypeScoreReported, 1, ``, events.ErrMalformedPayload},
	}
	for _, c := range cases {
		_, err := r.DecodeData(c.typ, c.version, []byte(c.data))
		assert.ErrorIs(t, err, c.want, c.name)
		var de *events.DecodeError
		if assert.ErrorAs(t, err, &de, c.name) {
			assert.Equal(t, c.typ, de.Type)
		}
	}
	_, err := r.Encode(uuid.New(), customEvent{}, events.Metadata{})
	assert.ErrorIs(t, err, events.ErrUnknownEventType)
	assert.ErrorIs(t, events.Register[events.ScoreReported](r, 1), events.ErrAlreadyRegistered)
	assert.Error(t, r.RegisterUpcaster(events.TypeScoreReported, 1, nil), "no upcaster beyond the current version")
}

type customEvent struct{ N int }

func (customEvent) EventType() string { return "custom.thing" }

// TestRegistryPerInstance: registering in one registry changes no other.
func TestRegistryPerInstance(t *testing.T) {
	a, b := events.NewRegistry(), events.NewRegistry()
	require.NoError(t, events.Register[customEvent](a, 1))
	_, err := a.DecodeData("custom.thing", 1, []byte(`{"N":3}`))
	require.NoError(t, err)
	_, err = b.DecodeData("custom.thing", 1, []byte(`{"N":3}`))
	assert.ErrorIs(t, err, events.ErrUnknownEventType)
	_, ok := events.NewEmptyRegistry().Version(events.TypeElectionConfirmed)
	assert.False(t, ok)
}

// TestUpcastElectionRequestedV1 decodes payloads written under schema v1
// (a boolean optIn, no pathway) into the current v2 type.
func TestUpcastElectionRequestedV1(t *testing.T) {
	r := events.NewRegistry()
	v1 := `{"participant":{"kind":"group","tin":"000456789"},"programYear":{"program":"MIPS","year":2019},` +
		`"optIn":%s,"requestedAt":"2020-01-15T10:00:00Z","batchId":"up-1"}`
	for raw, want := range map[string]events.Choice{"true": events.ChoiceOptIn, "false": events.ChoiceVoluntary} {
		e, err := r.DecodeData(events.TypeElectionRequested, 1, []byte(sprintf(v1, raw)))
		require.NoError(t, err)
		got := e.(events.ElectionRequested)
		assert.Equal(t, events.ElectionRequested{
			Participant: events.Group(testTIN), ProgramYear: events.PY(events.MIPS, 2019),
			Choice: want, Pathway: events.PathwayTraditional,
			RequestedAt: time.Date(2020, 1, 15, 10, 0, 0, 0, time.UTC), BatchID: "up-1",
		}, got)
	}
	// A v1 payload with a field v1 never had is refused, not guessed at.
	_, err := r.DecodeData(events.TypeElectionRequested, 1, []byte(`{"optIn":true,"pathway":"app"}`))
	assert.ErrorIs(t, err, events.ErrMalformedPayload)
}

func sprintf(format, arg string) string {
	out := []byte{}
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) && format[i+1] == 's' {
			out = append(out, arg...)
			i++
			continue
		}
		out = append(out, format[i])
	}
	return string(out)
}

func FuzzRegistryDecode(f *testing.F) {
	r := events.NewRegistry()
	for _, e := range allEventsForFuzz() {
		d, err := r.Encode(uuid.New(), e, events.Metadata{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d.Type, d.SchemaVersion, d.Data)
	}
	f.Add(events.TypeElectionRequested, 1, []byte(`{"optIn":true}`))
	f.Fuzz(func(t *testing.T, typ string, version int, data []byte) {
		e, err := r.DecodeData(typ, version, data)
		if err != nil {
			var de *events.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if e.EventType() != typ {
			t.Fatalf("decoded %s as %s", typ, e.EventType())
		}
	})
}

func allEventsForFuzz() []events.Event {
	return []events.Event{
		events.ElectionRequested{Participant: events.Group(testTIN), ProgramYear: py2024, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional},
		events.ElectionConfirmed{Participant: events.Individual(testTIN, testNPI), ProgramYear: py2024},
		events.ScoreReported{Participant: events.Group(testTIN), ProgramYear: py2024, Score: 75},
	}
}
