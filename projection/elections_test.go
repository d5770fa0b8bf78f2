package projection_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPartialQPElectedIsInMIPS: a Partial QP is in MIPS, scored with a
// payment adjustment, only after its Partial QP election (its own, or its
// APM Entity's for the Partial QPs on its lists); without one it is not,
// and in PY2024 its voluntary report's score is informational.
func TestPartialQPElectedIsInMIPS(t *testing.T) {
	l := newLedger(t)
	own, viaEntity, none := et.Clinician(7001, 1), et.Clinician(7001, 2), et.Clinician(7001, 3)
	apm, _ := events.NewAPMEntity("APM-P")
	indiv := func(d *events.EligibilityDetermined) { d.IndividuallyAssessed = true }
	l.determine(et.Determination(own, py24, events.StatusPartialQP, indiv), et.Determination(viaEntity, py24, events.StatusPartialQP),
		et.Determination(none, py24, events.StatusPartialQP))
	l.append(l.h.Names.APM(py24, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py24, SnapshotDate: time.Date(2024, 8, 31, 0, 0, 0, 0, time.UTC),
		Entries: []events.APMListEntry{{TIN: viaEntity.TIN, NPI: viaEntity.NPI, List: events.ListParticipation}}})
	l.electPartialQP(own, py24)
	l.h.Auth.ConnectAPMEntityRepresentative("apm-rep", apm.ID)
	m := l.h.Meta(election.Actor{ID: "apm-rep", Role: events.RolePracticeRepresentative})
	_, err := l.h.Service.ExecutePartialQP(bg, m, py24, apm, election.Request{Choice: events.ChoicePartialQP, Pathway: events.PathwayTraditional})
	require.NoError(t, err)
	m.CommandID = l.h.IDs.New()
	_, err = l.h.Service.ExecutePartialQP(bg, m, py24, apm, election.Confirm{Phrase: "CONFIRM"})
	require.NoError(t, err)
	for _, p := range []events.Participant{own, viaEntity, none} {
		l.score(p, py24, events.PathwayTraditional, 40, 3)
	}
	md, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	for p, want := range map[events.Participant]projection.Kind{own: projection.KindPartialQPElected, viaEntity: projection.KindPartialQPElected, none: projection.KindPartialQP} {
		assert.Equal(t, want, md.Status.Get(py24, p).Kind, "%v", p)
	}
	fs := final(t, md, py24, own)
	assert.True(t, fs.InMIPS)
	assert.Less(t, fs.Adjustment.Total(), 0.0, "scored with an adjustment")
	fs = final(t, md, py24, none)
	assert.False(t, fs.InMIPS)
	assert.True(t, fs.Informational, "PY2024: a Partial QP without an election reports voluntarily")
	assert.Zero(t, fs.Adjustment.Total())
}

// TestVirtualGroupRevisionsInTheModels: a member's opt-in through a
// virtual group is pending until the deadline, confirmed at it; a member a
// revision dropped takes no virtual group score; a voluntary reporter's
// opt-out of public reporting shows in its status and feedback.
func TestVirtualGroupRevisionsInTheModels(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	l := newLedger(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, _ := events.NewVirtualGroup("VG-M")
	kept, dropped := et.Group(7101), et.Group(7102)
	l.determine(et.OptInEligible(kept, py25), et.OptInEligible(dropped, py25))
	l.h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	l.h.Auth.ConnectRepresentative("vg-rep", kept.TIN)
	l.h.Auth.ConnectRepresentative("vg-rep", dropped.TIN)
	meta := func() election.Meta {
		return l.h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}
	_, err := l.h.Service.ElectVirtualGroup(bg, meta(), election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{kept.TIN, dropped.TIN}})
	require.NoError(t, err)
	md, _ := l.rebuild()
	v := md.Status.Get(py25, kept)
	assert.Equal(t, projection.KindPending, v.Kind, "opted in through the virtual group, pending until the deadline")
	assert.Equal(t, vg.ID, v.VirtualGroupID)
	_, err = l.h.Service.ElectVirtualGroup(bg, meta(), election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{kept.TIN}})
	require.NoError(t, err)
	rules, _ := eligibility.Default().Rules(py25)
	l.h.Clock.Set(rules.VirtualGroupWindow.Close.Add(time.Hour))
	_, err = l.h.Service.FinalizeVirtualGroup(bg, meta(), vg, py25)
	require.NoError(t, err)
	dc := et.Clinician(7102, 1)
	l.determine(et.Determination(dc, py25, events.StatusRequired))
	l.score(vg, py25, events.PathwayTraditional, 20, 3)
	l.score(dropped, py25, events.PathwayTraditional, 90, 3)
	md, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	v = md.Status.Get(py25, kept)
	assert.Equal(t, projection.KindOptedIn, v.Kind)
	assert.Equal(t, rules.VirtualGroupWindow.Close.UTC(), v.ElectedAt, "final at the deadline")
	assert.Equal(t, projection.KindOptInEligible, md.Status.Get(py25, dropped).Kind, "the dropped member has no opt-in")
	fs := final(t, md, py25, dc)
	assert.NotEqual(t, projection.SourceVirtualGroup, fs.Source, "the dropped TIN takes no virtual group score")

	// A voluntary reporter's opt-out of public reporting.
	vol := et.Group(7103)
	l.determine(et.OptInEligible(vol, py25))
	l.h.Clock.Set(rules.ElectionWindow.Open.Add(48 * time.Hour))
	l.elect(vol, py25, events.ChoiceVoluntary, events.PathwayTraditional, true)
	l.h.Clock.Set(rules.PublicReportingPreview.Open.Add(time.Hour))
	_, err = l.h.Service.OptOutOfPublicReporting(bg, l.h.Rep(vol.TIN), py25, vol)
	require.NoError(t, err)
	md, _ = l.rebuild()
	assert.True(t, md.Status.Get(py25, vol).PublicReportingOptedOut)
	fb := md.Feedback.Get(py25, vol)
	assert.False(t, fb.PublicReporting || fb.MayOptOut)
}

