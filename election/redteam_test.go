package election_test

// Red-team tests: promises of issues 13-15 tried as an attacker or a careful
// auditor would. A test skipped with "red-team:" shows a defect the library
// still has (the skip names it); the others are promises that held.

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookStore is a Store whose appends pass through a hook first: the hook
// may hold an append (to line up a race), fail it, or let it through.
type hookStore struct {
	events.Store
	hook      func(ctx context.Context, stream string) error
	perStream bool
}

func (s *hookStore) Append(ctx context.Context, stream string, exp events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if s.hook != nil {
		if err := s.hook(ctx, stream); err != nil {
			return events.AppendResult{}, err
		}
	}
	return s.Store.Append(ctx, stream, exp, evs...)
}

// IDsPerStream forwards events.IDScope, or says true when perStream is
// set (a store whose event IDs are unique per stream, as EventStoreDB's
// are, played by any store).
func (s *hookStore) IDsPerStream() bool { return s.perStream || events.EventIDsPerStream(s.Store) }

// newHooked returns a harness over a memstore whose appends go through
// the returned hookStore.
func newHooked(t *testing.T, opts ...et.HarnessOption) (*et.Harness, *hookStore) {
	t.Helper()
	clock := et.NewClock(eligibility.Eastern(2025, time.February, 3, 10, 0))
	hs := &hookStore{Store: memstore.New(memstore.WithClock(clock.Now))}
	h := et.New(t, append([]et.HarnessOption{et.WithStore(hs)}, opts...)...)
	return h, hs
}

// TestRedVirtualGroupOptInIsNotTheMembersCommand: VirtualGroupOptIn is the
// virtual group's part of ElectVirtualGroup, yet Execute takes it from any
// actor authorized for the TIN. In the PY2024 opt-in window (after the
// PY2024 virtual group deadline) a practice's representative, naming a
// virtual group that never listed the TIN, records an opt-in that is final
// at once: nobody typed CONFIRM, and it can no longer be withdrawn.
func TestRedVirtualGroupOptInIsNotTheMembersCommand(t *testing.T) {
	h := et.New(t)
	h.Determine(et.OptInEligible(practice, py24))
	n := logLen(t, h)
	_, err := h.Service.Execute(bg, h.Rep(practice.TIN), py24, practice, election.VirtualGroupOptIn{VirtualGroupID: "GHOST"})
	assert.ErrorIs(t, err, election.ErrRefused, "only ElectVirtualGroup opts a member in through a virtual group")
	assert.Equal(t, n, logLen(t, h), "a refused command appends nothing")
	st, err := h.Service.State(bg, py24, practice)
	require.NoError(t, err)
	assert.Equal(t, election.PhaseNone, st.Phase)

	// The same through Request's own VirtualGroupID field.
	other := et.Group(456790)
	h.Determine(et.OptInEligible(other, py24))
	_, err = h.Service.Request(bg, h.Rep(other.TIN), py24, other, election.Request{Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, VirtualGroupID: "GHOST"})
	assert.ErrorIs(t, err, election.ErrInvalidCommand, "a request may not name a virtual group")
	st, err = h.Service.State(bg, py24, other)
	require.NoError(t, err)
	assert.Equal(t, election.PhaseNone, st.Phase)
}

// TestRedMemberCannotWithdrawItsVirtualGroupOptIn: rules §4: a virtual
// group's election is the virtual group's to submit, revise or retract
// until its deadline; the member cannot change it (ErrVirtualGroupPending).
// A member's representative who names the virtual group in Withdraw gets
// around that.
func TestRedMemberCannotWithdrawItsVirtualGroupOptIn(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	h := et.New(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, _ := events.NewVirtualGroup("VG-W")
	a := et.Group(41)
	h.Determine(et.OptInEligible(a, py25))
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	h.Auth.ConnectRepresentative("vg-rep", a.TIN)
	_, err := h.Service.ElectVirtualGroup(bg, h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative}),
		election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{a.TIN}})
	require.NoError(t, err)
	n := logLen(t, h)
	_, err = h.Service.Execute(bg, h.Rep(a.TIN), py25, a, election.Withdraw{Reason: "leaving", VirtualGroupID: vg.ID})
	assert.ErrorIs(t, err, election.ErrInvalidCommand, "only the virtual group revises or retracts its election")
	assert.Equal(t, n, logLen(t, h))
	st, _ := h.Service.State(bg, py25, a)
	assert.Equal(t, election.PhasePending, st.Phase)
	assert.Equal(t, vg.ID, st.Pending.VirtualGroupID)
}

