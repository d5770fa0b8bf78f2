package election_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func individually() et.DeterminationOption {
	return func(d *events.EligibilityDetermined) { d.IndividuallyAssessed = true }
}

var pqpReq = election.Request{Choice: events.ChoicePartialQP, Pathway: events.PathwayTraditional}

// TestPartialQPElection: an individually assessed Partial QP elects to
// participate in MIPS in two steps, by the Partial QP deadline (8 pm ET on
// Mar 31 of PY+1, which is not always the opt-in close); the election is
// final once confirmed; a Partial QP assessed with its APM Entity is
// elected for by the entity; without an election a Partial QP is not in
// MIPS, and reports voluntarily only in the years whose flag allows it.
func TestPartialQPElection(t *testing.T) {
	h := et.New(t, et.WithTime(time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)))
	own, withEntity, notPQP := et.Clinician(71, 1), et.Clinician(71, 2), et.Clinician(71, 3)
	apm, _ := events.NewAPMEntity("APM-PQP")
	h.Determine(et.Determination(own, py24, events.StatusPartialQP, individually()),
		et.Determination(withEntity, py24, events.StatusPartialQP), et.Determination(notPQP, py24, events.StatusRequired))
	h.Auth.RegisterClinician("dr-own", own)
	h.Auth.RegisterClinician("dr-ent", withEntity)
	h.Auth.RegisterClinician("dr-not", notPQP)
	h.Auth.ConnectAPMEntityRepresentative("apm-rep", apm.ID)
	dr := func(id string) election.Meta { return h.Meta(election.Actor{ID: id, Role: events.RoleClinician}) }

	// Without an election: not in MIPS; PY2024 lets it report voluntarily.
	g, err := h.Service.MaySubmit(bg, py24, own, events.PathwayTraditional)
	require.NoError(t, err)
	assert.True(t, g.Allowed && g.Voluntary, "PY2024: a Partial QP without an election may report voluntarily")

	// Opt-in is not its election.
	_, err = h.Service.Request(bg, dr("dr-own"), py24, own, optIn)
	assert.ErrorIs(t, err, election.ErrNotOptInEligible)
	_, err = h.Service.Request(bg, dr("dr-own"), py24, own, pqpReq)
	assert.ErrorIs(t, err, election.ErrInvalidChoice, "a Partial QP election is made in its own election")

	m := dr("dr-own")
	_, err = h.Service.ExecutePartialQP(bg, m, py24, own, pqpReq)
	require.NoError(t, err)
	m.CommandID = h.IDs.New()
	rc, err := h.Service.ExecutePartialQP(bg, m, py24, own, election.Confirm{Phrase: "CONFIRM"})
	require.NoError(t, err)
	assert.Equal(t, events.TypeElectionConfirmed, rc.Type)
	st, err := h.Service.PartialQPState(bg, py24, own)
	require.NoError(t, err)
	assert.Equal(t, election.PhaseFinal, st.Phase)
	assert.Equal(t, events.ChoicePartialQP, st.Confirmed.Choice)
	_, err = h.Service.ExecutePartialQP(bg, dr("dr-own"), py24, own, election.Withdraw{})
	assert.ErrorIs(t, err, election.ErrElectionFinal)
	g, _ = h.Service.MaySubmit(bg, py24, own, events.PathwayTraditional)
	assert.True(t, g.Allowed && !g.Voluntary, "after its election, scored with a payment adjustment")

	// Assessed with its entity: the entity elects for it.
	_, err = h.Service.ExecutePartialQP(bg, dr("dr-ent"), py24, withEntity, pqpReq)
	assert.ErrorIs(t, err, election.ErrNotPartialQP)
	_, err = h.Service.ExecutePartialQP(bg, dr("dr-not"), py24, notPQP, pqpReq)
	assert.ErrorIs(t, err, election.ErrNotPartialQP)
	am := h.Meta(election.Actor{ID: "apm-rep", Role: events.RolePracticeRepresentative})
	_, err = h.Service.ExecutePartialQP(bg, am, py24, apm, pqpReq)
	require.NoError(t, err)
	am.CommandID = h.IDs.New()
	_, err = h.Service.ExecutePartialQP(bg, am, py24, apm, election.Confirm{Phrase: "CONFIRM"})
	require.NoError(t, err)
	g, _ = h.Service.MaySubmit(bg, py24, withEntity, events.PathwayTraditional, election.ThroughAPMEntity(apm))
	assert.True(t, g.Allowed && !g.Voluntary, "through its entity's Partial QP election")

	// The deadline: 8 pm ET on Mar 31 2025.
	late := et.Clinician(71, 4)
	h.Determine(et.Determination(late, py24, events.StatusPartialQP, individually()))
	h.Auth.RegisterClinician("dr-late", late)
	h.Clock.Set(eligibility.Eastern(2025, time.March, 31, 20, 0))
	_, err = h.Service.ExecutePartialQP(bg, dr("dr-late"), py24, late, pqpReq)
	assert.ErrorIs(t, err, election.ErrOutsideWindow)

	// PY2023: Partial QP elections were due Mar 31 2024, the opt-in close was
	// Apr 1 2024.
	py23 := events.PY(events.MIPS, 2023)
	h.Clock.Set(eligibility.Eastern(2024, time.April, 1, 10, 0))
	p23, g23 := et.Clinician(72, 1), et.Group(72)
	h.Determine(et.Determination(p23, py23, events.StatusPartialQP, individually()), et.OptInEligible(g23, py23))
	h.Auth.RegisterClinician("dr-23", p23)
	_, err = h.Service.ExecutePartialQP(bg, dr("dr-23"), py23, p23, pqpReq)
	assert.ErrorIs(t, err, election.ErrOutsideWindow, "PY2023's Partial QP deadline passed on Mar 31 2024")
	_, err = h.Service.Request(bg, h.Rep(g23.TIN), py23, g23, optIn)
	assert.NoError(t, err, "PY2023's opt-in window was still open on Apr 1 2024")

	// PY2017 had no separate election: submitting data was the election.
	py17 := events.PY(events.MIPS, 2017)
	p17 := et.Clinician(73, 1)
	h.Determine(et.Determination(p17, py17, events.StatusPartialQP, individually()))
	h.Auth.RegisterClinician("dr-17", p17)
	h.Clock.Set(time.Date(2018, 2, 1, 15, 0, 0, 0, time.UTC))
	_, err = h.Service.ExecutePartialQP(bg, dr("dr-17"), py17, p17, pqpReq)
	assert.ErrorIs(t, err, election.ErrNoPartialQPElection)
	g, _ = h.Service.MaySubmit(bg, py17, p17, events.PathwayTraditional)
	assert.True(t, g.Allowed && !g.Voluntary, "PY2017: submitting data counts as the election")
}