// TestFeedbackAccess: who may open which feedback (docs/rules.md §7). Under
// the APM scoring standard (PY2020 here) a clinician's feedback is its APM
// Entity's: the entity opens it; a Shared Savings Program ACO's participant
// TIN opens it directly; a Next Generation ACO's only through the entity's
// representative. Otherwise (PY2024) the participant and its practice open
// it. A QP's feedback nobody opens: in PY2017 the Next Generation ACO's
// clinicians were QPs, so none of them got feedback.
func TestFeedbackAccess(t *testing.T) {
	for _, c := range []struct {
		year    int
		model   events.APMModel
		tinMay  bool
		entMay  bool
		through bool
	}{
		{2020, events.ModelSharedSavings, true, true, true},
		{2020, events.ModelNextGenerationACO, false, true, true},
		{2024, events.ModelNextGenerationACO, true, false, false},
	} {
		py := events.PY(events.MIPS, c.year)
		l := newLedger(t)
		doc := et.Clinician(7201, 1)
		apm, _ := events.NewAPMEntity("ACO-1")
		l.determine(et.Determination(doc, py, events.StatusRequired), et.Determination(apm, py, events.StatusRequired))
		l.append(l.h.Names.APM(py, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py, MIPSAPM: true, Model: c.model,
			SnapshotDate: time.Date(c.year, 3, 31, 0, 0, 0, 0, time.UTC),
			Entries:      []events.APMListEntry{{TIN: doc.TIN, NPI: doc.NPI, List: events.ListParticipation}}})
		m, _ := l.rebuild()
		name := fmt.Sprintf("PY%d %v", c.year, c.model)
		assert.Equal(t, c.tinMay, m.Feedback.MayOpen(py, doc, events.Group(doc.TIN)).Allowed, "%s: the participant TIN", name)
		assert.Equal(t, c.tinMay, m.Feedback.MayOpen(py, doc, doc).Allowed, "%s: the clinician", name)
		assert.Equal(t, c.entMay, m.Feedback.MayOpen(py, doc, apm).Allowed, "%s: the APM Entity", name)
		assert.Equal(t, c.through, !m.Feedback.Get(py, doc).APMEntity.IsZero(), "%s: feedback under the standard", name)
		assert.False(t, m.Feedback.MayOpen(py, doc, events.Group(events.MustParseTIN("000999999"))).Allowed, "%s: a stranger", name)
	}
	// PY2017: a Next Generation ACO clinician was a QP: no feedback at all.
	py17 := events.PY(events.MIPS, 2017)
	l := newLedger(t)
	qp := et.Clinician(7202, 1)
	apm, _ := events.NewAPMEntity("NGACO-17")
	l.determine(et.Determination(qp, py17, events.StatusExcluded))
	l.append(l.h.Names.APM(py17, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py17, MIPSAPM: true, Model: events.ModelNextGenerationACO,
		SnapshotDate: time.Date(2017, 3, 31, 0, 0, 0, 0, time.UTC), Entries: []events.APMListEntry{{TIN: qp.TIN, NPI: qp.NPI, List: events.ListParticipation}}})
	m, _ := l.rebuild()
	for _, viewer := range []events.Participant{qp, events.Group(qp.TIN), apm} {
		a := m.Feedback.MayOpen(py17, qp, viewer)
		assert.False(t, a.Allowed, "%v", viewer)
		assert.Contains(t, a.Reason, "Qualifying APM Participants")
	}
}

