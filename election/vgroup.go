package election

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// decideVirtualGroupOptIn decides a VirtualGroupOptIn: the member's request,
// naming the virtual group (after withdrawing a pending request of the
// member's own). The request is not confirmed now: it becomes final at the
// virtual group deadline, when FinalizeVirtualGroup records its
// confirmation dated at the deadline. A member whose election is final is
// refused with ErrElectionFinal: it keeps its election. A member already
// opted in through this virtual group needs nothing (no events, no error).
func decideVirtualGroupOptIn(s State, virtualGroupID string, ctx Context) ([]events.Event, error) {
	p, py := ctx.Participant, ctx.ProgramYear
	if s.Phase == PhaseFinal {
		return Decide(s, Confirm{Phrase: ConfirmPhrase}, ctx) // the final-state refusal
	}
	if s.Phase == PhasePending && s.Pending.VirtualGroupID == virtualGroupID {
		return nil, nil
	}
	if p.Kind != events.KindGroup {
		return nil, refuse(ErrInvalidCommand, p, py, "virtual group members are TINs", "list member TINs")
	}
	if !ctx.Eligibility.Determined() || ctx.Eligibility.Status != events.StatusOptInEligible {
		return nil, refuse(ErrNotOptInEligible, p, py, "a member that is not opt-in eligible is not opted in by the virtual group", "")
	}
	if err := checkWindow(ctx); err != nil {
		return nil, err
	}
	var out []events.Event
	if s.Phase == PhasePending {
		if s.Pending.VirtualGroupID != "" {
			return nil, refuse(ErrVirtualGroupPending, p, py, "opted in through virtual group "+s.Pending.VirtualGroupID,
				"a TIN joins at most one virtual group a year")
		}
		out = append(out, events.ElectionRequestWithdrawn{Participant: p, ProgramYear: py, WithdrawnAt: ctx.Now.UTC(),
			Reason: "superseded by virtual group " + virtualGroupID, BatchID: s.Pending.BatchID})
	}
	return append(out, events.ElectionRequested{Participant: p, ProgramYear: py, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, RequestedAt: ctx.Now.UTC(), VirtualGroupID: virtualGroupID}), nil
}

// finalThroughVirtualGroup returns s as it stands at now: a member's opt-in
// through a virtual group, pending in its stream until FinalizeVirtualGroup
// records the confirmation, is final from the virtual group deadline
// (docs/rules.md §4), confirmed at the deadline, as that confirmation will
// say. Any other state is returned as it is.
func finalThroughVirtualGroup(s State, r *eligibility.Rules, now time.Time) State {
	dl := r.VirtualGroupWindow.Close
	if s.Phase != PhasePending || s.Pending.VirtualGroupID == "" || dl.IsZero() || now.Before(dl) {
		return s
	}
	sel := s.Pending
	sel.At, sel.Revision = dl.UTC(), s.Next
	return State{Phase: PhaseFinal, Confirmed: sel, Next: s.Next + 1}
}

// VirtualGroupElection is a virtual group's election for a program year,
// listing its member TINs.
type VirtualGroupElection struct {
	VirtualGroup events.Participant
	ProgramYear  events.ProgramYear
	Members      []events.TIN
}

// MemberStatus is what a virtual group election did to one member.
type MemberStatus uint8

// Member outcomes.
const (
	// MemberOptedIn: opted in through the virtual group; final at the
	// virtual group deadline (FinalizeVirtualGroup records it).
	MemberOptedIn          MemberStatus = iota
	MemberKeptFinal                     // already final: keeps its own election (reported, not changed)
	MemberNotOptInEligible              // above the threshold: a member, not opted in
	MemberFailed                        // the store failed; re-run to complete
	// MemberRefused: the TIN may not be a member (Err: an
	// *eligibility.MemberError, or an ErrUnauthorized refusal when the
	// representative is not authorized for it); it is not recorded as a
	// member and nothing is appended for it.
	MemberRefused
	// MemberDropped: a revision left the TIN out: it is released and its
	// opt-in through the virtual group withdrawn.
	MemberDropped
	// MemberConfirmed: the virtual group's election is final and so is the
	// member's opt-in (FinalizeVirtualGroup).
	MemberConfirmed
)

