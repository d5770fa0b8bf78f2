package eligibility_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readDecisions(t testing.TB, doc []byte, opts eligibility.ImportOptions) (eligibility.Import, error) {
	t.Helper()
	if opts.ImportedAt.IsZero() {
		opts.ImportedAt = importedAt
	}
	return eligibility.ReadDecisions(context.Background(), eligibility.Default(), bytes.NewReader(doc), opts)
}

// TestDecisionFixtures reads the decision-record fixtures (testdata/README.md):
// CMS's documentation sample, whose NPI fails the check digit, is refused
// with that record's problem, or imported without it on request; the 2024
// document imports both choices, repeats once, and a group's opt-in dated in
// the virtual group window.
func TestDecisionFixtures(t *testing.T) {
	sample := fixture(t, "decisions-cms-sample.json")
	_, err := readDecisions(t, sample, eligibility.ImportOptions{})
	assert.Equal(t, []string{"0:npi"}, fields(problemsOf(t, err)))
	imp, err := readDecisions(t, sample, eligibility.ImportOptions{KeepValid: true})
	require.NoError(t, err)
	assert.Equal(t, eligibility.Report{Records: 2, Imported: 1, Skipped: []eligibility.Problem{{Index: 0, Field: "npi",
		Reason: imp.Report.Skipped[0].Reason}}}, imp.Report)
	assert.Empty(t, imp.Determinations, "isOptInEligible false says neither required nor exempt")

	imp, err = readDecisions(t, fixture(t, "decisions-2024.json"), eligibility.ImportOptions{})
	require.NoError(t, err)
	assert.Len(t, imp.Determinations, 4, "the repeated record once")
	assert.Equal(t, 6, imp.Report.Imported)
	require.Len(t, imp.Elections, 3)
	assert.Equal(t, utc("2025-02-03T15:04:05.123Z"), imp.Elections[0].ConfirmedAt, "milliseconds kept")
	assert.Equal(t, events.ChoiceVoluntary, imp.Elections[1].Choice)
	assert.Equal(t, events.PY(events.MIPS, 2025), imp.Elections[2].ProgramYear)
	assert.Equal(t, utc("2024-12-31T16:00:00Z"), imp.Elections[2].ConfirmedAt, "a virtual group's confirmation of the group's opt-in")
	for _, d := range imp.Determinations {
		assert.Equal(t, events.StatusOptInEligible, d.Status)
		assert.NotZero(t, d.Run)
	}
	// A clinician's decision is never dated in the virtual group window.
	vgClinician := `[{"tin":"000456789","npi":"1234567893","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2024-12-31T16:00:00.000Z","year":2025,"runNum":1}]`
	_, err = readDecisions(t, []byte(vgClinician), eligibility.ImportOptions{})
	assert.Equal(t, []string{"0:optInDecisionDate"}, fields(problemsOf(t, err)))
}

// TestKeepValid: without KeepValid any bad record refuses the document; with
// it, the good records are imported and each bad one reported with its
// index and field.
func TestKeepValid(t *testing.T) {
	doc := []byte(`{"data":[
 {"tin":"000456789","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05.000Z","year":2024,"runNum":1},
 {"tin":"00045678","isOptInEligible":true,"year":2024,"runNum":1},
 {"tin":"000111222","npi":"1558598797","isOptInEligible":true,"isOptedIn":null,"year":2024,"runNum":1},
 {"tin":"000333444","isOptInEligible":"yes","year":2024,"runNum":1},
 {"tin":"000555666","isOptInEligible":true,"year":2024,"runNum":1,"runNum":2}
]}`)
	_, err := readDecisions(t, doc, eligibility.ImportOptions{})
	want := []string{"1:tin", "3:record", "4:record"}
	assert.Equal(t, want, fields(problemsOf(t, err)))
	assert.Contains(t, err.Error(), "isOptInEligible has the wrong type")
	assert.Contains(t, err.Error(), "runNum is given twice")

	imp, err := readDecisions(t, doc, eligibility.ImportOptions{KeepValid: true})
	require.NoError(t, err)
	assert.Len(t, imp.Determinations, 2)
	assert.Len(t, imp.Elections, 1)
	assert.Equal(t, 5, imp.Report.Records)
	assert.Equal(t, 2, imp.Report.Imported)
	assert.Equal(t, want, fields(imp.Report.Skipped))
}

