package eligibility_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var importedAt = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

const decisions = `{"data":[
 {"tin":"000456789","npi":"1234567893","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05Z","year":2024,"runNum":3},
 {"tin":"000987654","isOptInEligible":true,"isOptedIn":false,"optInDecisionDate":"2025-03-31T23:59:59Z","year":2024,"runNum":3},
 {"tin":"000111222","npi":"1558598797","isOptInEligible":true,"isOptedIn":null,"optInDecisionDate":null,"year":2024,"runNum":3},
 {"tin":"000333444","isOptInEligible":false,"isOptedIn":null,"optInDecisionDate":null,"year":2024,"runNum":3}
]}`

func TestImportDecisions(t *testing.T) {
	imp, err := eligibility.ImportDecisions(eligibility.Default(), []byte(decisions), importedAt)
	require.NoError(t, err)
	require.Len(t, imp.Determinations, 3, "isOptInEligible false says neither required nor exempt: no determination")
	for _, d := range imp.Determinations {
		assert.Equal(t, events.StatusOptInEligible, d.Status)
		assert.Equal(t, events.SourceImport, d.Source)
		assert.Equal(t, 3, d.Run)
		assert.Equal(t, importedAt, d.DeterminedAt)
	}
	require.Len(t, imp.Elections, 2)
	assert.Equal(t, events.ElectionConfirmed{Participant: clinician, ProgramYear: events.PY(events.MIPS, 2024),
		Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: utc("2025-02-03T15:04:05Z"), Imported: true}, imp.Elections[0])
	assert.Equal(t, events.ChoiceVoluntary, imp.Elections[1].Choice)
	assert.Equal(t, "000987654", imp.Elections[1].Participant.TIN.Digits(), "the full TIN survives import")

	// A bare array is accepted too.
	arr := decisions[strings.Index(decisions, "[") : strings.LastIndex(decisions, "]")+1]
	imp2, err := eligibility.ImportDecisions(eligibility.Default(), []byte(arr), importedAt)
	require.NoError(t, err)
	assert.Equal(t, imp, imp2)
}

// TestImportRefusesWholeDocument: every bad record is listed with its index
// and field, and nothing is imported.
func TestImportRefusesWholeDocument(t *testing.T) {
	doc := `[
 {"tin":"000456789","npi":"1234567893","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05Z","year":2024,"runNum":1},
 {"tin":"00045678","isOptInEligible":true,"year":2024,"runNum":1},
 {"tin":"000456789","npi":"1234567890","isOptInEligible":true,"year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"year":2031,"runNum":1},
 {"tin":"000456789","isOptInEligible":false,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05Z","year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":null,"year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"isOptedIn":null,"optInDecisionDate":"2025-02-03T15:04:05Z","year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-04-01T00:00:00Z","year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2019-03-01T00:00:00Z","year":2018,"runNum":1},
 {"tin":"000456789","isOptInEligible":"yes","year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"Feb 3","year":2024,"runNum":1},
 {"tin":"000456789","isOptInEligible":true,"year":2024}
]`
	imp, err := eligibility.ImportDecisions(eligibility.Default(), []byte(doc), importedAt)
	assert.ErrorIs(t, err, eligibility.ErrImport)
	assert.Equal(t, eligibility.Import{}, imp, "nothing imported")
	var ie *eligibility.ImportError
	require.ErrorAs(t, err, &ie)
	got := map[int]string{}
	for _, p := range ie.Problems {
		got[p.Index] += p.Field + ";"
	}
	want := map[int]string{
		1: "tin;", 2: "npi;", 3: "year;", 4: "isOptedIn;", 5: "optInDecisionDate;", 6: "optInDecisionDate;",
		7: "optInDecisionDate;", 8: "isOptInEligible;isOptedIn;", 9: "record;", 10: "optInDecisionDate;optInDecisionDate;", 11: "runNum;",
	}
	assert.Equal(t, want, got)
	assert.NotContains(t, err.Error(), "000456789", "no TIN in the error")
	assert.NotContains(t, err.Error(), "00045678", "not even a malformed one")

	for _, bad := range []string{``, `{}`, `{"data":{}}`, `"x"`, `[1,2]`, `{"data":[`} {
		_, err := eligibility.ImportDecisions(eligibility.Default(), []byte(bad), importedAt)
		assert.ErrorIs(t, err, eligibility.ErrImport, bad)
	}
}

const lookup = `{"data":{"npi":"1234567893","firstName":"Ada","qpStatus":"N","newlyEnrolled":false,"organizations":[
 {"TIN":"000456789","prvdrOrgName":"Main St","individualScenario":{"isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05Z","lowVolumeSwitch":true,"lowVolumeStatusReasons":[{"lowVolStusRsnCd":"CHRG","lowVolStusRsnDesc":"charges"}]},
  "groupScenario":{"isOptInEligible":false,"isOptedIn":null,"optInDecisionDate":null,"lowVolumeSwitch":false,"lowVolumeStatusReasons":[]}},
 {"TIN":"000987654","individualScenario":{"isOptInEligible":false,"isOptedIn":null,"optInDecisionDate":null,"lowVolumeSwitch":true}}
]}}`

