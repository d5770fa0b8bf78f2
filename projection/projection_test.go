package projection_test

import (
	"context"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	bg   = context.Background()
	py24 = events.PY(events.MIPS, 2024)
)

// ledger builds scenarios: elections through the Service, other facts
// appended directly.
type ledger struct {
	t *testing.T
	h *et.Harness
}

func newLedger(t *testing.T, opts ...et.HarnessOption) *ledger {
	return &ledger{t: t, h: et.New(t, opts...)}
}

func (l *ledger) append(stream string, e events.Event) {
	l.t.Helper()
	d, err := l.h.Registry.Encode(uuid.New(), e, events.Metadata{Actor: "system", ActorRole: events.RoleSystem})
	require.NoError(l.t, err)
	_, err = l.h.Store.Append(bg, stream, events.Any, d)
	require.NoError(l.t, err)
}

func (l *ledger) determine(ds ...events.EligibilityDetermined) { l.h.Determine(ds...) }

func (l *ledger) score(p events.Participant, py events.ProgramYear, pw events.Pathway, score float64, cats int) {
	l.append(l.h.Names.Score(py, p), events.ScoreReported{Participant: p, ProgramYear: py, Pathway: pw, Score: score, ScoredCategories: cats, ReportedAt: l.h.Clock.Now()})
}

func (l *ledger) elect(p events.Participant, py events.ProgramYear, choice events.Choice, pw events.Pathway, confirm bool) {
	l.t.Helper()
	m := l.h.Rep(p.TIN)
	_, err := l.h.Service.Request(bg, m, py, p, election.Request{Choice: choice, Pathway: pw})
	require.NoError(l.t, err)
	if confirm {
		m.CommandID = l.h.IDs.New()
		_, err = l.h.Service.Confirm(bg, m, py, p, "CONFIRM")
		require.NoError(l.t, err)
	}
}

// electPartialQP makes a clinician's own Partial QP election, confirmed.
func (l *ledger) electPartialQP(p events.Participant, py events.ProgramYear) {
	l.t.Helper()
	id := "dr-" + p.NPI.String()
	l.h.Auth.RegisterClinician(id, p)
	m := l.h.Meta(election.Actor{ID: id, Role: events.RoleClinician})
	_, err := l.h.Service.ExecutePartialQP(bg, m, py, p, election.Request{Choice: events.ChoicePartialQP, Pathway: events.PathwayTraditional})
	require.NoError(l.t, err)
	m.CommandID = l.h.IDs.New()
	_, err = l.h.Service.ExecutePartialQP(bg, m, py, p, election.Confirm{Phrase: "CONFIRM"})
	require.NoError(l.t, err)
}

func (l *ledger) rebuild(opts ...projection.RunnerOption) (*projection.Models, projection.Report) {
	l.t.Helper()
	m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rep, err := projection.NewRunner(l.h.Store, l.h.Registry, m.Projections(), opts...).Rebuild(bg)
	require.NoError(l.t, err)
	return m, rep
}

// TestStatusAsOf shows one participant's status on three dates of the same
// year, each from replaying only what was recorded up to then.
func TestStatusAsOf(t *testing.T) {
	l := newLedger(t, et.WithTime(time.Date(2024, 11, 20, 15, 0, 0, 0, time.UTC)))
	doc := et.Clinician(456789, 1)
	l.determine(et.OptInEligible(doc, py24, et.At(l.h.Clock.Now())))
	d1 := l.h.Clock.Now()
	l.h.Clock.Set(time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC))
	m := l.h.Rep(doc.TIN)
	_, err := l.h.Service.Request(bg, m, py24, doc, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	require.NoError(t, err)
	d2 := l.h.Clock.Now()
	l.h.Clock.Set(time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC))
	m.CommandID = l.h.IDs.New()
	_, err = l.h.Service.Confirm(bg, m, py24, doc, "CONFIRM")
	require.NoError(t, err)
	d3 := l.h.Clock.Now()

	for _, c := range []struct {
		at   time.Time
		want projection.Kind
	}{
		{d1.Add(-time.Hour), projection.KindUnknown},
		{d1.Add(time.Hour), projection.KindOptInEligible},
		{d2.Add(time.Hour), projection.KindPending},
		{d3.Add(time.Hour), projection.KindOptedIn},
	} {
		models, _ := l.rebuild(projection.AsOf(c.at))
		assert.Equal(t, c.want, models.Status.Get(py24, doc).Kind, "as of %v", c.at)
	}
	models, _ := l.rebuild()
	v := models.Status.Get(py24, doc)
	assert.Equal(t, projection.KindOptedIn, v.Kind)
	assert.Equal(t, events.PathwayTraditional, v.Pathway)
	assert.Equal(t, m.Actor.ID, v.ElectedBy)
	assert.Equal(t, events.RolePracticeRepresentative, v.ElectedAs)
	assert.Equal(t, d3, v.ElectedAt)
	assert.Equal(t, events.SourceSegment1, v.Source)
	assert.Equal(t, eligibility.PhaseInitial, v.Phase, "segment 1 alone: the initial status")
	assert.Equal(t, eligibility.BasisInitial, v.Basis)
}

