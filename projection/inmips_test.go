package projection_test

import (
	"testing"
	"time"

	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/projection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequiredGroupReachesExemptCliniciansOnlyByReporting: a required group
// puts its individually exempt clinicians in MIPS only by reporting as a
// group: without a group submission they get no adjustment (they used to
// get 0 and -9%); with one, every clinician gets the group's score and
// adjustment.
func TestRequiredGroupReachesExemptCliniciansOnlyByReporting(t *testing.T) {
	l := newLedger(t)
	silent, reporting := et.Group(8001), et.Group(8002)
	a, b := et.Clinician(8001, 1), et.Clinician(8002, 1)
	l.determine(et.Determination(silent, py24, events.StatusRequired), et.Determination(reporting, py24, events.StatusRequired),
		et.Determination(a, py24, events.StatusExempt), et.Determination(b, py24, events.StatusExempt))
	l.score(reporting, py24, events.PathwayTraditional, 82, 3)
	m, _ := l.rebuild()
	fs := final(t, m, py24, a)
	assert.False(t, fs.InMIPS, "the required group did not report: its exempt clinician is not in MIPS")
	assert.Zero(t, fs.Adjustment.Total())
	assert.Contains(t, fs.Reason, "did not report as a group")
	fs = final(t, m, py24, b)
	assert.True(t, fs.InMIPS)
	assert.Equal(t, projection.ThroughGroup, fs.Through)
	assert.Equal(t, 82.0, fs.Score)
	assert.Equal(t, projection.SourceGroup, fs.Source)
	assert.Greater(t, fs.Adjustment.Total(), 0.0)
	assert.Equal(t, 2026, fs.PaymentYear, "PY2024's adjustment applies in 2026")
}

// TestOptedInGroupReachesItsClinicians: an opted-in group's clinicians are
// in MIPS through its election, with 0 when it submitted nothing.
func TestOptedInGroupReachesItsClinicians(t *testing.T) {
	l := newLedger(t)
	g, c := et.Group(8003), et.Clinician(8003, 1)
	l.determine(et.OptInEligible(g, py24), et.Determination(c, py24, events.StatusExempt))
	l.elect(g, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	m, _ := l.rebuild()
	fs := final(t, m, py24, c)
	assert.True(t, fs.InMIPS)
	assert.Equal(t, projection.ThroughGroup, fs.Through)
	assert.Equal(t, projection.SourceZero, fs.Source, "the group submitted nothing: 0")
	assert.Equal(t, -9.0, fs.Adjustment.Total())
}

// TestVirtualGroupScoresReachOnlyMembersUnderTheRules: a TIN a virtual
// group's membership lists takes its score only while it is a member under
// the rules: never an exempt TIN, nor one whose own final election is
// voluntary reporting; VG always wins (PY2021 on), and the individual's
// APP score is a candidate otherwise.
func TestVirtualGroupScoresReachOnlyMembersUnderTheRules(t *testing.T) {
	l := newLedger(t)
	vg, _ := events.NewVirtualGroup("VG-R15")
	member, exempt, voluntary := et.Group(8010), et.Group(8011), et.Group(8012)
	cm, ce, cv := et.Clinician(8010, 1), et.Clinician(8011, 1), et.Clinician(8012, 1)
	l.determine(et.Determination(member, py24, events.StatusRequired), et.Determination(exempt, py24, events.StatusExempt),
		et.OptInEligible(voluntary, py24), et.Determination(cm, py24, events.StatusRequired),
		et.Determination(ce, py24, events.StatusRequired), et.Determination(cv, py24, events.StatusRequired))
	l.elect(voluntary, py24, events.ChoiceVoluntary, events.PathwayTraditional, true)
	l.append(l.h.Names.VirtualGroup(py24, vg), events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py24,
		Members: []events.TIN{member.TIN, exempt.TIN, voluntary.TIN}})
	l.score(vg, py24, events.PathwayTraditional, 40, 3)
	for _, c := range []events.Participant{cm, ce, cv} {
		l.score(c, py24, events.PathwayAPP, 95, 3)
	}
	m, _ := l.rebuild()
	fs := final(t, m, py24, cm)
	assert.Equal(t, projection.SourceVirtualGroup, fs.Source, "the member TIN: the virtual group's score, always")
	assert.Equal(t, 40.0, fs.Score)
	for _, c := range []events.Participant{ce, cv} {
		fs = final(t, m, py24, c)
		assert.NotEqual(t, projection.SourceVirtualGroup, fs.Source, "%v: not a member under the rules", c)
		assert.Equal(t, projection.SourceIndividualAPP, fs.Source, "%v: its own APP score is a candidate", c)
		assert.Equal(t, 95.0, fs.Score)
	}
}

// TestGroupAPPOnlyForListedClinicians: the group's APP score is a candidate
// only for clinicians on a MIPS APM list at a snapshot; the highest
// candidate applies.
func TestGroupAPPOnlyForListedClinicians(t *testing.T) {
	l := newLedger(t)
	g := et.Group(8020)
	listed, unlisted := et.Clinician(8020, 1), et.Clinician(8020, 2)
	apm, _ := events.NewAPMEntity("APM-15")
	l.determine(et.Determination(g, py24, events.StatusRequired, et.MIPSAPM()), et.Determination(listed, py24, events.StatusRequired),
		et.Determination(unlisted, py24, events.StatusRequired))
	l.append(l.h.Names.APM(py24, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py24, MIPSAPM: true,
		SnapshotDate: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: listed.TIN, NPI: listed.NPI, List: events.ListAffiliatedPractitioner}}})
	l.score(g, py24, events.PathwayAPP, 90, 3)
	l.score(g, py24, events.PathwayTraditional, 70, 3)
	m, _ := l.rebuild()
	assert.Equal(t, projection.SourceGroupAPP, final(t, m, py24, listed).Source)
	assert.Equal(t, 90.0, final(t, m, py24, listed).Score)
	assert.Equal(t, projection.SourceGroup, final(t, m, py24, unlisted).Source)
	assert.Equal(t, 70.0, final(t, m, py24, unlisted).Score)
}