// TestRedCommandIDReusedConcurrently: two commands with one ID and other
// content (another participant) race, on every store; one is refused with
// ErrCommandIDReused and appends nothing (issue 14.7). Both pass the claim
// check before either appends. Where the store refuses the second use of
// the derived event IDs across streams (memory, file, PostgreSQL) the loser
// finds the winner's claim when its append is refused; where event IDs are
// unique per stream only (EventStoreDB, and memory playing it) the claim is
// recorded before the events, and the loser is refused there. (Before the
// claim was recorded first on EventStoreDB, both elections were recorded
// there and the loser was refused after its events were in the ledger.)
func TestRedCommandIDReusedConcurrently(t *testing.T) {
	raceOneID(t, func(h *et.Harness) (func(int) error, func(int) []string) {
		ps := []events.Participant{et.Group(201), et.Group(202)}
		h.Determine(et.OptInEligible(ps[0], py24), et.OptInEligible(ps[1], py24))
		h.Auth.ConnectRepresentative("rep", ps[0].TIN)
		h.Auth.ConnectRepresentative("rep", ps[1].TIN)
		m := h.Meta(election.Actor{ID: "rep", Role: events.RolePracticeRepresentative})
		run := func(i int) error { _, err := h.Service.Request(bg, m, py24, ps[i], optIn); return err }
		return run, func(i int) []string { return []string{h.Names.Election(py24, ps[i])} }
	})
}

// TestRedVirtualGroupCommandIDReusedConcurrently: two virtual groups'
// elections with one command ID race, on every store; one is refused with
// ErrCommandIDReused and records nothing: no membership, no admission of
// its member, no opt-in. The members' admissions sit in streams of their
// own under IDs of their own, so before the claim was recorded ahead of
// them the loser's member stayed admitted to its virtual group on every
// store (and could join no other that year).
func TestRedVirtualGroupCommandIDReusedConcurrently(t *testing.T) {
	raceOneID(t, func(h *et.Harness) (func(int) error, func(int) []string) {
		py25 := events.PY(events.MIPS, 2025)
		vgs, ps := twoVirtualGroups(t, h, py25, 211)
		m := h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
		run := func(i int) error {
			_, err := h.Service.ElectVirtualGroup(bg, m, election.VirtualGroupElection{VirtualGroup: vgs[i], ProgramYear: py25,
				Members: []events.TIN{ps[i].TIN}})
			return err
		}
		return run, func(i int) []string {
			return []string{h.Names.VirtualGroup(py25, vgs[i]), h.Names.VirtualGroupMember(py25, ps[i].TIN), h.Names.Election(py25, ps[i])}
		}
	})
}

// TestRedOptOutCommandIDReusedConcurrently: two voluntary reporters'
// public-reporting opt-outs with one command ID race, on every store; one
// is refused with ErrCommandIDReused (not told it had opted out already)
// and records nothing.
func TestRedOptOutCommandIDReusedConcurrently(t *testing.T) {
	raceOneID(t, func(h *et.Harness) (func(int) error, func(int) []string) {
		ps := []events.Participant{et.Group(221), et.Group(222)}
		h.Determine(et.OptInEligible(ps[0], py24), et.OptInEligible(ps[1], py24))
		for _, p := range ps {
			h.Auth.ConnectRepresentative("rep", p.TIN)
			m := h.Rep(p.TIN)
			_, err := h.Service.Request(bg, m, py24, p, voluntary)
			require.NoError(t, err)
			m.CommandID = h.IDs.New()
			_, err = h.Service.Confirm(bg, m, py24, p, "CONFIRM")
			require.NoError(t, err)
		}
		rules, err := eligibility.Default().Rules(py24)
		require.NoError(t, err)
		h.Clock.Set(rules.PublicReportingPreview.Open.Add(24 * time.Hour))
		m := h.Meta(election.Actor{ID: "rep", Role: events.RolePracticeRepresentative})
		run := func(i int) error { _, err := h.Service.OptOutOfPublicReporting(bg, m, py24, ps[i]); return err }
		return run, func(i int) []string { return []string{h.Names.Reporting(py24, ps[i])} }
	})
}

// TestRedFinalizeCommandIDReusedConcurrently: two virtual groups'
// finalizations with one command ID race, on every store; one is refused
// with ErrCommandIDReused and confirms no member. (Each member's
// confirmation has an ID of its own, derived from the member's TIN, so no
// store would refuse the second finalization's events: its claim, recorded
// before them, does.)
func TestRedFinalizeCommandIDReusedConcurrently(t *testing.T) {
	raceOneID(t, func(h *et.Harness) (func(int) error, func(int) []string) {
		py25 := events.PY(events.MIPS, 2025)
		vgs, ps := twoVirtualGroups(t, h, py25, 231)
		for i, vg := range vgs {
			_, err := h.Service.ElectVirtualGroup(bg, h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative}),
				election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{ps[i].TIN}})
			require.NoError(t, err)
		}
		h.Clock.Set(time.Date(2025, 1, 2, 15, 0, 0, 0, time.UTC)) // past the deadline
		m := h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
		run := func(i int) error {
			res, err := h.Service.FinalizeVirtualGroup(bg, m, vgs[i], py25)
			if err == nil && (len(res.Members) != 1 || res.Members[0].Status != election.MemberConfirmed) {
				err = fmt.Errorf("finalize %d: %+v", i, res.Members)
			}
			return err
		}
		return run, func(i int) []string { return []string{h.Names.Election(py25, ps[i])} }
	})
}