// TestConflictingRecords: a participant key (TIN for a group, TIN/NPI for a
// clinician, an APM Entity, a TIN's virtual group, per year) named twice
// with different content refuses the document before anything is applied,
// even with KeepValid; named twice alike, it is imported once; the same TIN
// as a group and under a clinician, or in two years, is no conflict.
func TestConflictingRecords(t *testing.T) {
	const rec = `{"tin":"000456789"%s,"isOptInEligible":true,"isOptedIn":%s,"optInDecisionDate":%s,"year":%d,"runNum":%d}`
	r := func(npi, opted, date string, year, run int) string {
		if npi != "" {
			npi = `,"npi":"` + npi + `"`
		}
		return fmt.Sprintf(rec, npi, opted, date, year, run)
	}
	const d1, d2 = `"2025-02-03T15:04:05.000Z"`, `"2025-02-04T15:04:05.000Z"`
	for _, tc := range []struct {
		name     string
		records  []string
		conflict bool
	}{
		{"opt-in then voluntary", []string{r("", "true", d1, 2024, 1), r("", "false", d1, 2024, 1)}, true},
		{"two dates", []string{r("1234567893", "true", d1, 2024, 1), r("1234567893", "true", d2, 2024, 1)}, true},
		{"a decision and none", []string{r("", "true", d1, 2024, 1), r("", "null", "null", 2024, 1)}, true},
		{"two runs", []string{r("", "null", "null", 2024, 1), r("", "null", "null", 2024, 2)}, true},
		{"the same twice", []string{r("", "true", d1, 2024, 1), r("", "true", d1, 2024, 1)}, false},
		{"group and clinician of one TIN", []string{r("", "true", d1, 2024, 1), r("1234567893", "false", d1, 2024, 1)}, false},
		{"two years", []string{r("", "null", "null", 2023, 1), r("", "null", "null", 2024, 1)}, false},
	} {
		doc := []byte(`{"data":[` + strings.Join(tc.records, ",") + `]}`)
		for _, keep := range []bool{false, true} {
			imp, err := readDecisions(t, doc, eligibility.ImportOptions{KeepValid: keep})
			if !tc.conflict {
				require.NoError(t, err, tc.name)
				assert.Equal(t, 2, imp.Report.Imported, tc.name)
				continue
			}
			assert.ErrorIs(t, err, eligibility.ErrConflictingRecords, tc.name)
			assert.Equal(t, eligibility.Import{}, imp, tc.name)
			ps := problemsOf(t, err)
			assert.Equal(t, []string{"1:tin"}, fields(ps), tc.name)
			assert.Contains(t, ps[0].Reason, "record 0", tc.name)
			assert.NotContains(t, err.Error(), "000456789", tc.name)
		}
	}

	// In a lookup: the practice repeated under two clinicians must agree.
	lookup := fixture(t, "lookup-v6-2024.json")
	second := bytes.Index(lookup, []byte(`"npi": "1558598797"`))
	require.Positive(t, second)
	changed := append(append([]byte{}, lookup[:second]...), bytes.Replace(lookup[second:],
		[]byte(`"lowVolumeSwitch": false,
            "lowVolumeStatusReasons": [],`), []byte(`"lowVolumeSwitch": true,`), 1)...)
	_, err := readLookup(t, 2024, changed, eligibility.ImportOptions{KeepValid: true})
	assert.ErrorIs(t, err, eligibility.ErrConflictingRecords)
	assert.Equal(t, []string{"1:organizations[0].groupScenario"}, fields(problemsOf(t, err)))
	// A TIN in two virtual groups in one year.
	twoVGs := bytes.Replace(lookup, []byte(`[{"virtualGroupIdentifier": "VG-000123"}]`), []byte(`[{"virtualGroupIdentifier": "VG-000999"}]`), 1)
	_, err = readLookup(t, 2024, twoVGs, eligibility.ImportOptions{})
	assert.Equal(t, []string{"3:organizations[0].virtualGroups[0].virtualGroupIdentifier"}, fields(problemsOf(t, err)))
	assert.ErrorIs(t, err, eligibility.ErrConflictingRecords)
}