func TestImportNPILookup(t *testing.T) {
	py := events.PY(events.MIPS, 2024)
	rules2024 := rules(t, events.MIPS, 2024)
	imp, err := eligibility.ImportNPILookup(eligibility.Default(), py, []byte(lookup), importedAt)
	require.NoError(t, err)
	require.Len(t, imp.Determinations, 3)
	assert.Equal(t, clinician, imp.Determinations[0].Participant)
	assert.Equal(t, events.StatusOptInEligible, imp.Determinations[0].Status)
	assert.Equal(t, practice, imp.Determinations[1].Participant)
	assert.Equal(t, events.StatusRequired, imp.Determinations[1].Status)
	assert.Equal(t, events.StatusExempt, imp.Determinations[2].Status)
	require.Len(t, imp.Elections, 1)
	assert.Equal(t, events.ChoiceOptIn, imp.Elections[0].Choice)

	qp := strings.Replace(lookup, `"qpStatus":"N"`, `"qpStatus":"Y"`, 1)
	_, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(qp), importedAt)
	assert.ErrorIs(t, err, eligibility.ErrImport, "a QP with a recorded opt-in is contradictory")
	qpNoDecision := strings.Replace(strings.Replace(qp, `"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05Z"`, `"isOptedIn":null,"optInDecisionDate":null`, 1), "", "", 1)
	imp, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(qpNoDecision), importedAt)
	require.NoError(t, err)
	assert.Equal(t, events.ExclusionQP, imp.Determinations[0].Exclusion)
	assert.Equal(t, events.StatusRequired, imp.Determinations[1].Status, "QP status is the clinician's, not the group's")

	// qpStatus P: a Partial QP, a status of its own; with a recorded opt-in
	// (not a Partial QP election) the document is contradictory.
	partial := strings.Replace(qpNoDecision, `"qpStatus":"Y"`, `"qpStatus":"P"`, 1)
	imp, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(partial), importedAt)
	require.NoError(t, err)
	assert.Equal(t, events.StatusPartialQP, imp.Determinations[0].Status)
	assert.Equal(t, events.StatusRequired, imp.Determinations[1].Status, "Partial QP status is the clinician's, not the group's")
	s := eligibility.Reconcile(&rules2024, clinician, imp.Determinations, time.Time{})
	assert.Equal(t, events.StatusPartialQP, s.Status, "the imported Partial QP stands")
	_, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(strings.Replace(lookup, `"qpStatus":"N"`, `"qpStatus":"P"`, 1)), importedAt)
	assert.ErrorIs(t, err, eligibility.ErrImport, "a Partial QP with a recorded opt-in is contradictory")

	newly := strings.Replace(qpNoDecision, `"qpStatus":"Y","newlyEnrolled":false`, `"qpStatus":"N","newlyEnrolled":true`, 1)
	imp, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(newly), importedAt)
	require.NoError(t, err)
	assert.Equal(t, events.ExclusionNewlyEnrolled, imp.Determinations[0].Exclusion)

	contradictory := strings.Replace(lookup, `"lowVolumeSwitch":true,"lowVolumeStatusReasons":[{"lowVolStusRsnCd":"CHRG","lowVolStusRsnDesc":"charges"}]`, `"lowVolumeSwitch":false`, 1)
	_, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(contradictory), importedAt)
	var ie *eligibility.ImportError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, eligibility.Problem{Index: 0, Field: "organizations[0].individualScenario.isOptInEligible",
		Reason: "opt-in eligible but above the low-volume threshold (lowVolumeSwitch false)"}, ie.Problems[0])

	_, err = eligibility.ImportNPILookup(eligibility.Default(), events.PY(events.MIPS, 2031), []byte(lookup), importedAt)
	assert.ErrorIs(t, err, eligibility.ErrImport, "unknown year")
	badNPI := strings.Replace(lookup, `"npi":"1234567893"`, `"npi":"1234567890"`, 1)
	_, err = eligibility.ImportNPILookup(eligibility.Default(), py, []byte(badNPI), importedAt)
	assert.ErrorIs(t, err, eligibility.ErrImport)
}