// twoVirtualGroups sets the clock in py's virtual group window and makes
// two virtual groups, VG-<n> and VG-<n+1>, and two opt-in eligible
// practices, et.Group(n) and et.Group(n+1), whose representative "vg-rep"
// is each group's representative too.
func twoVirtualGroups(t *testing.T, h *et.Harness, py events.ProgramYear, n int) (vgs, ps []events.Participant) {
	t.Helper()
	rules, err := h.Table.Rules(py)
	require.NoError(t, err)
	h.Clock.Set(rules.VirtualGroupWindow.Close.Add(-21 * 24 * time.Hour))
	for i := range 2 {
		p := et.Group(n + i)
		h.Determine(et.OptInEligible(p, py))
		vg, err := events.NewVirtualGroup(fmt.Sprintf("VG-%d", n+i))
		require.NoError(t, err)
		h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
		h.Auth.ConnectRepresentative("vg-rep", p.TIN)
		vgs, ps = append(vgs, vg), append(ps, p)
	}
	return vgs, ps
}

// raceOneID races two commands sharing one command ID, made by setup on a
// harness over each store, holding the first two appends until both reach
// the store. Exactly one must be refused with ErrCommandIDReused, none of
// its streams (streams(i)) holding a record more than before; the other
// must succeed and record in each of its own.
func raceOneID(t *testing.T, setup func(h *et.Harness) (run func(i int) error, streams func(i int) []string)) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			clock := et.NewClock(eligibility.Eastern(2025, time.February, 3, 10, 0))
			var inner events.Store = memstore.New(memstore.WithClock(clock.Now))
			if open != nil {
				inner = open(t)
			}
			hs := &hookStore{Store: inner}
			h := et.New(t, et.WithStore(hs))
			run, streams := setup(h)
			before := make([][]int, 2)
			for i := range before {
				for _, stream := range streams(i) {
					before[i] = append(before[i], streamLen(t, h, stream))
				}
			}

			// Hold the first two appends (whatever their streams: the
			// commands' claims, or their events) until both have reached
			// the store, so the two commands race; a command refused before
			// it appends lets the other go after a second.
			var arrivals atomic.Int32
			both := make(chan struct{})
			hs.hook = func(_ context.Context, stream string) error {
				switch arrivals.Add(1) {
				case 1:
					select {
					case <-both:
					case <-time.After(time.Second):
					}
				case 2:
					close(both)
				}
				return nil
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { errs[i] = run(i) })
			}
			wg.Wait()
			refused := 0
			for i, err := range errs {
				lost := errors.Is(err, election.ErrCommandIDReused)
				if lost {
					refused++
				} else {
					assert.NoError(t, err)
				}
				for k, stream := range streams(i) {
					n := streamLen(t, h, stream)
					if lost {
						assert.Equal(t, before[i][k], n, "the refused command %d recorded nothing in %s", i, stream)
					} else {
						assert.Greater(t, n, before[i][k], "the command %d that went through recorded in %s", i, stream)
					}
				}
			}
			assert.Equal(t, 1, refused, "exactly one of the two uses of the ID is refused, with ErrCommandIDReused")
		})
	}
}

// streamLen counts a stream's records.
func streamLen(t *testing.T, h *et.Harness, stream string) int {
	t.Helper()
	n := 0
	for _, err := range h.Store.ReadStream(bg, stream, 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return 0
		}
		require.NoError(t, err)
		n++
	}
	return n
}

// TestRedBatchReusedAfterAnInterruptedRun: an upload the store interrupted
// has not bound its command ID yet; the same ID then comes back with another
// choice for an entry already recorded. Issue 14.7: refused with
// ErrCommandIDReused, never answered with the earlier receipt. Instead the
// entry reads "selected" with the new choice (counts included) while the
// ledger holds the old one.
func TestRedBatchReusedAfterAnInterruptedRun(t *testing.T) {
	h, hs := newHooked(t)
	a, b := et.Group(211), et.Group(212)
	h.Determine(et.OptInEligible(a, py24), et.OptInEligible(b, py24))
	reg := h.RegistryActor("QCDR-I", a.TIN, b.TIN)
	failB := h.Names.Election(py24, b)
	hs.hook = func(_ context.Context, stream string) error {
		if stream == failB {
			return errors.New("disk full")
		}
		return nil
	}
	batch := election.Batch{ID: "up-i", ProgramYear: py24, Entries: []election.BatchEntry{
		{Participant: a, Choice: events.ChoiceOptIn}, {Participant: b, Choice: events.ChoiceOptIn}}}
	_, err := h.Service.SubmitBatch(bg, reg, batch)
	require.ErrorIs(t, err, election.ErrBatchIncomplete)
	hs.hook = nil

	changed := batch
	changed.Entries = []election.BatchEntry{{Participant: a, Choice: events.ChoiceVoluntary}, {Participant: b, Choice: events.ChoiceOptIn}}
	res, err := h.Service.SubmitBatch(bg, reg, changed)
	if assert.ErrorIs(t, err, election.ErrCommandIDReused, "the same ID with another choice for entry 0") {
		return
	}
	// What happens instead: entry 0 is "selected" as voluntary, the counts
	// say one voluntary, and the ledger holds an opt-in.
	st, _ := h.Service.State(bg, py24, a)
	t.Errorf("entry 0: %v %v (replayed %v); counts %+v; the ledger holds %v", res.Entries[0].Status, res.Entries[0].Choice,
		res.Entries[0].Receipt.Replayed, res.Counts, st.Pending.Choice)
}

