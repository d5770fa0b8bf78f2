package election

import (
	"context"
	"errors"
	"fmt"

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
	if !ctx.Determined || ctx.Eligibility.Status != events.StatusOptInEligible {
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
	MemberNotOptInEligible                     // required, exempt or excluded: a member, not opted in
	MemberFailed                               // the store failed; re-run to complete
)

// String returns the MemberStatus in words.
func (s MemberStatus) String() string {
	return [...]string{"opted in", "kept its final election", "not opt-in eligible", "failed"}[s]
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

// ElectVirtualGroup records a virtual group's membership and confirms the
// opt-in of each listed member that is opt-in eligible, within the virtual
// group election window. A member whose own election is already final keeps
// it and is reported. Retrying with the same command ID completes a run the
// store interrupted, with no duplicate event.
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
	md := s.metadata(m, vg)
	data, err := s.reg.Encode(eventID(m.CommandID, 0), events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py,
		Members: e.Members, EffectiveAt: dctx.Now.UTC()}, md)
	if err != nil {
		return VirtualGroupResult{}, err
	}
	var out VirtualGroupResult
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

	out.Members = make([]MemberResult, len(e.Members))
	for i, tin := range e.Members {
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