// TestDocumentShapes: what is a document, and what is refused as one.
func TestDocumentShapes(t *testing.T) {
	const rec = `{"tin":"000456789","isOptInEligible":false,"year":2024,"runNum":1}`
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`{"data":[` + rec + `]}`, true},
		{`[` + rec + `]`, true},
		{`{"meta":{"x":[1,2]},"data":[` + rec + `],"links":null}`, true},
		{`{"data":[]}`, true},
		{`{"data":[` + rec + `],"data":[]}`, false},
		{`{"data":[` + rec + `]} {}`, false},
		{`{"data":[` + rec + `]`, false},
		{`{"data":` + rec + `}`, false},
		{`{"meta":1}`, false},
		{``, false},
		{`"x"`, false},
		{`{"data":[` + rec + `,]}`, false},
	} {
		_, err := readDecisions(t, []byte(tc.doc), eligibility.ImportOptions{})
		if tc.ok {
			assert.NoError(t, err, tc.doc)
			continue
		}
		ps := problemsOf(t, err)
		assert.Equal(t, -1, ps[len(ps)-1].Index, tc.doc)
	}
	// The lookup takes both forms of data but not a bare array.
	_, err := readLookup(t, 2024, []byte(`[{"npi":"1234567893"}]`), eligibility.ImportOptions{})
	assert.Equal(t, []string{"-1:document"}, fields(problemsOf(t, err)))
	// Nothing else is needed: a zero ImportedAt is refused.
	_, err = eligibility.ReadDecisions(context.Background(), eligibility.Default(), strings.NewReader(`[]`), eligibility.ImportOptions{})
	assert.Equal(t, []string{"-1:importedAt"}, fields(problemsOf(t, err)))
	_, err = eligibility.ReadNPILookup(context.Background(), eligibility.Default(), events.PY(events.MIPS, 2031), strings.NewReader(`[]`), eligibility.ImportOptions{ImportedAt: importedAt})
	assert.Equal(t, []string{"-1:year"}, fields(problemsOf(t, err)))
}

// TestDocumentLimit: a document longer than MaxBytes is refused
// (ErrDocumentTooLarge) without reading it all; one at the limit is read.
func TestDocumentLimit(t *testing.T) {
	doc := fixture(t, "decisions-2024.json")
	_, err := readDecisions(t, doc, eligibility.ImportOptions{MaxBytes: int64(len(doc))})
	require.NoError(t, err)
	_, err = readDecisions(t, doc, eligibility.ImportOptions{MaxBytes: int64(len(doc) - 1)})
	assert.ErrorIs(t, err, eligibility.ErrDocumentTooLarge)
	assert.Equal(t, []string{"-1:document"}, fields(problemsOf(t, err)))
	_, err = readDecisions(t, doc, eligibility.ImportOptions{MaxBytes: int64(len(doc) - 1), KeepValid: true})
	assert.ErrorIs(t, err, eligibility.ErrDocumentTooLarge, "a document too large is refused even with KeepValid")

	// An endless document is refused at the limit, not read to its end.
	endless := io.MultiReader(strings.NewReader(`{"data":[`), &repeatReader{s: `{"tin":"000456789","isOptInEligible":false,"year":2024,"runNum":1},`})
	_, err = eligibility.ReadDecisions(context.Background(), eligibility.Default(), endless, eligibility.ImportOptions{ImportedAt: importedAt, MaxBytes: 1 << 20})
	assert.ErrorIs(t, err, eligibility.ErrDocumentTooLarge)
	assert.Contains(t, err.Error(), "1 MiB")
	assert.Equal(t, int64(256<<20), eligibility.DefaultMaxDocumentBytes)
}

// repeatReader repeats s forever.
type repeatReader struct {
	s   string
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.s[r.off:])
		n += k
		r.off = (r.off + k) % len(r.s)
	}
	return n, nil
}

// TestImportCancelled: a cancelled context stops the read with its error.
func TestImportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := eligibility.ReadDecisions(ctx, eligibility.Default(), bytes.NewReader(fixture(t, "decisions-2024.json")), eligibility.ImportOptions{ImportedAt: importedAt})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, eligibility.ErrImport)
}

// bareTIN finds a nine-digit run that is not part of a longer one: a TIN
// in full.
var bareTIN = regexp.MustCompile(`(^|[^0-9])[0-9]{9}([^0-9]|$)`)