// String returns the MemberStatus in words.
func (s MemberStatus) String() string {
	return [...]string{"opted in (final at the deadline)", "kept its final election", "a member, not opt-in eligible", "failed",
		"refused as a member", "dropped by a revision", "opt-in confirmed at the deadline"}[s]
}

// MemberResult is one member's outcome.
type MemberResult struct {
	TIN     events.TIN
	Status  MemberStatus
	Receipt Receipt   `json:",omitzero"` // the member's request or confirmation
	Kept    Selection // the member's own final election (MemberKeptFinal)
	Err     error
}

// VirtualGroupResult is a virtual group election's outcome.
type VirtualGroupResult struct {
	Membership Receipt `json:",omitzero"` // the recorded membership (or retraction)
	Members    []MemberResult
}

// vgWindow is the virtual group window of a year's rules.
func vgWindow(r *eligibility.Rules) eligibility.Window { return r.VirtualGroupWindow }

// prepareVirtualGroup checks a virtual group command: a virtual group, in
// a year that has them, by an actor authorized for it.
func (s *Service) prepareVirtualGroup(ctx context.Context, m Meta, vg events.Participant, py events.ProgramYear) (Context, error) {
	if vg.Kind != events.KindVirtualGroup {
		return Context{}, refuse(ErrInvalidCommand, vg, py, "not a virtual group", "name the virtual group (events.NewVirtualGroup)")
	}
	dctx, err := s.prepare(ctx, m, py, vg, true, vgWindow)
	if err != nil {
		return Context{}, err
	}
	dctx.Window = dctx.Rules.VirtualGroupWindow
	return dctx, nil
}

