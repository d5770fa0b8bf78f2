package eligibility_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	seg1At = time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)
	seg2At = time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)
	// volumes at each level against the PY2019+ threshold
	volumesAt = map[eligibility.Level]events.Volumes{
		eligibility.LevelBelow: {AllowedChargesCents: 10_000_00, PartBPatients: 20, CoveredServices: 20},
		eligibility.LevelOptIn: {AllowedChargesCents: 95_000_00, PartBPatients: 20, CoveredServices: 250},
		eligibility.LevelAbove: {AllowedChargesCents: 95_000_00, PartBPatients: 201, CoveredServices: 201},
	}
)

// segment determines p in one segment (1 or 2) at the given level.
func segment(t *testing.T, r eligibility.Rules, p events.Participant, seg int, l eligibility.Level, opts ...func(*eligibility.Input)) events.EligibilityDetermined {
	t.Helper()
	in := eligibility.Input{Participant: p, Volumes: volumesAt[l], Clinician: physician(),
		Clinicians: []eligibility.Clinician{physician()}}
	switch seg {
	case 1:
		in.Source, in.SourceDate, in.DeterminedAt = events.SourceSegment1, time.Date(2023, 9, 30, 0, 0, 0, 0, time.UTC), seg1At
	default:
		in.Source, in.SourceDate, in.DeterminedAt = events.SourceSegment2, time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), seg2At
	}
	for _, o := range opts {
		o(&in)
	}
	return determine(t, r, in)
}

// TestReconcileSegments: every combination of {below, opt-in range, above}
// in the two segments, for a clinician and a practice, under the default
// policy: required only if above in both; opt-in eligible if it exceeds a
// criterion in both; exempt otherwise. The initial status (segment 1
// alone) is shown between the segments; the newly-established exception
// judges segment 2 alone.
func TestReconcileSegments(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	B, O, A := eligibility.LevelBelow, eligibility.LevelOptIn, eligibility.LevelAbove
	exempt, optIn, required := events.StatusExempt, events.StatusOptInEligible, events.StatusRequired
	cases := []struct {
		s1, s2  eligibility.Level
		initial events.EligibilityStatus
		final   events.EligibilityStatus
		basis   string
	}{
		{B, B, exempt, exempt, eligibility.BasisBothBelow},
		{B, O, exempt, exempt, eligibility.BasisDisagreeExempt},
		{B, A, exempt, exempt, eligibility.BasisDisagreeExempt}, // CMS: exempt; the old rule said required
		{O, B, optIn, exempt, eligibility.BasisDisagreeExempt},
		{O, O, optIn, optIn, eligibility.BasisBothOptIn},
		{O, A, optIn, optIn, eligibility.BasisDisagreeOptIn},
		{A, B, required, exempt, eligibility.BasisDisagreeExempt},
		{A, O, required, optIn, eligibility.BasisDisagreeOptIn},
		{A, A, required, required, eligibility.BasisBothAbove},
	}
	for _, p := range []events.Participant{clinician, practice} {
		for _, c := range cases {
			name := fmt.Sprintf("%v %v/%v", p.Kind, c.s1, c.s2)
			dets := []events.EligibilityDetermined{segment(t, r, p, 1, c.s1), segment(t, r, p, 2, c.s2)}
			final := eligibility.Reconcile(&r, p, dets, time.Time{})
			assert.Equal(t, c.final, final.Status, name)
			assert.Equal(t, eligibility.PhaseFinal, final.Phase, name)
			assert.Equal(t, c.basis, final.Basis, name)
			assert.Equal(t, [2]eligibility.Level{c.s1, c.s2}, final.Levels, name)
			assert.Equal(t, events.SourceSegment2, final.Source, name)

			between := eligibility.Reconcile(&r, p, dets, seg2At.Add(-time.Second))
			assert.Equal(t, c.initial, between.Status, "%s: as of between the segments", name)
			assert.Equal(t, eligibility.PhaseInitial, between.Phase, name)
			assert.Equal(t, eligibility.BasisInitial, between.Basis, name)

			newly := []events.EligibilityDetermined{segment(t, r, p, 2, c.s2, func(in *eligibility.Input) { in.NewlyEstablished = true })}
			ne := eligibility.Reconcile(&r, p, newly, time.Time{})
			assert.Equal(t, map[eligibility.Level]events.EligibilityStatus{B: exempt, O: optIn, A: required}[c.s2], ne.Status, "%s: newly established in segment 2", name)
			assert.Equal(t, eligibility.PhaseFinal, ne.Phase)
			assert.Equal(t, eligibility.BasisNewlyEstablished, ne.Basis)
			// The exception holds with a segment 1 determination too (a
			// TIN/NPI reassigned): segment 2 alone decides.
			ne = eligibility.Reconcile(&r, p, append([]events.EligibilityDetermined{dets[0]}, newly...), time.Time{})
			assert.Equal(t, map[eligibility.Level]events.EligibilityStatus{B: exempt, O: optIn, A: required}[c.s2], ne.Status, "%s: newly established", name)
		}
	}
	// No segment 1 determination and not newly established: it billed
	// nothing then, so above in segment 2 alone is not required.
	only2 := eligibility.Reconcile(&r, clinician, []events.EligibilityDetermined{segment(t, r, clinician, 2, A)}, time.Time{})
	assert.Equal(t, exempt, only2.Status)
	assert.Equal(t, eligibility.BasisNoSegment1, only2.Basis)
	// Nothing determined.
	assert.False(t, eligibility.Reconcile(&r, clinician, nil, time.Time{}).Determined())
	assert.False(t, eligibility.Reconcile(&r, clinician, []events.EligibilityDetermined{segment(t, r, clinician, 1, A)}, seg1At.Add(-time.Hour)).Determined())
}

