package election_test

import (
	"errors"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// segments builds a segment 1 and a segment 2 determination of p for py at
// the given statuses (with the criteria each implies).
func segments(p events.Participant, py events.ProgramYear, s1, s2 events.EligibilityStatus) []events.EligibilityDetermined {
	crit := map[events.EligibilityStatus]events.Criteria{events.StatusOptInEligible: events.CriterionCharges,
		events.StatusRequired: events.CriterionCharges | events.CriterionPatients | events.CriterionServices}
	d1 := et.Determination(p, py, s1)
	d1.Exceeded = crit[s1]
	d2 := et.Determination(p, py, s2, et.Segment2())
	d2.Exceeded = crit[s2]
	return []events.EligibilityDetermined{d1, d2}
}

// TestCommandsUseTheReconciledStanding: the decider's context, the
// submission gate and the refusal all use the standing reconciled from both
// segments, and say whether it is initial or final. Below the threshold in
// segment 1 and above it in segment 2 is exempt (the old rule said
// required): the gate refuses as exempt; in the opt-in range and then above
// is opt-in eligible: the request is taken.
func TestCommandsUseTheReconciledStanding(t *testing.T) {
	h := et.New(t)
	exempt, optIn := et.Group(31), et.Group(32)
	h.Determine(segments(exempt, py24, events.StatusExempt, events.StatusRequired)...)
	h.Determine(segments(optIn, py24, events.StatusOptInEligible, events.StatusRequired)...)

	g, err := h.Service.MaySubmit(bg, py24, exempt, events.PathwayTraditional)
	require.NoError(t, err)
	assert.True(t, g.Allowed && g.Voluntary, "exempt: may report voluntarily without an election, with no adjustment")
	assert.Equal(t, eligibility.PhaseFinal, g.Phase)
	assert.Equal(t, events.StatusExempt, g.Status)
	assert.Contains(t, g.Detail, "required only if above in both")

	_, err = h.Service.Request(bg, h.Rep(exempt.TIN), py24, exempt, optInReq)
	var r *election.Refusal
	require.ErrorAs(t, err, &r)
	assert.ErrorIs(t, err, election.ErrNotOptInEligible)
	assert.Contains(t, r.Detail, "status exempt, final")

	_, err = h.Service.Request(bg, h.Rep(optIn.TIN), py24, optIn, optInReq)
	require.NoError(t, err, "opt-in range, then above: opt-in eligible")

	// Before segment 2 is recorded the standing is the initial one.
	initial := et.Group(33)
	h.Determine(et.Determination(initial, py24, events.StatusRequired))
	g, err = h.Service.MaySubmit(bg, py24, initial, events.PathwayTraditional)
	require.NoError(t, err)
	assert.True(t, g.Allowed)
	assert.Equal(t, eligibility.PhaseInitial, g.Phase)
	assert.Contains(t, g.Detail, "initial")
}

var optInReq = election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}

// TestPY2026OnTheRealClock: with the default table and the real clock, a
// PY2026 request for an opt-in eligible practice is refused before its
// window opens (Jan 4 2027) with an error that names when it opens, taken
// inside it, refused after it closes.
func TestPY2026OnTheRealClock(t *testing.T) {
	store := memstore.New()
	t.Cleanup(func() { _ = store.Close() })
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	auth := election.NewMemoryAuthorizer()
	svc, err := election.NewService(election.Config{Store: store, Names: names, Authorizer: auth}) // default table, real clock
	require.NoError(t, err)
	py26 := events.PY(events.MIPS, 2026)
	p := et.Group(41)
	d := et.Determination(p, py26, events.StatusOptInEligible)
	d.DeterminedAt = time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	_, err = eligibility.Record(bg, store, names, events.NewRegistry(), eligibility.Default(), d, events.Metadata{})
	require.NoError(t, err)
	auth.ConnectRepresentative("rep", p.TIN)
	now := time.Now()
	rules, err := eligibility.Default().Rules(py26)
	require.NoError(t, err)
	_, err = svc.Request(bg, election.Meta{CommandID: et.NewIDs(t.Name()).New(),
		Actor: election.Actor{ID: "rep", Role: events.RolePracticeRepresentative, AttestedAt: now.Add(-time.Minute)}}, py26, p, optInReq)
	switch {
	case now.Before(rules.ElectionWindow.Open):
		var r *election.Refusal
		require.ErrorAs(t, err, &r)
		assert.ErrorIs(t, err, election.ErrOutsideWindow)
		assert.Contains(t, r.Detail, "opens Mon Jan 4 2027 12:00 am EST (2027-01-04T05:00:00Z)")
		assert.Contains(t, r.Remedy, "once the window opens, at Mon Jan 4 2027")
	case rules.ElectionWindow.Contains(now):
		assert.NoError(t, err, "inside the PY2026 window")
	default:
		assert.ErrorIs(t, err, election.ErrOutsideWindow)
	}
}