// TestPendingSelectionsExpire: the models tell time by the log's events. A
// selection never confirmed is pending while the window is open and
// expired once an event tells a time after the window closed; a member's
// opt-in through a virtual group is opted in from the virtual group
// deadline, confirmed or not yet. (TestDeterminism: a copy of the log into
// another store, stamped by another clock, tells the same.)
func TestPendingSelectionsExpire(t *testing.T) {
	l := newLedger(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	p, member := et.Group(7301), et.Group(7302)
	vg, _ := events.NewVirtualGroup("VG-X")
	l.determine(et.OptInEligible(p, py24), et.OptInEligible(member, events.PY(events.MIPS, 2025)))
	l.h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	l.h.Auth.ConnectRepresentative("vg-rep", member.TIN)
	_, err := l.h.Service.ElectVirtualGroup(bg, l.h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative}),
		election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: events.PY(events.MIPS, 2025), Members: []events.TIN{member.TIN}})
	require.NoError(t, err)
	l.h.Clock.Set(time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC))
	l.elect(p, py24, events.ChoiceOptIn, events.PathwayTraditional, false)
	m, _ := l.rebuild()
	assert.Equal(t, projection.KindPending, m.Status.Get(py24, p).Kind, "the window is open")
	assert.Equal(t, projection.KindOptedIn, m.Status.Get(events.PY(events.MIPS, 2025), member).Kind, "past the virtual group deadline: opted in")
	l.h.Clock.Set(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	l.score(p, py24, events.PathwayTraditional, 50, 3) // an event telling a time after the close
	m, _ = l.rebuild()
	assert.Equal(t, projection.KindExpired, m.Status.Get(py24, p).Kind)
}

// TestStatusUsesTheDecidersStateMachine: the status model applies election
// events through election.Evolve, so it refuses what the decider refuses:
// a confirmation naming another request's revision is a violation, not
// applied.
func TestStatusUsesTheDecidersStateMachine(t *testing.T) {
	l := newLedger(t)
	p := et.Group(7401)
	l.determine(et.OptInEligible(p, py24))
	stream := l.h.Names.Election(py24, p)
	l.append(stream, events.ElectionRequested{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: l.h.Clock.Now()})
	l.append(stream, events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
		ConfirmedAt: l.h.Clock.Now(), RequestRevision: 5})
	m, rep := l.rebuild()
	require.Len(t, rep.Violations, 1)
	assert.Equal(t, stream, rep.Violations[0].Stream)
	assert.Contains(t, rep.Violations[0].Problem, "confirms revision 5")
	assert.Equal(t, projection.KindPending, m.Status.Get(py24, p).Kind, "the bad confirmation is not applied")
}

// TestAsOfUsesTheServiceClock: the store stamps records with the wall clock
// (years after the simulated election), the Service with its own clock; an
// "as of" rebuild answers by the Service's clock, so the election recorded
// at T shows from T on and not before. (It used the store's stamps, and
// showed nothing at any instant of the election year.)
func TestAsOfUsesTheServiceClock(t *testing.T) {
	l := newLedger(t, et.WithStore(memstore.New()))
	p := et.Group(4401)
	l.determine(et.OptInEligible(p, py24))
	m := l.h.Rep(p.TIN)
	_, err := l.h.Service.Request(bg, m, py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	require.NoError(t, err)
	requested := l.h.Clock.Now()
	l.h.Clock.Advance(time.Hour)
	m.CommandID = l.h.IDs.New()
	_, err = l.h.Service.Confirm(bg, m, py24, p, election.ConfirmPhrase)
	require.NoError(t, err)
	confirmed := l.h.Clock.Now()
	require.True(t, time.Since(confirmed) > 24*time.Hour, "the test needs the Service's clock well behind the store's")
	for at, want := range map[time.Time]projection.Kind{
		requested.Add(-time.Second): projection.KindOptInEligible,
		requested:                   projection.KindPending,
		confirmed.Add(-time.Second): projection.KindPending,
		confirmed:                   projection.KindOptedIn,
		confirmed.AddDate(1, 0, 0):  projection.KindOptedIn,
	} {
		md, rep := l.rebuild(projection.AsOf(at))
		require.Empty(t, rep.Violations)
		assert.Equal(t, want, md.Status.Get(py24, p).Kind, "as of %s", at)
	}
}
