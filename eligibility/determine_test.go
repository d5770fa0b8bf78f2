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
	tin       = events.MustParseTIN("000456789")
	npi       = events.MustParseNPI("1234567893")
	clinician = events.Individual(tin, npi)
	practice  = events.Group(tin)
	at        = time.Date(2024, 10, 15, 12, 0, 0, 0, time.UTC)
)

func physician() eligibility.Clinician {
	return eligibility.Clinician{NPI: npi, Type: eligibility.Physician}
}

func individualInput(v events.Volumes) eligibility.Input {
	return eligibility.Input{Participant: clinician, Volumes: v, Clinician: physician(),
		Source: events.SourceSegment1, SourceDate: at, DeterminedAt: at}
}

func determine(t *testing.T, r eligibility.Rules, in eligibility.Input) events.EligibilityDetermined {
	t.Helper()
	d, err := eligibility.Determine(&r, in)
	require.NoError(t, err)
	return d
}

// TestLowVolumeThreshold: "exceeds" is strictly greater. At exactly
// $90,000.00, 200 patients and 200 services nothing is exceeded; one cent or
// one unit above exceeds. Every combination of 0-3 criteria, every year.
func TestLowVolumeThreshold(t *testing.T) {
	at := events.Volumes{AllowedChargesCents: 90_000_00, PartBPatients: 200, CoveredServices: 200}
	for year := 2019; year <= 2025; year++ {
		r := rules(t, events.MIPS, year)
		for mask := events.Criteria(0); mask < 8; mask++ {
			v := at
			if mask.Has(events.CriterionCharges) {
				v.AllowedChargesCents++ // one cent above
			}
			if mask.Has(events.CriterionPatients) {
				v.PartBPatients++
			}
			if mask.Has(events.CriterionServices) {
				v.CoveredServices++
			}
			d := determine(t, r, individualInput(v))
			want := map[int]events.EligibilityStatus{0: events.StatusExempt, 1: events.StatusOptInEligible, 2: events.StatusOptInEligible, 3: events.StatusRequired}[mask.Count()]
			assert.Equal(t, want, d.Status, "PY%d exceeding %v", year, mask)
			assert.Equal(t, mask, d.Exceeded, "PY%d", year)
			assert.Equal(t, v, d.Volumes)
		}
		// Zero volumes: nothing exceeded.
		assert.Equal(t, events.StatusExempt, determine(t, r, individualInput(events.Volumes{})).Status)
		// Far below on one, far above on the others.
		d := determine(t, r, individualInput(events.Volumes{AllowedChargesCents: 1, PartBPatients: 5000, CoveredServices: 5000}))
		assert.Equal(t, events.StatusOptInEligible, d.Status)
		assert.Equal(t, events.CriterionPatients|events.CriterionServices, d.Exceeded)
	}
}

// TestLowVolumeThreshold2018: two criteria and no opt-in.
func TestLowVolumeThreshold2018(t *testing.T) {
	r := rules(t, events.MIPS, 2018)
	cases := []struct {
		v    events.Volumes
		want events.EligibilityStatus
		exc  events.Criteria
	}{
		{events.Volumes{AllowedChargesCents: 90_000_00, PartBPatients: 200, CoveredServices: 10_000}, events.StatusExempt, 0},
		{events.Volumes{AllowedChargesCents: 90_000_01, PartBPatients: 200}, events.StatusExempt, events.CriterionCharges}, // no opt-in in 2018
		{events.Volumes{AllowedChargesCents: 90_000_00, PartBPatients: 201}, events.StatusExempt, events.CriterionPatients},
		{events.Volumes{AllowedChargesCents: 90_000_01, PartBPatients: 201}, events.StatusRequired, events.CriterionCharges | events.CriterionPatients},
		{events.Volumes{}, events.StatusExempt, 0},
	}
	for _, c := range cases {
		d := determine(t, r, individualInput(c.v))
		assert.Equal(t, c.want, d.Status, "%+v", c.v)
		assert.Equal(t, c.exc, d.Exceeded, "%+v", c.v)
	}
}

