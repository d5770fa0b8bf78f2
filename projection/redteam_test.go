package projection_test

// Red-team tests: promises of issues 13-15 tried as an attacker or a careful
// auditor would. A test skipped with "red-team:" shows a defect the library
// still has (the skip names it); the others are promises that held.

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"log/slog"
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

// imported makes a determination a QPP import's (it speaks to QP status),
// made at t.
func imported(t time.Time) et.DeterminationOption {
	return func(d *events.EligibilityDetermined) { d.Source, d.DeterminedAt = events.SourceImport, t.UTC() }
}

// TestRedQPAfterOptInGetsNoAdjustment: a clinician opts in, then CMS's QP
// determination (snapshot 3, imported after the election) finds it a QP.
// Rules §3: a QP is excluded from MIPS whatever its volumes; §5: not in
// MIPS, no payment adjustment. The submission gate agrees (voluntary, no
// adjustment) and the feedback model agrees (a QP: no MIPS feedback), but
// the scoring model puts the QP in MIPS with a final score of 0 and -9%.
func TestRedQPAfterOptInGetsNoAdjustment(t *testing.T) {
	l := newLedger(t)
	doc := et.Clinician(9101, 1)
	l.determine(et.OptInEligible(doc, py24), et.OptInEligible(doc, py24, et.Segment2()))
	l.elect(doc, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	// CMS's QP determination, dated before the election, imported after it.
	l.determine(et.Determination(doc, py24, events.StatusExcluded, imported(time.Date(2024, 12, 20, 0, 0, 0, 0, time.UTC))))

	g, err := l.h.Service.MaySubmit(bg, py24, doc, events.PathwayTraditional)
	require.NoError(t, err)
	require.True(t, g.Allowed && g.Voluntary, "the gate: a QP reports voluntarily, with no payment adjustment")
	m, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	assert.Equal(t, projection.FeedbackNone, m.Feedback.Get(py24, doc).Level, "the feedback model knows it is a QP")
	fs := final(t, m, py24, doc)
	assert.False(t, fs.InMIPS, "a QP is not in MIPS: %s", fs.Reason)
	assert.False(t, fs.Adjustment.Applies, "no payment adjustment for a QP (got %+v)", fs.Adjustment)
}

// TestRedVirtualGroupOptInFinalWithoutFinalize: rules §4: a virtual group
// election is final at its deadline, every member's opt-in with it;
// FinalizeVirtualGroup only records what is already so. A member TIN
// opt-in eligible in segment 1 (the membership period) whose segment 2
// then makes it exempt is "exempt" in the status model, and its clinicians
// take no virtual group score, until a scheduler runs FinalizeVirtualGroup:
// then it is opted in and they take the virtual group's score. The answer
// must not depend on when a bookkeeping job ran.
func TestRedVirtualGroupOptInFinalWithoutFinalize(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	l := newLedger(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, _ := events.NewVirtualGroup("VG-F")
	member, doc := et.Group(9201), et.Clinician(9201, 1)
	l.determine(et.OptInEligible(member, py25), et.Determination(doc, py25, events.StatusExempt))
	l.h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	l.h.Auth.ConnectRepresentative("vg-rep", member.TIN)
	vgm := func() election.Meta {
		return l.h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}
	_, err := l.h.Service.ElectVirtualGroup(bg, vgm(), election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{member.TIN}})
	require.NoError(t, err)
	// Segment 2 (Dec 2025): below the threshold; the final status is exempt.
	l.determine(et.Determination(member, py25, events.StatusExempt, et.Segment2()))
	l.h.Clock.Set(time.Date(2026, 2, 10, 15, 0, 0, 0, time.UTC))
	l.score(vg, py25, events.PathwayTraditional, 90, 3)

	before, _ := l.rebuild()
	_, err = l.h.Service.FinalizeVirtualGroup(bg, vgm(), vg, py25)
	require.NoError(t, err)
	after, _ := l.rebuild()
	assert.Equal(t, after.Status.Get(py25, member).Kind, before.Status.Get(py25, member).Kind, "the member's status before and after FinalizeVirtualGroup")
	fb, fa := final(t, before, py25, doc), final(t, after, py25, doc)
	assert.Equal(t, fa.Source, fb.Source, "the clinician's score source before and after FinalizeVirtualGroup")
	assert.Equal(t, fa.InMIPS, fb.InMIPS)
	assert.Equal(t, projection.KindOptedIn, before.Status.Get(py25, member).Kind, "opted in through the virtual group, final at its deadline")
	assert.Equal(t, projection.SourceVirtualGroup, fb.Source, "the virtual group's score applies: %s", fb.Reason)
}

// TestRedAsOfAfterADeadline: AsOf(t) answers "as the ledger stood at t"
// (issue 15.8). A virtual group member's opt-in is final from the virtual
// group deadline; a selection never confirmed has expired once the window
// closed. As of an instant after both, with no later event in the log, the
// models still say "pending": they tell time only by the latest event
// applied, not by the instant asked about.
func TestRedAsOfAfterADeadline(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	l := newLedger(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, _ := events.NewVirtualGroup("VG-A")
	member, p := et.Group(9301), et.Group(9302)
	l.determine(et.OptInEligible(member, py25), et.OptInEligible(p, py24))
	l.h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	l.h.Auth.ConnectRepresentative("vg-rep", member.TIN)
	_, err := l.h.Service.ElectVirtualGroup(bg, l.h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative}),
		election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{member.TIN}})
	require.NoError(t, err)
	l.h.Clock.Set(time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC))
	l.elect(p, py24, events.ChoiceOptIn, events.PathwayTraditional, false)

	m, _ := l.rebuild(projection.AsOf(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, projection.KindExpired, m.Status.Get(py24, p).Kind, "as of Jun 1 2025 the PY2024 window had closed")
	m, _ = l.rebuild(projection.AsOf(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, projection.KindOptedIn, m.Status.Get(py25, member).Kind, "as of Jan 2 2025 the virtual group deadline had passed")
	// Before the deadlines, pending.
	m, _ = l.rebuild(projection.AsOf(time.Date(2024, 12, 20, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, projection.KindPending, m.Status.Get(py25, member).Kind, "as of Dec 20 2024 the virtual group could still revise its election")
	m, _ = l.rebuild(projection.AsOf(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, projection.KindPending, m.Status.Get(py24, p).Kind, "as of Mar 1 2025 the PY2024 window was open")
}

// TestRedAPMStandardClinicianGetsTheEntitysFeedback: rules §7: under the
// APM scoring standard (PY2017-2020) the feedback is the APM Entity's and
// applies to all its MIPS eligible clinicians. A clinician on a MIPS APM's
// Participation List whose own volumes are below the threshold (the entity
// is assessed, §3, 414.1370(f)(2)) is in MIPS through the entity and gets
// its score and adjustment, but the feedback model gives it none, and the
// entity may not open it.
func TestRedAPMStandardClinicianGetsTheEntitysFeedback(t *testing.T) {
	py20 := events.PY(events.MIPS, 2020)
	l := newLedger(t)
	doc := et.Clinician(9401, 1)
	apm, _ := events.NewAPMEntity("ACO-9401")
	l.determine(et.Determination(doc, py20, events.StatusExempt), et.Determination(apm, py20, events.StatusRequired))
	l.append(l.h.Names.APM(py20, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py20, MIPSAPM: true, Model: events.ModelSharedSavings,
		SnapshotDate: time.Date(2020, 3, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: doc.TIN, NPI: doc.NPI, List: events.ListParticipation}}})
	l.score(apm, py20, events.PathwayTraditional, 80, 3)
	m, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	fs := final(t, m, py20, doc)
	require.True(t, fs.InMIPS, "in MIPS through its APM Entity")
	require.Equal(t, projection.ThroughAPMEntity, fs.Through)
	fb := m.Feedback.Get(py20, doc)
	assert.Equal(t, projection.FeedbackFull, fb.Level, "the entity's feedback applies to its MIPS eligible clinicians: %s", fb.Reason)
	assert.Equal(t, apm, fb.APMEntity)
	assert.True(t, m.Feedback.MayOpen(py20, doc, apm).Allowed, "the APM Entity opens it")

	// An exempt APM Entity makes its clinicians exempt: no feedback.
	other := et.Clinician(9402, 1)
	exempt, _ := events.NewAPMEntity("ACO-9402")
	l.determine(et.Determination(other, py20, events.StatusRequired), et.Determination(exempt, py20, events.StatusExempt))
	l.append(l.h.Names.APM(py20, exempt), events.APMParticipationSnapshot{Entity: exempt, ProgramYear: py20, MIPSAPM: true, Model: events.ModelSharedSavings,
		SnapshotDate: time.Date(2020, 3, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: other.TIN, NPI: other.NPI, List: events.ListParticipation}}})
	m, _ = l.rebuild()
	require.False(t, final(t, m, py20, other).InMIPS)
	assert.Equal(t, projection.FeedbackNone, m.Feedback.Get(py20, other).Level)
}

// TestRedNoNegativeAdjustmentCMSWouldNotGive: a sweep of the ways a
// clinician may stand (its own status, its group's, a report or none) in
// PY2024: only a clinician in MIPS (required or opted in itself, a
// Partial QP that elected, a member of a virtual group, a group that opted
// in, a required group that reported) ever gets an adjustment; everyone
// else gets none (promise held).
func TestRedNoNegativeAdjustmentCMSWouldNotGive(t *testing.T) {
	l := newLedger(t)
	type standing struct {
		name   string
		own    func(p events.Participant) []events.EligibilityDetermined
		elect  events.Choice // the clinician's own confirmed election, if any
		inMIPS bool
	}
	type group struct {
		name     string
		st       events.EligibilityStatus // 0: none
		elect    events.Choice
		reported bool
		inMIPS   bool
	}
	owns := []standing{
		{"exempt", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.Determination(p, py24, events.StatusExempt)}
		}, 0, false},
		{"QP", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.Determination(p, py24, events.StatusExcluded)}
		}, 0, false},
		{"ineligible type", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.Determination(p, py24, events.StatusExcluded, func(d *events.EligibilityDetermined) {
				d.Exclusion = events.ExclusionIneligibleClinicianType
			})}
		}, 0, false},
		{"Partial QP", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.Determination(p, py24, events.StatusPartialQP)}
		}, 0, false},
		{"opt-in eligible, no election", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.OptInEligible(p, py24)}
		}, 0, false},
		{"voluntary", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.OptInEligible(p, py24)}
		}, events.ChoiceVoluntary, false},
		{"below in segment 1, above in segment 2", func(p events.Participant) []events.EligibilityDetermined {
			return []events.EligibilityDetermined{et.Determination(p, py24, events.StatusExempt),
				et.Determination(p, py24, events.StatusRequired, et.Segment2())}
		}, 0, false},
		{"no determination", func(events.Participant) []events.EligibilityDetermined { return nil }, 0, false},
	}
	groups := []group{
		{"no group", 0, 0, false, false},
		{"exempt group", events.StatusExempt, 0, true, false},
		{"required group, not reported", events.StatusRequired, 0, false, false},
		{"required group, reported", events.StatusRequired, 0, true, true},
		{"voluntary group, reported", events.StatusOptInEligible, events.ChoiceVoluntary, true, false},
		{"opted-in group, not reported", events.StatusOptInEligible, events.ChoiceOptIn, false, true},
	}
	type cell struct {
		doc        events.Participant
		own        standing
		grp        group
		excludedIn bool // excluded clinicians stay out whatever the group does
	}
	var cells []cell
	n := 0
	for _, g := range groups {
		for _, o := range owns {
			n++
			tin := 9500 + n
			doc, grp := et.Clinician(tin, 1), et.Group(tin)
			if ds := o.own(doc); len(ds) > 0 {
				l.determine(ds...)
			}
			if o.elect != 0 {
				l.elect(doc, py24, o.elect, events.PathwayTraditional, true)
			}
			if g.st != 0 {
				l.determine(et.Determination(grp, py24, g.st))
				if g.elect != 0 {
					l.elect(grp, py24, g.elect, events.PathwayTraditional, true)
				}
				if g.reported {
					l.score(grp, py24, events.PathwayTraditional, 10, 3)
				}
			}
			l.score(doc, py24, events.PathwayTraditional, 5, 3)
			excluded := o.name == "QP" || o.name == "ineligible type" || o.name == "Partial QP"
			cells = append(cells, cell{doc, o, g, excluded})
		}
	}
	m, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	for _, c := range cells {
		fs := final(t, m, py24, c.doc)
		want := (c.own.inMIPS || c.grp.inMIPS) && !c.excludedIn
		assert.Equal(t, want, fs.InMIPS, "%s, %s: %s", c.own.name, c.grp.name, fs.Reason)
		assert.Equal(t, want, fs.Adjustment.Applies, "%s, %s: an adjustment only in MIPS", c.own.name, c.grp.name)
		if !want {
			assert.Zero(t, fs.Adjustment.Total(), "%s, %s", c.own.name, c.grp.name)
		}
	}
}