// TestSubmissionGateTable: the submission gate as a pure function of the
// rules, the reconciled standing, the elections, the pathway and the
// instant.
func TestSubmissionGateTable(t *testing.T) {
	table := eligibility.Default()
	rulesOf := func(y int) *eligibility.Rules {
		r, err := table.Lookup(events.PY(events.MIPS, y))
		require.NoError(t, err)
		return r
	}
	standing := func(st events.EligibilityStatus, excl events.ExclusionReason, apm bool) eligibility.Standing {
		return eligibility.Standing{Status: st, Exclusion: excl, Phase: eligibility.PhaseFinal, MIPSAPM: apm}
	}
	final := func(c events.Choice) election.State {
		return election.State{Phase: election.PhaseFinal, Confirmed: election.Selection{Choice: c}}
	}
	pending := election.State{Phase: election.PhasePending, Pending: election.Selection{Choice: events.ChoiceOptIn}}
	r24, r22, r20, r25, r17 := rulesOf(2024), rulesOf(2022), rulesOf(2020), rulesOf(2025), rulesOf(2017)
	mvpOpen := *r24
	mvpOpen.MVPForOptIn = true
	in24 := time.Date(2025, 4, 10, 12, 0, 0, 0, time.UTC) // after the election close, before the data deadline
	req, opt, exm, exc := events.StatusRequired, events.StatusOptInEligible, events.StatusExempt, events.StatusExcluded
	none := eligibility.Standing{}
	T, A, M := events.PathwayTraditional, events.PathwayAPP, events.PathwayMVP
	cases := []struct {
		name      string
		r         *eligibility.Rules
		st        eligibility.Standing
		el, pqp   election.State
		pw        events.Pathway
		now       time.Time
		reason    error // nil: allowed
		voluntary bool
	}{
		{"required", r24, standing(req, 0, false), election.State{}, election.State{}, T, in24, nil, false},
		{"data deadline, PY2024: Apr 14 2025 8 pm ET", r24, standing(req, 0, false), election.State{}, election.State{}, T, eligibility.Eastern(2025, 4, 14, 20, 0), election.ErrAfterDataDeadline, false},
		{"a minute before the data deadline", r24, standing(req, 0, false), election.State{}, election.State{}, T, eligibility.Eastern(2025, 4, 14, 19, 59), nil, false},
		{"opted in", r24, standing(opt, 0, false), final(events.ChoiceOptIn), election.State{}, T, in24, nil, false},
		{"voluntary election", r24, standing(opt, 0, false), final(events.ChoiceVoluntary), election.State{}, T, in24, nil, true},
		{"opt-in eligible, pending", r24, standing(opt, 0, false), pending, election.State{}, T, in24, election.ErrNoConfirmedElection, false},
		{"opt-in eligible, no election", r24, standing(opt, 0, false), election.State{}, election.State{}, T, in24, election.ErrNoConfirmedElection, false},
		{"exempt: voluntary without an election", r24, standing(exm, 0, false), election.State{}, election.State{}, T, in24, nil, true},
		{"QP: voluntary without an election", r24, standing(exc, events.ExclusionQP, false), election.State{}, election.State{}, T, in24, nil, true},
		{"ineligible type: voluntary without an election", r24, standing(exc, events.ExclusionIneligibleClinicianType, false), election.State{}, election.State{}, T, in24, nil, true},
		{"newly enrolled: voluntary without an election", r24, standing(exc, events.ExclusionNewlyEnrolled, false), election.State{}, election.State{}, T, in24, nil, true},
		{"no eligible clinician", r24, standing(exc, events.ExclusionNoEligibleClinician, false), election.State{}, election.State{}, T, in24, election.ErrExcluded, false},
		{"no determination", r24, none, election.State{}, election.State{}, T, in24, election.ErrNoDetermination, false},
		{"imported final election, no determination", r24, none, final(events.ChoiceOptIn), election.State{}, T, in24, nil, false},
		{"APP, required MIPS APM participant", r24, standing(req, 0, true), election.State{}, election.State{}, A, in24, nil, false},
		{"APP, required, not in a MIPS APM", r24, standing(req, 0, false), election.State{}, election.State{}, A, in24, election.ErrAPPUnavailable, false},
		{"APP, opted-in MIPS APM participant", r24, standing(opt, 0, true), final(events.ChoiceOptIn), election.State{}, A, in24, nil, false},
		{"APP, voluntary election", r24, standing(opt, 0, true), final(events.ChoiceVoluntary), election.State{}, A, in24, election.ErrVoluntaryAPP, false},
		{"APP, exempt", r24, standing(exm, 0, true), election.State{}, election.State{}, A, in24, election.ErrVoluntaryAPP, false},
		{"APP in PY2020", r20, standing(req, 0, true), election.State{}, election.State{}, A, time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), election.ErrAPPUnavailable, false},
		{"MVP in PY2022", r22, standing(req, 0, false), election.State{}, election.State{}, M, time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), election.ErrMVPUnavailable, false},
		{"MVP, required", r24, standing(req, 0, false), election.State{}, election.State{}, M, in24, nil, false},
		{"MVP, opted in (flag off)", r24, standing(opt, 0, false), final(events.ChoiceOptIn), election.State{}, M, in24, election.ErrMVPNotForOptIn, false},
		{"MVP, opted in (flag on)", &mvpOpen, standing(opt, 0, false), final(events.ChoiceOptIn), election.State{}, M, in24, nil, false},
		{"MVP, voluntary", r24, standing(opt, 0, false), final(events.ChoiceVoluntary), election.State{}, M, in24, election.ErrMVPNotForVoluntary, false},
		{"Partial QP, elected", r24, standing(events.StatusPartialQP, 0, false), election.State{}, final(events.ChoicePartialQP), T, in24, nil, false},
		{"Partial QP, no election, PY2024 (flag yes)", r24, standing(events.StatusPartialQP, 0, false), election.State{}, election.State{}, T, in24, nil, true},
		{"Partial QP, no election, PY2025 (flag no)", r25, standing(events.StatusPartialQP, 0, false), election.State{}, election.State{}, T, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), election.ErrPartialQPNoElection, false},
		{"Partial QP, PY2017: reporting elects", r17, standing(events.StatusPartialQP, 0, false), election.State{}, election.State{}, T, time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC), nil, false},
		{"APM Entity, not assessed, APP", r24, standing(events.StatusNotAssessed, 0, true), election.State{}, election.State{}, A, in24, nil, false},
		{"APM Entity, not assessed, MVP", r24, standing(events.StatusNotAssessed, 0, true), election.State{}, election.State{}, M, in24, election.ErrMVPUnavailable, false},
	}
	for _, c := range cases {
		g := election.Submission(election.GateInput{Rules: c.r, Standing: c.st, Election: c.el, PartialQP: c.pqp, Pathway: c.pw, Now: c.now})
		if c.reason == nil {
			assert.True(t, g.Allowed, "%s: %v %s", c.name, g.Reason, g.Detail)
			assert.Equal(t, c.voluntary, g.Voluntary, c.name)
			if c.voluntary {
				assert.Contains(t, g.Detail, "voluntary, no payment adjustment", c.name)
			}
		} else {
			assert.False(t, g.Allowed, c.name)
			assert.ErrorIs(t, g.Reason, c.reason, c.name)
		}
	}
}