// TestSegmentPolicies: the opt-in-when-segments-disagree policy is data; each
// alternative changes only the disagreeing, not-required combinations.
func TestSegmentPolicies(t *testing.T) {
	B, O, A := eligibility.LevelBelow, eligibility.LevelOptIn, eligibility.LevelAbove
	pairs := [][2]eligibility.Level{{B, B}, {B, O}, {B, A}, {O, B}, {O, O}, {O, A}, {A, B}, {A, O}, {A, A}}
	want := map[eligibility.SegmentPolicy]string{ // o: opt-in eligible, e: exempt, r: required
		eligibility.OptInIfExceedsInBoth:        "eeeeooeor",
		eligibility.OptInIfExceedsInEither:      "eooooooor",
		eligibility.OptInIfExceedsInSegment2:    "eooeooeor",
		eligibility.NoOptInWhenSegmentsDisagree: "eeeeoeeer",
	}
	for policy, w := range want {
		r := rules(t, events.MIPS, 2024)
		r.SegmentPolicy = policy
		table := eligibility.Default()
		require.NoError(t, table.Set(r))
		for i, pr := range pairs {
			s := eligibility.Reconcile(&r, practice, []events.EligibilityDetermined{segment(t, r, practice, 1, pr[0]), segment(t, r, practice, 2, pr[1])}, time.Time{})
			got := map[events.EligibilityStatus]byte{events.StatusExempt: 'e', events.StatusOptInEligible: 'o', events.StatusRequired: 'r'}[s.Status]
			assert.Equal(t, w[i], got, "%v, %v/%v", policy, pr[0], pr[1])
		}
	}
	// In a year without opt-in, disagreeing segments are exempt.
	r18 := rules(t, events.MIPS, 2018)
	above18 := events.Volumes{AllowedChargesCents: 95_000_00, PartBPatients: 201}
	some18 := events.Volumes{AllowedChargesCents: 95_000_00}
	d1 := determine(t, r18, eligibility.Input{Participant: clinician, Volumes: above18, Clinician: physician(), Source: events.SourceSegment1, DeterminedAt: seg1At})
	d2 := determine(t, r18, eligibility.Input{Participant: clinician, Volumes: some18, Clinician: physician(), Source: events.SourceSegment2, DeterminedAt: seg2At})
	s := eligibility.Reconcile(&r18, clinician, []events.EligibilityDetermined{d1, d2}, time.Time{})
	assert.Equal(t, events.StatusExempt, s.Status)
	assert.Equal(t, eligibility.BasisNoOptInThisYear, s.Basis)
}