// ElectVirtualGroup records or revises a virtual group's election within
// the virtual group window (open through 11:59 pm US Eastern on Dec 31 of
// the year before the performance year). The representative must be
// authorized for each member TIN (the Authorizer decides per member); an
// unauthorized TIN is refused by name (masked) and nothing is appended for
// it. Each listed TIN is judged for membership
// (eligibility.Rules.CheckVirtualGroupMember: above the low-volume
// threshold or opt-in eligible in the membership period, at most the
// year's number of eligible clinicians, in no other virtual group that
// year); a TIN that fails is reported with the rule (MemberRefused) and
// never recorded as a member. Each admitted TIN is recorded in its own
// membership stream, the membership lists the admitted TINs, and each
// admitted opt-in eligible member gets a request naming the virtual group,
// which becomes final at the deadline with every other member's
// (FinalizeVirtualGroup). A revision (the same virtual group again, with a
// new command ID) releases the members it drops and withdraws their
// opt-in. A member whose own election is already final keeps it and is
// reported. When no listed TIN may be a member, the election is refused
// (ErrNoEligibleMember) and nothing is recorded. Retrying with the same
// command ID completes a run the store interrupted, with no duplicate
// event; reusing it for another member list is refused
// (ErrCommandIDReused).
func (s *Service) ElectVirtualGroup(ctx context.Context, m Meta, e VirtualGroupElection) (VirtualGroupResult, error) {
	vg, py := e.VirtualGroup, e.ProgramYear
	if len(e.Members) == 0 {
		return VirtualGroupResult{}, refuse(ErrInvalidCommand, vg, py, "no members", "list the member TINs (RetractVirtualGroup withdraws the election)")
	}
	dctx, err := s.prepareVirtualGroup(ctx, m, vg, py)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	if err := checkWindow(dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	seen := map[events.TIN]bool{}
	for _, t := range e.Members {
		if t.IsZero() || seen[t] {
			return VirtualGroupResult{}, refuse(ErrInvalidCommand, vg, py, "a member TIN is missing or listed twice", "list each member TIN once")
		}
		seen[t] = true
	}
	sorted := slices.Clone(e.Members)
	slices.SortFunc(sorted, func(a, b events.TIN) int { return int(a.Number()) - int(b.Number()) })
	claim := newClaim(m, "virtual-group.elect", py, vg, sorted)
	if err := s.checkClaim(ctx, claim, dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	// A retry finds the members its election replaced, not what a later
	// revision made of them.
	before, err := s.membershipBefore(ctx, py, vg, m.CommandID)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	out := VirtualGroupResult{Members: make([]MemberResult, len(e.Members))}
	if err := s.judgeMembers(ctx, m, dctx, e.Members, out.Members); err != nil {
		return out, err
	}
	// The ID is bound to the member list before anything is appended, on
	// every store: the members' admissions sit in their own streams under
	// IDs of their own, so no store would refuse another command's use of
	// this ID before they are recorded.
	if err := s.bindClaim(ctx, claim, dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	admitted, err := s.admitMembers(ctx, m, dctx, e.Members, out.Members)
	if err != nil {
		return out, err
	}
	dropped, err := s.dropMembers(ctx, m, dctx, before, admitted)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	if out.Membership, err = s.appendVirtualGroup(ctx, m, dctx, events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py,
		Members: admitted, EffectiveAt: dctx.Now.UTC()}); err != nil {
		return VirtualGroupResult{}, err
	}
	for i, tin := range e.Members {
		if out.Members[i].Status != MemberRefused {
			out.Members[i] = s.optInMember(ctx, m, dctx, tin)
		}
	}
	out.Members = append(out.Members, dropped...)
	return out, incomplete(vg, out.Members)
}

// judgeMembers judges each listed TIN for membership, recording nothing:
// the representative's authority for it (the Authorizer) and the
// membership rules. A TIN that fails is reported in results with its rule.
// When none may be a member, the election is refused (ErrNoEligibleMember).
func (s *Service) judgeMembers(ctx context.Context, m Meta, dctx Context, tins []events.TIN, results []MemberResult) error {
	py := dctx.ProgramYear
	for i, tin := range tins {
		err := s.auth.Authorize(ctx, m.Actor, events.Group(tin))
		if err != nil {
			err = refuse(ErrUnauthorized, events.Group(tin), py, err.Error(), "the virtual group's representative must be authorized by each member TIN")
		} else if _, _, err = s.judgeMember(ctx, dctx, tin); errors.Is(err, errAdmitted) {
			err = nil // a member already: a retry, or a revision
		}
		if err = memberRefusal(dctx.Participant, tin, err, &results[i]); err != nil {
			return err
		}
	}
	return noneAdmitted(dctx, results)
}

// noneAdmitted refuses a virtual group election none of whose listed TINs
// may be a member.
func noneAdmitted(dctx Context, results []MemberResult) error {
	for _, r := range results {
		if r.Status != MemberRefused {
			return nil
		}
	}
	return refuse(ErrNoEligibleMember, dctx.Participant, dctx.ProgramYear, fmt.Sprintf("none of the %d listed TINs may be a member (see each member's result)", len(results)),
		"list TINs the representative is authorized for, above the low-volume threshold or opt-in eligible in the membership period, with at most 10 eligible clinicians, in no other virtual group")
}

// memberRefusal reports err, a member's refusal (a membership rule or a
// Refusal), in r; any other error is returned, wrapped.
func memberRefusal(vg events.Participant, tin events.TIN, err error, r *MemberResult) error {
	var me *eligibility.MemberError
	var rf *Refusal
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me), errors.As(err, &rf):
		*r = MemberResult{TIN: tin, Status: MemberRefused, Err: err}
		return nil
	}
	return fmt.Errorf("election: admit a member of %v: %w", vg, err)
}

// admitMembers records the admission of each TIN judged admissible (those
// not refused in results), judging it again as it does so: another virtual
// group may have admitted it since. It returns the TINs admitted, and
// refuses the election (ErrNoEligibleMember) if that race took them all.
func (s *Service) admitMembers(ctx context.Context, m Meta, dctx Context, tins []events.TIN, results []MemberResult) ([]events.TIN, error) {
	var admitted []events.TIN
	for i, tin := range tins {
		if results[i].Status == MemberRefused {
			continue
		}
		if err := memberRefusal(dctx.Participant, tin, s.admit(ctx, m, dctx, tin), &results[i]); err != nil {
			return nil, err
		}
		if results[i].Status != MemberRefused {
			admitted = append(admitted, tin)
		}
	}
	return admitted, noneAdmitted(dctx, results)
}

// incomplete reports a store failure among the members' results.
func incomplete(vg events.Participant, members []MemberResult) error {
	for _, mr := range members {
		if mr.Status == MemberFailed {
			return fmt.Errorf("%w: a member of %v failed: %v", ErrBatchIncomplete, vg, mr.Err)
		}
	}
	return nil
}