// TestRedStatusAndScoreJSONNeverHoldATIN: every field of a status view and
// a final score that can carry a participant (onBehalfOf, a group's or a
// virtual group's score, candidates) marshals masked, with encoding/json and
// through slog's JSON handler (promise held).
func TestRedStatusAndScoreJSONNeverHoldATIN(t *testing.T) {
	l := newLedger(t)
	g, c := et.Group(987654321), et.Clinician(987654321, 2)
	l.determine(et.Determination(g, py24, events.StatusRequired), et.OptInEligible(c, py24))
	reg := l.h.RegistryActor("QCDR-Z", g.TIN)
	reg.OnBehalfOf = g
	_, err := l.h.Service.Request(bg, reg, py24, c, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	require.NoError(t, err)
	reg.CommandID = l.h.IDs.New()
	_, err = l.h.Service.Confirm(bg, reg, py24, c, "CONFIRM")
	require.NoError(t, err)
	l.score(g, py24, events.PathwayTraditional, 80, 3)
	l.score(c, py24, events.PathwayTraditional, 70, 3)
	m, _ := l.rebuild()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	for name, v := range map[string]any{"status": m.Status.Get(py24, c), "group status": m.Status.Get(py24, g),
		"score": final(t, m, py24, c), "feedback": m.Feedback.Get(py24, c)} {
		b, err := stdjson.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(b), g.TIN.Digits(), name)
		log.Info("view", "v", v)
	}
	assert.NotContains(t, buf.String(), g.TIN.Digits())
}

