package eligibility_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	allCriteria = events.CriterionCharges | events.CriterionPatients | events.CriterionServices
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func readLookup(t testing.TB, year int, doc []byte, opts eligibility.ImportOptions) (eligibility.Import, error) {
	t.Helper()
	if opts.ImportedAt.IsZero() {
		opts.ImportedAt = importedAt
	}
	return eligibility.ReadNPILookup(context.Background(), eligibility.Default(), events.PY(events.MIPS, year), bytes.NewReader(doc), opts)
}

func problemsOf(t testing.TB, err error) []eligibility.Problem {
	t.Helper()
	var ie *eligibility.ImportError
	require.ErrorAs(t, err, &ie)
	return ie.Problems
}

// fields lists "index:field" of each problem.
func fields(ps []eligibility.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, strconv.Itoa(p.Index)+":"+p.Field)
	}
	return out
}

func individual(tinS, npiS string) events.Participant {
	return events.Individual(events.MustParseTIN(tinS), events.MustParseNPI(npiS))
}

func group(tinS string) events.Participant { return events.Group(events.MustParseTIN(tinS)) }

// TestLookupV6Fixture reads the v6 multi-NPI lookup (testdata/README.md):
// each scenario as its participant's determination, the reason codes as the
// criteria exceeded, qpStatus Q recorded and noted, mipsEligibleSwitch false
// as an ineligible clinician type, qpStatus P a Partial QP, the practice
// repeated under each clinician imported once, virtualGroups[] as membership.
func TestLookupV6Fixture(t *testing.T) {
	imp, err := readLookup(t, 2024, fixture(t, "lookup-v6-2024.json"), eligibility.ImportOptions{})
	require.NoError(t, err)
	py := events.PY(events.MIPS, 2024)
	base := events.EligibilityDetermined{ProgramYear: py, Source: events.SourceImport, DeterminedAt: importedAt}
	det := func(p events.Participant, s events.EligibilityStatus, ex events.Criteria, qp string, f ...func(*events.EligibilityDetermined)) events.EligibilityDetermined {
		d := base
		d.Participant, d.Status, d.Exceeded, d.QPStatus = p, s, ex, qp
		for _, g := range f {
			g(&d)
		}
		return d
	}
	want := []events.EligibilityDetermined{
		det(individual("000456789", "1234567893"), events.StatusOptInEligible, events.CriterionPatients|events.CriterionServices, "N"),
		det(group("000456789"), events.StatusRequired, allCriteria, ""),
		det(individual("000987654", "1234567893"), events.StatusExempt, 0, "N"),
		det(group("000987654"), events.StatusOptInEligible, events.CriterionCharges, ""),
		det(individual("000456789", "1558598797"), events.StatusOptInEligible, events.CriterionServices, "Q"),
		det(individual("000111222", "1295723567"), events.StatusExcluded, allCriteria, "N", func(d *events.EligibilityDetermined) {
			d.Exclusion = events.ExclusionIneligibleClinicianType
		}),
		det(group("000111222"), events.StatusRequired, allCriteria, ""),
		det(individual("000111222", "1000000004"), events.StatusPartialQP, allCriteria, "P"),
	}
	assert.Equal(t, want, imp.Determinations)
	assert.Equal(t, []events.ElectionConfirmed{
		{Participant: individual("000456789", "1234567893"), ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
			ConfirmedAt: utc("2025-02-03T15:04:05.123Z"), Imported: true},
		{Participant: group("000987654"), ProgramYear: py, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional,
			ConfirmedAt: utc("2025-03-31T23:00:00Z"), Imported: true},
	}, imp.Elections)
	vg, err := events.NewVirtualGroup("VG-000123")
	require.NoError(t, err)
	assert.Equal(t, []events.VirtualGroupMembership{{VirtualGroup: vg, ProgramYear: py,
		Members: []events.TIN{events.MustParseTIN("000111222")}, EffectiveAt: importedAt}}, imp.Memberships)
	assert.Equal(t, 4, imp.Report.Records)
	assert.Equal(t, 4, imp.Report.Imported)
	assert.Empty(t, imp.Report.Skipped)
	require.Len(t, imp.Report.Notes, 1, "qpStatus Q is reported")
	assert.Equal(t, 1, imp.Report.Notes[0].Index)
	assert.Equal(t, "qpStatus", imp.Report.Notes[0].Field)
	assert.Contains(t, imp.Report.Notes[0].Reason, "unconfirmed")

	// What the determinations mean once reconciled.
	r := rules(t, events.MIPS, 2024)
	for _, c := range []struct {
		p      events.Participant
		status events.EligibilityStatus
	}{
		{individual("000456789", "1234567893"), events.StatusOptInEligible},
		{individual("000111222", "1295723567"), events.StatusExcluded},
		{individual("000111222", "1000000004"), events.StatusPartialQP},
		{individual("000456789", "1558598797"), events.StatusOptInEligible},
	} {
		s := eligibility.Reconcile(&r, c.p, imp.Determinations, time.Time{})
		assert.Equal(t, c.status, s.Status, "%v", c.p)
	}
	// Every determination is one Record accepts.
	for _, d := range imp.Determinations {
		assert.NoError(t, eligibility.Default().ValidateDetermination(&d))
	}
}