// optInMember requests a member's opt-in through the virtual group.
func (s *Service) optInMember(ctx context.Context, m Meta, dctx Context, tin events.TIN) MemberResult {
	vg, py := dctx.Participant, dctx.ProgramYear
	member := events.Group(tin)
	sub := s.memberMeta(m, "member/"+tin.Digits())
	mctx, err := s.prepare(ctx, sub, py, member, false, nil) // the virtual group's authority covers its members
	if err != nil {
		return MemberResult{TIN: tin, Status: MemberFailed, Err: err}
	}
	mctx.Window = dctx.Window
	var kept Selection
	rc, err := s.run(ctx, sub, mctx, func(st State, c Context) ([]events.Event, error) {
		kept = st.Confirmed
		evs, err := Decide(st, VirtualGroupOptIn{VirtualGroupID: vg.ID}, c)
		if err == nil && len(evs) == 0 {
			return nil, errAlreadyRequested
		}
		return evs, err
	}, events.TypeElectionRequested, nil)
	var r *Refusal
	switch {
	case err == nil || errors.Is(err, errAlreadyRequested):
		return MemberResult{TIN: tin, Status: MemberOptedIn, Receipt: rc}
	case errors.As(err, &r) && errors.Is(err, ErrElectionFinal):
		return MemberResult{TIN: tin, Status: MemberKeptFinal, Kept: kept, Err: err}
	case errors.As(err, &r) && errors.Is(err, ErrNotOptInEligible):
		return MemberResult{TIN: tin, Status: MemberNotOptInEligible, Err: err}
	}
	return MemberResult{TIN: tin, Status: MemberFailed, Err: err}
}

// errAlreadyRequested: the member's opt-in through this virtual group is
// already requested (a revision keeping it, or a retry).
var errAlreadyRequested = errors.New("already opted in through this virtual group")

// memberMeta derives the command of one member's part of a virtual group
// command.
func (s *Service) memberMeta(m Meta, part string) Meta {
	sub := m
	sub.CommandID = SubCommandID(m.CommandID, part)
	sub.CorrelationID = m.CommandID
	return sub
}

// dropMembers releases the members of the virtual group's previous
// membership that the new one leaves out, withdrawing their opt-in through
// the virtual group.
func (s *Service) dropMembers(ctx context.Context, m Meta, dctx Context, before, after []events.TIN) ([]MemberResult, error) {
	var out []MemberResult
	for _, tin := range before {
		if slices.Contains(after, tin) {
			continue
		}
		mr, err := s.release(ctx, m, dctx, tin, "dropped by a revision of virtual group "+dctx.Participant.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, mr)
	}
	return out, nil
}

// release ends a TIN's membership of the virtual group: its admission is
// released and its pending opt-in through the virtual group withdrawn.
func (s *Service) release(ctx context.Context, m Meta, dctx Context, tin events.TIN, reason string) (MemberResult, error) {
	vg, py := dctx.Participant, dctx.ProgramYear
	stream := s.names.VirtualGroupMember(py, tin)
	memberOf, last, exists, err := s.membershipOf(ctx, stream)
	if err != nil {
		return MemberResult{}, err
	}
	sub := s.memberMeta(m, "release/"+tin.Digits())
	if memberOf == vg.ID {
		data, err := s.reg.Encode(eventID(s.memberMeta(m, "release-admission/"+tin.Digits()).CommandID, 0), events.VirtualGroupMemberReleased{Member: events.Group(tin), ProgramYear: py,
			VirtualGroupID: vg.ID, ReleasedAt: dctx.Now.UTC(), Reason: reason}, s.metadata(sub, vg))
		if err != nil {
			return MemberResult{}, err
		}
		expected := events.NoStream
		if exists {
			expected = events.Exact(last)
		}
		if _, err := s.store.Append(ctx, stream, expected, data); err != nil && !errors.Is(err, events.ErrDuplicateEvent) {
			return MemberResult{}, err
		}
	}
	member := events.Group(tin)
	mctx, err := s.prepare(ctx, sub, py, member, false, nil)
	if err != nil {
		return MemberResult{}, err
	}
	rc, err := s.run(ctx, sub, mctx, func(st State, c Context) ([]events.Event, error) {
		if st.Phase != PhasePending || st.Pending.VirtualGroupID != vg.ID {
			return nil, errNotOptedInHere
		}
		return Decide(st, Withdraw{Reason: reason, VirtualGroupID: vg.ID}, c)
	}, events.TypeElectionRequestWithdrawn, nil)
	if err != nil && !errors.Is(err, errNotOptedInHere) {
		return MemberResult{TIN: tin, Status: MemberFailed, Err: err}, nil
	}
	return MemberResult{TIN: tin, Status: MemberDropped, Receipt: rc}, nil
}