// TestPublicReportingOptOut: a voluntary reporter opts out of public
// reporting inside the preview period, once; anyone else, or outside the
// period, is refused and nothing is recorded.
func TestPublicReportingOptOut(t *testing.T) {
	h := et.New(t)
	vol, opted, exempt := et.Group(81), et.Group(82), et.Group(83)
	h.Determine(et.OptInEligible(vol, py24), et.OptInEligible(opted, py24), et.Determination(exempt, py24, events.StatusExempt))
	for p, r := range map[events.Participant]election.Request{vol: voluntary, opted: optIn} {
		m := h.Rep(p.TIN)
		_, err := h.Service.Request(bg, m, py24, p, r)
		require.NoError(t, err)
		m.CommandID = h.IDs.New()
		_, err = h.Service.Confirm(bg, m, py24, p, "CONFIRM")
		require.NoError(t, err)
	}
	rules, _ := eligibility.Default().Rules(py24)
	h.Clock.Set(rules.PublicReportingPreview.Open.Add(-time.Hour))
	n := logLen(t, h)
	_, err := h.Service.OptOutOfPublicReporting(bg, h.Rep(vol.TIN), py24, vol)
	assert.ErrorIs(t, err, election.ErrOutsideWindow, "before the preview period")
	h.Clock.Set(rules.PublicReportingPreview.Open.Add(24 * time.Hour))
	_, err = h.Service.OptOutOfPublicReporting(bg, h.Rep(opted.TIN), py24, opted)
	assert.ErrorIs(t, err, election.ErrNotVoluntaryReporter)
	_, err = h.Service.OptOutOfPublicReporting(bg, h.Rep(exempt.TIN), py24, exempt)
	assert.ErrorIs(t, err, election.ErrNotVoluntaryReporter)
	assert.Equal(t, n, logLen(t, h), "refusals record nothing")

	m := h.Rep(vol.TIN)
	rc, err := h.Service.OptOutOfPublicReporting(bg, m, py24, vol)
	require.NoError(t, err)
	assert.Equal(t, events.TypePublicReportingOptedOut, rc.Type)
	again, err := h.Service.OptOutOfPublicReporting(bg, m, py24, vol)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, rc.Hash, again.Hash)
	_, err = h.Service.OptOutOfPublicReporting(bg, h.Rep(vol.TIN), py24, vol)
	assert.ErrorIs(t, err, election.ErrAlreadyOptedOut)
	h.Clock.Set(rules.PublicReportingPreview.Close)
	_, err = h.Service.OptOutOfPublicReporting(bg, h.Rep(vol.TIN), py24, vol)
	assert.ErrorIs(t, err, election.ErrOutsideWindow, "after the preview period")
}