func TestStatusKinds(t *testing.T) {
	l := newLedger(t)
	ps := map[projection.Kind]events.Participant{}
	for i, k := range projection.Kinds()[1:] {
		if k != projection.KindExpired { // TestPendingSelectionsExpire
			ps[k] = et.Group(1000 + i)
		}
	}
	ps[projection.KindPartialQP] = et.Clinician(1000, 7)
	ps[projection.KindNotAssessed], _ = events.NewAPMEntity("APM-NA")
	ps[projection.KindPartialQPElected] = et.Clinician(1000, 8)
	l.determine(
		et.Determination(ps[projection.KindPartialQP], py24, events.StatusPartialQP),
		et.Determination(ps[projection.KindPartialQPElected], py24, events.StatusPartialQP,
			func(d *events.EligibilityDetermined) { d.IndividuallyAssessed = true }),
		et.Determination(ps[projection.KindNotAssessed], py24, events.StatusExempt, func(d *events.EligibilityDetermined) { d.Exceeded = events.CriterionCharges }),
		et.Determination(ps[projection.KindExempt], py24, events.StatusExempt),
		et.OptInEligible(ps[projection.KindOptInEligible], py24),
		et.OptInEligible(ps[projection.KindPending], py24),
		et.OptInEligible(ps[projection.KindOptedIn], py24, et.MIPSAPM()),
		et.OptInEligible(ps[projection.KindVoluntary], py24),
		et.Determination(ps[projection.KindRequired], py24, events.StatusRequired),
		et.Determination(ps[projection.KindExcluded], py24, events.StatusExcluded),
	)
	l.electPartialQP(ps[projection.KindPartialQPElected], py24)
	l.elect(ps[projection.KindPending], py24, events.ChoiceOptIn, events.PathwayTraditional, false)
	l.elect(ps[projection.KindOptedIn], py24, events.ChoiceOptIn, events.PathwayAPP, true)
	l.elect(ps[projection.KindVoluntary], py24, events.ChoiceVoluntary, events.PathwayTraditional, true)
	models, rep := l.rebuild()
	assert.Empty(t, rep.Violations)
	for k, p := range ps {
		v := models.Status.Get(py24, p)
		assert.Equal(t, k, v.Kind, "%v", p)
	}
	assert.Equal(t, events.PathwayAPP, models.Status.Get(py24, ps[projection.KindOptedIn]).Pathway)
	assert.Equal(t, events.ExclusionQP, models.Status.Get(py24, ps[projection.KindExcluded]).Exclusion)
	counts := models.Status.Counts(py24)
	for k := range ps {
		assert.Equal(t, 1, counts[k], k.String())
	}
	// A later determination supersedes; an earlier-dated one arriving late does not.
	p := ps[projection.KindExempt]
	later := et.OptInEligible(p, py24, et.At(time.Date(2024, 12, 5, 0, 0, 0, 0, time.UTC)))
	earlier := et.Determination(p, py24, events.StatusRequired, et.At(time.Date(2023, 12, 5, 0, 0, 0, 0, time.UTC)))
	l.determine(later, earlier)
	models, _ = l.rebuild()
	assert.Equal(t, projection.KindOptInEligible, models.Status.Get(py24, p).Kind)
	// The APM Entity: no LVT status in PY2024, whatever was recorded.
	v := models.Status.Get(py24, ps[projection.KindNotAssessed])
	assert.Equal(t, events.StatusNotAssessed, v.Eligibility)
	assert.Equal(t, eligibility.BasisAPMNotAssessed, v.Basis)
}

