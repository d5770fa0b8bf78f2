package election_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

func logLen(t *testing.T, h *et.Harness) int {
	n := 0
	for _, err := range h.Store.ReadAll(bg, 0) {
		require.NoError(t, err)
		n++
	}
	return n
}

func TestServiceElection(t *testing.T) {
	h := et.New(t)
	h.Determine(et.OptInEligible(practice, py24))
	rep := h.Rep(practice.TIN)
	r1, err := h.Service.Request(bg, rep, py24, practice, optIn)
	require.NoError(t, err)
	assert.Equal(t, events.TypeElectionRequested, r1.Type)
	assert.False(t, r1.Replayed)

	// Idempotent: the same command again returns the original receipt and
	// writes nothing, even after the clock moved.
	n := logLen(t, h)
	h.Clock.Advance(time.Minute)
	again, err := h.Service.Request(bg, rep, py24, practice, optIn)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	again.Replayed = false
	assert.Equal(t, r1, again)
	assert.Equal(t, n, logLen(t, h))

	confirm := rep
	confirm.CommandID = h.IDs.New()
	rc, err := h.Service.Confirm(bg, confirm, py24, practice, "CONFIRM")
	require.NoError(t, err)
	recs := h.Stream(py24, practice)
	require.Len(t, recs, 2)
	assert.Equal(t, recs[1].Hash, rc.Hash, "the receipt is the confirmation's hash")
	assert.Equal(t, recs[1].ComputeHash(), rc.Hash)
	assert.Equal(t, events.TypeElectionConfirmed, recs[1].Type)
	retry, err := h.Service.Confirm(bg, confirm, py24, practice, "CONFIRM")
	require.NoError(t, err, "a retried confirmation returns its receipt, not ErrElectionFinal")
	assert.Equal(t, rc.Hash, retry.Hash)
	assert.True(t, retry.Replayed)

	// Who, for whom, and the attestation are in the metadata.
	md := recs[1].Metadata
	assert.Equal(t, rep.Actor.ID, md.Actor)
	assert.Equal(t, events.RolePracticeRepresentative, md.ActorRole)
	assert.Equal(t, confirm.CommandID, md.CommandID)
	assert.Equal(t, rep.Actor.AttestedAt.UTC(), md.AttestedAt)

	// A command ID reused for another command is refused.
	_, err = h.Service.Withdraw(bg, confirm, py24, practice, "x")
	assert.ErrorIs(t, err, election.ErrCommandIDReused)

	// Finality is structural: the store itself refuses to append.
	_, err = h.Store.Append(bg, h.Names.Election(py24, practice), events.Any,
		events.EventData{ID: uuid.New(), Type: events.TypeElectionRequestWithdrawn, SchemaVersion: 1, Data: []byte(`{}`)})
	assert.ErrorIs(t, err, events.ErrStreamSealed)
	_, err = h.Store.Append(bg, h.Names.Election(py24, practice), events.Exact(1),
		events.EventData{ID: uuid.New(), Type: events.TypeElectionConfirmed, SchemaVersion: 1, Data: []byte(`{}`)})
	assert.ErrorIs(t, err, events.ErrStreamSealed)
	rep.CommandID = h.IDs.New()
	_, err = h.Service.Request(bg, rep, py24, practice, voluntary)
	assert.ErrorIs(t, err, election.ErrElectionFinal)
	assert.Len(t, h.Stream(py24, practice), 2)
}