// TestCancelledUploadNamesEveryParticipant: the preview names each entry
// that would be refused and why; cancelling the upload records one event
// naming every participant in it (those already MIPS eligible too) and
// withdraws every selection.
func TestCancelledUploadNamesEveryParticipant(t *testing.T) {
	h := et.New(t)
	a, b, req, skip := et.Group(91), et.Clinician(91, 1), et.Group(92), et.Group(93)
	h.Determine(et.OptInEligible(a, py24), et.OptInEligible(b, py24), et.Determination(req, py24, events.StatusRequired), et.OptInEligible(skip, py24))
	batch := election.Batch{ID: "up-1", ProgramYear: py24, Entries: []election.BatchEntry{
		{Participant: a, Choice: events.ChoiceOptIn}, {Participant: b, Choice: events.ChoiceVoluntary},
		{Participant: req, Choice: events.ChoiceOptIn}, {Participant: skip, Choice: events.ChoiceNoDecision}}}
	reg := h.RegistryActor("QCDR-C", a.TIN, req.TIN, skip.TIN)
	prev, err := h.Service.PreviewBatch(bg, reg, batch)
	require.NoError(t, err)
	require.Len(t, prev.Refusals(), 1)
	r := prev.Refusals()[0]
	assert.Equal(t, req, r.Participant, "the preview names the refused entry")
	assert.ErrorIs(t, r.Err, election.ErrNotOptInEligible)
	_, err = h.Service.SubmitBatch(bg, reg, batch)
	require.NoError(t, err)
	res, err := h.Service.CancelBatch(bg, h.RegistryActor("QCDR-C"), batch)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Count(election.EntryWithdrawn))
	var cancelled []events.UploadCancelled
	for rec, err := range h.Store.ReadStream(bg, h.Names.Upload(py24, "QCDR-C", "up-1"), 0) {
		require.NoError(t, err)
		e, err := h.Registry.Decode(&rec)
		require.NoError(t, err)
		cancelled = append(cancelled, e.(events.UploadCancelled))
	}
	require.Len(t, cancelled, 1)
	assert.Equal(t, []events.Participant{a, b, req, skip}, cancelled[0].Participants)
	assert.Equal(t, "up-1", cancelled[0].BatchID)
	// Another registry may not cancel it.
	_, err = h.Service.CancelBatch(bg, h.RegistryActor("QCDR-X"), batch)
	assert.ErrorIs(t, err, election.ErrUnauthorized)
}