// TestRedConfirmBatchReportsTheEntryNotTheSelection: ConfirmBatch takes the
// batch's entries on trust: an entry saying opt-in confirms whatever the
// upload selected for the participant (here voluntary reporting) and the
// result counts and reports an opt-in. Rules §4: counts per choice are
// shown before confirming; issue 14: batch counts must not show choices
// never recorded.
func TestRedConfirmBatchReportsTheEntryNotTheSelection(t *testing.T) {
	h := et.New(t)
	a := et.Group(221)
	h.Determine(et.OptInEligible(a, py24))
	reg := h.RegistryActor("QCDR-K", a.TIN)
	submitted := election.Batch{ID: "up-k", ProgramYear: py24, Entries: []election.BatchEntry{{Participant: a, Choice: events.ChoiceVoluntary}}}
	_, err := h.Service.SubmitBatch(bg, reg, submitted)
	require.NoError(t, err)
	confirmed := submitted
	confirmed.Entries = []election.BatchEntry{{Participant: a, Choice: events.ChoiceOptIn}}
	res, err := h.Service.ConfirmBatch(bg, h.RegistryActor("QCDR-K"), confirmed, "CONFIRM")
	require.NoError(t, err)
	st, _ := h.Service.State(bg, py24, a)
	if st.Phase == election.PhaseFinal {
		assert.Equal(t, res.Entries[0].Choice, st.Confirmed.Choice, "the result reports the choice that became final")
		assert.Equal(t, 0, res.Counts.OptIn, "no opt-in was confirmed")
	}
	assert.Equal(t, election.EntryRefused, res.Entries[0].Status, "an entry whose choice is not the one selected is refused")
}

// TestRedCancelAfterConfirmation: rules §4: "cancelling the upload before
// confirmation cancels the entire upload". After ConfirmBatch the
// elections are final; CancelBatch still records an UploadCancelled naming
// every participant, which tells the submission pipeline to discard the
// data of participants whose opt-in is final (scored 0 without it), and
// reports success.
func TestRedCancelAfterConfirmation(t *testing.T) {
	h := et.New(t)
	a := et.Group(231)
	h.Determine(et.OptInEligible(a, py24))
	batch := election.Batch{ID: "up-c", ProgramYear: py24, Entries: []election.BatchEntry{{Participant: a, Choice: events.ChoiceOptIn}}}
	_, err := h.Service.SubmitBatch(bg, h.RegistryActor("QCDR-F", a.TIN), batch)
	require.NoError(t, err)
	_, err = h.Service.ConfirmBatch(bg, h.RegistryActor("QCDR-F"), batch, "CONFIRM")
	require.NoError(t, err)
	n := logLen(t, h)
	_, err = h.Service.CancelBatch(bg, h.RegistryActor("QCDR-F"), batch)
	assert.ErrorIs(t, err, election.ErrElectionFinal, "a confirmed upload cannot be cancelled")
	assert.Equal(t, n, logLen(t, h), "a refused cancellation records nothing")
	for _, err := range h.Store.ReadStream(bg, h.Names.Upload(py24, "QCDR-F", "up-c"), 0) {
		assert.ErrorIs(t, err, events.ErrStreamNotFound, "no UploadCancelled for a confirmed upload")
	}
}