func TestOptInEntities(t *testing.T) {
	py := events.PY(events.MIPS, 2024)
	other := events.Group(events.MustParseTIN("000987654"))
	els := []events.ElectionConfirmed{
		{Participant: other, ProgramYear: py, Choice: events.ChoiceOptIn},
		{Participant: clinician, ProgramYear: py, Choice: events.ChoiceOptIn},
		{Participant: practice, ProgramYear: py, Choice: events.ChoiceVoluntary},
		{Participant: clinician, ProgramYear: py, Choice: events.ChoiceOptIn},
	}
	assert.Equal(t, "000456789,000456789|1234567893,000987654", eligibility.OptInEntities(els), "voluntary decisions travel too")
	els = append(els, events.ElectionConfirmed{Participant: events.Group(events.MustParseTIN("000111222")), ProgramYear: py, Choice: events.ChoiceNoDecision})
	assert.Equal(t, "000456789,000456789|1234567893,000987654", eligibility.OptInEntities(els), "no decision is not a decision")
	assert.Equal(t, "", eligibility.OptInEntities(nil))
}

func TestApplyImport(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	require.NoError(t, err)
	reg := events.NewRegistry()
	imp, err := eligibility.ImportDecisions(eligibility.Default(), []byte(decisions), importedAt)
	require.NoError(t, err)
	md := events.Metadata{Actor: "qpp-import", ActorRole: events.RoleSystem}
	require.NoError(t, eligibility.Apply(ctx, store, names, reg, eligibility.Default(), imp, md))
	n := store.Len()
	assert.Equal(t, 5, n)
	require.NoError(t, eligibility.Apply(ctx, store, names, reg, eligibility.Default(), imp, md), "re-applying is idempotent")
	assert.Equal(t, n, store.Len())

	// The imported confirmation seals its stream.
	stream := names.Election(events.PY(events.MIPS, 2024), clinician)
	_, err = store.Append(ctx, stream, events.Any, events.EventData{ID: eligibility.ElectionID(&events.ElectionConfirmed{}), Type: "x", SchemaVersion: 1})
	assert.ErrorIs(t, err, events.ErrStreamSealed)

	// An election stream the ledger already holds is not overwritten.
	other := imp
	other.Elections = []events.ElectionConfirmed{imp.Elections[0]}
	other.Elections[0].ConfirmedAt = other.Elections[0].ConfirmedAt.Add(time.Hour)
	err = eligibility.Apply(ctx, store, names, reg, eligibility.Default(), other, md)
	assert.ErrorIs(t, err, events.ErrStreamSealed, "a confirmed election is final")
	// A pending request in the ledger is not overwritten by an import either.
	pending := events.Group(events.MustParseTIN("000555666"))
	req, err := reg.Encode(eligibility.ElectionID(&events.ElectionConfirmed{Participant: pending}), events.ElectionRequested{Participant: pending, ProgramYear: events.PY(events.MIPS, 2024), Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}, md)
	require.NoError(t, err)
	_, err = store.Append(ctx, names.Election(events.PY(events.MIPS, 2024), pending), events.NoStream, req)
	require.NoError(t, err)
	other.Elections = []events.ElectionConfirmed{{Participant: pending, ProgramYear: events.PY(events.MIPS, 2024), Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: utc("2025-02-03T15:04:05Z"), Imported: true}}
	other.Determinations = nil
	err = eligibility.Apply(ctx, store, names, reg, eligibility.Default(), other, md)
	assert.ErrorIs(t, err, events.ErrWrongExpectedRevision)
}

// TestCurrentReconciles: both segments' determinations are kept; the
// standing reconciles them (below in segment 1 and in the opt-in range in
// segment 2 is exempt, final), and "as of" between the segments gives the
// initial status, segment 1's.
func TestCurrentReconciles(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg := events.NewRegistry()
	table := eligibility.Default()
	r := rules(t, events.MIPS, 2024)
	seg1Time := time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)
	seg2Time := time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)
	in := individualInput(events.Volumes{AllowedChargesCents: 95_000_00})
	in.Source, in.SourceDate, in.DeterminedAt = events.SourceSegment1, time.Date(2023, 9, 30, 0, 0, 0, 0, time.UTC), seg1Time
	d1 := determine(t, r, in)
	in.Volumes = events.Volumes{AllowedChargesCents: 95_000_00, PartBPatients: 500, CoveredServices: 500}
	in.Source, in.SourceDate, in.DeterminedAt = events.SourceSegment2, time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), seg2Time
	d2 := determine(t, r, in)
	require.Equal(t, events.StatusRequired, d2.Status, "segment 2 alone is above the threshold")
	for _, d := range []events.EligibilityDetermined{d1, d2, d1} { // d1 twice: idempotent
		_, err := eligibility.Record(ctx, store, names, reg, table, d, events.Metadata{ActorRole: events.RoleSystem})
		require.NoError(t, err)
	}
	h, err := eligibility.History(ctx, store, names, reg, r.ProgramYear, clinician)
	require.NoError(t, err)
	require.Len(t, h, 2, "both kept, the repeat not appended")
	cur, err := eligibility.Current(ctx, store, names, reg, &r, clinician, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, events.StatusOptInEligible, cur.Status, "opt-in range then above: not required; opt-in eligible by the default policy")
	assert.Equal(t, eligibility.PhaseFinal, cur.Phase)
	assert.Equal(t, events.SourceSegment2, cur.Source)
	assert.Equal(t, [2]eligibility.Level{eligibility.LevelOptIn, eligibility.LevelAbove}, cur.Levels)
	then, _ := eligibility.Current(ctx, store, names, reg, &r, clinician, seg2Time.Add(-time.Second))
	assert.Equal(t, events.StatusOptInEligible, then.Status)
	assert.Equal(t, eligibility.PhaseInitial, then.Phase, "between the segments the status is the initial one")
	before, _ := eligibility.Current(ctx, store, names, reg, &r, clinician, seg1Time.Add(-time.Second))
	assert.False(t, before.Determined(), "nothing known before the first determination")
	none, err := eligibility.Current(ctx, store, names, reg, &r, practice, time.Time{})
	assert.NoError(t, err)
	assert.False(t, none.Determined())
	assert.Equal(t, eligibility.PhaseNone, none.Phase)
}

