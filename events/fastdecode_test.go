package events

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// general decodes with the reflection-based decoder only (the types
// without their fast path).
func general(typ string, b []byte) (Event, error) {
	switch typ {
	case TypeEligibilityDetermined:
		var d EligibilityDetermined
		err := json.Unmarshal(b, &d)
		return d, err
	case TypeScoreReported:
		var d ScoreReported
		err := json.Unmarshal(b, &d)
		return d, err
	}
	panic(typ)
}

var fastPaths = map[string]func([]byte) (Event, bool){
	TypeEligibilityDetermined: fastEligibilityDetermined,
	TypeScoreReported:         fastScoreReported,
}

func randomParticipant(r *rand.Rand) Participant {
	tin := TIN{v: uint32(r.IntN(1_000_000_000)) | tinSet}
	base := fmt.Sprintf("1%08d", r.IntN(100_000_000))
	npi, _ := ParseNPI(base + string(NPICheckDigit(base)))
	switch r.IntN(4) {
	case 0:
		return Group(tin)
	case 1:
		return Individual(tin, npi)
	case 2:
		return Participant{Kind: KindVirtualGroup, ID: fmt.Sprintf("VG-%d", r.IntN(999))}
	}
	return Participant{Kind: KindAPMEntity, ID: fmt.Sprintf("A%05d", r.IntN(99999))}
}

func randomTime(r *rand.Rand) time.Time {
	if r.IntN(5) == 0 {
		return time.Time{}
	}
	t := time.Unix(r.Int64N(4_000_000_000), r.Int64N(1_000_000_000)*int64(r.IntN(2)))
	if r.IntN(3) == 0 {
		return t.In(time.FixedZone("", (r.IntN(27)-12)*3600))
	}
	return t.UTC()
}

// TestFastDecodeAgrees: for thousands of random events, the fast path
// accepts what the encoder writes and decodes it exactly as the general
// decoder does.
func TestFastDecodeAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		evs := []Event{
			EligibilityDetermined{Participant: randomParticipant(r), ProgramYear: PY(MIPS, 2017+r.IntN(9)),
				Status: EligibilityStatus(r.IntN(5)), Exclusion: ExclusionReason(r.IntN(7)), Exceeded: Criteria(r.IntN(8)),
				Volumes: Volumes{AllowedChargesCents: r.Int64N(1e10) - 5, PartBPatients: r.IntN(5000), CoveredServices: r.IntN(5000)},
				Source:  Source(r.IntN(6)), SourceDate: randomTime(r), DeterminedAt: randomTime(r),
				ClinicianType: []string{"", "physician", "nurse-practitioner", "a b/c"}[r.IntN(4)],
				QP:            r.IntN(2) == 0, MIPSAPM: r.IntN(2) == 0, PortalRegistered: r.IntN(2) == 0, Run: r.IntN(3),
				QPStatus: []string{"", "Y", "N", "P", "Q", "R"}[r.IntN(6)]},
			ScoreReported{Participant: randomParticipant(r), ProgramYear: PY(QIPS, 2021), Pathway: Pathway(r.IntN(4)),
				Score: []float64{0, 100, 18.75, r.Float64() * 100, 1e-7, 75}[r.IntN(6)], ScoredCategories: r.IntN(4) - 1, ReportedAt: randomTime(r)},
		}
		for _, e := range evs {
			b, err := json.Marshal(e, json.Deterministic(true))
			if err != nil {
				t.Fatal(err)
			}
			fast, ok := fastPaths[e.EventType()](b)
			if !ok {
				t.Fatalf("#%d: the fast path declined the encoder's own output:\n%s", i, b)
			}
			want, err := general(e.EventType(), b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("#%d: fast %+v\ngeneral %+v\nfrom %s", i, fast, want, b)
			}
		}
	}
}

// FuzzFastDecode: on any input the fast path either declines or agrees
// with the general decoder, which must then succeed too.
func FuzzFastDecode(f *testing.F) {
	for _, e := range []Event{
		EligibilityDetermined{Participant: Group(TIN{v: 456789 | tinSet}), ProgramYear: PY(MIPS, 2024), Status: StatusRequired,
			Exceeded: CriterionCharges, Source: SourceSegment2, DeterminedAt: time.Date(2024, 11, 15, 14, 0, 0, 0, time.UTC), Run: 2, QP: true},
		EligibilityDetermined{Participant: Group(TIN{v: 456789 | tinSet}), ProgramYear: PY(MIPS, 2024), Status: StatusOptInEligible,
			Source: SourceImport, DeterminedAt: time.Date(2024, 11, 15, 14, 0, 0, 0, time.UTC), Run: 2, QPStatus: "Q"},
		ScoreReported{Participant: Group(TIN{v: 456789 | tinSet}), ProgramYear: PY(MIPS, 2024), Score: 81.5, ScoredCategories: 3},
	} {
		b, _ := json.Marshal(e, json.Deterministic(true))
		f.Add(e.EventType(), b)
	}
	f.Fuzz(func(t *testing.T, typ string, b []byte) {
		fast := fastPaths[typ]
		if fast == nil {
			return
		}
		got, ok := fast(b)
		if !ok {
			return
		}
		want, err := general(typ, b)
		if err != nil {
			t.Fatalf("fast path accepted what the general decoder refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast %+v\ngeneral %+v\nfrom %q", got, want, b)
		}
	})
}