// TestLookupSingleFormFixture reads the older single-NPI form ("data" an
// object).
func TestLookupSingleFormFixture(t *testing.T) {
	imp, err := readLookup(t, 2019, fixture(t, "lookup-single-2019.json"), eligibility.ImportOptions{})
	require.NoError(t, err)
	require.Len(t, imp.Determinations, 2)
	assert.Equal(t, individual("000555666", "1333333338"), imp.Determinations[0].Participant)
	assert.Equal(t, events.StatusOptInEligible, imp.Determinations[0].Status)
	assert.Equal(t, events.CriterionPatients, imp.Determinations[0].Exceeded, "CHRG/SRVC: only patients exceeded")
	assert.Equal(t, events.StatusExempt, imp.Determinations[1].Status)
	assert.Equal(t, events.Criteria(0), imp.Determinations[1].Exceeded, "ALL: nothing exceeded")
	require.Len(t, imp.Elections, 1)
	assert.Equal(t, events.ChoiceVoluntary, imp.Elections[0].Choice)
	assert.Equal(t, utc("2020-01-27T16:57:38.646Z"), imp.Elections[0].ConfirmedAt)
	assert.Equal(t, 1, imp.Report.Records)

	// The same record as a v6 array reads the same.
	single := fixture(t, "lookup-single-2019.json")
	i := bytes.Index(single, []byte(`"data":`)) + len(`"data":`)
	arr := append(append(append([]byte{}, single[:i]...), '['), bytes.TrimSpace(single[i:bytes.LastIndexByte(single, '}')])...)
	arr = append(arr, "]}"...)
	imp2, err := readLookup(t, 2019, arr, eligibility.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, imp, imp2)
}