func TestExclusions(t *testing.T) {
	above := events.Volumes{AllowedChargesCents: 1_000_000_00, PartBPatients: 1000, CoveredServices: 1000}
	partial := events.Volumes{AllowedChargesCents: 1_000_000_00}
	r24 := rules(t, events.MIPS, 2024)

	qp := individualInput(above)
	qp.Clinician.QP = true
	d := determine(t, r24, qp)
	assert.Equal(t, events.StatusExcluded, d.Status)
	assert.Equal(t, events.ExclusionQP, d.Exclusion)
	assert.True(t, d.QP)

	newly := individualInput(above)
	newly.Clinician.MedicareEnrolled = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, events.ExclusionNewlyEnrolled, determine(t, r24, newly).Exclusion)
	newly.Clinician.MedicareEnrolled = time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, events.StatusRequired, determine(t, r24, newly).Status, "enrolled the year before: not newly enrolled")

	// Clinician types by year: 2022 adds clinical social workers and
	// certified nurse-midwives.
	for _, typ := range []eligibility.ClinicianType{eligibility.ClinicalSocialWorker, eligibility.CertifiedNurseMidwife} {
		in := individualInput(partial)
		in.Clinician.Type = typ
		d21 := determine(t, rules(t, events.MIPS, 2021), in)
		assert.Equal(t, events.ExclusionIneligibleClinicianType, d21.Exclusion, "%s in PY2021", typ)
		assert.Equal(t, events.StatusOptInEligible, determine(t, rules(t, events.MIPS, 2022), in).Status, "%s in PY2022", typ)
	}
	for _, typ := range []eligibility.ClinicianType{eligibility.PhysicalTherapist, eligibility.RegisteredDietitian, eligibility.Audiologist} {
		in := individualInput(partial)
		in.Clinician.Type = typ
		assert.Equal(t, events.StatusOptInEligible, determine(t, rules(t, events.MIPS, 2019), in).Status, "%s in PY2019", typ)
		assert.Equal(t, events.StatusExcluded, determine(t, rules(t, events.MIPS, 2018), in).Status, "%s in PY2018", typ)
	}
	other := individualInput(above)
	other.Clinician.Type = eligibility.OtherClinicianType
	assert.Equal(t, events.ExclusionIneligibleClinicianType, determine(t, r24, other).Exclusion)
}

func TestGroups(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	partial := events.Volumes{AllowedChargesCents: 200_000_00, PartBPatients: 150, CoveredServices: 150}
	group := func(cs ...eligibility.Clinician) eligibility.Input {
		return eligibility.Input{Participant: practice, Volumes: partial, Clinicians: cs,
			Source: events.SourceSegment2, SourceDate: at, DeterminedAt: at}
	}
	qpDoc := physician()
	qpDoc.QP = true
	social := eligibility.Clinician{Type: eligibility.OtherClinicianType}
	d := determine(t, r, group(qpDoc, social))
	assert.Equal(t, events.StatusExcluded, d.Status, "no clinician otherwise eligible")
	assert.Equal(t, events.ExclusionNoEligibleClinician, d.Exclusion)
	assert.Equal(t, events.ExclusionNoEligibleClinician, determine(t, r, group()).Exclusion, "no clinicians at all")

	d = determine(t, r, group(qpDoc, social, physician()))
	assert.Equal(t, events.StatusOptInEligible, d.Status, "one otherwise-eligible clinician suffices")
	assert.Equal(t, events.CriterionCharges, d.Exceeded)

	assert.Equal(t, 1, d.EligibleClinicians, "the QP and the ineligible type are not counted")
	assert.Equal(t, 3, determine(t, r, group(physician(), physician(), social, physician())).EligibleClinicians)
}