func TestAuthorization(t *testing.T) {
	h := et.New(t)
	other := et.Group(111222)
	h.Determine(et.OptInEligible(practice, py24), et.OptInEligible(doc, py24), et.OptInEligible(other, py24))

	try := func(m election.Meta, p events.Participant) error {
		_, err := h.Service.Request(bg, m, py24, p, optIn)
		return err
	}
	// A representative of another TIN, an unattested one, and strangers.
	assert.ErrorIs(t, try(h.Rep(other.TIN), practice), election.ErrUnauthorized)
	unattested := h.Rep(practice.TIN)
	unattested.Actor.AttestedAt = time.Time{}
	assert.ErrorIs(t, try(unattested, practice), election.ErrNotAttested)
	future := h.Rep(practice.TIN)
	future.Actor.AttestedAt = h.Clock.Now().Add(time.Hour)
	assert.ErrorIs(t, try(future, practice), election.ErrNotAttested)
	stranger := h.Meta(election.Actor{ID: "nobody", Role: events.RoleRegistry, Organization: "shady"})
	assert.ErrorIs(t, try(stranger, practice), election.ErrUnauthorized)
	noRole := h.Meta(election.Actor{ID: "x"})
	assert.ErrorIs(t, try(noRole, practice), election.ErrUnauthorized)
	assert.Equal(t, 3, logLen(t, h), "refused commands append nothing (only the 3 determinations)")

	// A clinician elects for their own TIN/NPI only.
	h.Auth.RegisterClinician("dr-1", doc)
	self := h.Meta(election.Actor{ID: "dr-1", Role: events.RoleClinician})
	assert.ErrorIs(t, try(self, practice), election.ErrUnauthorized)
	require.NoError(t, try(self, doc))

	// A registry for its clients, with on-behalf-of recorded.
	reg := h.RegistryActor("QCDR-9", other.TIN)
	require.NoError(t, try(reg, other))
	recs := h.Stream(py24, other)
	require.Len(t, recs, 1)
	assert.Equal(t, events.RoleRegistry, recs[0].Metadata.ActorRole)
	assert.Equal(t, "QCDR-9", recs[0].Metadata.Organization)
	assert.Equal(t, other, recs[0].Metadata.OnBehalfOf)

	// A representative connected to the TIN acts for its clinicians too.
	require.NoError(t, try(h.Rep(practice.TIN), practice))
}

func TestInvalidCommands(t *testing.T) {
	h := et.New(t)
	h.Determine(et.OptInEligible(practice, py24))
	m := h.Rep(practice.TIN)
	noID := m
	noID.CommandID = uuid.Nil
	_, err := h.Service.Request(bg, noID, py24, practice, optIn)
	assert.ErrorIs(t, err, election.ErrInvalidCommand)
	_, err = h.Service.Request(bg, m, events.PY(events.MIPS, 2031), practice, optIn)
	assert.ErrorIs(t, err, election.ErrInvalidCommand)
	_, err = h.Service.Request(bg, m, py24, events.Participant{Kind: events.KindGroup}, optIn)
	assert.ErrorIs(t, err, election.ErrInvalidCommand)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = h.Service.Request(ctx, m, py24, practice, optIn)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, logLen(t, h))
}

// TestRaceConfirmWithdraw: for 1,000 participants, 64 goroutines race to
// confirm and withdraw the same pending request; each participant ends with
// exactly one outcome, and the log verifies.
func TestRaceConfirmWithdraw(t *testing.T) {
	participants, racers := 1000, 64
	if testing.Short() {
		participants = 100
	}
	h := et.New(t)
	ps := make([]events.Participant, participants)
	for i := range ps {
		ps[i] = et.Group(10_000 + i)
		h.Determine(et.OptInEligible(ps[i], py24))
		m := h.Rep(ps[i].TIN)
		_, err := h.Service.Request(bg, m, py24, ps[i], optIn)
		require.NoError(t, err)
	}
	var confirmed, withdrawn atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8) // eight participants raced at a time
	for _, p := range ps {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := make(chan struct{})
			var inner sync.WaitGroup
			var wins atomic.Int32
			for r := range racers {
				inner.Add(1)
				m := h.Rep(p.TIN)
				go func() {
					defer inner.Done()
					<-start
					var err error
					if r%2 == 0 {
						_, err = h.Service.Confirm(bg, m, py24, p, "CONFIRM")
						if err == nil {
							confirmed.Add(1)
						}
					} else {
						_, err = h.Service.Withdraw(bg, m, py24, p, "race")
						if err == nil {
							withdrawn.Add(1)
						}
					}
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, election.ErrElectionFinal), errors.Is(err, election.ErrNothingPending):
					default:
						t.Errorf("%v: unexpected %v", p, err)
					}
				}()
			}
			close(start)
			inner.Wait()
			if wins.Load() != 1 {
				t.Errorf("%v: %d commands succeeded, want exactly 1", p, wins.Load())
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(participants), confirmed.Load()+withdrawn.Load())
	for _, p := range ps {
		recs := h.Stream(py24, p)
		require.Len(t, recs, 2, "%v", p)
		st, err := h.Service.State(bg, py24, p)
		require.NoError(t, err)
		assert.Contains(t, []election.Phase{election.PhaseFinal, election.PhaseNone}, st.Phase)
	}
	rep, err := chain.VerifyChains(bg, h.Store)
	require.NoError(t, err)
	// Per participant: its determination, the request and the winner, and
	// the claims of the two commands that were recorded (a losing command
	// records nothing, not even its claim).
	assert.Equal(t, 5*participants, rep.Records)
	t.Logf("%d confirmed, %d withdrawn", confirmed.Load(), withdrawn.Load())
}