func final(t *testing.T, m *projection.Models, py events.ProgramYear, c events.Participant) projection.FinalScore {
	t.Helper()
	fs, err := m.Scoring.Final(py, c)
	require.NoError(t, err)
	return fs
}

func TestScoringBothOptedInHigherApplies(t *testing.T) {
	l := newLedger(t)
	g, c := et.Group(2001), et.Clinician(2001, 1)
	l.determine(et.OptInEligible(g, py24), et.OptInEligible(c, py24))
	l.elect(g, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	l.elect(c, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	l.score(g, py24, events.PathwayTraditional, 81, 3)
	l.score(c, py24, events.PathwayTraditional, 64, 3)
	m, _ := l.rebuild()
	fs := final(t, m, py24, c)
	assert.Equal(t, 81.0, fs.Score)
	assert.Equal(t, projection.SourceGroup, fs.Source)
	assert.Len(t, fs.Candidates, 2)
	assert.True(t, fs.InMIPS)
	assert.InDelta(t, 9*(81-75)/25.0, fs.Adjustment.Base, 1e-9)
	assert.Contains(t, fs.Reason, "highest")
}

func TestScoringVirtualGroupAlwaysApplies(t *testing.T) {
	l := newLedger(t)
	g, c := et.Group(2002), et.Clinician(2002, 1)
	vg, _ := events.NewVirtualGroup("VG-9")
	l.determine(et.OptInEligible(c, py24), et.Determination(g, py24, events.StatusRequired))
	l.elect(c, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	l.append(l.h.Names.VirtualGroup(py24, vg), events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py24, Members: []events.TIN{g.TIN}})
	l.score(vg, py24, events.PathwayTraditional, 50, 3)
	l.score(c, py24, events.PathwayTraditional, 95, 3)
	m, _ := l.rebuild()
	fs := final(t, m, py24, c)
	assert.Equal(t, 50.0, fs.Score, "the virtual group's score, though the individual's is higher")
	assert.Equal(t, projection.SourceVirtualGroup, fs.Source)
	assert.Equal(t, vg, fs.Of)
	assert.Less(t, fs.Adjustment.Base, 0.0)
}

func TestScoringGroupAPPOnlyForListedClinicians(t *testing.T) {
	l := newLedger(t)
	g := et.Group(2003)
	listed, affiliated, unlisted := et.Clinician(2003, 1), et.Clinician(2003, 2), et.Clinician(2003, 3)
	apm, _ := events.NewAPMEntity("A0042")
	l.determine(et.Determination(g, py24, events.StatusRequired, et.MIPSAPM()))
	for _, c := range []events.Participant{listed, affiliated, unlisted} {
		l.determine(et.Determination(c, py24, events.StatusRequired))
	}
	l.append(l.h.Names.APM(py24, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py24, MIPSAPM: true,
		SnapshotDate: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: listed.TIN, NPI: listed.NPI, List: events.ListParticipation}}})
	l.append(l.h.Names.APM(py24, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py24, MIPSAPM: true,
		SnapshotDate: time.Date(2024, 8, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: affiliated.TIN, NPI: affiliated.NPI, List: events.ListAffiliatedPractitioner}}})
	l.score(g, py24, events.PathwayAPP, 92, 3)
	l.score(g, py24, events.PathwayTraditional, 70, 3)
	m, _ := l.rebuild()
	for _, c := range []events.Participant{listed, affiliated} {
		fs := final(t, m, py24, c)
		assert.Equal(t, 92.0, fs.Score, "%v appeared on a list at one snapshot", c)
		assert.Equal(t, projection.SourceGroupAPP, fs.Source)
	}
	fs := final(t, m, py24, unlisted)
	assert.Equal(t, 70.0, fs.Score, "a clinician on no list gets the traditional score")
	assert.Equal(t, projection.SourceGroup, fs.Source)
}