// stores returns a way to open a fresh store of each kind the library has,
// for tests that must hold on every store; each opens in the (sub)test it
// is given. PostgreSQL is skipped without a server (pgtest), and fails in
// CI.
func stores() map[string]func(t *testing.T) events.Store {
	return map[string]func(t *testing.T) events.Store{
		"memory": nil, // the harness's own
		"file": func(t *testing.T) events.Store {
			s, err := boltstore.Open(filepath.Join(t.TempDir(), "ledger.db"))
			require.NoError(t, err)
			return s
		},
		"eventstoredb": func(t *testing.T) events.Store {
			srv := esdbfake.Run(t)
			s, err := esdbstore.Open(srv.ConnectionString())
			require.NoError(t, err)
			return s
		},
		"postgres": func(t *testing.T) events.Store { return pgtest.Open(t) },
		// memory playing a store whose event IDs are unique per stream
		// (events.IDScope), so that the Service's path for EventStoreDB
		// (command IDs bound before their events) runs every test here.
		"memory, IDs per stream": func(t *testing.T) events.Store {
			return &hookStore{Store: memstore.New(), perStream: true}
		},
	}
}

// TestCommandIDReusedWithOtherContent: on every store, a command ID reused
// for another choice, pathway, participant or batch entry is refused with
// ErrCommandIDReused and appends nothing; the same command again gets its
// original receipt.
func TestCommandIDReusedWithOtherContent(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			var opts []et.HarnessOption
			if open != nil {
				opts = append(opts, et.WithStore(open(t)))
			}
			h := et.New(t, opts...)
			p, q := et.Group(101), et.Group(102)
			h.Determine(et.OptInEligible(p, py24), et.OptInEligible(q, py24))
			h.Auth.ConnectRepresentative("rep", p.TIN)
			h.Auth.ConnectRepresentative("rep", q.TIN)
			m := h.Meta(election.Actor{ID: "rep", Role: events.RolePracticeRepresentative})
			rc, err := h.Service.Request(bg, m, py24, p, optIn)
			require.NoError(t, err)
			n := logLen(t, h)
			for what, try := range map[string]func() error{
				"another choice": func() error { _, err := h.Service.Request(bg, m, py24, p, voluntary); return err },
				"another pathway": func() error {
					_, err := h.Service.Request(bg, m, py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayMVP})
					return err
				},
				"another participant": func() error { _, err := h.Service.Request(bg, m, py24, q, optIn); return err },
				"another command":     func() error { _, err := h.Service.Confirm(bg, m, py24, p, "CONFIRM"); return err },
			} {
				err := try()
				assert.ErrorIs(t, err, election.ErrCommandIDReused, what)
				var r *election.Refusal
				assert.True(t, errors.As(err, &r), what)
			}
			assert.Equal(t, n, logLen(t, h), "refused reuses append nothing")
			// A command the decider refuses records nothing, no claim
			// either (where claims precede events too).
			_, err = h.Service.Confirm(bg, h.Meta(m.Actor), py24, q, "CONFIRM")
			assert.ErrorIs(t, err, election.ErrNothingPending, "q has no selection to confirm")
			assert.Equal(t, n, logLen(t, h), "a refused command appends nothing, not even its claim")
			again, err := h.Service.Request(bg, m, py24, p, optIn)
			require.NoError(t, err)
			assert.True(t, again.Replayed)
			assert.Equal(t, rc.Hash, again.Hash)

			// A registry's upload: the same command ID with another entry.
			a, b := et.Group(103), et.Group(104)
			h.Determine(et.OptInEligible(a, py24), et.OptInEligible(b, py24))
			reg := h.RegistryActor("QCDR-R", a.TIN, b.TIN)
			batch := election.Batch{ID: "u", ProgramYear: py24, Entries: []election.BatchEntry{{Participant: a, Choice: events.ChoiceOptIn}}}
			_, err = h.Service.SubmitBatch(bg, reg, batch)
			require.NoError(t, err)
			n = logLen(t, h)
			changed := batch
			changed.Entries = []election.BatchEntry{{Participant: a, Choice: events.ChoiceVoluntary}}
			_, err = h.Service.SubmitBatch(bg, reg, changed)
			assert.ErrorIs(t, err, election.ErrCommandIDReused, "another choice for the same entry")
			changed.Entries = []election.BatchEntry{{Participant: b, Choice: events.ChoiceOptIn}}
			_, err = h.Service.SubmitBatch(bg, reg, changed)
			assert.ErrorIs(t, err, election.ErrCommandIDReused, "another participant")
			assert.Equal(t, n, logLen(t, h))
			res, err := h.Service.SubmitBatch(bg, reg, batch)
			require.NoError(t, err)
			assert.True(t, res.Entries[0].Receipt.Replayed, "the same upload again: the original receipts")
		})
	}
}