// TestRedRefusalsNeverEchoATIN: every refusal the Service gives for a
// group or a clinician names the TIN masked (promise held).
func TestRedRefusalsNeverEchoATIN(t *testing.T) {
	h := et.New(t)
	p := et.Group(987654321)
	c := et.Clinician(987654321, 7)
	h.Determine(et.Determination(p, py24, events.StatusRequired), et.Determination(c, py24, events.StatusExempt))
	full := p.TIN.Digits()
	var errs []error
	_, err := h.Service.Request(bg, h.Rep(p.TIN), py24, p, optIn)
	errs = append(errs, err)
	_, err = h.Service.Request(bg, h.Rep(c.TIN), py24, c, optIn)
	errs = append(errs, err)
	_, err = h.Service.Request(bg, h.Rep(et.TIN(1)), py24, p, optIn) // unauthorized
	errs = append(errs, err)
	_, err = h.Service.Confirm(bg, h.Rep(p.TIN), py24, p, "confirm")
	errs = append(errs, err)
	_, err = h.Service.ExecutePartialQP(bg, h.Rep(p.TIN), py24, p, pqpReq)
	errs = append(errs, err)
	reg := h.RegistryActor("QCDR-T", p.TIN)
	reg.OnBehalfOf = et.Group(123456789)
	_, err = h.Service.Request(bg, reg, py24, p, optIn)
	errs = append(errs, err)
	res, _ := h.Service.SubmitBatch(bg, h.RegistryActor("QCDR-T"), election.Batch{ID: "b", ProgramYear: py24,
		Entries: []election.BatchEntry{{Participant: p, Choice: events.ChoiceOptIn}, {Participant: p, Choice: events.ChoiceOptIn}}})
	for _, e := range res.Entries {
		errs = append(errs, e.Err)
	}
	g, err := h.Service.MaySubmit(bg, py24, c, events.PathwayAPP)
	require.NoError(t, err)
	errs = append(errs, g.Reason, errors.New(g.Detail))
	for i, err := range errs {
		if err == nil {
			continue
		}
		assert.NotContains(t, err.Error(), full, "error %d: %v", i, err)
		assert.NotContains(t, err.Error(), "123456789", "error %d", i)
	}
	assert.True(t, strings.Contains(errs[0].Error(), "*****"+p.TIN.Last4()))
}

// TestRedSameCommandRacing: one command (same ID, same content) sent at
// once by many goroutines through two Services over one store, on every
// store: every caller gets the same receipt, the stream holds the events
// once, and the log verifies (promise held).
func TestRedSameCommandRacing(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			var opts []et.HarnessOption
			if open != nil {
				opts = append(opts, et.WithStore(open(t)))
			}
			h := et.New(t, opts...)
			other, err := election.NewService(election.Config{Store: h.Store, Names: h.Names, Authorizer: h.Auth,
				Registry: h.Registry, Table: h.Table, Clock: h.Clock.Now})
			require.NoError(t, err)
			p := et.Group(241)
			h.Determine(et.OptInEligible(p, py24))
			req := h.Rep(p.TIN)
			conf := req
			conf.CommandID = h.IDs.New()
			for step, run := range []func(s *election.Service) (election.Receipt, error){
				func(s *election.Service) (election.Receipt, error) { return s.Request(bg, req, py24, p, optIn) },
				func(s *election.Service) (election.Receipt, error) { return s.Confirm(bg, conf, py24, p, "CONFIRM") },
			} {
				const racers = 16
				rcs, errs := make([]election.Receipt, racers), make([]error, racers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range racers {
					s := h.Service
					if i%2 == 1 {
						s = other
					}
					wg.Go(func() { <-start; rcs[i], errs[i] = run(s) })
				}
				close(start)
				wg.Wait()
				for i := range racers {
					require.NoError(t, errs[i], "step %d racer %d", step, i)
					assert.Equal(t, rcs[0].Hash, rcs[i].Hash, "step %d racer %d: the same receipt", step, i)
					assert.Equal(t, rcs[0].Revision, rcs[i].Revision)
				}
				assert.Len(t, h.Stream(py24, p), step+1, "step %d: recorded once", step)
			}
			_, err = chain.VerifyChains(bg, h.Store)
			require.NoError(t, err)
		})
	}
}

// TestRedTwoRegistriesSameBatchID: batch IDs are the registry's own (the
// upload stream is named by organization and ID), yet a pending selection
// remembers only the ID. Two registries authorized for one TIN, each
// naming its upload "upload-1": the second registry's ConfirmBatch
// confirms the first registry's selection (here voluntary reporting, while
// the second registry's own entry said opt-in).
func TestRedTwoRegistriesSameBatchID(t *testing.T) {
	h := et.New(t)
	x := et.Group(251)
	h.Determine(et.OptInEligible(x, py24))
	mine := election.Batch{ID: "upload-1", ProgramYear: py24, Entries: []election.BatchEntry{{Participant: x, Choice: events.ChoiceVoluntary}}}
	_, err := h.Service.SubmitBatch(bg, h.RegistryActor("QCDR-A", x.TIN), mine)
	require.NoError(t, err)
	theirs := election.Batch{ID: "upload-1", ProgramYear: py24, Entries: []election.BatchEntry{{Participant: x, Choice: events.ChoiceOptIn}}}
	res, err := h.Service.ConfirmBatch(bg, h.RegistryActor("QCDR-B", x.TIN), theirs, "CONFIRM")
	require.NoError(t, err)
	assert.Equal(t, election.EntryRefused, res.Entries[0].Status, "QCDR-B's upload-1 never selected anything for the TIN")
	assert.ErrorIs(t, res.Entries[0].Err, election.ErrWrongBatch)
	st, _ := h.Service.State(bg, py24, x)
	assert.Equal(t, election.PhasePending, st.Phase, "QCDR-A's selection is still QCDR-A's to confirm")
}

