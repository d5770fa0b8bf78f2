package projection_test

import (
	"math/rand/v2"
	"testing"
	"time"

	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/projection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStatusReconcilesAsEligibilityDoes: for random histories of
// determinations (both segments, APM snapshots, imports, QP and Partial QP
// findings, newly established, recorded out of date order), the status
// model's packed standing equals eligibility.Reconcile over the same
// history. One rule, two readers.
func TestStatusReconcilesAsEligibilityDoes(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	table := eligibility.Default()
	for _, year := range []int{2018, 2020, 2024} {
		py := events.PY(events.MIPS, year)
		rules, err := table.Rules(py)
		require.NoError(t, err)
		l := newLedger(t)
		type hist struct {
			p    events.Participant
			dets []events.EligibilityDetermined
		}
		var all []hist
		for i := range 120 {
			p := et.Clinician(3000+i, i)
			if i%3 == 0 {
				p = et.Group(3000 + i)
			}
			h := hist{p: p}
			for range 1 + r.IntN(5) {
				d := events.EligibilityDetermined{Participant: p, ProgramYear: py,
					Source:       []events.Source{events.SourceSegment1, events.SourceSegment2, events.SourceAPMSnapshot, events.SourceImport}[r.IntN(4)],
					DeterminedAt: time.Date(year-1, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).AddDate(r.IntN(2), 0, 0),
					Exceeded:     events.Criteria(r.IntN(8)) & rules.LVT.Criteria, MIPSAPM: r.IntN(4) == 0, NewlyEstablished: r.IntN(6) == 0}
				switch {
				case d.Exceeded == rules.LVT.Criteria:
					d.Status = events.StatusRequired
				case d.Exceeded != 0 && rules.OptIn:
					d.Status = events.StatusOptInEligible
				default:
					d.Status = events.StatusExempt
				}
				switch x := r.IntN(10); {
				case x == 0 && p.Kind == events.KindIndividual:
					d.Status, d.Exclusion = events.StatusExcluded, events.ExclusionQP
				case x == 1 && p.Kind == events.KindIndividual:
					d.Status = events.StatusPartialQP
				case x == 2:
					d.Status, d.Exclusion = events.StatusExcluded, events.ExclusionIneligibleClinicianType
				}
				h.dets = append(h.dets, d)
			}
			l.determine(h.dets...)
			all = append(all, h)
		}
		m, rep := l.rebuild()
		require.Empty(t, rep.Violations)
		for _, h := range all {
			want := eligibility.Reconcile(&rules, h.p, h.dets, time.Time{})
			v := m.Status.Get(py, h.p)
			if v.Eligibility != want.Status || v.Phase != want.Phase || v.Basis != want.Basis || v.Source != want.Source || v.MIPSAPM != want.MIPSAPM {
				t.Fatalf("PY%d %v: status model %v/%v/%v %q (MIPS APM %v), eligibility.Reconcile %v/%v/%v %q (MIPS APM %v)\n%+v",
					year, h.p, v.Eligibility, v.Phase, v.Source, v.Basis, v.MIPSAPM, want.Status, want.Phase, want.Source, want.Basis, want.MIPSAPM, h.dets)
			}
		}
	}
}

// TestStatusAsOfBetweenSegments: rebuilt as of an instant between the two
// segments' determinations, the status is the initial one; after segment 2,
// the final one (here: below, then above, is exempt).
func TestStatusAsOfBetweenSegments(t *testing.T) {
	l := newLedger(t, et.WithTime(time.Date(2023, 11, 20, 15, 0, 0, 0, time.UTC)))
	doc := et.Clinician(456789, 2)
	d1 := et.Determination(doc, py24, events.StatusExempt, et.At(l.h.Clock.Now()))
	l.determine(d1)
	l.h.Clock.Set(time.Date(2024, 11, 20, 15, 0, 0, 0, time.UTC))
	d2 := et.Determination(doc, py24, events.StatusRequired, et.Segment2(), et.At(l.h.Clock.Now()))
	d2.Exceeded = events.CriterionCharges | events.CriterionPatients | events.CriterionServices
	l.determine(d2)

	m, _ := l.rebuild(projection.AsOf(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)))
	v := m.Status.Get(py24, doc)
	assert.Equal(t, projection.KindExempt, v.Kind)
	assert.Equal(t, eligibility.PhaseInitial, v.Phase)
	m, _ = l.rebuild()
	v = m.Status.Get(py24, doc)
	assert.Equal(t, projection.KindExempt, v.Kind, "below then above: exempt, not required")
	assert.Equal(t, eligibility.PhaseFinal, v.Phase)
	assert.Equal(t, eligibility.BasisDisagreeExempt, v.Basis)
	fs, err := m.Scoring.Final(py24, doc)
	require.NoError(t, err)
	assert.False(t, fs.InMIPS, "no score of 0 and no -9%% for an exempt clinician")
	assert.Zero(t, fs.Adjustment.Total())
	assert.Equal(t, eligibility.PhaseFinal, fs.Phase)
}