func TestSubmissionGate(t *testing.T) {
	h := et.New(t)
	required, reqAPM, exempt, excluded, none := et.Group(1), et.Group(2), et.Group(3), et.Group(4), et.Group(5)
	optedIn, vol, pending := et.Group(6), et.Group(7), et.Group(8)
	h.Determine(
		et.Determination(required, py24, events.StatusRequired),
		et.Determination(reqAPM, py24, events.StatusRequired, et.MIPSAPM()),
		et.Determination(exempt, py24, events.StatusExempt),
		et.Determination(excluded, py24, events.StatusExcluded),
		et.OptInEligible(optedIn, py24), et.OptInEligible(vol, py24), et.OptInEligible(pending, py24),
	)
	elect := func(p events.Participant, r election.Request, confirm bool) {
		m := h.Rep(p.TIN)
		_, err := h.Service.Request(bg, m, py24, p, r)
		require.NoError(t, err)
		if confirm {
			m.CommandID = h.IDs.New()
			_, err = h.Service.Confirm(bg, m, py24, p, "CONFIRM")
			require.NoError(t, err)
		}
	}
	elect(optedIn, optIn, true)
	elect(vol, voluntary, true)
	elect(pending, optIn, false)

	cases := []struct {
		p       events.Participant
		pathway events.Pathway
		reason  error
	}{
		{required, events.PathwayTraditional, nil},
		{required, events.PathwayAPP, election.ErrAPPUnavailable},
		{reqAPM, events.PathwayAPP, nil},
		{exempt, events.PathwayTraditional, nil},              // voluntary, without an election
		{excluded, events.PathwayTraditional, nil},            // a QP: voluntary, without an election
		{exempt, events.PathwayAPP, election.ErrVoluntaryAPP}, // the APP is never voluntary
		{none, events.PathwayTraditional, election.ErrNoDetermination},
		{pending, events.PathwayTraditional, election.ErrNoConfirmedElection},
		{optedIn, events.PathwayTraditional, nil},
		{optedIn, events.PathwayAPP, election.ErrAPPUnavailable},
		{vol, events.PathwayTraditional, nil},
		{vol, events.PathwayAPP, election.ErrVoluntaryAPP},
	}
	for _, c := range cases {
		g, err := h.Service.MaySubmit(bg, py24, c.p, c.pathway)
		require.NoError(t, err)
		if c.reason == nil {
			assert.True(t, g.Allowed, "%v %v: %v %s", c.p, c.pathway, g.Reason, g.Detail)
		} else {
			assert.False(t, g.Allowed, "%v %v", c.p, c.pathway)
			assert.ErrorIs(t, g.Reason, c.reason, "%v %v", c.p, c.pathway)
		}
	}
	g, _ := h.Service.MaySubmit(bg, py24, et.OptInEligible(practice, py24).Participant, events.PathwayTraditional)
	assert.False(t, g.Allowed)

	// An opt-in eligible MIPS APM participant that opted in may submit to the APP.
	apm := et.Group(9)
	h.Determine(et.OptInEligible(apm, py24, et.MIPSAPM()))
	elect(apm, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP}, true)
	g, err := h.Service.MaySubmit(bg, py24, apm, events.PathwayAPP)
	require.NoError(t, err)
	assert.True(t, g.Allowed)
	assert.Equal(t, events.ChoiceOptIn, g.Election.Choice)
}