// TestRedConfirmRechecksTheStanding: the decider's context carries the
// reconciled standing (issue 13.3), and only an opt-in eligible participant
// elects (rules §4). A request made while opt-in eligible is confirmed
// after a QP determination (recorded between the two steps) found the
// clinician a QP: the confirmation does not look, and the opt-in of a QP
// becomes final.
func TestRedConfirmRechecksTheStanding(t *testing.T) {
	h := et.New(t)
	c := et.Clinician(261, 1)
	h.Determine(et.OptInEligible(c, py24), et.OptInEligible(c, py24, et.Segment2()))
	m := h.Rep(c.TIN)
	_, err := h.Service.Request(bg, m, py24, c, optIn)
	require.NoError(t, err)
	foundQP := func(d *events.EligibilityDetermined) {
		d.Source, d.DeterminedAt = events.SourceImport, time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)
	}
	h.Determine(et.Determination(c, py24, events.StatusExcluded, foundQP))
	n := logLen(t, h)
	m.CommandID = h.IDs.New()
	_, err = h.Service.Confirm(bg, m, py24, c, "CONFIRM")
	assert.ErrorIs(t, err, election.ErrNotOptInEligible, "a QP is not opt-in eligible: its selection cannot become binding")
	assert.Equal(t, n, logLen(t, h), "a refused confirmation appends nothing")
	st, err := h.Service.State(bg, py24, c)
	require.NoError(t, err)
	assert.Equal(t, election.PhasePending, st.Phase, "the selection stays pending, never final")

	// A Partial QP election likewise: an individually assessed Partial QP
	// found a QP between its request and its confirmation.
	pqp := et.Clinician(261, 2)
	h.Determine(et.Determination(pqp, py24, events.StatusPartialQP, individually()))
	h.Auth.RegisterClinician("dr-pqp", pqp)
	dm := h.Meta(election.Actor{ID: "dr-pqp", Role: events.RoleClinician})
	_, err = h.Service.ExecutePartialQP(bg, dm, py24, pqp, pqpReq)
	require.NoError(t, err)
	h.Determine(et.Determination(pqp, py24, events.StatusExcluded, foundQP, individually()))
	n = logLen(t, h)
	dm.CommandID = h.IDs.New()
	_, err = h.Service.ExecutePartialQP(bg, dm, py24, pqp, election.Confirm{Phrase: "CONFIRM"})
	assert.ErrorIs(t, err, election.ErrNotPartialQP, "a QP makes no Partial QP election")
	assert.Equal(t, n, logLen(t, h), "a refused confirmation appends nothing")
}

// TestRedOnBehalfOfForAnEntity: rules: a command on behalf of a client is
// checked by the Authorizer: the actor may act for the client, and the
// participant is the client's. For an APM Entity's (or a virtual group's)
// election the second half is not checked: an entity representative also
// connected to a practice records the entity's election "on behalf of"
// that practice, which the entity does not belong to.
func TestRedOnBehalfOfForAnEntity(t *testing.T) {
	h := et.New(t)
	apm, _ := events.NewAPMEntity("APM-OBO")
	x := et.Group(271)
	h.Auth.ConnectAPMEntityRepresentative("apm-rep", apm.ID)
	h.Auth.ConnectRepresentative("apm-rep", x.TIN)
	n := logLen(t, h)
	m := h.Meta(election.Actor{ID: "apm-rep", Role: events.RolePracticeRepresentative})
	m.OnBehalfOf = x
	_, err := h.Service.ExecutePartialQP(bg, m, py24, apm, pqpReq)
	assert.ErrorIs(t, err, election.ErrUnauthorized, "an APM Entity's election is made on behalf of no practice")
	assert.Equal(t, n, logLen(t, h), "a refused command appends nothing")

	// A virtual group's election likewise.
	py25 := events.PY(events.MIPS, 2025)
	h.Clock.Set(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC))
	vg, _ := events.NewVirtualGroup("VG-OBO")
	h.Determine(et.OptInEligible(x, py25))
	h.Auth.ConnectVirtualGroupRepresentative("apm-rep", vg.ID)
	n = logLen(t, h)
	m = h.Meta(election.Actor{ID: "apm-rep", Role: events.RolePracticeRepresentative})
	m.OnBehalfOf = x
	_, err = h.Service.ElectVirtualGroup(bg, m, election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{x.TIN}})
	assert.ErrorIs(t, err, election.ErrUnauthorized, "a virtual group's election is made on behalf of no practice")
	assert.Equal(t, n, logLen(t, h), "a refused command appends nothing")
}