func FuzzImportDecisions(f *testing.F) {
	f.Add([]byte(decisions))
	f.Add([]byte(`[{"tin":"000456789","isOptInEligible":true,"year":2024,"runNum":0}]`))
	f.Add([]byte(`{"data":[{"tin":null}]}`))
	table := eligibility.Default()
	f.Fuzz(func(t *testing.T, doc []byte) {
		imp, err := eligibility.ImportDecisions(table, doc, importedAt)
		if err != nil {
			var ie *eligibility.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("untyped or empty error: %v", err)
			}
			if len(imp.Determinations)+len(imp.Elections) != 0 {
				t.Fatal("a refused document imported something")
			}
			if bareTIN.MatchString(err.Error()) {
				t.Fatalf("a TIN-shaped number in the error: %v", err)
			}
			return
		}
		for _, e := range imp.Elections {
			if err := e.Participant.Validate(); err != nil || !e.Imported {
				t.Fatalf("bad election %v", e)
			}
			r, err := table.Rules(e.ProgramYear)
			viaVG := e.Participant.Kind == events.KindGroup && e.Choice == events.ChoiceOptIn &&
				(r.VirtualGroupWindow.Contains(e.ConfirmedAt) || e.ConfirmedAt.Equal(r.VirtualGroupWindow.Close))
			if err != nil || !r.ElectionWindow.Contains(e.ConfirmedAt) && !viaVG {
				t.Fatalf("election outside its window: %v", e.ConfirmedAt)
			}
		}
		again, err := eligibility.ImportDecisions(table, doc, importedAt)
		if err != nil || len(again.Elections) != len(imp.Elections) {
			t.Fatal("import is not deterministic")
		}
	})
}

// FuzzImportNPILookup: any document is imported (every determination one
// Record accepts, every record accounted for) or refused with a typed error
// that holds no TIN-shaped number; with KeepValid, only the document itself
// or a conflict refuses it.
func FuzzImportNPILookup(f *testing.F) {
	f.Add([]byte(lookup))
	f.Add([]byte(`{"data":{"npi":"1234567893","organizations":[{"TIN":"1"}]}}`))
	for _, name := range []string{"lookup-v6-2024.json", "lookup-single-2019.json", "lookup-public-2024.json"} {
		f.Add(fixture(f, name))
	}
	table := eligibility.Default()
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, keep := range []bool{false, true} {
			imp, err := eligibility.ReadNPILookup(context.Background(), table, events.PY(events.MIPS, 2024), bytes.NewReader(doc),
				eligibility.ImportOptions{ImportedAt: importedAt, KeepValid: keep})
			if err != nil {
				var ie *eligibility.ImportError
				if !errors.As(err, &ie) || len(ie.Problems) == 0 || bareTIN.MatchString(err.Error()) {
					t.Fatalf("untyped or empty error, or a TIN in it: %v", err)
				}
				if keep && !errors.Is(err, eligibility.ErrConflictingRecords) && ie.Problems[len(ie.Problems)-1].Index != -1 {
					t.Fatalf("KeepValid refused a document for a bad record: %v", err)
				}
				continue
			}
			for _, d := range imp.Determinations {
				if err := table.ValidateDetermination(&d); err != nil {
					t.Fatalf("a determination Record refuses: %v", err)
				}
			}
			skipped := map[int]bool{}
			for _, p := range imp.Report.Skipped {
				skipped[p.Index] = true
			}
			if imp.Report.Imported+len(skipped) != imp.Report.Records {
				t.Fatalf("records unaccounted for: %+v", imp.Report)
			}
		}
	})
}