// TestVirtualGroupElection: a virtual group's election within its window:
// per-member authorization (an unauthorized TIN is refused by name and
// nothing is appended for it), members opted in through the virtual group
// with requests that stay pending until the deadline, a member's own final
// election kept, a revision that drops one member (which then has no
// opt-in through the group and may join another), a reused command ID,
// the 11:59 pm deadline, and after it every member's opt-in final at the
// same instant, recorded by FinalizeVirtualGroup.
func TestVirtualGroupElection(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	rules, err := eligibility.Default().Rules(py25)
	require.NoError(t, err)
	deadline := rules.VirtualGroupWindow.Close // the end of 11:59 pm ET, Dec 31 2024
	h := et.New(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, err := events.NewVirtualGroup("VG-2025-7")
	require.NoError(t, err)
	fresh, ownPending, ownFinal, required, stranger, newbie := et.Group(21), et.Group(22), et.Group(23), et.Group(24), et.Group(25), et.Group(26)
	h.Determine(et.OptInEligible(fresh, py25), et.OptInEligible(ownPending, py25), et.OptInEligible(ownFinal, py25),
		et.Determination(required, py25, events.StatusRequired), et.OptInEligible(stranger, py25), et.OptInEligible(newbie, py25))
	// A member with a final election of its own, and one with a pending
	// selection (made in the PY2025 opt-in window: the clock goes there and
	// back to set the scene).
	h.Clock.Set(time.Date(2026, 2, 2, 15, 0, 0, 0, time.UTC))
	m := h.Rep(ownFinal.TIN)
	_, err = h.Service.Request(bg, m, py25, ownFinal, voluntary)
	require.NoError(t, err)
	m.CommandID = h.IDs.New()
	_, err = h.Service.Confirm(bg, m, py25, ownFinal, "CONFIRM")
	require.NoError(t, err)
	_, err = h.Service.Request(bg, h.Rep(ownPending.TIN), py25, ownPending, voluntary)
	require.NoError(t, err)

	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	for _, p := range []events.Participant{fresh, ownPending, ownFinal, required, newbie} {
		h.Auth.ConnectRepresentative("vg-rep", p.TIN) // every member but the stranger authorizes the representative
	}
	vgm := func() election.Meta {
		return h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}
	e := election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25,
		Members: []events.TIN{fresh.TIN, ownPending.TIN, ownFinal.TIN, required.TIN, stranger.TIN}}
	_, err = h.Service.ElectVirtualGroup(bg, vgm(), e)
	assert.ErrorIs(t, err, election.ErrOutsideWindow, "the virtual group window closed Dec 31 2024")

	h.Clock.Set(time.Date(2024, 12, 20, 20, 0, 0, 0, time.UTC))
	first := vgm()
	res, err := h.Service.ElectVirtualGroup(bg, first, e)
	require.NoError(t, err)
	want := []election.MemberStatus{election.MemberOptedIn, election.MemberOptedIn, election.MemberKeptFinal, election.MemberNotOptInEligible, election.MemberRefused}
	for i, mr := range res.Members {
		assert.Equal(t, want[i], mr.Status, "member %d", i)
	}
	assert.ErrorIs(t, res.Members[4].Err, election.ErrUnauthorized)
	assert.Contains(t, res.Members[4].Err.Error(), "*****"+stranger.TIN.Last4())
	assert.NotContains(t, res.Members[4].Err.Error(), stranger.TIN.Digits())
	assert.Equal(t, events.ChoiceVoluntary, res.Members[2].Kept.Choice, "the final member keeps its own election, reported")

	types := func(p events.Participant) []string {
		var out []string
		for _, r := range h.Stream(py25, p) {
			out = append(out, r.Type)
		}
		return out
	}
	req, wd, conf := events.TypeElectionRequested, events.TypeElectionRequestWithdrawn, events.TypeElectionConfirmed
	assert.Equal(t, []string{req}, types(fresh), "opted in through the virtual group: pending until the deadline")
	assert.Equal(t, []string{req, wd, req}, types(ownPending))
	assert.Equal(t, []string{req, conf}, types(ownFinal))
	assert.Empty(t, types(required))
	assert.Empty(t, types(stranger), "nothing appended for an unauthorized member")
	for _, err := range h.Store.ReadStream(bg, h.Names.VirtualGroupMember(py25, stranger.TIN), 0) {
		assert.ErrorIs(t, err, events.ErrStreamNotFound, "the unauthorized TIN is not admitted")
	}
	st, err := h.Service.State(bg, py25, fresh)
	require.NoError(t, err)
	assert.Equal(t, election.PhasePending, st.Phase)
	assert.Equal(t, vg.ID, st.Pending.VirtualGroupID)
	// The member cannot confirm or withdraw the virtual group's request.
	fm := h.Rep(fresh.TIN)
	_, err = h.Service.Confirm(bg, fm, py25, fresh, "CONFIRM")
	assert.ErrorIs(t, err, election.ErrVirtualGroupPending)
	fm.CommandID = h.IDs.New()
	_, err = h.Service.Withdraw(bg, fm, py25, fresh, "mine")
	assert.ErrorIs(t, err, election.ErrVirtualGroupPending)

	// Retrying the same election appends nothing new.
	n := logLen(t, h)
	res2, err := h.Service.ElectVirtualGroup(bg, first, e)
	require.NoError(t, err)
	assert.Equal(t, n, logLen(t, h))
	assert.Equal(t, res.Membership.Hash, res2.Membership.Hash)

	// A revision in the last minute before the deadline drops fresh and adds
	// newbie.
	h.Clock.Set(deadline.Add(-30 * time.Second))
	revision := vgm()
	e2 := election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{ownPending.TIN, ownFinal.TIN, required.TIN, newbie.TIN}}
	res, err = h.Service.ElectVirtualGroup(bg, revision, e2)
	require.NoError(t, err)
	statuses := map[events.TIN]election.MemberStatus{}
	for _, mr := range res.Members {
		statuses[mr.TIN] = mr.Status
	}
	assert.Equal(t, election.MemberDropped, statuses[fresh.TIN])
	assert.Equal(t, election.MemberOptedIn, statuses[newbie.TIN])
	assert.Equal(t, []string{req, wd}, types(fresh), "the dropped member has no opt-in through the group")
	st, _ = h.Service.State(bg, py25, fresh)
	assert.Equal(t, election.PhaseNone, st.Phase)
	// The same command ID with another member list is refused, appending nothing.
	n = logLen(t, h)
	e3 := e2
	e3.Members = []events.TIN{ownPending.TIN}
	_, err = h.Service.ElectVirtualGroup(bg, revision, e3)
	assert.ErrorIs(t, err, election.ErrCommandIDReused)
	assert.Equal(t, n, logLen(t, h))
	// The dropped TIN may join another virtual group.
	other, _ := events.NewVirtualGroup("VG-2025-8")
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", other.ID)
	ores, err := h.Service.ElectVirtualGroup(bg, vgm(), election.VirtualGroupElection{VirtualGroup: other, ProgramYear: py25, Members: []events.TIN{fresh.TIN}})
	require.NoError(t, err)
	assert.Equal(t, election.MemberOptedIn, ores.Members[0].Status)

	// At the deadline: no more revisions; the opt-ins are final at once.
	h.Clock.Set(deadline)
	_, err = h.Service.ElectVirtualGroup(bg, vgm(), e)
	assert.ErrorIs(t, err, election.ErrOutsideWindow)
	_, err = h.Service.FinalizeVirtualGroup(bg, vgm(), vg, py25)
	require.NoError(t, err, "finalizing at the deadline")
	// Before finalizing, a member's own election is refused as final too.
	h.Clock.Set(time.Date(2026, 2, 3, 15, 0, 0, 0, time.UTC))
	_, err = h.Service.Request(bg, h.Rep(fresh.TIN), py25, fresh, voluntary)
	assert.ErrorIs(t, err, election.ErrElectionFinal, "opted in through VG-2025-8, final at the deadline though not yet finalized")
	fin, err := h.Service.FinalizeVirtualGroup(bg, vgm(), other, py25)
	require.NoError(t, err)
	require.Len(t, fin.Members, 1)
	assert.Equal(t, election.MemberConfirmed, fin.Members[0].Status)
	for _, p := range []events.Participant{ownPending, newbie, fresh} {
		st, err := h.Service.State(bg, py25, p)
		require.NoError(t, err)
		require.Equal(t, election.PhaseFinal, st.Phase, "%v", p)
		assert.Equal(t, deadline.UTC(), st.Confirmed.At, "%v: final at the deadline instant", p)
	}
	n = logLen(t, h)
	_, err = h.Service.FinalizeVirtualGroup(bg, vgm(), vg, py25)
	require.NoError(t, err)
	assert.Equal(t, n, logLen(t, h), "finalizing again appends nothing")
	_, err = chain.VerifyChains(bg, h.Store)
	require.NoError(t, err)
}