// TestRedReceiptsLoggedWholeHideTheTIN: rules §2: a TIN never appears in
// full in a log line, including a struct logged whole, at any depth. A
// Receipt, a batch's result or a virtual group's result logged with slog's
// JSON handler (or marshalled for a client) carries the participant's TIN
// in full: events.Participant's JSON form is the payload codec's.
func TestRedReceiptsLoggedWholeHideTheTIN(t *testing.T) {
	h := et.New(t)
	p := et.Group(987654321)
	h.Determine(et.OptInEligible(p, py24))
	rc, err := h.Service.Request(bg, h.Rep(p.TIN), py24, p, optIn)
	require.NoError(t, err)
	res, _ := h.Service.PreviewBatch(bg, h.RegistryActor("QCDR-L", p.TIN), election.Batch{ID: "l", ProgramYear: py24,
		Entries: []election.BatchEntry{{Participant: p, Choice: events.ChoiceOptIn}}})
	vres := election.VirtualGroupResult{Members: []election.MemberResult{{TIN: p.TIN, Status: election.MemberRefused}}}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("elected", "receipt", rc, "batch", res, "vg", vres)
	assert.NotContains(t, buf.String(), p.TIN.Digits(), "log line: %s", buf.String())
	b, err := stdjson.Marshal(rc)
	require.NoError(t, err)
	assert.NotContains(t, string(b), p.TIN.Digits(), "JSON: %s", b)
	// A batch's result does not marshal at all: an entry's zero Receipt
	// holds the zero participant (the failure issue 15.8 fixed for
	// StatusView).
	_, err = stdjson.Marshal(res)
	assert.NoError(t, err, "a batch's result marshals")
	_, err = stdjson.Marshal(vres)
	assert.NoError(t, err, "a virtual group's result marshals")
}

// TestRedTwoVirtualGroupsRaceForOneTIN: two virtual groups list one TIN at
// the same instant, their admissions held until both reach the store, on
// every store: exactly one admits it (the other is refused with
// ErrMemberOfAnother and records nothing), and the TIN's election holds
// one opt-in, through the winner (promise held).
func TestRedTwoVirtualGroupsRaceForOneTIN(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			clock := et.NewClock(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC))
			var inner events.Store = memstore.New(memstore.WithClock(clock.Now))
			if open != nil {
				inner = open(t)
			}
			hs := &hookStore{Store: inner}
			h := et.New(t, et.WithStore(hs), et.WithTime(clock.Now()))
			x := et.Group(281)
			h.Determine(et.OptInEligible(x, py25))
			vgs := make([]events.Participant, 2)
			for i := range vgs {
				vgs[i], _ = events.NewVirtualGroup("VG-RACE-" + string(rune('A'+i)))
				h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vgs[i].ID)
			}
			h.Auth.ConnectRepresentative("vg-rep", x.TIN)
			member := h.Names.VirtualGroupMember(py25, x.TIN)
			var arrived sync.WaitGroup
			arrived.Add(2)
			var held atomic.Int32
			hs.hook = func(_ context.Context, stream string) error {
				if stream == member && held.Add(1) <= 2 {
					arrived.Done()
					arrived.Wait()
				}
				return nil
			}
			results := make([]election.VirtualGroupResult, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range vgs {
				m := h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
				wg.Go(func() {
					results[i], errs[i] = h.Service.ElectVirtualGroup(bg, m, election.VirtualGroupElection{VirtualGroup: vgs[i], ProgramYear: py25, Members: []events.TIN{x.TIN}})
				})
			}
			wg.Wait()
			winners := 0
			for i := range vgs {
				if errs[i] == nil {
					winners++
					assert.Equal(t, election.MemberOptedIn, results[i].Members[0].Status)
					st, err := h.Service.State(bg, py25, x)
					require.NoError(t, err)
					assert.Equal(t, vgs[i].ID, st.Pending.VirtualGroupID)
				} else {
					assert.ErrorIs(t, errs[i], election.ErrNoEligibleMember)
					assert.ErrorIs(t, results[i].Members[0].Err, eligibility.ErrMemberOfAnother)
					for _, err := range h.Store.ReadStream(bg, h.Names.VirtualGroup(py25, vgs[i]), 0) {
						assert.ErrorIs(t, err, events.ErrStreamNotFound, "the loser records no membership")
					}
				}
			}
			assert.Equal(t, 1, winners)
			assert.Len(t, h.Stream(py25, x), 1, "one opt-in, through the winner")
		})
	}
}

