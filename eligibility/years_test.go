package eligibility_test

import (
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
	}
	for _, c := range cases {
		r := rules(t, events.MIPS, c.year)
		assert.True(t, r.OptIn, c.year)
		assert.Equal(t, utc(c.open), r.ElectionWindow.Open.UTC(), "PY%d open", c.year)
		assert.Equal(t, utc(c.close), r.ElectionWindow.Close.UTC(), "PY%d close", c.year)
		assert.Equal(t, utc(c.dataDue), r.DataSubmissionDeadline.UTC(), "PY%d data deadline", c.year)
		// Virtual groups: Oct 1 - Dec 31 of the year before, closing 8 pm EST.
		assert.Equal(t, time.Date(c.year-1, 10, 1, 4, 0, 0, 0, time.UTC), r.VirtualGroupWindow.Open.UTC(), "PY%d VG open (EDT)", c.year)
		assert.Equal(t, time.Date(c.year, 1, 1, 1, 0, 0, 0, time.UTC), r.VirtualGroupWindow.Close.UTC(), "PY%d VG close (EST)", c.year)
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

	assert.Equal(t, utc("2021-01-01T01:00:00Z"), rules(t, events.QIPS, 2021).ElectionWindow.Close.UTC(), "QIPS closes Dec 31 2020, 8 pm EST")
	assert.Equal(t, utc("2020-10-01T04:00:00Z"), rules(t, events.QIPS, 2021).ElectionWindow.Open.UTC())
	assert.True(t, rules(t, events.MIPS, 2018).ElectionWindow.IsZero(), "no opt-in in PY2018")
}

func TestThresholdsAndChoices(t *testing.T) {
	cases := []struct {
		year               int
		pt, ept, a         float64
		criteria           int
		optIn, app, mvp    bool
		apmEntityOverrides bool
	}{
		{2018, 15, 70, 5, 2, false, false, false, true},
		{2019, 30, 75, 7, 3, true, false, false, true},
		{2020, 45, 85, 9, 3, true, false, false, true},
		{2021, 60, 85, 9, 3, true, true, false, false},
		{2022, 75, 89, 9, 3, true, true, false, false},
		{2023, 75, 0, 9, 3, true, true, true, false},
		{2024, 75, 0, 9, 3, true, true, true, false},
		{2025, 75, 0, 9, 3, true, true, true, false},
	}
	for _, c := range cases {
		r := rules(t, events.MIPS, c.year)
		assert.Equal(t, c.pt, r.PerformanceThreshold, c.year)
		assert.Equal(t, c.ept, r.ExceptionalThreshold, c.year)
		assert.Equal(t, c.a, r.ApplicablePercent, c.year)
		assert.Equal(t, c.criteria, r.LVT.Criteria.Count(), c.year)
		assert.Equal(t, int64(90_000_00), r.LVT.ChargesCents, c.year)
		assert.Equal(t, 200, r.LVT.Patients, c.year)
		assert.Equal(t, c.optIn, r.OptIn, c.year)
		assert.Equal(t, c.optIn, r.VoluntaryReporting, c.year)
		assert.Equal(t, c.app, r.APP, c.year)
		assert.Equal(t, c.mvp, r.MVP, c.year)
		assert.False(t, r.MVPForOptIn, "MVPs are never open to opt-in eligible participants (PY%d)", c.year)
		assert.Equal(t, c.apmEntityOverrides, r.APMEntityScoreOverrides, c.year)
		assert.False(t, r.ChampionsRequired || r.PortalRegistrationRequired || r.NoLVT, c.year)
	}
	q := rules(t, events.QIPS, 2021)
	assert.True(t, q.NoLVT && q.ChampionsRequired && q.PortalRegistrationRequired && q.PrimaryCareOnly && q.OptIn)
	assert.False(t, q.VoluntaryReporting || q.APP || q.MVP)

	assert.Contains(t, rules(t, events.MIPS, 2025).Unconfirmed, "ElectionWindow")
	assert.NotEmpty(t, rules(t, events.MIPS, 2019).Unconfirmed)
}

func TestTableOverride(t *testing.T) {
	table := eligibility.Default()
	_, err := table.Rules(events.PY(events.MIPS, 2026))
	assert.ErrorIs(t, err, eligibility.ErrUnknownProgramYear)

	py26 := rules(t, events.MIPS, 2025)
	py26.ProgramYear = events.PY(events.MIPS, 2026)
	py26.ElectionWindow = eligibility.Window{Open: eligibility.Eastern(2027, 1, 4, 0, 0), Close: eligibility.Eastern(2027, 3, 31, 20, 0)}
	require.NoError(t, table.Set(py26))
	got, err := table.Rules(events.PY(events.MIPS, 2026))
	require.NoError(t, err)
	assert.Equal(t, py26.ElectionWindow, got.ElectionWindow)

	// Override a confirmed-later value, and define another payer's program.
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
	} {
		assert.ErrorIs(t, table.Set(bad), eligibility.ErrInvalidRules, name)
	}
	assert.Len(t, table.ProgramYears(), 11, "8 MIPS years, QIPS 2021, and the two added")

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