// errNotOptedInHere: the member has no pending opt-in through this virtual
// group (it was required, or already released).
var errNotOptedInHere = errors.New("no opt-in through this virtual group")

// RetractVirtualGroup retracts a virtual group's election before the
// virtual group deadline: every member is released and its opt-in through
// the virtual group withdrawn, and the retraction is recorded. The virtual
// group may elect again in the window.
func (s *Service) RetractVirtualGroup(ctx context.Context, m Meta, vg events.Participant, py events.ProgramYear) (VirtualGroupResult, error) {
	dctx, err := s.prepareVirtualGroup(ctx, m, vg, py)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	if err := checkWindow(dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	// A retry finds the members its retraction released (none are left).
	members, err := s.membershipBefore(ctx, py, vg, m.CommandID)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	if len(members) == 0 {
		return VirtualGroupResult{}, refuse(ErrNothingPending, vg, py, "no election to retract", "nothing to do")
	}
	claim := newClaim(m, "virtual-group.retract", py, vg, nil)
	if err := s.checkClaim(ctx, claim, dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	// Bound before anything is appended, on every store, as an election's.
	if err := s.bindClaim(ctx, claim, dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	out := VirtualGroupResult{}
	if out.Members, err = s.dropMembers(ctx, m, dctx, members, nil); err != nil {
		return VirtualGroupResult{}, err
	}
	if out.Membership, err = s.appendVirtualGroup(ctx, m, dctx, events.VirtualGroupRetracted{VirtualGroup: vg, ProgramYear: py,
		RetractedAt: dctx.Now.UTC()}); err != nil {
		return VirtualGroupResult{}, err
	}
	return out, incomplete(vg, out.Members)
}

// FinalizeVirtualGroup records, once the virtual group deadline has
// passed, the confirmation of each member's opt-in through the virtual
// group, dated at the deadline: the election became final then, every
// member's opt-in at the same instant. Members whose own election was
// already final keep it (reported). It is idempotent: run it once the
// deadline has passed (a scheduler's job), or again to complete an
// interrupted run. A retracted election confirms nothing. Its command ID
// is bound to the virtual group (ErrCommandIDReused for another).
func (s *Service) FinalizeVirtualGroup(ctx context.Context, m Meta, vg events.Participant, py events.ProgramYear) (VirtualGroupResult, error) {
	dctx, err := s.prepareVirtualGroup(ctx, m, vg, py)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	deadline := dctx.Rules.VirtualGroupWindow.Close
	if deadline.IsZero() || dctx.Now.Before(deadline) {
		return VirtualGroupResult{}, refuse(ErrVirtualGroupPending, vg, py, "the virtual group deadline is "+eligibility.FormatEastern(deadline),
			"finalize after the deadline; until then the virtual group may revise or retract its election")
	}
	members, err := s.membership(ctx, py, vg)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	claim, claimed := newClaim(m, "virtual-group.finalize", py, vg, nil), false
	if err := s.checkClaim(ctx, claim, dctx); err != nil {
		return VirtualGroupResult{}, err
	}
	out := VirtualGroupResult{}
	for _, tin := range members {
		// The command ID is bound before the first confirmation is
		// appended, on every store: each member's confirmation has an ID of
		// its own, which no store would refuse to another virtual group's
		// finalization with this command ID. A run that confirms nothing
		// (all done before) records nothing.
		if !claimed {
			st, err := s.State(ctx, py, events.Group(tin))
			if err != nil {
				return out, err
			}
			if st.Phase == PhasePending && st.Pending.VirtualGroupID == vg.ID {
				if err := s.bindClaim(ctx, claim, dctx); err != nil {
					return VirtualGroupResult{}, err
				}
				claimed = true
			}
		}
		sub := s.memberMeta(m, "finalize/"+tin.Digits())
		mctx, err := s.prepare(ctx, sub, py, events.Group(tin), false, nil)
		if err != nil {
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberFailed, Err: err})
			continue
		}
		var kept Selection
		rc, err := s.run(ctx, sub, mctx, func(st State, c Context) ([]events.Event, error) {
			kept = st.Confirmed
			if st.Phase == PhaseNone {
				return nil, errNotOptedInHere
			}
			return Decide(st, Confirm{Phrase: ConfirmPhrase, VirtualGroupID: vg.ID}, c)
		}, events.TypeElectionConfirmed, nil)
		var r *Refusal
		switch {
		case err == nil && rc.Type == events.TypeElectionConfirmed:
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberConfirmed, Receipt: rc})
		case errors.Is(err, errNotOptedInHere):
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberNotOptInEligible})
		case errors.As(err, &r) && errors.Is(err, ErrElectionFinal) && kept.VirtualGroupID == vg.ID:
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberConfirmed})
		case errors.As(err, &r) && errors.Is(err, ErrElectionFinal):
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberKeptFinal, Kept: kept, Err: err})
		case errors.As(err, &r):
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberNotOptInEligible, Err: err})
		default:
			out.Members = append(out.Members, MemberResult{TIN: tin, Status: MemberFailed, Err: err})
		}
	}
	return out, incomplete(vg, out.Members)
}