func TestScoringAPMEntity(t *testing.T) {
	for _, c := range []struct {
		year       int
		want       float64
		source     projection.ScoreSource
		candidates int
	}{
		{2024, 88, projection.SourceIndividual, 2}, // PY2021 on: the highest candidate
		{2020, 60, projection.SourceAPMEntity, 1},  // PY2017-2020: scored solely on the APM Entity's score
	} {
		py := events.PY(events.MIPS, c.year)
		l := newLedger(t)
		doc := et.Clinician(2004, 1)
		apm, _ := events.NewAPMEntity("A0007")
		l.determine(et.Determination(doc, py, events.StatusRequired))
		l.append(l.h.Names.APM(py, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py, MIPSAPM: true,
			Entries: []events.APMListEntry{{TIN: doc.TIN, NPI: doc.NPI, List: events.ListParticipation}}})
		l.score(apm, py, events.PathwayAPP, 60, 3)
		l.score(doc, py, events.PathwayTraditional, 88, 3)
		m, _ := l.rebuild()
		fs := final(t, m, py, doc)
		assert.Equal(t, c.want, fs.Score, "PY%d", c.year)
		assert.Equal(t, c.source, fs.Source, "PY%d", c.year)
		assert.Len(t, fs.Candidates, c.candidates, "PY%d", c.year)
	}
}

func TestScoringVoluntaryIsInformational(t *testing.T) {
	l := newLedger(t)
	c := et.Clinician(2005, 1)
	l.determine(et.OptInEligible(c, py24))
	l.elect(c, py24, events.ChoiceVoluntary, events.PathwayTraditional, true)
	l.score(c, py24, events.PathwayTraditional, 91, 3)
	m, _ := l.rebuild()
	fs := final(t, m, py24, c)
	assert.True(t, fs.Informational)
	assert.False(t, fs.InMIPS)
	assert.Equal(t, 91.0, fs.Score)
	assert.False(t, fs.Adjustment.Applies, "no payment adjustment for a voluntary reporter")
	assert.Zero(t, fs.Adjustment.Total())
}

func TestScoringNoScoreGetsZero(t *testing.T) {
	l := newLedger(t)
	c := et.Clinician(2006, 1)
	l.determine(et.Determination(c, py24, events.StatusRequired))
	m, _ := l.rebuild()
	fs := final(t, m, py24, c)
	assert.Equal(t, 0.0, fs.Score)
	assert.Equal(t, projection.SourceZero, fs.Source)
	assert.Equal(t, -9.0, fs.Adjustment.Base, "the full negative adjustment")
}

func TestScoringHardship(t *testing.T) {
	l := newLedger(t)
	c := et.Clinician(2007, 1)
	l.determine(et.Determination(c, py24, events.StatusRequired))
	l.score(c, py24, events.PathwayTraditional, 30, 1)
	m, _ := l.rebuild()
	fs := final(t, m, py24, c)
	assert.Equal(t, 75.0, fs.Score, "fewer than two scored categories: the threshold")
	assert.True(t, fs.Hardship)
	assert.Equal(t, 0.0, fs.Adjustment.Base, "zero at exactly the threshold")
	assert.Equal(t, 30.0, fs.Candidates[0].Reported)
}

func TestScoringExcludedAndNotInMIPS(t *testing.T) {
	l := newLedger(t)
	qp, exempt := et.Clinician(2008, 1), et.Clinician(2008, 2)
	l.determine(et.Determination(qp, py24, events.StatusExcluded), et.Determination(exempt, py24, events.StatusExempt))
	l.score(qp, py24, events.PathwayTraditional, 90, 3)
	m, _ := l.rebuild()
	for _, c := range []events.Participant{qp, exempt} {
		fs := final(t, m, py24, c)
		assert.False(t, fs.InMIPS)
		assert.False(t, fs.Adjustment.Applies)
	}
	var n int
	for fs, err := range m.Scoring.All(py24) {
		require.NoError(t, err)
		assert.Equal(t, events.KindIndividual, fs.Clinician.Kind)
		n++
	}
	assert.Equal(t, 2, n)
	_, err := m.Scoring.Final(py24, et.Group(2008))
	assert.Error(t, err, "final scores are per clinician")
}