// TestRedConfirmWithdrawRaceOnEveryStore: a confirmation and a withdrawal
// of one pending request race through two Services over one store (two
// processes), on every store: exactly one lands, the loser is refused by a
// rule (final, or nothing pending) and appends nothing, and the stream
// holds the request and the winner (promise held).
func TestRedConfirmWithdrawRaceOnEveryStore(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			var opts []et.HarnessOption
			if open != nil {
				opts = append(opts, et.WithStore(open(t)))
			}
			h := et.New(t, opts...)
			other, err := election.NewService(election.Config{Store: h.Store, Names: h.Names, Authorizer: h.Auth,
				Registry: h.Registry, Table: h.Table, Clock: h.Clock.Now})
			require.NoError(t, err)
			for i := range 10 {
				p := et.Group(300 + i)
				h.Determine(et.OptInEligible(p, py24))
				_, err := h.Service.Request(bg, h.Rep(p.TIN), py24, p, optIn)
				require.NoError(t, err)
				// Warm both caches, so each races from a cached state.
				_, _ = h.Service.State(bg, py24, p)
				_, _ = other.State(bg, py24, p)
				c, w := h.Rep(p.TIN), h.Rep(p.TIN)
				start := make(chan struct{})
				var cerr, werr error
				var wg sync.WaitGroup
				wg.Go(func() { <-start; _, cerr = h.Service.Confirm(bg, c, py24, p, "CONFIRM") })
				wg.Go(func() { <-start; _, werr = other.Withdraw(bg, w, py24, p, "race") })
				close(start)
				wg.Wait()
				assert.True(t, (cerr == nil) != (werr == nil), "%v: exactly one wins (confirm %v, withdraw %v)", p, cerr, werr)
				for _, err := range []error{cerr, werr} {
					if err != nil {
						assert.True(t, errors.Is(err, election.ErrElectionFinal) || errors.Is(err, election.ErrNothingPending), "%v: %v", p, err)
					}
				}
				assert.Len(t, h.Stream(py24, p), 2, "%v", p)
			}
			_, err = chain.VerifyChains(bg, h.Store)
			require.NoError(t, err)
		})
	}
}

// TestRedGateForAVirtualGroup: a virtual group's election is final at its
// deadline with every member's opt-in (rules §4); virtual groups report
// traditional MIPS, neither the APP nor MVPs (§4). At the submission gate
// (issue 14.4): the virtual group itself is refused every pathway for want
// of an eligibility determination, with no rule for the APP or MVPs; and a
// member TIN, after the deadline, is told "the pending selection is not
// confirmed; type CONFIRM first", which the decider refuses as final, until
// a scheduler runs FinalizeVirtualGroup, after which the same question gets
// another answer.
func TestRedGateForAVirtualGroup(t *testing.T) {
	py25 := events.PY(events.MIPS, 2025)
	h := et.New(t, et.WithTime(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC)))
	vg, _ := events.NewVirtualGroup("VG-G")
	a := et.Group(291)
	h.Determine(et.OptInEligible(a, py25))
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	h.Auth.ConnectRepresentative("vg-rep", a.TIN)
	vgm := func() election.Meta {
		return h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}
	_, err := h.Service.ElectVirtualGroup(bg, vgm(), election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: []events.TIN{a.TIN}})
	require.NoError(t, err)
	early, err := h.Service.MaySubmit(bg, py25, vg, events.PathwayTraditional)
	require.NoError(t, err)
	assert.False(t, early.Allowed, "before its deadline the virtual group's election may still be revised or retracted")
	assert.ErrorIs(t, early.Reason, election.ErrNoConfirmedElection)
	h.Clock.Set(time.Date(2026, 2, 10, 15, 0, 0, 0, time.UTC))

	before, err := h.Service.MaySubmit(bg, py25, a, events.PathwayTraditional)
	require.NoError(t, err)
	assert.NotContains(t, before.Detail, "type CONFIRM", "the member cannot confirm: its opt-in is final since the deadline")
	assert.True(t, before.Allowed && !before.Voluntary, "opted in through the virtual group: %v %s", before.Reason, before.Detail)
	_, err = h.Service.FinalizeVirtualGroup(bg, vgm(), vg, py25)
	require.NoError(t, err)
	after, err := h.Service.MaySubmit(bg, py25, a, events.PathwayTraditional)
	require.NoError(t, err)
	assert.Equal(t, after.Allowed, before.Allowed, "the same answer before and after FinalizeVirtualGroup")
	assert.Equal(t, after.Voluntary, before.Voluntary)

	g, err := h.Service.MaySubmit(bg, py25, vg, events.PathwayTraditional)
	require.NoError(t, err)
	assert.True(t, g.Allowed, "a virtual group with a final election reports traditional MIPS: %v %s", g.Reason, g.Detail)
	for _, pw := range []events.Pathway{events.PathwayAPP, events.PathwayMVP} {
		g, err := h.Service.MaySubmit(bg, py25, vg, pw)
		require.NoError(t, err)
		assert.False(t, g.Allowed)
		assert.NotErrorIs(t, g.Reason, election.ErrNoDetermination, "%v: refused by the rule that virtual groups report neither the APP nor MVPs", pw)
	}
}