// TestLookupAPMEntityOptIn: apms[].isOptedIn true is the PY2019-2020 APM
// Entity opt-in, an election of the APM Entity; the same entity under two
// clinicians is one election; without its date it is recorded at the
// window's last millisecond and noted. In PY2021 the document is refused.
func TestLookupAPMEntityOptIn(t *testing.T) {
	doc := fixture(t, "lookup-v6-2020.json")
	imp, err := readLookup(t, 2020, doc, eligibility.ImportOptions{})
	require.NoError(t, err)
	py := events.PY(events.MIPS, 2020)
	a1234, _ := events.NewAPMEntity("A1234")
	c5678, _ := events.NewAPMEntity("C5678")
	r := rules(t, events.MIPS, 2020)
	assert.Equal(t, []events.ElectionConfirmed{
		{Participant: a1234, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
			ConfirmedAt: utc("2021-03-01T17:00:00Z"), Imported: true},
		{Participant: c5678, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
			ConfirmedAt: r.ElectionWindow.Close.Add(-time.Millisecond).UTC(), Imported: true},
	}, imp.Elections)
	require.Len(t, imp.Report.Notes, 1)
	assert.Equal(t, eligibility.Problem{Index: 1, Field: "organizations[0].apms[1].optInDecisionDate", Reason: imp.Report.Notes[0].Reason}, imp.Report.Notes[0])
	require.Len(t, imp.Determinations, 2)
	assert.Equal(t, events.CriterionPatients|events.CriterionServices, imp.Determinations[1].Exceeded)

	for _, year := range []int{2021, 2024} {
		_, err = readLookup(t, year, doc, eligibility.ImportOptions{})
		assert.Equal(t, []string{"0:organizations[0].apms[0].isOptedIn", "1:organizations[0].apms[0].isOptedIn", "1:organizations[0].apms[1].isOptedIn"},
			fields(problemsOf(t, err)), "no APM Entity opt-in in %d", year)
	}
	noID := bytes.Replace(doc, []byte(`"entityId": "C5678", `), nil, 1)
	_, err = readLookup(t, 2020, noID, eligibility.ImportOptions{})
	assert.Equal(t, []string{"1:organizations[0].apms[1].entityId"}, fields(problemsOf(t, err)))
	late := bytes.Replace(doc, []byte(`"2021-03-01T17:00:00.000Z"}`), []byte(`"2021-04-01T00:00:00.000Z"}`), 1)
	_, err = readLookup(t, 2020, late, eligibility.ImportOptions{})
	assert.Equal(t, []string{"0:organizations[0].apms[0].optInDecisionDate"}, fields(problemsOf(t, err)))
	other := bytes.Replace(doc, []byte(`"2021-03-01T17:00:00.000Z"}`), []byte(`"2021-03-02T17:00:00.000Z"}`), 1)
	_, err = readLookup(t, 2020, other, eligibility.ImportOptions{})
	assert.ErrorIs(t, err, eligibility.ErrConflictingRecords, "one entity, two opt-in dates")
	assert.NotContains(t, err.Error(), "A1234", "entity identifiers are not echoed")
}