// membership reads a virtual group's current members: those of its latest
// membership, none after a retraction.
func (s *Service) membership(ctx context.Context, py events.ProgramYear, vg events.Participant) ([]events.TIN, error) {
	return s.membershipBefore(ctx, py, vg, uuid.Nil)
}

// membershipBefore reads a virtual group's members as command cmd found
// them: before cmd's record in the virtual group's stream, or the current
// members if cmd has none there. A retry of a command that went through
// thus works from what the command saw, not from what later commands made
// of the membership (which it would otherwise undo).
func (s *Service) membershipBefore(ctx context.Context, py events.ProgramYear, vg events.Participant, cmd uuid.UUID) ([]events.TIN, error) {
	var members []events.TIN
	for rec, err := range s.store.ReadStream(ctx, s.names.VirtualGroup(py, vg), 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if cmd != uuid.Nil && rec.Metadata.CommandID == cmd {
			break
		}
		e, err := s.reg.Decode(&rec)
		if err != nil {
			return nil, err
		}
		switch e := e.(type) {
		case events.VirtualGroupMembership:
			members = e.Members
		case events.VirtualGroupRetracted:
			members = nil
		}
	}
	return members, nil
}

// appendVirtualGroup appends an event to the virtual group's stream; a
// retry of the same command finds the event it recorded before.
func (s *Service) appendVirtualGroup(ctx context.Context, m Meta, dctx Context, e events.Event) (Receipt, error) {
	vg, py := dctx.Participant, dctx.ProgramYear
	data, err := s.reg.Encode(eventID(m.CommandID, 0), e, s.metadata(m, vg))
	if err != nil {
		return Receipt{}, err
	}
	stream := s.names.VirtualGroup(py, vg)
	res, err := s.store.Append(ctx, stream, events.Any, data)
	replayed := errors.Is(err, events.ErrDuplicateEvent)
	if replayed {
		// A retry: the event is recorded with the first attempt's time.
		if res, err = s.findByCommand(ctx, stream, m); err == nil && res == (events.AppendResult{}) {
			err = refuse(ErrCommandIDReused, vg, py, "", "give a new command a new ID")
		}
	}
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Participant: vg, ProgramYear: py, Stream: stream, Type: e.EventType(),
		Revision: res.Revision, Position: res.Position, LogIndex: s.logIndex(res.Position), Hash: res.Hash, Replayed: replayed}, nil
}

// judgeMember judges a TIN for membership of the virtual group the
// context names, recording nothing: the membership rules over the TIN's
// determinations known at the context's time, and the virtual group its
// membership stream names now (a TIN already admitted to another virtual
// group this year is refused). It returns the membership stream's last
// revision and whether it exists.
func (s *Service) judgeMember(ctx context.Context, dctx Context, tin events.TIN) (last uint64, exists bool, err error) {
	py, vgID := dctx.ProgramYear, dctx.Participant.ID
	dets, err := eligibility.History(ctx, s.store, s.names, s.reg, py, events.Group(tin))
	if err != nil {
		return 0, false, err
	}
	known := dets[:0:0]
	for _, d := range dets {
		if !d.DeterminedAt.After(dctx.Now) {
			known = append(known, d)
		}
	}
	memberOf, last, exists, err := s.membershipOf(ctx, s.names.VirtualGroupMember(py, tin))
	if err != nil {
		return 0, false, err
	}
	if err := dctx.Rules.CheckVirtualGroupMember(tin, known, memberOf, vgID); err != nil {
		return 0, false, err
	}
	if memberOf == vgID {
		return 0, false, errAdmitted
	}
	return last, exists, nil
}