// TestUnknownYearNamesTheTable: a request for a year the table does not
// hold names the years it does.
func TestUnknownYearNamesTheTable(t *testing.T) {
	h := et.New(t)
	_, err := h.Service.Request(bg, h.Rep(practice.TIN), events.PY(events.MIPS, 2031), practice, optInReq)
	var r *election.Refusal
	require.ErrorAs(t, err, &r)
	assert.ErrorIs(t, err, election.ErrInvalidCommand)
	assert.Contains(t, r.Detail, "MIPS 2017-2026; QIPS 2021")
	assert.Zero(t, logLen(t, h))
}

// TestVirtualGroupMembershipIsChecked: a TIN below the threshold in segment
// 1, one with 11 eligible clinicians and one already in another virtual
// group are reported by name (masked) with their rule and never recorded as
// members; the others are admitted; an election with no admissible TIN is
// refused and records nothing.
func TestVirtualGroupMembershipIsChecked(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	h := et.New(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC))) // after the Dec 1 segment 1 determinations
	good, below, large, taken := et.Group(51), et.Group(52), et.Group(53), et.Group(54)
	big := et.Determination(large, py25, events.StatusRequired)
	big.EligibleClinicians = 11
	h.Determine(et.OptInEligible(good, py25), et.Determination(below, py25, events.StatusExempt), big,
		et.Determination(taken, py25, events.StatusRequired))
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", "VG-A")
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", "VG-B")
	for _, p := range []events.Participant{good, below, large, taken} {
		h.Auth.ConnectRepresentative("vg-rep", p.TIN) // each member TIN authorizes the representative
	}
	vgA, _ := events.NewVirtualGroup("VG-A")
	vgB, _ := events.NewVirtualGroup("VG-B")
	meta := func() election.Meta {
		return h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}

	_, err := h.Service.ElectVirtualGroup(bg, meta(), election.VirtualGroupElection{VirtualGroup: vgB, ProgramYear: py25, Members: []events.TIN{taken.TIN}})
	require.NoError(t, err)

	before := logLen(t, h)
	res, err := h.Service.ElectVirtualGroup(bg, meta(), election.VirtualGroupElection{VirtualGroup: vgA, ProgramYear: py25,
		Members: []events.TIN{good.TIN, below.TIN, large.TIN, taken.TIN}})
	require.NoError(t, err)
	want := []struct {
		status election.MemberStatus
		rule   error
	}{
		{election.MemberOptedIn, nil},
		{election.MemberRefused, eligibility.ErrMemberBelowThreshold},
		{election.MemberRefused, eligibility.ErrMemberTooLarge},
		{election.MemberRefused, eligibility.ErrMemberOfAnother},
	}
	for i, mr := range res.Members {
		assert.Equal(t, want[i].status, mr.Status, "member %d", i)
		if want[i].rule != nil {
			assert.ErrorIs(t, mr.Err, want[i].rule, "member %d", i)
			assert.Contains(t, mr.Err.Error(), "*****"+mr.TIN.Last4())
			assert.NotContains(t, mr.Err.Error(), mr.TIN.Digits())
		}
	}
	var members []events.TIN
	for rec, err := range h.Store.ReadStream(bg, h.Names.VirtualGroup(py25, vgA), 0) {
		require.NoError(t, err)
		e, err := h.Registry.Decode(&rec)
		require.NoError(t, err)
		members = e.(events.VirtualGroupMembership).Members
	}
	assert.Equal(t, []events.TIN{good.TIN}, members, "only the admitted TIN is recorded as a member")
	for _, p := range []events.Participant{below, large} {
		for _, err := range h.Store.ReadStream(bg, h.Names.VirtualGroupMember(py25, p.TIN), 0) {
			assert.ErrorIs(t, err, events.ErrStreamNotFound, "a refused TIN has no admission")
		}
	}
	// good: admission, membership, its request (final at the deadline), and
	// the command's claim.
	assert.Equal(t, before+4, logLen(t, h))

	n := logLen(t, h)
	res, err = h.Service.ElectVirtualGroup(bg, meta(), election.VirtualGroupElection{VirtualGroup: vgA, ProgramYear: py25,
		Members: []events.TIN{below.TIN, large.TIN}})
	assert.ErrorIs(t, err, election.ErrNoEligibleMember)
	var r *election.Refusal
	assert.True(t, errors.As(err, &r))
	assert.Len(t, res.Members, 2)
	assert.Equal(t, n, logLen(t, h), "a refused election records nothing")
}