// TestRedFollowPastTheEndAndFreshModels: Follow refuses a checkpoint past
// the end of the log; a fresh runner with fresh in-memory models resuming
// from a saved checkpoint first feeds them everything before it, so they
// answer exactly as a rebuild does (promise held).
func TestRedFollowPastTheEndAndFreshModels(t *testing.T) {
	l := newLedger(t)
	p := et.Group(9601)
	l.determine(et.OptInEligible(p, py24))
	l.elect(p, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
	cps := projection.NewMemoryCheckpoints()
	// Follow once, to the end, and stop.
	first := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() {
		done <- projection.NewRunner(l.h.Store, l.h.Registry, first.Projections(), projection.WithCheckpoints("f", cps)).Follow(ctx)
	}()
	require.Eventually(t, func() bool { return first.Status.Get(py24, p).Kind == projection.KindOptedIn }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	next, ok, err := cps.Load(bg, "f")
	require.NoError(t, err)
	require.True(t, ok)
	require.NotZero(t, next)

	// Fresh models from the checkpoint: complete.
	fresh := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	ctx, cancel = context.WithCancel(bg)
	go func() {
		done <- projection.NewRunner(l.h.Store, l.h.Registry, fresh.Projections(), projection.WithCheckpoints("f", cps)).Follow(ctx)
	}()
	require.Eventually(t, func() bool { return fresh.Status.Get(py24, p).Kind == projection.KindOptedIn }, 5*time.Second, time.Millisecond,
		"fresh models resume complete")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// A checkpoint past the end.
	require.NoError(t, cps.Save(bg, "f", next+1000))
	err = projection.NewRunner(l.h.Store, l.h.Registry, fresh.Projections(), projection.WithCheckpoints("f", cps)).Follow(bg)
	assert.ErrorIs(t, err, projection.ErrCheckpoint)
	var ce *projection.CheckpointError
	assert.ErrorAs(t, err, &ce)
}

// TestRedIndividuallyAssessedPartialQPElectsForItself: rules §3
// (414.1310(b)(1)(ii)): the APM Entity elects for its Partial QPs, but a
// clinician assessed individually (Affiliated Practitioner List) makes its
// own Partial QP election; without one it is not in MIPS. The status model
// lets the entity's election cover every clinician on any of its lists,
// individually assessed ones included: such a clinician, which never
// elected, is put in MIPS with a final score of 0 and -9%.
func TestRedIndividuallyAssessedPartialQPElectsForItself(t *testing.T) {
	l := newLedger(t)
	doc := et.Clinician(9701, 1)
	apm, _ := events.NewAPMEntity("APM-AP")
	l.determine(et.Determination(doc, py24, events.StatusPartialQP, func(d *events.EligibilityDetermined) { d.IndividuallyAssessed = true }))
	l.append(l.h.Names.APM(py24, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py24, MIPSAPM: true,
		SnapshotDate: time.Date(2024, 8, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: doc.TIN, NPI: doc.NPI, List: events.ListAffiliatedPractitioner}}})
	l.h.Auth.ConnectAPMEntityRepresentative("apm-rep", apm.ID)
	m := l.h.Meta(election.Actor{ID: "apm-rep", Role: events.RolePracticeRepresentative})
	_, err := l.h.Service.ExecutePartialQP(bg, m, py24, apm, election.Request{Choice: events.ChoicePartialQP, Pathway: events.PathwayTraditional})
	require.NoError(t, err)
	m.CommandID = l.h.IDs.New()
	_, err = l.h.Service.ExecutePartialQP(bg, m, py24, apm, election.Confirm{Phrase: "CONFIRM"})
	require.NoError(t, err)
	md, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	assert.Equal(t, projection.KindPartialQP, md.Status.Get(py24, doc).Kind, "assessed individually: its own election, which it never made")
	fs := final(t, md, py24, doc)
	assert.False(t, fs.InMIPS, "%s", fs.Reason)
	assert.False(t, fs.Adjustment.Applies, "no adjustment without its own Partial QP election (got %+v)", fs.Adjustment)
}

// TestRedAsOfTakesASnapshotAtItsDate: AsOf takes each record at the time
// its event names (issue 15.8, projection.AsOf), and an APM participation
// snapshot names one: its snapshot date. The runner reads none from it and
// takes the store's RecordedAt, so on a store stamped by the wall clock (a
// ledger loaded after the fact, as the season example and QPP imports do)
// an "as of" answer for PY2020 leaves out every snapshot: a clinician on an
// exempt APM Entity's Participation List shows as required, not exempt.
func TestRedAsOfTakesASnapshotAtItsDate(t *testing.T) {
	py20 := events.PY(events.MIPS, 2020)
	l := newLedger(t, et.WithStore(memstore.New())) // the wall clock stamps records
	doc := et.Clinician(9801, 1)
	apm, _ := events.NewAPMEntity("APM-EX20")
	l.determine(et.Determination(doc, py20, events.StatusRequired), et.Determination(apm, py20, events.StatusExempt))
	l.append(l.h.Names.APM(py20, apm), events.APMParticipationSnapshot{Entity: apm, ProgramYear: py20, MIPSAPM: true,
		SnapshotDate: time.Date(2020, 3, 31, 0, 0, 0, 0, time.UTC),
		Entries:      []events.APMListEntry{{TIN: doc.TIN, NPI: doc.NPI, List: events.ListParticipation}}})
	now, _ := l.rebuild()
	require.Equal(t, projection.KindExempt, now.Status.Get(py20, doc).Kind, "an exempt APM Entity exempts its clinicians in PY2020")
	then, _ := l.rebuild(projection.AsOf(time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, projection.KindExempt, then.Status.Get(py20, doc).Kind, "as of Jun 2021 the Mar 31 2020 snapshot had been taken")
	early, _ := l.rebuild(projection.AsOf(time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, projection.KindRequired, early.Status.Get(py20, doc).Kind, "as of Mar 1 2020 the snapshot was not yet taken")
}

// TestRedPY2017ReportingPartialQPIsInMIPS: rules §3: in PY2017 submitting
// data counted as the Partial QP election: a reporting Partial QP was MIPS
// eligible (Rules.PartialQPReportingElects). The submission gate says so
// (scored, with a payment adjustment); the scoring model leaves the
// reporting PY2017 Partial QP out of MIPS, with no score and no
// adjustment (here a positive one: PT 3, score 50).
func TestRedPY2017ReportingPartialQPIsInMIPS(t *testing.T) {
	py17 := events.PY(events.MIPS, 2017)
	l := newLedger(t, et.WithTime(time.Date(2018, 2, 1, 15, 0, 0, 0, time.UTC)))
	doc := et.Clinician(9901, 1)
	l.determine(et.Determination(doc, py17, events.StatusPartialQP))
	g, err := l.h.Service.MaySubmit(bg, py17, doc, events.PathwayTraditional)
	require.NoError(t, err)
	require.True(t, g.Allowed && !g.Voluntary, "the gate: PY2017, submitting data is the election, scored with an adjustment")
	l.score(doc, py17, events.PathwayTraditional, 50, 3)
	m, rep := l.rebuild()
	require.Empty(t, rep.Violations)
	fs := final(t, m, py17, doc)
	assert.True(t, fs.InMIPS, "%s", fs.Reason)
	assert.Equal(t, 50.0, fs.Score)
	assert.True(t, fs.Adjustment.Applies)
	assert.Greater(t, fs.Adjustment.Base, 0.0)
	assert.Equal(t, projection.FeedbackFull, m.Feedback.Get(py17, doc).Level, "a Partial QP that elected gets full feedback")

	// One that did not report made no election: out of MIPS.
	quiet := et.Clinician(9901, 2)
	l.determine(et.Determination(quiet, py17, events.StatusPartialQP))
	m, _ = l.rebuild()
	fs = final(t, m, py17, quiet)
	assert.False(t, fs.InMIPS, "%s", fs.Reason)
	assert.False(t, fs.Adjustment.Applies)
	assert.Equal(t, projection.FeedbackNone, m.Feedback.Get(py17, quiet).Level)
}