// TestNoTINInProblems: TIN-shaped text in every field a document may put it
// (a TIN malformed or masked, a TIN where an NPI, a code, an identifier or a
// member name belongs, a conflict between two records of one TIN) never
// reaches an error or a Problem in full.
func TestNoTINInProblems(t *testing.T) {
	const t1, t2 = "000456789", "555443333"
	decisions := []string{
		`[{"tin":"` + t1 + `0","isOptInEligible":false,"year":2024,"runNum":1}]`,
		`[{"tin":"` + t1[:8] + `","isOptInEligible":false,"year":2024,"runNum":1}]`,
		`[{"tin":"` + t1 + `","npi":"` + t2 + `","isOptInEligible":false,"year":2024,"runNum":1}]`,
		`[{"tin":"` + t1 + `","npi":"` + t2 + `0","isOptInEligible":false,"year":2024,"runNum":1}]`,
		`[{"tin":` + t1 + `,"isOptInEligible":false,"year":2024,"runNum":1}]`,
		`[{"tin":"` + t1 + `","isOptInEligible":false,"year":2024,"runNum":1,"` + t2 + `":1,"` + t2 + `":2}]`,
		`[{"tin":"` + t1 + `","isOptInEligible":false,"year":2024,"runNum":1},{"tin":"` + t1 + `","isOptInEligible":false,"year":2024,"runNum":2}]`,
		`[{"tin":"` + t1 + `","isOptInEligible":false,"year":2024,"runNum":1,"tin":"` + t2 + `"}]`,
		`[{"tin":"` + t1 + `","isOptInEligible":false,"year":` + t2 + `,"runNum":1}]`,
		`{"` + t1 + `":[],"data":[{"tin":"` + t1 + `x"}]}`,
		`[{"tin":"` + t1 + `"`,
	}
	lookups := []string{
		`{"data":[{"npi":"` + t1 + `","organizations":[{"TIN":"` + t2 + `"}]}]}`,
		`{"data":[{"npi":"1234567893","qpStatus":"` + t1 + `","organizations":[{"TIN":"` + t2 + `0"}]}]}`,
		`{"data":[{"npi":"1234567893","organizations":[{"TIN":"` + t1 + `","individualScenario":{"isOptInEligible":false,"lowVolumeSwitch":true,"lowVolumeStatusReasons":[{"lowVolStusRsnCd":"` + t2 + `"}]}}]}]}`,
		`{"data":[{"npi":"1234567893","organizations":[{"TIN":"` + t1 + `","virtualGroups":[{"virtualGroupIdentifier":"` + t2 + `!"}]}]}]}`,
		`{"data":[{"npi":"1234567893","organizations":[{"TIN":"` + t1 + `","individualScenario":{"isOptInEligible":false,"lowVolumeSwitch":false}},{"TIN":"` + t1 + `","individualScenario":{"isOptInEligible":false,"lowVolumeSwitch":true}}]}]}`,
		`{"data":[{"npi":"1234567893","organizations":[{"TIN":"` + t1 + `","virtualGroups":[{"virtualGroupIdentifier":"` + t2 + `"}]},{"TIN":"` + t1 + `","virtualGroups":[{"virtualGroupIdentifier":"` + t1 + `"}]}]}]}`,
		`{"data":[{"npi":"1234567893","organizations":[{"TIN":"` + t1 + `","apms":[{"entityId":"` + t2 + `","isOptedIn":true}]}]}]}`,
		`{"data":[{"npi":"1234567893","organizations":[{"TIN":"` + t1 + `","individualScenario":{"` + t2 + `":{"` + t1 + `":1},"isOptInEligible":"` + t2 + `"}}]}]}`,
	}
	check := func(doc string, imp eligibility.Import, err error) {
		var texts []string
		ps := append(imp.Report.Notes, imp.Report.Skipped...)
		var ie *eligibility.ImportError
		switch {
		case errors.As(err, &ie):
			texts = append(texts, err.Error())
			ps = append(ps, ie.Problems...)
		case err != nil:
			texts = append(texts, err.Error())
		}
		for _, p := range ps {
			texts = append(texts, p.Field, p.Reason, p.String())
		}
		for _, s := range texts {
			assert.NotContains(t, s, t1, doc)
			assert.NotContains(t, s, t2, doc)
			assert.False(t, bareTIN.MatchString(s), "%s\n%s", doc, s)
		}
	}
	for _, doc := range decisions {
		imp, err := readDecisions(t, []byte(doc), eligibility.ImportOptions{})
		assert.Error(t, err, doc)
		check(doc, imp, err)
		imp, err = readDecisions(t, []byte(doc), eligibility.ImportOptions{KeepValid: true})
		check(doc, imp, err)
	}
	for _, year := range []int{2020, 2024} {
		for _, doc := range lookups {
			imp, err := readLookup(t, year, []byte(doc), eligibility.ImportOptions{})
			check(doc, imp, err)
			imp, err = readLookup(t, year, []byte(doc), eligibility.ImportOptions{KeepValid: true})
			check(doc, imp, err)
		}
	}
	_, err := eligibility.ParseOptInEntities(t1 + "0," + t2 + "|" + t1 + "0,XXXXX6789")
	require.Error(t, err)
	check("header", eligibility.Import{}, err)
	assert.ErrorIs(t, err, eligibility.ErrMaskedTIN)
}