// TestGroupsOfBelowLVTAPMClinicians: PY2019-2020 a clinician in MIPS APMs
// only through APM Entities all below the threshold does not make its group
// opt-in eligible; in other years it counts like any otherwise eligible
// clinician.
func TestGroupsOfBelowLVTAPMClinicians(t *testing.T) {
	partial := events.Volumes{AllowedChargesCents: 200_000_00, PartBPatients: 150, CoveredServices: 150}
	apmOnly := physician()
	apmOnly.OnlyInBelowLVTAPMEntities = true
	for year := 2018; year <= 2024; year++ {
		r := rules(t, events.MIPS, year)
		group := func(cs ...eligibility.Clinician) eligibility.Input {
			return eligibility.Input{Participant: practice, Volumes: partial, Clinicians: cs,
				Source: events.SourceSegment1, SourceDate: at, DeterminedAt: at}
		}
		d := determine(t, r, group(apmOnly, apmOnly))
		mixed := determine(t, r, group(apmOnly, physician()))
		if year == 2019 || year == 2020 {
			assert.Equal(t, events.StatusExcluded, d.Status, "PY%d: only below-threshold APM clinicians", year)
			assert.Equal(t, events.ExclusionNoEligibleClinician, d.Exclusion, "PY%d", year)
			assert.Equal(t, events.StatusOptInEligible, mixed.Status, "PY%d: one clinician outside them suffices", year)
			assert.Equal(t, 1, mixed.EligibleClinicians, "PY%d", year)
			continue
		}
		assert.NotEqual(t, events.StatusExcluded, d.Status, "PY%d: the rule is PY2019-2020's", year)
		assert.Equal(t, 2, d.EligibleClinicians, "PY%d", year)
	}
}

// TestAPMEntitiesByYear: PY2017-2020 an APM Entity is judged against the
// threshold, and may be opt-in eligible only in PY2019-2020; from PY2021 it
// has no LVT status at all.
func TestAPMEntitiesByYear(t *testing.T) {
	apm, err := events.NewAPMEntity("A1234")
	require.NoError(t, err)
	some := events.Volumes{AllowedChargesCents: 200_000_00, PartBPatients: 150, CoveredServices: 150}
	all := events.Volumes{AllowedChargesCents: 1e9, PartBPatients: 1e4, CoveredServices: 1e4}
	cases := []struct {
		year      int
		v         events.Volumes
		want      events.EligibilityStatus
		exceeded  events.Criteria
		rationale string
	}{
		{2017, events.Volumes{AllowedChargesCents: 30_000_01, PartBPatients: 100}, events.StatusExempt, events.CriterionCharges, "PY2017: at 100 beneficiaries, exempt"},
		{2017, events.Volumes{AllowedChargesCents: 30_000_01, PartBPatients: 101}, events.StatusRequired, events.CriterionCharges | events.CriterionPatients, "PY2017: above $30,000 and 100 beneficiaries"},
		{2018, some, events.StatusExempt, events.CriterionCharges, "no opt-in in PY2018"},
		{2019, some, events.StatusOptInEligible, events.CriterionCharges, "an APM Entity group in the opt-in range may opt in"},
		{2020, some, events.StatusOptInEligible, events.CriterionCharges, "an APM Entity group in the opt-in range may opt in"},
		{2020, all, events.StatusRequired, events.CriterionCharges | events.CriterionPatients | events.CriterionServices, "above the threshold"},
		{2020, events.Volumes{}, events.StatusExempt, 0, "below the threshold"},
		{2021, some, events.StatusNotAssessed, events.CriterionCharges, "no LVT status from PY2021"},
		{2021, all, events.StatusNotAssessed, events.CriterionCharges | events.CriterionPatients | events.CriterionServices, "never required by volume"},
		{2024, events.Volumes{}, events.StatusNotAssessed, 0, "never exempt by volume"},
		{2026, some, events.StatusNotAssessed, events.CriterionCharges, "no LVT status from PY2021"},
	}
	for _, c := range cases {
		d := determine(t, rules(t, events.MIPS, c.year), eligibility.Input{Participant: apm, Volumes: c.v,
			Source: events.SourceSegment2, SourceDate: at, DeterminedAt: at})
		assert.Equal(t, c.want, d.Status, "PY%d: %s", c.year, c.rationale)
		assert.Equal(t, events.ExclusionNone, d.Exclusion, "PY%d", c.year)
		assert.Equal(t, c.exceeded, d.Exceeded, "PY%d", c.year)
	}
}