// apmStandardLedger builds a PY ledger with a clinician on an APM Entity's
// list, the entity's, the group's and a virtual group's scores.
func apmStandardLedger(t *testing.T, year int, list events.ListKind, mipsAPM bool, entityStatus events.EligibilityStatus) (*projection.Models, events.Participant) {
	t.Helper()
	py := events.PY(events.MIPS, year)
	l := newLedger(t)
	g, c := et.Group(8030), et.Clinician(8030, 1)
	apm, _ := events.NewAPMEntity("APM-STD")
	vg, _ := events.NewVirtualGroup("VG-STD")
	l.determine(et.Determination(g, py, events.StatusRequired), et.Determination(c, py, events.StatusRequired),
		et.Determination(apm, py, entityStatus, func(d *events.EligibilityDetermined) {
			d.Exceeded = events.CriterionCharges | events.CriterionPatients | events.CriterionServices
		}))
	l.append(l.h.Names.APM(py, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py, MIPSAPM: mipsAPM,
		SnapshotDate: time.Date(year, 3, 31, 0, 0, 0, 0, time.UTC), Entries: []events.APMListEntry{{TIN: c.TIN, NPI: c.NPI, List: list}}})
	l.append(l.h.Names.VirtualGroup(py, vg), events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py, Members: []events.TIN{g.TIN}})
	l.score(apm, py, events.PathwayTraditional, 30, 3)
	l.score(vg, py, events.PathwayTraditional, 50, 3)
	l.score(c, py, events.PathwayTraditional, 99, 3)
	m, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	return m, c
}

func TestAPMScoringStandardPY2019ParticipationListOverridesEverything(t *testing.T) {
	m, c := apmStandardLedger(t, 2019, events.ListParticipation, true, events.StatusRequired)
	fs := final(t, m, events.PY(events.MIPS, 2019), c)
	assert.Equal(t, projection.SourceAPMEntity, fs.Source, "the APM Entity's score, over the virtual group's and the clinician's own")
	assert.Equal(t, 30.0, fs.Score)
	assert.Equal(t, projection.ThroughAPMEntity, fs.Through)
	assert.Len(t, fs.Candidates, 1, "scored solely on the entity's score")
}

func TestAPMScoringStandardPY2020AffiliatedPractitionerIsNotUnderIt(t *testing.T) {
	m, c := apmStandardLedger(t, 2020, events.ListAffiliatedPractitioner, true, events.StatusRequired)
	fs := final(t, m, events.PY(events.MIPS, 2020), c)
	assert.Equal(t, projection.SourceVirtualGroup, fs.Source, "not on the Participation List: the virtual group's score")
}

func TestAPMScoringStandardPY2018NonMIPSAPMIsNotUnderIt(t *testing.T) {
	m, c := apmStandardLedger(t, 2018, events.ListParticipation, false, events.StatusRequired)
	fs := final(t, m, events.PY(events.MIPS, 2018), c)
	assert.NotEqual(t, projection.ThroughAPMEntity, fs.Through, "an APM that is not a MIPS APM")
	assert.Equal(t, projection.SourceVirtualGroup, fs.Source)
}

func TestAPMScoringStandardPY2017ExemptEntityExemptsItsClinicians(t *testing.T) {
	m, c := apmStandardLedger(t, 2017, events.ListParticipation, true, events.StatusExempt)
	fs := final(t, m, events.PY(events.MIPS, 2017), c)
	assert.False(t, fs.InMIPS, "PY2017: an exempt APM Entity group exempts its clinicians")
	assert.Zero(t, fs.Adjustment.Total())
}

func TestAPMScoringStandardEndsAfterPY2020(t *testing.T) {
	m, c := apmStandardLedger(t, 2021, events.ListParticipation, true, events.StatusRequired)
	fs := final(t, m, events.PY(events.MIPS, 2021), c)
	assert.Equal(t, projection.SourceVirtualGroup, fs.Source, "PY2021: the virtual group's score always applies")
}

// TestScoreWithoutCategoryCountIsAViolation: a score payload without its
// number of scored categories is refused on replay (a violation naming
// the stream), not silently set to the performance threshold.
func TestScoreWithoutCategoryCountIsAViolation(t *testing.T) {
	l := newLedger(t)
	c := et.Clinician(8040, 1)
	l.determine(et.Determination(c, py24, events.StatusRequired))
	data := events.EventData{ID: l.h.IDs.New(), Type: events.TypeScoreReported, SchemaVersion: 1,
		Data: []byte(`{"participant":{"kind":"individual","tin":"000008040","npi":"` + c.NPI.String() + `"},"programYear":{"program":"MIPS","year":2024},"pathway":"traditional","score":90,"reportedAt":"2025-06-01T00:00:00Z"}`)}
	stream := l.h.Names.Score(py24, c)
	_, err := l.h.Store.Append(bg, stream, events.Any, data)
	require.NoError(t, err)
	m, rep := l.rebuild()
	require.Len(t, rep.Violations, 1)
	assert.Equal(t, stream, rep.Violations[0].Stream)
	assert.ErrorIs(t, rep.Violations[0], events.ErrNoScoredCategories)
	fs := final(t, m, py24, c)
	assert.Equal(t, projection.SourceZero, fs.Source, "the refused score is not applied")
}