// TestLowVolumeReasonCodes: each code names the criteria NOT exceeded
// (docs/rules.md §6); the rest of the year's criteria were exceeded.
func TestLowVolumeReasonCodes(t *testing.T) {
	const doc = `{"data":[{"npi":"1234567893","qpStatus":"N","organizations":[{"TIN":"000456789",
		"individualScenario":{"isOptInEligible":ELIG,"lowVolumeSwitch":SWITCH,"lowVolumeStatusReasons":REASONS}}]}]}`
	read := func(year int, eligible, below bool, reasons string) (events.EligibilityDetermined, error) {
		d := strings.NewReplacer("ELIG", map[bool]string{true: "true", false: "false"}[eligible],
			"SWITCH", map[bool]string{true: "true", false: "false"}[below], "REASONS", reasons).Replace(doc)
		imp, err := readLookup(t, year, []byte(d), eligibility.ImportOptions{})
		if err != nil {
			return events.EligibilityDetermined{}, err
		}
		require.Len(t, imp.Determinations, 1)
		return imp.Determinations[0], nil
	}
	obj := func(codes ...string) string {
		var parts []string
		for _, c := range codes {
			parts = append(parts, `{"lowVolStusRsnCd":"`+c+`","lowVolStusRsnDesc":"d"}`)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	c, p, s := events.CriterionCharges, events.CriterionPatients, events.CriterionServices
	for _, tc := range []struct {
		codes    []string
		eligible bool
		exceeded events.Criteria
	}{
		{[]string{"CHRG"}, true, p | s},
		{[]string{"BENE"}, true, c | s},
		{[]string{"SRVC"}, true, c | p},
		{[]string{"BOTH"}, true, s},
		{[]string{"BENE/SRVC"}, true, c},
		{[]string{"CHRG/SRVC"}, true, p},
		{[]string{"ALL"}, false, 0},
		{[]string{"CHRG", "BENE"}, true, s},
		{[]string{""}, true, 0},
		{nil, false, 0},
	} {
		d, err := read(2024, tc.eligible, true, obj(tc.codes...))
		require.NoError(t, err, "%v", tc.codes)
		assert.Equal(t, tc.exceeded, d.Exceeded, "%v", tc.codes)
	}
	// PY2018 had two criteria: charges and patients.
	d, err := read(2018, false, true, obj("CHRG"))
	require.NoError(t, err)
	assert.Equal(t, p, d.Exceeded)
	d, err = read(2018, false, true, obj("ALL"))
	require.NoError(t, err)
	assert.Equal(t, events.Criteria(0), d.Exceeded)
	d, err = read(2024, false, false, obj())
	require.NoError(t, err)
	assert.Equal(t, allCriteria, d.Exceeded, "above the threshold: every criterion exceeded")
	assert.Equal(t, events.StatusRequired, d.Status)

	for _, tc := range []struct {
		name     string
		year     int
		eligible bool
		below    bool
		reasons  string
		field    string
	}{
		{"a services reason in a two-criteria year", 2018, false, true, obj("SRVC"), "organizations[0].individualScenario.lowVolumeStatusReasons[0].lowVolStusRsnCd"},
		{"an unknown code", 2024, true, true, obj("CHARGES"), "organizations[0].individualScenario.lowVolumeStatusReasons[0].lowVolStusRsnCd"},
		{"the old string form", 2024, true, true, `["CHRG"]`, "record"},
		{"opt-in eligible exceeding nothing", 2024, true, true, obj("ALL"), "organizations[0].individualScenario.isOptInEligible"},
		{"a reason above the threshold", 2024, false, false, obj("CHRG"), "organizations[0].individualScenario.lowVolumeStatusReasons"},
		{"opt-in eligible in a year without opt-in", 2018, true, true, obj("CHRG"), "organizations[0].individualScenario.isOptInEligible"},
	} {
		_, err := read(tc.year, tc.eligible, tc.below, tc.reasons)
		assert.Equal(t, []string{"0:" + tc.field}, fields(problemsOf(t, err)), tc.name)
	}
}

// TestQPStatusCodes: Y a QP, P a Partial QP, N neither; Q and R recorded as
// given and noted, never refused; an unknown code refused. A Q or R
// determination does not speak to QP status when reconciled: an earlier QP
// finding stands.
func TestQPStatusCodes(t *testing.T) {
	base := fixture(t, "lookup-single-2019.json")
	withQP := func(code string) []byte {
		b := bytes.Replace(base, []byte(`"qpStatus": "N"`), []byte(`"qpStatus": "`+code+`"`), 1)
		// a decision would contradict an exclusion: leave it out
		return bytes.Replace(b, []byte(`"isOptedIn": false,
          "optInDecisionDate": "2020-01-27T16:57:38.646Z"`), []byte(`"isOptedIn": null, "optInDecisionDate": null`), 1)
	}
	r := rules(t, events.MIPS, 2019)
	p := individual("000555666", "1333333338")
	for code, want := range map[string]events.EligibilityStatus{"Y": events.StatusExcluded, "P": events.StatusPartialQP,
		"N": events.StatusOptInEligible, "Q": events.StatusOptInEligible, "R": events.StatusOptInEligible, "": events.StatusOptInEligible} {
		imp, err := readLookup(t, 2019, withQP(code), eligibility.ImportOptions{})
		require.NoError(t, err, code)
		d := imp.Determinations[0]
		assert.Equal(t, want, d.Status, code)
		assert.Equal(t, code, d.QPStatus, "recorded as given")
		assert.Equal(t, code == "Q" || code == "R", len(imp.Report.Notes) == 1, "noted: %q", code)
		assert.Equal(t, events.StatusExempt, imp.Determinations[1].Status, "qpStatus is the clinician's, not the group's")
		assert.Empty(t, imp.Determinations[1].QPStatus)

		// An earlier QP finding (an APM snapshot) and this import, later.
		earlier := events.EligibilityDetermined{Participant: p, ProgramYear: r.ProgramYear, Status: events.StatusExcluded,
			Exclusion: events.ExclusionQP, QP: true, Source: events.SourceAPMSnapshot, DeterminedAt: importedAt.Add(-time.Hour)}
		s := eligibility.Reconcile(&r, p, []events.EligibilityDetermined{earlier, d}, time.Time{})
		switch code {
		case "Q", "R":
			assert.True(t, s.QP, "%s does not clear the earlier QP finding", code)
		case "Y":
			assert.True(t, s.QP)
		default:
			assert.False(t, s.QP, "%q: the later import finds no QP", code)
		}
	}
	_, err := readLookup(t, 2019, withQP("000456789"), eligibility.ImportOptions{})
	assert.Equal(t, []string{"0:qpStatus"}, fields(problemsOf(t, err)))
	assert.NotContains(t, err.Error(), "000456789")
	// A decision recorded for a QP is contradictory.
	_, err = readLookup(t, 2019, bytes.Replace(base, []byte(`"qpStatus": "N"`), []byte(`"qpStatus": "Y"`), 1), eligibility.ImportOptions{})
	assert.Equal(t, []string{"0:organizations[0].individualScenario.isOptedIn"}, fields(problemsOf(t, err)))
	// mipsEligibleSwitch false and newlyEnrolled exclude; a decision for them is contradictory too.
	ineligible := bytes.Replace(withQP("N"), []byte(`"mipsEligibleSwitch": true`), []byte(`"mipsEligibleSwitch": false`), 1)
	imp, err := readLookup(t, 2019, ineligible, eligibility.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, events.ExclusionIneligibleClinicianType, imp.Determinations[0].Exclusion)
	newly := bytes.Replace(withQP("P"), []byte(`"newlyEnrolled": false`), []byte(`"newlyEnrolled": true`), 1)
	imp, err = readLookup(t, 2019, newly, eligibility.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, events.ExclusionNewlyEnrolled, imp.Determinations[0].Exclusion, "newly enrolled stands over Partial QP")
	_, err = readLookup(t, 2019, bytes.Replace(base, []byte(`"mipsEligibleSwitch": true`), []byte(`"mipsEligibleSwitch": false`), 1), eligibility.ImportOptions{})
	assert.Equal(t, []string{"0:organizations[0].individualScenario.isOptedIn"}, fields(problemsOf(t, err)))
}

// TestMaskedTINReported: the public endpoint's masked TINs are reported
// (ErrMaskedTIN) with their record and field, and never matched: even with
// KeepValid nothing of those records is imported.
func TestMaskedTINReported(t *testing.T) {
	doc := fixture(t, "lookup-public-2024.json")
	_, err := readLookup(t, 2024, doc, eligibility.ImportOptions{})
	assert.ErrorIs(t, err, eligibility.ErrMaskedTIN)
	assert.ErrorIs(t, err, eligibility.ErrImport)
	ps := problemsOf(t, err)
	assert.Equal(t, []string{"0:organizations[0].TIN", "1:organizations[0].TIN"}, fields(ps))
	for _, p := range ps {
		assert.Equal(t, eligibility.ErrMaskedTIN, p.Rule)
	}
	imp, err := readLookup(t, 2024, doc, eligibility.ImportOptions{KeepValid: true})
	require.NoError(t, err)
	assert.Empty(t, imp.Determinations)
	assert.Equal(t, 2, imp.Report.Records)
	assert.Equal(t, 0, imp.Report.Imported)
	assert.Len(t, imp.Report.Skipped, 2)

	for _, masked := range []string{"XXXXXXXXXX", "*****6789", "XXX-XX-6789", "xxxxx6789"} {
		d := `[{"tin":"` + masked + `","isOptInEligible":false,"year":2024,"runNum":1}]`
		_, err := eligibility.ImportDecisions(eligibility.Default(), []byte(d), importedAt)
		assert.ErrorIs(t, err, eligibility.ErrMaskedTIN, masked)
	}
	_, err = eligibility.ImportDecisions(eligibility.Default(), []byte(`[{"tin":"00045678","isOptInEligible":false,"year":2024,"runNum":1}]`), importedAt)
	assert.NotErrorIs(t, err, eligibility.ErrMaskedTIN, "a short TIN is malformed, not masked")
}