// TestApplyLookupImport: a lookup import recorded: determinations,
// elections, each member admitted in its membership stream and the
// membership in the virtual group's; re-applying appends nothing; a TIN the
// ledger admitted to another virtual group is refused with a MemberError.
func TestApplyLookupImport(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	require.NoError(t, err)
	reg := events.NewRegistry()
	md := events.Metadata{Actor: "qpp-import", ActorRole: events.RoleSystem}
	imp, err := readLookup(t, 2024, fixture(t, "lookup-v6-2024.json"), eligibility.ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, eligibility.Apply(ctx, store, names, reg, eligibility.Default(), imp, md))
	n := store.Len()
	assert.Equal(t, len(imp.Determinations)+len(imp.Elections)+2, n, "one member admitted, one membership")
	require.NoError(t, eligibility.Apply(ctx, store, names, reg, eligibility.Default(), imp, md))
	assert.Equal(t, n, store.Len(), "re-applying is idempotent")

	py := events.PY(events.MIPS, 2024)
	member := events.MustParseTIN("000111222")
	var admitted []events.VirtualGroupMemberAdmitted
	for rec, err := range store.ReadStream(ctx, names.VirtualGroupMember(py, member), 0) {
		require.NoError(t, err)
		e, err := reg.Decode(&rec)
		require.NoError(t, err)
		admitted = append(admitted, e.(events.VirtualGroupMemberAdmitted))
	}
	require.Len(t, admitted, 1)
	assert.Equal(t, "VG-000123", admitted[0].VirtualGroupID)
	cur, err := eligibility.Current(ctx, store, names, reg, new(rules(t, events.MIPS, 2024)), individual("000456789", "1558598797"), importedAt)
	require.NoError(t, err)
	assert.Equal(t, events.StatusOptInEligible, cur.Status)

	// A later import of the same membership finds it there.
	later := imp
	later.Determinations, later.Elections = nil, nil
	later.Memberships = append([]events.VirtualGroupMembership(nil), imp.Memberships...)
	later.Memberships[0].EffectiveAt = importedAt.Add(24 * 3600e9)
	require.NoError(t, eligibility.Apply(ctx, store, names, reg, eligibility.Default(), later, md))
	// Another virtual group for the same TIN: the ledger's membership stands.
	other, _ := events.NewVirtualGroup("VG-000999")
	later.Memberships[0].VirtualGroup = other
	err = eligibility.Apply(ctx, store, names, reg, eligibility.Default(), later, md)
	var me *eligibility.MemberError
	require.ErrorAs(t, err, &me)
	assert.ErrorIs(t, err, eligibility.ErrMemberOfAnother)
	assert.NotContains(t, err.Error(), "000111222")

	// Two APM Entities opting in at the same instant get two elections.
	imp2020, err := readLookup(t, 2020, bytes.ReplaceAll(fixture(t, "lookup-v6-2020.json"), []byte(`"isOptedIn": true}`),
		[]byte(`"isOptedIn": true, "optInDecisionDate": "2021-03-01T17:00:00.000Z"}`)), eligibility.ImportOptions{})
	require.NoError(t, err)
	require.Len(t, imp2020.Elections, 2)
	assert.NotEqual(t, eligibility.ElectionID(&imp2020.Elections[0]), eligibility.ElectionID(&imp2020.Elections[1]))
	require.NoError(t, eligibility.Apply(ctx, store, names, reg, eligibility.Default(), imp2020, md))
}
