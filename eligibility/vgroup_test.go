package eligibility_test

import (
	"errors"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
)

// TestVirtualGroupMembership: members are TINs above the threshold or opt-in
// eligible in segment 1 (PY2018: its assessment period), with at most 10
// eligible clinicians (a solo practitioner included), in at most one
// virtual group a year. Each refusal names the rule and the TIN masked.
func TestVirtualGroupMembership(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	group := func(l eligibility.Level, src events.Source, clinicians int) events.EligibilityDetermined {
		cs := make([]eligibility.Clinician, clinicians)
		for i := range cs {
			cs[i] = physician()
		}
		return determine(t, r, eligibility.Input{Participant: practice, Volumes: volumesAt[l], Clinicians: cs,
			Source: src, DeterminedAt: seg1At})
	}
	ok := func(dets ...events.EligibilityDetermined) error {
		return r.CheckVirtualGroupMember(tin, dets, "", "VG-1")
	}
	assert.NoError(t, ok(group(eligibility.LevelAbove, events.SourceSegment1, 10)), "above, 10 clinicians")
	assert.NoError(t, ok(group(eligibility.LevelOptIn, events.SourceSegment1, 1)), "opt-in eligible solo practitioner")
	cases := map[string]struct {
		err  error
		dets []events.EligibilityDetermined
		of   string
	}{
		"below":             {eligibility.ErrMemberBelowThreshold, []events.EligibilityDetermined{group(eligibility.LevelBelow, events.SourceSegment1, 3)}, ""},
		"11 clinicians":     {eligibility.ErrMemberTooLarge, []events.EligibilityDetermined{group(eligibility.LevelAbove, events.SourceSegment1, 11)}, ""},
		"no eligible":       {eligibility.ErrMemberBelowThreshold, []events.EligibilityDetermined{group(eligibility.LevelAbove, events.SourceSegment1, 0)}, ""},
		"segment 2 only":    {eligibility.ErrNoMembershipDetermination, []events.EligibilityDetermined{group(eligibility.LevelAbove, events.SourceSegment2, 3)}, ""},
		"nothing":           {eligibility.ErrNoMembershipDetermination, nil, ""},
		"another group":     {eligibility.ErrMemberOfAnother, []events.EligibilityDetermined{group(eligibility.LevelAbove, events.SourceSegment1, 3)}, "VG-2"},
		"uncounted (older)": {eligibility.ErrMemberUncounted, []events.EligibilityDetermined{{Participant: practice, ProgramYear: r.ProgramYear, Status: events.StatusRequired, Source: events.SourceSegment1, DeterminedAt: seg1At}}, ""},
	}
	for name, c := range cases {
		err := r.CheckVirtualGroupMember(tin, c.dets, c.of, "VG-1")
		var me *eligibility.MemberError
		if !errors.As(err, &me) || !errors.Is(err, c.err) || !errors.Is(err, eligibility.ErrNotVirtualGroupMember) {
			t.Errorf("%s: got %v, want %v", name, err, c.err)
			continue
		}
		assert.Contains(t, err.Error(), "*****6789", name)
		assert.NotContains(t, err.Error(), tin.Digits(), name)
		assert.Contains(t, err.Error(), "to pass", name)
	}
	assert.NoError(t, r.CheckVirtualGroupMember(tin, cases["another group"].dets, "VG-1", "VG-1"), "its own group again (a revision)")

	// Segment 1 decides, whatever segment 2 says later.
	later := group(eligibility.LevelBelow, events.SourceSegment2, 3)
	later.DeterminedAt = seg2At
	assert.NoError(t, ok(group(eligibility.LevelAbove, events.SourceSegment1, 3), later))

	// PY2018: the assessment period (Jul 1 - Nov 30 2017), not segment 1,
	// and no opt-in: only TINs above the threshold.
	r18 := rules(t, events.MIPS, 2018)
	vg18 := func(src events.Source, v events.Volumes) events.EligibilityDetermined {
		return determine(t, r18, eligibility.Input{Participant: practice, Volumes: v, Clinicians: []eligibility.Clinician{physician()},
			Source: src, DeterminedAt: time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC)})
	}
	above18 := events.Volumes{AllowedChargesCents: 95_000_00, PartBPatients: 201}
	assert.NoError(t, r18.CheckVirtualGroupMember(tin, []events.EligibilityDetermined{vg18(events.SourceVirtualGroupAssessment, above18)}, "", "VG-1"))
	assert.ErrorIs(t, r18.CheckVirtualGroupMember(tin, []events.EligibilityDetermined{vg18(events.SourceSegment1, above18)}, "", "VG-1"), eligibility.ErrNoMembershipDetermination)
	assert.ErrorIs(t, r18.CheckVirtualGroupMember(tin, []events.EligibilityDetermined{vg18(events.SourceVirtualGroupAssessment, events.Volumes{AllowedChargesCents: 95_000_00})}, "", "VG-1"), eligibility.ErrMemberBelowThreshold)
	// PY2017 has no virtual groups.
	r17 := rules(t, events.MIPS, 2017)
	assert.ErrorIs(t, r17.CheckVirtualGroupMember(tin, nil, "", "VG-1"), eligibility.ErrNoVirtualGroups)
}