// TestVirtualGroupRetraction: a retracted election releases every member
// and withdraws their opt-ins; it confirms nothing at the deadline.
func TestVirtualGroupRetraction(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	h := et.New(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, _ := events.NewVirtualGroup("VG-R")
	a, b := et.Group(31), et.Group(32)
	h.Determine(et.OptInEligible(a, py25), et.OptInEligible(b, py25))
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	h.Auth.ConnectRepresentative("vg-rep", a.TIN)
	h.Auth.ConnectRepresentative("vg-rep", b.TIN)
	vgm := func() election.Meta {
		return h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}
	_, err := h.Service.ElectVirtualGroup(bg, vgm(), election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{a.TIN, b.TIN}})
	require.NoError(t, err)
	res, err := h.Service.RetractVirtualGroup(bg, vgm(), vg, py25)
	require.NoError(t, err)
	assert.Len(t, res.Members, 2)
	for _, p := range []events.Participant{a, b} {
		st, err := h.Service.State(bg, py25, p)
		require.NoError(t, err)
		assert.Equal(t, election.PhaseNone, st.Phase)
	}
	_, err = h.Service.RetractVirtualGroup(bg, vgm(), vg, py25)
	assert.ErrorIs(t, err, election.ErrNothingPending)
	h.Clock.Set(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
	fin, err := h.Service.FinalizeVirtualGroup(bg, vgm(), vg, py25)
	require.NoError(t, err)
	assert.Empty(t, fin.Members, "a retracted election confirms nothing")
	_, err = h.Service.FinalizeVirtualGroup(bg, h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative}), vg, events.PY(events.MIPS, 2026))
	assert.ErrorIs(t, err, election.ErrVirtualGroupPending, "PY2026's virtual group deadline has not passed")
}