func TestPaymentAdjustment(t *testing.T) {
	table := eligibility.Default()
	for year := 2019; year <= 2025; year++ {
		r, err := table.Rules(events.PY(events.MIPS, year))
		require.NoError(t, err)
		pt, a := r.PerformanceThreshold, r.ApplicablePercent
		for _, sf := range []float64{1, 2.5} {
			cases := []struct {
				fs, want float64
			}{
				{0, -a},
				{pt / 4, -a}, // the step: at PT/4 the full negative
				{pt/4 + 0.01, -a * (pt - (pt/4 + 0.01)) / pt},
				{pt, 0},
				{100, a * sf},
			}
			for _, c := range cases {
				adj, err := projection.PaymentAdjustment(&r, c.fs, sf, 1)
				require.NoError(t, err)
				assert.InDelta(t, c.want, adj.Base, 1e-9, "PY%d FS %v SF %v", year, c.fs, sf)
				assert.True(t, adj.Applies)
			}
		}
	}
	// docs/rules.md's worked step: PT 75, FS 18.75 gives -9%, 18.76 about -6.75%.
	r, _ := table.Rules(events.PY(events.MIPS, 2024))
	adj, _ := projection.PaymentAdjustment(&r, 18.75, 1, 1)
	assert.Equal(t, -9.0, adj.Base)
	adj, _ = projection.PaymentAdjustment(&r, 18.76, 1, 1)
	assert.InDelta(t, -6.7488, adj.Base, 1e-9)
	assert.Zero(t, adj.Exceptional, "no exceptional bonus after PY2022")

	// Exceptional performance: PY2019-2022.
	for _, c := range []struct {
		year             int
		fs, wantBonus, f float64
	}{
		{2019, 75, 0.5, 1}, {2019, 100, 10, 1}, {2019, 74.99, 0, 1}, {2022, 89, 0.5, 1},
		{2022, 94.5, 0.5 + 9.5*0.5, 1}, {2021, 100, 5, 0.5}, {2020, 84.9, 0, 1},
	} {
		r, _ := table.Rules(events.PY(events.MIPS, c.year))
		adj, err := projection.PaymentAdjustment(&r, c.fs, 1, c.f)
		require.NoError(t, err)
		assert.InDelta(t, c.wantBonus, adj.Exceptional, 1e-9, "PY%d FS %v", c.year, c.fs)
	}
	for _, bad := range [][3]float64{{-1, 1, 1}, {101, 1, 1}, {50, 0, 1}, {50, 3.01, 1}, {50, 1, 1.5}} {
		_, err := projection.PaymentAdjustment(&r, bad[0], bad[1], bad[2])
		assert.Error(t, err, "%v", bad)
	}
}

func TestFeedback(t *testing.T) {
	l := newLedger(t)
	in, vol, qp, exempt := et.Clinician(3001, 1), et.Clinician(3001, 2), et.Clinician(3001, 3), et.Clinician(3001, 4)
	apm, _ := events.NewAPMEntity("A0100")
	l.determine(et.OptInEligible(in, py24), et.OptInEligible(vol, py24), et.Determination(qp, py24, events.StatusExcluded),
		et.Determination(exempt, py24, events.StatusExempt))
	l.elect(in, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	l.elect(vol, py24, events.ChoiceVoluntary, events.PathwayTraditional, true)
	l.append(l.h.Names.APM(py24, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py24, MIPSAPM: true,
		Entries: []events.APMListEntry{{TIN: in.TIN, NPI: in.NPI, List: events.ListParticipation}}})
	m, _ := l.rebuild()

	f := m.Feedback.Get(py24, in)
	assert.Equal(t, projection.FeedbackFull, f.Level)
	assert.True(t, f.Cost && f.ClaimsQuality && f.InBenchmarks && f.PublicReporting)
	assert.False(t, f.MayOptOut)
	assert.Zero(t, f.APMEntity, "PY2024: no APM scoring standard; the clinician's feedback is its own")

	f = m.Feedback.Get(py24, vol)
	assert.Equal(t, projection.FeedbackLimited, f.Level)
	assert.False(t, f.Cost || f.ClaimsQuality || f.InBenchmarks)
	assert.True(t, f.PublicReporting && f.MayOptOut)

	f = m.Feedback.Get(py24, qp)
	assert.Equal(t, projection.FeedbackNone, f.Level)
	assert.Contains(t, f.Reason, "Qualifying APM Participants")
	assert.Equal(t, projection.FeedbackNone, m.Feedback.Get(py24, exempt).Level)
}
