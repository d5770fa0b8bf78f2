package eligibility_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rules(t *testing.T, p events.Program, year int) eligibility.Rules {
	t.Helper()
	r, err := eligibility.Default().Rules(events.PY(p, year))
	require.NoError(t, err)
	return r
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestElectionWindows checks every close at 8 pm US Eastern, with daylight
// saving as it was on the date, and the separate data deadline.
func TestElectionWindows(t *testing.T) {
	cases := []struct {
		year                 int
		open, close, dataDue string
	}{
		{2019, "2020-01-02T05:00:00Z", "2020-04-01T00:00:00Z", "2020-05-01T00:00:00Z"}, // EST open, EDT close
		{2020, "2021-01-04T05:00:00Z", "2021-04-01T00:00:00Z", "2021-04-01T00:00:00Z"},
		{2021, "2022-01-03T05:00:00Z", "2022-04-01T00:00:00Z", "2022-04-01T00:00:00Z"},
		{2022, "2023-01-03T05:00:00Z", "2023-04-01T00:00:00Z", "2023-04-01T00:00:00Z"},
		{2023, "2024-01-02T05:00:00Z", "2024-04-02T00:00:00Z", "2024-04-16T00:00:00Z"},
		{2024, "2025-01-02T05:00:00Z", "2025-04-01T00:00:00Z", "2025-04-15T00:00:00Z"},
		{2025, "2026-01-02T05:00:00Z", "2026-04-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{2026, "2027-01-04T05:00:00Z", "2027-04-01T00:00:00Z", "2027-04-01T00:00:00Z"},
	}
	for _, c := range cases {
		r := rules(t, events.MIPS, c.year)
		assert.True(t, r.OptIn, c.year)
		assert.Equal(t, utc(c.open), r.ElectionWindow.Open.UTC(), "PY%d open", c.year)
		assert.Equal(t, utc(c.close), r.ElectionWindow.Close.UTC(), "PY%d close", c.year)
		assert.Equal(t, utc(c.dataDue), r.DataSubmissionDeadline.UTC(), "PY%d data deadline", c.year)
		assert.Equal(t, c.year+2, r.PaymentYear, "payment year = PY + 2")
	}
	// 2024 proves the two deadlines differ; the election deadline stayed Mar 31.
	r := rules(t, events.MIPS, 2024)
	assert.True(t, r.DataSubmissionDeadline.After(r.ElectionWindow.Close))
	assert.Equal(t, 20, r.ElectionWindow.Close.In(time.FixedZone("EDT", -4*3600)).Hour())

	// The window's edges: one second before it opens, and at the close.
	w := r.ElectionWindow
	assert.False(t, w.Contains(w.Open.Add(-time.Second)))
	assert.True(t, w.Contains(w.Open))
	assert.True(t, w.Contains(w.Close.Add(-time.Nanosecond)))
	assert.False(t, w.Contains(w.Close))
	assert.False(t, w.Contains(w.Close.Add(time.Hour)))

	// QIPS: Oct 1 through the end of Dec 31 2020, US Eastern (EST then).
	assert.Equal(t, utc("2021-01-01T05:00:00Z"), rules(t, events.QIPS, 2021).ElectionWindow.Close.UTC(), "QIPS closes at the end of Dec 31 2020 ET")
	assert.Equal(t, utc("2020-10-01T04:00:00Z"), rules(t, events.QIPS, 2021).ElectionWindow.Open.UTC())
	assert.Contains(t, rules(t, events.QIPS, 2021).Unconfirmed, "ElectionWindow.Close (the end of Dec 31 US Eastern)")
	for _, y := range []int{2017, 2018} {
		assert.True(t, rules(t, events.MIPS, y).ElectionWindow.IsZero(), "no opt-in in PY%d", y)
		assert.False(t, rules(t, events.MIPS, y).OptIn)
	}
}

// TestVirtualGroupWindows: the real opening dates, each open through 11:59
// pm US Eastern on Dec 31 of the year before the performance year (EST: 5
// am UTC on Jan 1); the close time is flagged before PY2022 and for PY2026.
func TestVirtualGroupWindows(t *testing.T) {
	opens := map[int]string{
		2018: "2017-10-11T04:00:00Z", 2019: "2018-10-01T04:00:00Z", 2020: "2019-10-01T04:00:00Z", 2021: "2020-10-01T04:00:00Z",
		2022: "2021-10-01T04:00:00Z", 2023: "2022-10-03T04:00:00Z", 2024: "2023-10-02T04:00:00Z", 2025: "2024-10-01T04:00:00Z",
		2026: "2025-10-01T04:00:00Z",
	}
	for y, open := range opens {
		r := rules(t, events.MIPS, y)
		assert.Equal(t, utc(open), r.VirtualGroupWindow.Open.UTC(), "PY%d VG open", y)
		close := time.Date(y, 1, 1, 5, 0, 0, 0, time.UTC)
		assert.Equal(t, close, r.VirtualGroupWindow.Close.UTC(), "PY%d VG close", y)
		assert.True(t, r.VirtualGroupWindow.Contains(eligibility.Eastern(y-1, time.December, 31, 23, 59).Add(59*time.Second)), "PY%d: open through 11:59 pm", y)
		assert.False(t, r.VirtualGroupWindow.Contains(close))
		flagged := slices.ContainsFunc(r.Unconfirmed, func(u string) bool {
			return strings.HasPrefix(u, "VirtualGroupWindow") && strings.Contains(u, "11:59") || u == "VirtualGroupWindow"
		})
		assert.Equal(t, y < 2022 || y > 2025, flagged, "PY%d: the 11:59 pm close is confirmed for PY2022-2025 only", y)
		assert.Equal(t, 10, r.MaxVirtualGroupClinicians)
	}
	assert.True(t, rules(t, events.MIPS, 2017).VirtualGroupWindow.IsZero(), "no virtual groups in PY2017")
	r18 := rules(t, events.MIPS, 2018)
	assert.Equal(t, eligibility.Window{Open: eligibility.Eastern(2017, 7, 1, 0, 0), Close: eligibility.Eastern(2017, 12, 1, 0, 0)}, r18.VirtualGroupAssessment, "PY2018: Jul 1 - Nov 30 2017")
	assert.Equal(t, events.SourceVirtualGroupAssessment, r18.MembershipSource())
	r19 := rules(t, events.MIPS, 2019)
	assert.Equal(t, events.SourceSegment1, r19.MembershipSource())
}

// TestSegmentsAndPartialQPDeadline: segment dates per year (Sep-Aug for
// PY2017-2018, Oct-Sep from PY2019) and the Partial QP election deadline as
// its own column (Mar 31 of PY+1, 8 pm ET; not the opt-in close in PY2023).
func TestSegmentsAndPartialQPDeadline(t *testing.T) {
	seg := func(y int, m time.Month) eligibility.Window {
		return eligibility.Window{Open: eligibility.Eastern(y, m, 1, 0, 0), Close: eligibility.Eastern(y+1, m, 1, 0, 0)}
	}
	assert.Equal(t, [2]eligibility.Window{seg(2015, time.September), seg(2016, time.September)}, rules(t, events.MIPS, 2017).Segments)
	assert.Equal(t, [2]eligibility.Window{seg(2016, time.September), seg(2017, time.September)}, rules(t, events.MIPS, 2018).Segments)
	for y := 2019; y <= 2026; y++ {
		assert.Equal(t, [2]eligibility.Window{seg(y-2, time.October), seg(y-1, time.October)}, rules(t, events.MIPS, y).Segments, "PY%d", y)
		assert.Equal(t, eligibility.OptInIfExceedsInBoth, rules(t, events.MIPS, y).SegmentPolicy)
	}
	for y := 2018; y <= 2026; y++ {
		r := rules(t, events.MIPS, y)
		assert.Equal(t, eligibility.Eastern(y+1, time.March, 31, 20, 0), r.PartialQPElectionDeadline, "PY%d", y)
		confirmed := y >= 2022 && y <= 2025
		assert.Equal(t, !confirmed, slices.ContainsFunc(r.Unconfirmed, func(u string) bool { return strings.HasPrefix(u, "PartialQPElectionDeadline") }), "PY%d", y)
		assert.Equal(t, y >= 2022 && y <= 2024, r.PartialQPMayReportVoluntarily, "PY%d", y)
	}
	r23 := rules(t, events.MIPS, 2023)
	assert.True(t, r23.PartialQPElectionDeadline.Before(r23.ElectionWindow.Close), "PY2023: Partial QP elections due Mar 31 2024, opt-in closed Apr 1")
	r17 := rules(t, events.MIPS, 2017)
	assert.True(t, r17.PartialQPReportingElects && r17.PartialQPElectionDeadline.IsZero(), "PY2017: submitting data was the election")
}

func TestThresholdsAndChoices(t *testing.T) {
	cases := []struct {
		year                    int
		pt, ept, a              float64
		criteria                int
		optIn, app, mvp         bool
		apmOverrides, apmLVT    bool
		apmOptIn, apmExemptions bool
	}{
		{2017, 3, 70, 4, 2, false, false, false, true, true, false, true},
		{2018, 15, 70, 5, 2, false, false, false, true, true, false, true},
		{2019, 30, 75, 7, 3, true, false, false, true, true, true, true},
		{2020, 45, 85, 9, 3, true, false, false, true, true, true, true},
		{2021, 60, 85, 9, 3, true, true, false, false, false, false, false},
		{2022, 75, 89, 9, 3, true, true, false, false, false, false, false},
		{2023, 75, 0, 9, 3, true, true, true, false, false, false, false},
		{2024, 75, 0, 9, 3, true, true, true, false, false, false, false},
		{2025, 75, 0, 9, 3, true, true, true, false, false, false, false},
		{2026, 75, 0, 9, 3, true, true, true, false, false, false, false},
	}
	for _, c := range cases {
		r := rules(t, events.MIPS, c.year)
		assert.Equal(t, c.pt, r.PerformanceThreshold, c.year)
		assert.Equal(t, c.ept, r.ExceptionalThreshold, c.year)
		assert.Equal(t, c.a, r.ApplicablePercent, c.year)
		assert.Equal(t, c.criteria, r.LVT.Criteria.Count(), c.year)
		if c.year >= 2018 {
			assert.Equal(t, int64(90_000_00), r.LVT.ChargesCents, c.year)
			assert.Equal(t, 200, r.LVT.Patients, c.year)
		}
		assert.Equal(t, c.optIn, r.OptIn, c.year)
		assert.Equal(t, c.optIn, r.VoluntaryReporting, c.year)
		assert.Equal(t, c.app, r.APP, c.year)
		assert.Equal(t, c.mvp, r.MVP, c.year)
		assert.False(t, r.MVPForOptIn, "MVPs are not open to opt-in eligible participants by default (PY%d)", c.year)
		assert.Equal(t, c.apmOverrides, r.APMEntityScoreOverrides, c.year)
		assert.Equal(t, c.apmLVT, r.APMEntityLVT, c.year)
		assert.Equal(t, c.apmOptIn, r.APMEntityOptIn, c.year)
		assert.Equal(t, c.apmExemptions, r.APMEntityExemptionCoversClinicians, c.year)
		assert.False(t, r.ChampionsRequired || r.PortalRegistrationRequired || r.NoLVT, c.year)
	}
	// PY2017: exempt at or below $30,000 or 100 beneficiaries.
	r17 := rules(t, events.MIPS, 2017)
	assert.Equal(t, eligibility.LVT{ChargesCents: 30_000_00, Patients: 100, Criteria: events.CriterionCharges | events.CriterionPatients}, r17.LVT)
	q := rules(t, events.QIPS, 2021)
	assert.True(t, q.NoLVT && q.ChampionsRequired && q.PortalRegistrationRequired && q.PrimaryCareOnly && q.OptIn)
	assert.False(t, q.VoluntaryReporting || q.APP || q.MVP)
	assert.Zero(t, q.PaymentYear, "QIPS states no payment year")

	assert.Contains(t, rules(t, events.MIPS, 2025).Unconfirmed, "ElectionWindow")
	assert.Contains(t, rules(t, events.MIPS, 2026).Unconfirmed, "ElectionWindow")
	assert.Contains(t, rules(t, events.MIPS, 2026).Unconfirmed, "DataSubmissionDeadline")
	assert.NotEmpty(t, rules(t, events.MIPS, 2019).Unconfirmed)
}

// TestUnknownProgramYear: a year the table lacks is refused with an error
// naming the years it holds; a program spelled otherwise than the table
// spells it is named with the canonical spelling; neither echoes a
// TIN-shaped input.
func TestUnknownProgramYear(t *testing.T) {
	table := eligibility.Default()
	_, err := table.Rules(events.PY(events.MIPS, 2030))
	var ue *eligibility.UnknownProgramYearError
	require.ErrorAs(t, err, &ue)
	assert.ErrorIs(t, err, eligibility.ErrUnknownProgramYear)
	assert.Contains(t, err.Error(), "MIPS 2017-2026; QIPS 2021")
	assert.Len(t, ue.Held, 11)

	_, err = table.Rules(events.PY("mips", 2024))
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, events.MIPS, ue.Canonical)
	assert.Contains(t, err.Error(), `the table spells the program "MIPS"`)

	_, err = table.Rules(events.PY(events.MIPS, 123456789))
	assert.NotContains(t, err.Error(), "123456789")
	_, err = table.Rules(events.PY("123456789", 2024))
	assert.NotContains(t, err.Error(), "123456789")
}

func TestTableOverride(t *testing.T) {
	table := eligibility.Default()
	_, err := table.Rules(events.PY(events.MIPS, 2027))
	assert.ErrorIs(t, err, eligibility.ErrUnknownProgramYear)

	py27 := rules(t, events.MIPS, 2026)
	py27.ProgramYear = events.PY(events.MIPS, 2027)
	py27.ElectionWindow = eligibility.Window{Open: eligibility.Eastern(2028, 1, 4, 0, 0), Close: eligibility.Eastern(2028, 3, 31, 20, 0)}
	require.NoError(t, table.Set(py27))
	got, err := table.Rules(events.PY(events.MIPS, 2027))
	require.NoError(t, err)
	assert.Equal(t, py27.ElectionWindow, got.ElectionWindow)

	// Override an unconfirmed value, and define another payer's program.
	py25 := rules(t, events.MIPS, 2025)
	py25.ElectionWindow.Close = eligibility.Eastern(2026, 4, 1, 20, 0)
	require.NoError(t, table.Set(py25))
	got, _ = table.Rules(events.PY(events.MIPS, 2025))
	assert.Equal(t, utc("2026-04-02T00:00:00Z"), got.ElectionWindow.Close.UTC())
	require.NoError(t, table.Set(eligibility.Rules{ProgramYear: events.PY("ACMEPCP", 2026), NoLVT: true}))

	// Each Default is fresh: the override above touched only this table.
	orig, _ := eligibility.Default().Rules(events.PY(events.MIPS, 2025))
	assert.Equal(t, utc("2026-04-01T00:00:00Z"), orig.ElectionWindow.Close.UTC())

	// Unusable rows are refused.
	for name, bad := range map[string]eligibility.Rules{
		"no criteria":       {ProgramYear: events.PY(events.MIPS, 2030)},
		"window backwards":  {ProgramYear: events.PY(events.MIPS, 2030), NoLVT: true, OptIn: true, ElectionWindow: eligibility.Window{Open: utc("2031-03-31T00:00:00Z"), Close: utc("2031-01-01T00:00:00Z")}},
		"opt-in, no window": {ProgramYear: events.PY(events.MIPS, 2030), NoLVT: true, OptIn: true},
		"bad threshold":     {ProgramYear: events.PY(events.MIPS, 2030), NoLVT: true, PerformanceThreshold: 120},
		"bad program":       {ProgramYear: events.PY("mips", 2030), NoLVT: true},
		"segments reversed": {ProgramYear: events.PY(events.MIPS, 2030), NoLVT: true, Segments: [2]eligibility.Window{{Open: utc("2029-10-01T00:00:00Z"), Close: utc("2030-10-01T00:00:00Z")}, {Open: utc("2028-10-01T00:00:00Z"), Close: utc("2029-10-01T00:00:00Z")}}},
		"unknown policy":    {ProgramYear: events.PY(events.MIPS, 2030), NoLVT: true, SegmentPolicy: 9},
		"APM opt-in no LVT": {ProgramYear: events.PY(events.MIPS, 2030), NoLVT: true, APMEntityOptIn: true},
	} {
		assert.ErrorIs(t, table.Set(bad), eligibility.ErrInvalidRules, name)
	}
	assert.Len(t, table.ProgramYears(), 13, "10 MIPS years, QIPS 2021, and the two added")

	// Lookup shares the row; Set replaces it without touching what was
	// looked up before.
	before, err := table.Lookup(events.PY(events.MIPS, 2024))
	require.NoError(t, err)
	changed := *before
	changed.PerformanceThreshold = 80
	require.NoError(t, table.Set(changed))
	after, _ := table.Lookup(events.PY(events.MIPS, 2024))
	assert.Equal(t, 75.0, before.PerformanceThreshold)
	assert.Equal(t, 80.0, after.PerformanceThreshold)
	_, err = table.Lookup(events.PY(events.MIPS, 2040))
	assert.ErrorIs(t, err, eligibility.ErrUnknownProgramYear)
}
