package election

import (
	"context"
	"errors"
	"fmt"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// DecideVirtualGroupOptIn returns the events by which a virtual group's
// election confirms a member group's opt-in: a request and its confirmation
// (after withdrawing a pending request of the member's own). A member whose
// election is final is refused with ErrElectionFinal: it keeps its election.
func DecideVirtualGroupOptIn(s State, virtualGroupID string, ctx Context) ([]events.Event, error) {
	p, py := ctx.Participant, ctx.ProgramYear
	if s.Phase == PhaseFinal {
		return Decide(s, Confirm{Phrase: ConfirmPhrase}, ctx) // the final-state refusal
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
	next := s.Next
	if s.Phase == PhasePending {
		out = append(out, events.ElectionRequestWithdrawn{Participant: p, ProgramYear: py, WithdrawnAt: ctx.Now.UTC(),
			Reason: "superseded by virtual group " + virtualGroupID, BatchID: s.Pending.BatchID})
		next++
	}
	out = append(out,
		events.ElectionRequested{Participant: p, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
			RequestedAt: ctx.Now.UTC(), VirtualGroupID: virtualGroupID},
		events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
			ConfirmedAt: ctx.Now.UTC(), RequestRevision: next, VirtualGroupID: virtualGroupID})
	return out, nil
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
	MemberOptedIn          MemberStatus = iota // opted in by the virtual group: final
	MemberKeptFinal                            // already final: keeps its own election (reported, not changed)
	MemberNotOptInEligible                     // above the threshold: a member, not opted in
	MemberFailed                               // the store failed; re-run to complete
	// MemberRefused: the TIN may not be a member (eligibility.MemberError in
	// Err: below the threshold in the membership period, too many eligible
	// clinicians, already in another virtual group); it is not recorded as
	// a member.
	MemberRefused
)

// String returns the MemberStatus in words.
func (s MemberStatus) String() string {
	return [...]string{"opted in", "kept its final election", "a member, not opt-in eligible", "failed", "refused as a member"}[s]
}

// MemberResult is one member's outcome.
type MemberResult struct {
	TIN     events.TIN
	Status  MemberStatus
	Receipt Receipt   // the member's confirmation (MemberOptedIn)
	Kept    Selection // the member's own final election (MemberKeptFinal)
	Err     error
}

// VirtualGroupResult is a virtual group election's outcome.
type VirtualGroupResult struct {
	Membership Receipt // the recorded membership
	Members    []MemberResult
}

// ElectVirtualGroup records a virtual group's election within the virtual
// group window. Each listed TIN is first judged for membership
// (eligibility.Rules.CheckVirtualGroupMember: above the low-volume
// threshold or opt-in eligible in the membership period, at most the
// year's number of eligible clinicians, in no other virtual group that
// year); a TIN that fails is reported by name (masked) with the rule
// (MemberRefused) and is never recorded as a member. Each admitted TIN is
// recorded in its own membership stream (one virtual group per TIN a year),
// the membership lists the admitted TINs, and each admitted member that is
// opt-in eligible is opted in, final. A member whose own election is
// already final keeps it and is reported. When no listed TIN may be a
// member, the election is refused (ErrNoEligibleMember) and nothing is
// recorded. Retrying with the same command ID completes a run the store
// interrupted, with no duplicate event.
func (s *Service) ElectVirtualGroup(ctx context.Context, m Meta, e VirtualGroupElection) (VirtualGroupResult, error) {
	vg, py := e.VirtualGroup, e.ProgramYear
	if vg.Kind != events.KindVirtualGroup {
		return VirtualGroupResult{}, refuse(ErrInvalidCommand, vg, py, "not a virtual group", "name the virtual group (events.NewVirtualGroup)")
	}
	if len(e.Members) == 0 {
		return VirtualGroupResult{}, refuse(ErrInvalidCommand, vg, py, "no members", "list the member TINs")
	}
	dctx, err := s.prepare(ctx, m, py, vg, true)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	dctx.Window = dctx.Rules.VirtualGroupWindow
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
	var out VirtualGroupResult
	out.Members = make([]MemberResult, len(e.Members))
	var admitted []events.TIN
	for i, tin := range e.Members {
		err := s.admit(ctx, m, dctx, tin)
		var me *eligibility.MemberError
		switch {
		case err == nil:
			admitted = append(admitted, tin)
		case errors.As(err, &me):
			out.Members[i] = MemberResult{TIN: tin, Status: MemberRefused, Err: err}
		default:
			return VirtualGroupResult{}, fmt.Errorf("election: admit a member of %v: %w", vg, err)
		}
	}
	if len(admitted) == 0 {
		return out, refuse(ErrNoEligibleMember, vg, py, fmt.Sprintf("none of the %d listed TINs may be a member (see each member's result)", len(e.Members)),
			"list TINs above the low-volume threshold or opt-in eligible in the membership period, with at most 10 eligible clinicians, in no other virtual group")
	}
	md := s.metadata(m, vg)
	data, err := s.reg.Encode(eventID(m.CommandID, 0), events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py,
		Members: admitted, EffectiveAt: dctx.Now.UTC()}, md)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	stream := s.names.VirtualGroup(py, vg)
	res, err := s.store.Append(ctx, stream, events.Any, data)
	if errors.Is(err, events.ErrDuplicateEvent) {
		// A retry: the membership is recorded with the first attempt's time.
		if res, err = s.findByCommand(ctx, stream, m); err == nil && res == (events.AppendResult{}) {
			err = refuse(ErrCommandIDReused, vg, py, "", "give a new command a new ID")
		}
	}
	if err != nil {
		return VirtualGroupResult{}, err
	}
	out.Membership = Receipt{Participant: vg, ProgramYear: py, Stream: stream, Type: events.TypeVirtualGroupMembership,
		Revision: res.Revision, Position: res.Position, Hash: res.Hash}

	for i, tin := range e.Members {
		if out.Members[i].Status == MemberRefused {
			continue
		}
		member := events.Group(tin)
		sub := m
		sub.CommandID = SubCommandID(m.CommandID, "member/"+tin.Digits())
		sub.CorrelationID = m.CommandID
		mctx, err := s.prepare(ctx, sub, py, member, false) // the virtual group's authority covers its members
		if err != nil {
			out.Members[i] = MemberResult{TIN: tin, Status: MemberFailed, Err: err}
			continue
		}
		mctx.Window = dctx.Window
		var kept Selection
		rc, err := s.run(ctx, sub, mctx, func(st State, c Context) ([]events.Event, error) {
			kept = st.Confirmed
			return DecideVirtualGroupOptIn(st, vg.ID, c)
		}, events.TypeElectionConfirmed)
		var r *Refusal
		switch {
		case err == nil:
			out.Members[i] = MemberResult{TIN: tin, Status: MemberOptedIn, Receipt: rc}
		case errors.As(err, &r) && errors.Is(err, ErrElectionFinal):
			out.Members[i] = MemberResult{TIN: tin, Status: MemberKeptFinal, Kept: kept, Err: err}
		case errors.As(err, &r) && errors.Is(err, ErrNotOptInEligible):
			out.Members[i] = MemberResult{TIN: tin, Status: MemberNotOptInEligible, Err: err}
		default:
			out.Members[i] = MemberResult{TIN: tin, Status: MemberFailed, Err: err}
		}
	}
	for _, mr := range out.Members {
		if mr.Status == MemberFailed {
			return out, fmt.Errorf("%w: a member of %v failed: %v", ErrBatchIncomplete, vg, mr.Err)
		}
	}
	return out, nil
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

// admit judges a TIN for membership of the virtual group the context names
// and, if it may join, records its admission in its membership stream (once:
// a retry or a revision of the same virtual group finds it there). A TIN
// already admitted to another virtual group this year is refused; two
// virtual groups racing for one TIN append at the same expected revision,
// so only one admits it.
func (s *Service) admit(ctx context.Context, m Meta, dctx Context, tin events.TIN) error {
	py, vgID := dctx.ProgramYear, dctx.Participant.ID
	dets, err := eligibility.History(ctx, s.store, s.names, s.reg, py, events.Group(tin))
	if err != nil {
		return err
	}
	known := dets[:0:0]
	for _, d := range dets {
		if !d.DeterminedAt.After(dctx.Now) {
			known = append(known, d)
		}
	}
	stream := s.names.VirtualGroupMember(py, tin)
	for attempt := 0; attempt < s.attempts; attempt++ {
		memberOf, last, exists, err := s.membershipOf(ctx, stream)
		if err != nil {
			return err
		}
		if err := dctx.Rules.CheckVirtualGroupMember(tin, known, memberOf, vgID); err != nil {
			return err
		}
		if memberOf == vgID {
			return nil // admitted before: a retry, or a revision of the same election
		}
		sub := m
		sub.CommandID = SubCommandID(m.CommandID, "admit/"+tin.Digits())
		data, err := s.reg.Encode(eventID(sub.CommandID, 0), events.VirtualGroupMemberAdmitted{Member: events.Group(tin),
			ProgramYear: py, VirtualGroupID: vgID, AdmittedAt: dctx.Now.UTC()}, s.metadata(sub, dctx.Participant))
		if err != nil {
			return err
		}
		expected := events.NoStream
		if exists {
			expected = events.Exact(last)
		}
		_, err = s.store.Append(ctx, stream, expected, data)
		if !errors.Is(err, events.ErrWrongExpectedRevision) && !errors.Is(err, events.ErrDuplicateEvent) {
			return err
		}
		// Another virtual group (or this one, retried) got there first:
		// read again and judge again.
	}
	return fmt.Errorf("election: gave up admitting %v after %d conflicting attempts", tin, s.attempts)
}

// membershipOf reads a TIN's membership stream: the virtual group it was
// last admitted to ("" if none) and the stream's last revision.
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
		if a, ok := e.(events.VirtualGroupMemberAdmitted); ok {
			vgID = a.VirtualGroupID
		}
		last, exists = rec.Revision, true
	}
	return vgID, last, exists, nil
}