// TestPartialQPAndRecordedFacts: a Partial QP has a status of its own; an
// excluded clinician's exceeded criteria are still recorded; newly
// established is recorded.
func TestPartialQPAndRecordedFacts(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	above := events.Volumes{AllowedChargesCents: 1_000_000_00, PartBPatients: 1000, CoveredServices: 1000}
	in := individualInput(above)
	in.Clinician.PartialQP = true
	d := determine(t, r, in)
	assert.Equal(t, events.StatusPartialQP, d.Status)
	assert.Equal(t, events.CriterionCharges|events.CriterionPatients|events.CriterionServices, d.Exceeded)

	in.Clinician.QP = true
	_, err := eligibility.Determine(&r, in)
	assert.ErrorIs(t, err, eligibility.ErrInvalidInput, "QP and Partial QP at once")

	in = individualInput(above)
	in.Clinician.Type = eligibility.OtherClinicianType
	in.NewlyEstablished = true
	d = determine(t, r, in)
	assert.Equal(t, events.StatusExcluded, d.Status)
	assert.Equal(t, events.CriterionCharges|events.CriterionPatients|events.CriterionServices, d.Exceeded, "criteria are facts, recorded even when excluded")
	assert.True(t, d.NewlyEstablished)
}

func TestQIPS(t *testing.T) {
	r := rules(t, events.QIPS, 2021)
	in := eligibility.Input{Participant: practice, PrimaryCare: true, PortalRegistered: true,
		Source: events.SourcePortal, SourceDate: at, DeterminedAt: at}
	d := determine(t, r, in)
	assert.Equal(t, events.StatusOptInEligible, d.Status, "every participating primary-care practice, whatever its volumes")
	assert.True(t, d.PortalRegistered)
	assert.Zero(t, d.Exceeded)

	in.PrimaryCare = false
	assert.Equal(t, events.ExclusionNotInProgram, determine(t, r, in).Exclusion)
	in.PrimaryCare, in.Participant = true, clinician
	assert.Equal(t, events.ExclusionNotInProgram, determine(t, r, in).Exclusion, "practices opt in, not clinicians")
	// Not registered on the portal: still opt-in eligible here; the election
	// package refuses its opt-in (the rule is stated in the table).
	in.Participant, in.PortalRegistered = practice, false
	d = determine(t, r, in)
	assert.Equal(t, events.StatusOptInEligible, d.Status)
	assert.False(t, d.PortalRegistered)
	assert.True(t, r.PortalRegistrationRequired)
}

func TestDetermineInputErrors(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	cases := map[string]eligibility.Input{
		"negative charges": individualInput(events.Volumes{AllowedChargesCents: -1}),
		"no participant":   {Source: events.SourceSegment1, DeterminedAt: at},
		"no source":        {Participant: clinician, DeterminedAt: at},
		"no time":          {Participant: clinician, Source: events.SourceSegment1},
	}
	for name, in := range cases {
		_, err := eligibility.Determine(&r, in)
		assert.ErrorIs(t, err, eligibility.ErrInvalidInput, name)
		if err != nil {
			assert.NotContains(t, err.Error(), tin.Digits(), name)
		}
	}
	bad := individualInput(events.Volumes{PartBPatients: -3})
	_, err := eligibility.Determine(&r, bad)
	assert.Contains(t, fmt.Sprint(err), "*****6789")
}