// errAdmitted: the TIN is a member of this virtual group already (a retry,
// or a revision of the same election).
var errAdmitted = errors.New("admitted already")

// admit records the admission of a TIN the virtual group may have
// (judgeMember) in its membership stream, once: a retry or a revision of
// the same virtual group finds it there. Two virtual groups racing for one
// TIN append at the same expected revision, so only one admits it; the
// other judges again and is refused.
func (s *Service) admit(ctx context.Context, m Meta, dctx Context, tin events.TIN) error {
	py := dctx.ProgramYear
	for attempt := 0; attempt < s.attempts; attempt++ {
		last, exists, err := s.judgeMember(ctx, dctx, tin)
		if errors.Is(err, errAdmitted) {
			return nil
		}
		if err != nil {
			return err
		}
		sub := s.memberMeta(m, "admit/"+tin.Digits())
		data, err := s.reg.Encode(eventID(sub.CommandID, 0), events.VirtualGroupMemberAdmitted{Member: events.Group(tin),
			ProgramYear: py, VirtualGroupID: dctx.Participant.ID, AdmittedAt: dctx.Now.UTC()}, s.metadata(sub, dctx.Participant))
		if err != nil {
			return err
		}
		expected := events.NoStream
		if exists {
			expected = events.Exact(last)
		}
		stream := s.names.VirtualGroupMember(py, tin)
		_, err = s.store.Append(ctx, stream, expected, data)
		switch {
		case errors.Is(err, events.ErrDuplicateEvent):
			// This command admitted the TIN before (a retry; a later
			// revision may have released it since): nothing to record.
			return s.admittedBy(ctx, stream, sub, dctx, tin)
		case !errors.Is(err, events.ErrWrongExpectedRevision):
			return err
		}
		// Another virtual group (or this one, retried) got there first:
		// read again and judge again.
	}
	return fmt.Errorf("election: gave up admitting %v after %d conflicting attempts", tin, s.attempts)
}

// admittedBy answers an admission the store refused as recorded already:
// nil if the TIN's membership stream holds it (sub's), else the ID was
// used for another command's event.
func (s *Service) admittedBy(ctx context.Context, stream string, sub Meta, dctx Context, tin events.TIN) error {
	res, err := s.findByCommand(ctx, stream, sub)
	if err != nil || res != (events.AppendResult{}) {
		return err
	}
	return refuse(ErrCommandIDReused, events.Group(tin), dctx.ProgramYear, fmt.Sprintf("command %s recorded events for another command", sub.CommandID),
		"give a new command a new ID; reuse an ID only to retry the same command")
}

// membershipOf reads a TIN's membership stream: the virtual group it
// belongs to now ("" if none: never admitted, or released) and the stream's
// last revision.
func (s *Service) membershipOf(ctx context.Context, stream string) (vgID string, last uint64, exists bool, err error) {
	for rec, err := range s.store.ReadStream(ctx, stream, 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return "", 0, false, nil
		}
		if err != nil {
			return "", 0, false, err
		}
		e, err := s.reg.Decode(&rec)
		if err != nil {
			return "", 0, false, err
		}
		switch e := e.(type) {
		case events.VirtualGroupMemberAdmitted:
			vgID = e.VirtualGroupID
		case events.VirtualGroupMemberReleased:
			if e.VirtualGroupID == vgID {
				vgID = ""
			}
		}
		last, exists = rec.Revision, true
	}
	return vgID, last, exists, nil
}

// findByCommand finds the last record a command wrote to a stream.
func (s *Service) findByCommand(ctx context.Context, stream string, m Meta) (events.AppendResult, error) {
	var res events.AppendResult
	for rec, err := range s.store.ReadStream(ctx, stream, 0) {
		if err != nil {
			return res, err
		}
		if rec.Metadata.CommandID == m.CommandID {
			res = events.AppendResult{Revision: rec.Revision, Position: rec.Position, Hash: rec.Hash}
		}
	}
	return res, nil
}