// TestAttestationAndOnBehalfOf: a Statement of Truth accepted before the
// window opened, or in the future, is refused; a command on behalf of a
// client is checked by the Authorizer: the participant must be the
// client's, and the actor authorized for the client.
func TestAttestationAndOnBehalfOf(t *testing.T) {
	h := et.New(t)
	rules, _ := eligibility.Default().Rules(py24)
	p, other := et.Group(111), et.Group(112)
	h.Determine(et.OptInEligible(p, py24), et.OptInEligible(other, py24))
	m := h.Rep(p.TIN)
	m.Actor.AttestedAt = rules.ElectionWindow.Open.Add(-time.Minute)
	_, err := h.Service.Request(bg, m, py24, p, optIn)
	assert.ErrorIs(t, err, election.ErrNotAttested, "attested before the window opened")
	m.Actor.AttestedAt = h.Clock.Now().Add(time.Minute)
	_, err = h.Service.Request(bg, m, py24, p, optIn)
	assert.ErrorIs(t, err, election.ErrNotAttested, "attested in the future")

	reg := h.RegistryActor("QCDR-O", p.TIN)
	reg.OnBehalfOf = other
	_, err = h.Service.Request(bg, reg, py24, p, optIn)
	assert.ErrorIs(t, err, election.ErrUnauthorized, "on behalf of a practice the participant does not belong to")
	h.Auth.AuthorizeRegistry("QCDR-O", other.TIN)
	_, err = h.Service.Request(bg, reg, py24, other, optIn)
	require.NoError(t, err, "the registry is authorized for its client, and the participant is the client")
	reg = h.RegistryActor("QCDR-P", p.TIN)
	reg.OnBehalfOf = et.Clinician(111, 5)
	h.Auth.RegisterClinician("x", et.Clinician(111, 5))
	_, err = h.Service.Request(bg, reg, py24, p, optIn)
	require.NoError(t, err, "on behalf of a clinician of the practice, for which the registry is authorized")
	recs := h.Stream(py24, p)
	require.NotEmpty(t, recs)
	assert.Equal(t, et.Clinician(111, 5), recs[len(recs)-1].Metadata.OnBehalfOf)
}