// TestReconcileLaterFacts: later determinations still change a final status:
// a later QPP import stands as reported; QP status comes from the latest
// determination that speaks to it (a QP is excluded, a Partial QP has its
// own status, a later "neither" clears them); an APM snapshot never decides
// volumes when segments do; exclusions follow the latest segment.
func TestReconcileLaterFacts(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	A, O := eligibility.LevelAbove, eligibility.LevelOptIn
	base := []events.EligibilityDetermined{segment(t, r, clinician, 1, A), segment(t, r, clinician, 2, A)}
	at := func(d events.EligibilityDetermined, when time.Time) events.EligibilityDetermined {
		d.DeterminedAt = when
		return d
	}
	snapshot := func(when time.Time, qp, partial bool) events.EligibilityDetermined {
		in := eligibility.Input{Participant: clinician, Volumes: volumesAt[eligibility.LevelBelow], MIPSAPM: true,
			Clinician: eligibility.Clinician{Type: eligibility.Physician, QP: qp, PartialQP: partial},
			Source:    events.SourceAPMSnapshot, SourceDate: when, DeterminedAt: when}
		return determine(t, r, in)
	}
	aug31 := time.Date(2024, 8, 31, 12, 0, 0, 0, time.UTC)
	dec := time.Date(2024, 12, 15, 0, 0, 0, 0, time.UTC)

	s := eligibility.Reconcile(&r, clinician, append(base, snapshot(aug31, false, false)), time.Time{})
	assert.Equal(t, events.StatusRequired, s.Status, "a snapshot's volumes never override the segments")
	assert.True(t, s.MIPSAPM, "the snapshot finds a MIPS APM participant though the later segment determination did not say so")
	assert.False(t, eligibility.Reconcile(&r, clinician, base, time.Time{}).MIPSAPM)

	s = eligibility.Reconcile(&r, clinician, append(base, snapshot(aug31, true, false)), time.Time{})
	assert.Equal(t, events.StatusExcluded, s.Status)
	assert.Equal(t, events.ExclusionQP, s.Exclusion)
	assert.True(t, s.QP)
	assert.Equal(t, eligibility.PhaseFinal, s.Phase)

	s = eligibility.Reconcile(&r, clinician, append(base, snapshot(aug31, false, true)), time.Time{})
	assert.Equal(t, events.StatusPartialQP, s.Status, "a Partial QP: its own status")
	assert.Equal(t, eligibility.BasisPartialQP, s.Basis)

	s = eligibility.Reconcile(&r, clinician, append(base, snapshot(aug31, true, false), snapshot(dec, false, false)), time.Time{})
	assert.Equal(t, events.StatusRequired, s.Status, "a later snapshot finding no QP clears the earlier QP")
	s = eligibility.Reconcile(&r, clinician, append(base, snapshot(aug31, true, false), snapshot(dec, false, false)), dec.Add(-time.Hour))
	assert.Equal(t, events.StatusExcluded, s.Status, "as of before the later snapshot: still a QP")

	// A segment 2 determination that found a QP (recorded with the QP
	// input), cleared by a later snapshot: the segment's volumes decide.
	qpSeg2 := segment(t, r, clinician, 2, A, func(in *eligibility.Input) { in.Clinician.QP = true })
	s = eligibility.Reconcile(&r, clinician, []events.EligibilityDetermined{base[0], qpSeg2, snapshot(dec, false, false)}, time.Time{})
	assert.Equal(t, events.StatusRequired, s.Status)

	// A later QPP import stands as CMS reported it.
	imp := events.EligibilityDetermined{Participant: clinician, ProgramYear: r.ProgramYear, Status: events.StatusOptInEligible,
		Source: events.SourceImport, DeterminedAt: dec}
	s = eligibility.Reconcile(&r, clinician, append(base, imp), time.Time{})
	assert.Equal(t, events.StatusOptInEligible, s.Status)
	assert.Equal(t, events.SourceImport, s.Source)
	assert.Equal(t, eligibility.PhaseFinal, s.Phase, "imported after segment 2 ended")
	// An import made before segment 2 ended is initial, and an earlier
	// import does not override later segments.
	early := at(imp, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC))
	s = eligibility.Reconcile(&r, clinician, []events.EligibilityDetermined{early}, time.Time{})
	assert.Equal(t, eligibility.PhaseInitial, s.Phase)
	s = eligibility.Reconcile(&r, clinician, append(base, early), time.Time{})
	assert.Equal(t, events.StatusRequired, s.Status)

	// Exclusions follow the latest segment.
	typed := segment(t, r, clinician, 2, O, func(in *eligibility.Input) { in.Clinician.Type = eligibility.OtherClinicianType })
	s = eligibility.Reconcile(&r, clinician, []events.EligibilityDetermined{base[0], typed}, time.Time{})
	assert.Equal(t, events.ExclusionIneligibleClinicianType, s.Exclusion)
	assert.Equal(t, eligibility.BasisSegmentExcluded, s.Basis)
}

// TestReconcileAPMEntities: from PY2021 an APM Entity has no LVT status,
// whatever was recorded (an older determination's "exempt, apm-entity"
// included); PY2019-2020 it may be opt-in eligible.
func TestReconcileAPMEntities(t *testing.T) {
	apm, _ := events.NewAPMEntity("APM-7")
	old := events.EligibilityDetermined{Participant: apm, Status: events.StatusExempt, Exclusion: events.ExclusionAPMEntity,
		Exceeded: events.CriterionCharges, Source: events.SourceSegment2, DeterminedAt: seg2At}
	for y, want := range map[int]events.EligibilityStatus{
		2018: events.StatusExempt, 2019: events.StatusOptInEligible, 2020: events.StatusOptInEligible,
		2021: events.StatusNotAssessed, 2024: events.StatusNotAssessed,
	} {
		r := rules(t, events.MIPS, y)
		d := old
		d.ProgramYear = r.ProgramYear
		d1 := d
		d1.Source, d1.DeterminedAt = events.SourceSegment1, seg1At
		s := eligibility.Reconcile(&r, apm, []events.EligibilityDetermined{d1, d}, time.Time{})
		assert.Equal(t, want, s.Status, "PY%d", y)
		assert.Equal(t, events.ExclusionNone, s.Exclusion, "PY%d", y)
	}
}