// failingStore fails every append after the first ok ones.
type failingStore struct {
	events.Store
	ok    atomic.Int64
	fails atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (f *failingStore) Append(ctx context.Context, stream string, exp events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if f.fails.Load() && f.ok.Add(-1) < 0 {
		return events.AppendResult{}, errDisk
	}
	return f.Store.Append(ctx, stream, exp, evs...)
}

// TestRegistryBatch: a registry's bulk upload of 10,000 TINs and TIN/NPIs:
// preview, refusals that block no one, one CONFIRM, a store failure
// mid-batch and its completion by re-running, and cancellation.
func TestRegistryBatch(t *testing.T) {
	size := election.MaxBatchEntries
	if testing.Short() {
		size = 600
	}
	fs := &failingStore{}
	h := et.New(t)
	fs.Store = h.Store
	svc, err := election.NewService(election.Config{Store: fs, Names: h.Names, Authorizer: h.Auth, Registry: h.Registry, Clock: h.Clock.Now})
	require.NoError(t, err)

	b := election.Batch{ID: "upload-1", ProgramYear: py24}
	var clients []events.TIN
	for i := range size {
		var p events.Participant
		if i%2 == 0 {
			p = et.Group(100_000 + i)
		} else {
			p = et.Clinician(100_000+i-1, i)
		}
		choice := []events.Choice{events.ChoiceOptIn, events.ChoiceVoluntary, events.ChoiceNoDecision}[i%3]
		b.Entries = append(b.Entries, election.BatchEntry{Participant: p, Choice: choice})
		switch {
		case i%100 == 7: // exempt: refused, blocks no one
			h.Determine(et.Determination(p, py24, events.StatusExempt))
		default:
			h.Determine(et.OptInEligible(p, py24))
		}
		if i%100 != 13 { // not a client of this registry: refused
			clients = append(clients, p.TIN)
		}
	}
	reg := h.RegistryActor("QCDR-1", clients...)
	preview, err := svc.PreviewBatch(bg, reg, b)
	require.NoError(t, err)
	n := logLen(t, h)
	assert.Equal(t, size, preview.Counts.OptIn+preview.Counts.Voluntary+preview.Counts.NoDecision)
	assert.Equal(t, size/3, preview.Counts.NoDecision)
	assert.Equal(t, (size+2)/3, preview.Counts.OptIn)
	refusals := preview.Refusals()
	assert.NotEmpty(t, refusals)
	for _, r := range refusals {
		assert.True(t, errors.Is(r.Err, election.ErrNotOptInEligible) || errors.Is(r.Err, election.ErrUnauthorized), r.Err)
		assert.NotEqual(t, events.ChoiceNoDecision, r.Choice)
	}

	sub, err := svc.SubmitBatch(bg, reg, b)
	require.NoError(t, err)
	assert.Equal(t, len(refusals), len(sub.Refusals()), "the preview showed every refusal")
	selected := sub.Count(election.EntrySelected)
	assert.Equal(t, n+selected+1, logLen(t, h), "one request per selection, and the upload's claim on its command ID")

	conf := h.RegistryActor("QCDR-1")
	_, err = svc.ConfirmBatch(bg, conf, b, "confirm")
	assert.ErrorIs(t, err, election.ErrConfirmPhrase)
	assert.Equal(t, n+selected+1, logLen(t, h), "a wrong phrase records nothing")

	// The store fails part-way: after the upload's claim (recorded first)
	// and half the entries.
	fs.ok.Store(int64(selected/2) + 1)
	fs.fails.Store(true)
	res, err := svc.ConfirmBatch(bg, conf, b, "CONFIRM")
	assert.ErrorIs(t, err, election.ErrBatchIncomplete)
	done, failed := res.Count(election.EntryConfirmed), res.Count(election.EntryFailed)
	assert.Equal(t, selected/2, done)
	assert.Equal(t, selected-selected/2, failed)
	for _, f := range res.Failures() {
		assert.ErrorIs(t, f.Err, errDisk)
		st, err := svc.State(bg, py24, f.Participant)
		require.NoError(t, err)
		assert.Equal(t, election.PhasePending, st.Phase, "a failed entry is not confirmed")
	}
	// Re-running the same batch with the same command ID completes it.
	fs.fails.Store(false)
	res, err = svc.ConfirmBatch(bg, conf, b, "CONFIRM")
	require.NoError(t, err)
	assert.Equal(t, selected, res.Count(election.EntryConfirmed))
	assert.Equal(t, n+2*selected+2, logLen(t, h), "no duplicate event (and the two claims)")
	replayed := 0
	for _, e := range res.Entries {
		if e.Receipt.Replayed {
			replayed++
		}
	}
	assert.Equal(t, done, replayed)
	_, err = chain.VerifyChains(bg, h.Store)
	require.NoError(t, err)

	// Cancel: a second upload's selections are withdrawn, every one.
	py25 := events.PY(events.MIPS, 2025)
	h.Clock.Set(time.Date(2026, 2, 2, 15, 0, 0, 0, time.UTC))
	b2 := election.Batch{ID: "upload-2", ProgramYear: py25, Entries: b.Entries[:30]}
	for _, e := range b2.Entries {
		h.Determine(et.OptInEligible(e.Participant, py25))
	}
	s2, err := svc.SubmitBatch(bg, h.RegistryActor("QCDR-1"), b2)
	require.NoError(t, err)
	c2, err := svc.CancelBatch(bg, h.RegistryActor("QCDR-1"), b2)
	require.NoError(t, err)
	assert.Equal(t, s2.Count(election.EntrySelected), c2.Count(election.EntryWithdrawn))
	for _, e := range b2.Entries {
		st, err := svc.State(bg, py25, e.Participant)
		require.NoError(t, err)
		assert.Equal(t, election.PhaseNone, st.Phase, fmt.Sprint(e.Participant))
	}
	_, err = svc.SubmitBatch(bg, reg, election.Batch{ID: "big", ProgramYear: py24, Entries: make([]election.BatchEntry, election.MaxBatchEntries+1)})
	assert.ErrorIs(t, err, election.ErrInvalidCommand)
}

// TestStateCacheSeesOtherWriters: a Service that cached a stream's state
// still sees what another Service (another process) appended since.
func TestStateCacheSeesOtherWriters(t *testing.T) {
	h := et.New(t)
	h.Determine(et.OptInEligible(practice, py24))
	other, err := election.NewService(election.Config{Store: h.Store, Names: h.Names, Authorizer: h.Auth, Registry: h.Registry, Clock: h.Clock.Now})
	require.NoError(t, err)
	m := h.Rep(practice.TIN)
	_, err = h.Service.Request(bg, m, py24, practice, optIn) // h.Service caches the pending state
	require.NoError(t, err)
	m.CommandID = h.IDs.New()
	_, err = other.Confirm(bg, m, py24, practice, "CONFIRM") // another writer confirms
	require.NoError(t, err)
	m.CommandID = h.IDs.New()
	_, err = h.Service.Withdraw(bg, m, py24, practice, "too late")
	assert.ErrorIs(t, err, election.ErrElectionFinal, "the cached service must see the confirmation")
	st, err := h.Service.State(bg, py24, practice)
	require.NoError(t, err)
	assert.Equal(t, election.PhaseFinal, st.Phase)
}

// TestCachedStateRefusalRereads: a service whose cached state says nothing
// is pending must not refuse a confirmation another writer made possible,
// and a command another writer recorded is answered as a replay.
func TestCachedStateRefusalRereads(t *testing.T) {
	h := et.New(t)
	h.Determine(et.OptInEligible(practice, py24))
	other, err := election.NewService(election.Config{Store: h.Store, Names: h.Names, Authorizer: h.Auth, Registry: h.Registry, Clock: h.Clock.Now})
	require.NoError(t, err)
	m := h.Rep(practice.TIN)
	_, err = h.Service.Request(bg, m, py24, practice, optIn)
	require.NoError(t, err)
	m.CommandID = h.IDs.New()
	_, err = h.Service.Withdraw(bg, m, py24, practice, "changed our mind") // cached: nothing pending
	require.NoError(t, err)

	m.CommandID = h.IDs.New()
	_, err = other.Request(bg, m, py24, practice, optIn) // another writer requests again
	require.NoError(t, err)
	confirm := m
	confirm.CommandID = h.IDs.New()
	rc, err := h.Service.Confirm(bg, confirm, py24, practice, "CONFIRM")
	require.NoError(t, err, "the cached service must see the new request")
	assert.Equal(t, uint64(3), rc.Revision)

	// The other writer retries a command h.Service recorded, a minute later.
	h.Clock.Advance(time.Minute)
	n := logLen(t, h)
	again, err := other.Confirm(bg, confirm, py24, practice, "CONFIRM")
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	again.Replayed = false
	assert.Equal(t, rc, again)
	assert.Equal(t, n, logLen(t, h), "a replay writes nothing")
}