// TestExemptAPMEntityExemptsItsClinicians: PY2017-2020, an exempt APM Entity
// group makes every clinician on its Participation List of a MIPS APM
// exempt; an affiliated practitioner, and PY2021 on, are not.
func TestExemptAPMEntityExemptsItsClinicians(t *testing.T) {
	for _, c := range []struct {
		year int
		want projection.Kind
	}{{2019, projection.KindExempt}, {2020, projection.KindExempt}, {2021, projection.KindRequired}, {2024, projection.KindRequired}} {
		py := events.PY(events.MIPS, c.year)
		l := newLedger(t)
		apm, _ := events.NewAPMEntity("APM-EX")
		listed, affiliated := et.Clinician(4001, 1), et.Clinician(4001, 2)
		l.determine(et.Determination(apm, py, events.StatusExempt), et.Determination(listed, py, events.StatusRequired),
			et.Determination(affiliated, py, events.StatusRequired))
		l.append(l.h.Names.APM(py, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py, MIPSAPM: true,
			SnapshotDate: time.Date(c.year, 3, 31, 0, 0, 0, 0, time.UTC), Entries: []events.APMListEntry{
				{TIN: listed.TIN, NPI: listed.NPI, List: events.ListParticipation},
				{TIN: affiliated.TIN, NPI: affiliated.NPI, List: events.ListAffiliatedPractitioner}}})
		m, _ := l.rebuild()
		v := m.Status.Get(py, listed)
		assert.Equal(t, c.want, v.Kind, "PY%d: listed clinician of an exempt APM Entity", c.year)
		if c.want == projection.KindExempt {
			assert.Contains(t, v.Basis, "APM Entity APM-EX is exempt")
		}
		assert.Equal(t, projection.KindRequired, m.Status.Get(py, affiliated).Kind, "PY%d: an affiliated practitioner is not on the Participation List", c.year)
	}
}

// TestPartialQPAndAPMExemptionKeepClinicianOutOfMIPS: a Partial QP without
// an election, and (PY2017-2020) a clinician of an exempt APM Entity, get
// no payment adjustment even when their group is required and scored.
func TestPartialQPAndAPMExemptionKeepClinicianOutOfMIPS(t *testing.T) {
	for _, year := range []int{2020, 2024} {
		py := events.PY(events.MIPS, year)
		l := newLedger(t)
		g := et.Group(5001)
		partial, listed := et.Clinician(5001, 1), et.Clinician(5001, 2)
		apm, _ := events.NewAPMEntity("APM-X")
		l.determine(et.Determination(g, py, events.StatusRequired), et.Determination(partial, py, events.StatusPartialQP),
			et.Determination(listed, py, events.StatusRequired), et.Determination(apm, py, events.StatusExempt))
		l.append(l.h.Names.APM(py, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py, MIPSAPM: true,
			SnapshotDate: time.Date(year, 3, 31, 0, 0, 0, 0, time.UTC),
			Entries:      []events.APMListEntry{{TIN: listed.TIN, NPI: listed.NPI, List: events.ListParticipation}}})
		l.score(g, py, events.PathwayTraditional, 10, 3)
		m, _ := l.rebuild()
		fs, err := m.Scoring.Final(py, partial)
		require.NoError(t, err)
		assert.False(t, fs.InMIPS, "PY%d: a Partial QP without an election", year)
		assert.Zero(t, fs.Adjustment.Total())
		assert.Contains(t, fs.Reason, "Partial QP")
		fs, err = m.Scoring.Final(py, listed)
		require.NoError(t, err)
		if year == 2020 {
			assert.False(t, fs.InMIPS, "PY2020: exempt through its APM Entity")
			assert.Contains(t, fs.Reason, "APM Entity APM-X is exempt")
		} else {
			assert.True(t, fs.InMIPS, "PY2024: an exempt APM Entity exempts no one")
			assert.Less(t, fs.Adjustment.Total(), 0.0)
		}
	}
}

// TestStatusSeesTableChanges: the status model caches each year's rules,
// and a change to the table (Table.Set) is seen by the next determination.
func TestStatusSeesTableChanges(t *testing.T) {
	table := eligibility.Default()
	m := projection.NewModels(table, projection.ScoringConfig{})
	p := et.Group(6001)
	apply := func(d events.EligibilityDetermined) {
		require.NoError(t, m.Status.Apply(&events.Record{}, d))
	}
	d1 := et.Determination(p, py24, events.StatusExempt)
	d2 := et.Determination(p, py24, events.StatusOptInEligible, et.Segment2())
	d2.Exceeded = events.CriterionCharges
	apply(d1)
	apply(d2)
	assert.Equal(t, events.StatusExempt, m.Status.Get(py24, p).Eligibility, "below, then in the opt-in range: exempt by the default policy")
	r, err := table.Rules(py24)
	require.NoError(t, err)
	r.SegmentPolicy = eligibility.OptInIfExceedsInSegment2
	require.NoError(t, table.Set(r))
	d2.DeterminedAt = d2.DeterminedAt.Add(time.Hour)
	apply(d2)
	assert.Equal(t, events.StatusOptInEligible, m.Status.Get(py24, p).Eligibility, "the changed policy applies")
}
