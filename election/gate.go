package election

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// Reasons the submission gate refuses, besides ErrVoluntaryAPP,
// ErrAPPUnavailable and ErrMVPNotForOptIn.
var (
	// ErrNoConfirmedElection: an opt-in eligible participant must confirm an
	// election before submitting data.
	ErrNoConfirmedElection = errors.New("opt-in eligible without a confirmed election")
	// ErrExempt: an exempt participant in a program without voluntary
	// reporting has nothing to submit.
	ErrExempt = errors.New("exempt")
	// ErrExcluded: an excluded participant that may not report voluntarily
	// (a group with no eligible clinician; a practice outside a payer's
	// program) does not submit MIPS data.
	ErrExcluded = errors.New("excluded")
	// ErrNoDetermination: no eligibility determination yet.
	ErrNoDetermination = errors.New("no eligibility determination")
	// ErrAfterDataDeadline: nothing is accepted from the year's data
	// submission deadline (8 pm US Eastern) on.
	ErrAfterDataDeadline = errors.New("after the data submission deadline")
	// ErrMVPUnavailable: the program year has no MVPs.
	ErrMVPUnavailable = errors.New("no MVPs this program year")
	// ErrMVPNotForVoluntary: MVPs are not open to voluntary reporters.
	ErrMVPNotForVoluntary = errors.New("MVPs are not available to voluntary reporters")
	// ErrPartialQPNoElection: a Partial QP without a Partial QP election,
	// in a year whose Partial QPs may not report voluntarily.
	ErrPartialQPNoElection = errors.New("a Partial QP without a Partial QP election")
	// ErrVirtualGroupPathway: a virtual group reports traditional MIPS,
	// neither the APP nor MVPs.
	ErrVirtualGroupPathway = errors.New("virtual groups report traditional MIPS only")
)

// Gate is the submission gate's answer: may this participant submit data
// for this pathway now, and with what effect.
type Gate struct {
	Allowed bool
	// Voluntary: the data is a voluntary report: an informational score
	// and no payment adjustment (a voluntary election, or voluntary
	// reporting without one by a participant that is not MIPS eligible).
	Voluntary bool
	// Phase says whether the standing the answer rests on is initial
	// (segment 1 alone) or final (segment 2 reconciled with it).
	Phase eligibility.Phase
	// Status is the participant's reconciled eligibility status.
	Status events.EligibilityStatus
	// Reason is the rule that refuses (nil when allowed): one of the
	// sentinels above, ErrVoluntaryAPP, ErrAPPUnavailable or
	// ErrMVPNotForOptIn (or ErrInvalidChoice for an unknown pathway).
	Reason error
	// Detail explains the answer; Election is the confirmed election the
	// answer rests on, if any.
	Detail   string
	Election Selection
}

// GateInput is everything the submission gate decides from.
type GateInput struct {
	Rules *eligibility.Rules
	// Kind is the kind of participant that would submit: a virtual group
	// is judged by its membership (Members), not by a standing.
	Kind events.ParticipantKind
	// Standing is the participant's reconciled eligibility.
	Standing eligibility.Standing
	// Election is the participant's opt-in election; PartialQP its Partial
	// QP election (its own, or its APM Entity's for its Partial QPs).
	Election, PartialQP State
	// Members counts, for a virtual group, the member TINs of its current
	// election (0 when it made none or retracted it).
	Members int
	Pathway events.Pathway
	Now     time.Time
}

// Submission is the submission gate, a pure function (docs/rules.md §4):
//   - nothing is accepted from the data submission deadline on;
//   - MVPs only in years that have them (for an opt-in elector only where
//     the year allows, never for a voluntary reporter); the APP only in
//     years that have it, for a MIPS APM participant that is required or
//     opted in, never voluntarily;
//   - a required participant submits, scored with a payment adjustment;
//   - an opt-in eligible participant needs a confirmed election: opted in,
//     scored with an adjustment; voluntary, an informational score;
//   - a participant that is not MIPS eligible (exempt; excluded as a QP,
//     as newly enrolled in Medicare or as an ineligible clinician type) may
//     report voluntarily without an election, with no payment adjustment,
//     in programs that have voluntary reporting;
//   - a Partial QP is scored with an adjustment only after its Partial QP
//     election (PY2017: submitting data is the election); without one it
//     may report voluntarily only in the years whose flag allows it;
//   - an APM Entity not assessed against the threshold (PY2021 on)
//     reports for its clinicians;
//   - a member's opt-in through a virtual group is final from the virtual
//     group deadline, its confirmation recorded (FinalizeVirtualGroup) or
//     not;
//   - a virtual group, judged by its membership, reports traditional MIPS
//     (neither the APP nor MVPs), scored with an adjustment for its
//     members, once its election is final.
func Submission(in GateInput) Gate {
	g := gating{in: in, gate: Gate{Phase: in.Standing.Phase, Status: in.Standing.Status}}
	if refused, ok := g.checkDeadlineAndPathway(); !ok {
		return refused
	}
	if in.Kind == events.KindVirtualGroup {
		return g.virtualGroup()
	}
	st := in.Standing
	// A confirmed opt-in or voluntary election decides for an opt-in
	// eligible participant, one known only from an imported election, and
	// one a later determination found exempt by volume: the election is
	// final (a later exclusion, a QP say, still takes it out of MIPS).
	if e := finalThroughVirtualGroup(in.Election, in.Rules, in.Now); e.Phase == PhaseFinal && electionDecides(st) {
		if e.Confirmed.Choice == events.ChoiceVoluntary {
			return g.voluntary(e.Confirmed, "election confirmed: voluntary reporting")
		}
		if e.Confirmed.VirtualGroupID != "" {
			return g.scored(e.Confirmed, "opted in through virtual group "+e.Confirmed.VirtualGroupID+", final since its deadline")
		}
		return g.scored(e.Confirmed, "election confirmed: opted in")
	}
	if !st.Determined() {
		return g.deny(ErrNoDetermination, "no eligibility determination yet")
	}
	switch st.Status {
	case events.StatusRequired:
		return g.scored(Selection{}, "required to participate")
	case events.StatusOptInEligible:
		detail := "confirm an election first"
		if in.Election.Phase == PhasePending {
			detail = "the pending selection is not confirmed; type CONFIRM first"
		}
		return g.deny(ErrNoConfirmedElection, detail)
	case events.StatusExempt, events.StatusExcluded:
		return g.notMIPSEligible()
	case events.StatusPartialQP:
		return g.partialQP()
	case events.StatusNotAssessed:
		if in.Pathway == events.PathwayMVP {
			return g.deny(ErrMVPUnavailable, "an APM Entity reports traditional MIPS or the APP")
		}
		return g.allow(false, "an APM Entity reporting for its clinicians", Selection{})
	}
	return g.deny(ErrNoDetermination, "status "+st.Status.String())
}

// electionDecides reports whether a final election decides the gate's
// answer for a participant of standing st.
func electionDecides(st eligibility.Standing) bool {
	return !st.Determined() || st.Status == events.StatusOptInEligible || st.Status == events.StatusExempt
}

// gating is one run of the submission gate: its input and the answer it
// builds.
type gating struct {
	in   GateInput
	gate Gate
}

func (g *gating) deny(reason error, detail string) Gate {
	g.gate.Reason, g.gate.Detail = reason, detail
	return g.gate
}

func (g *gating) allow(voluntary bool, detail string, el Selection) Gate {
	g.gate.Allowed, g.gate.Voluntary, g.gate.Detail, g.gate.Election = true, voluntary, detail, el
	return g.gate
}

// checkDeadlineAndPathway refuses a submission after the data deadline or
// on a pathway the year does not have; ok is false when it refused.
func (g *gating) checkDeadlineAndPathway() (refused Gate, ok bool) {
	r := g.in.Rules
	if dl := r.DataSubmissionDeadline; !dl.IsZero() && !g.in.Now.Before(dl) {
		return g.deny(ErrAfterDataDeadline, fmt.Sprintf("the %v data deadline was %s", r.ProgramYear, eligibility.FormatEastern(dl))), false
	}
	switch g.in.Pathway {
	case events.PathwayTraditional:
	case events.PathwayAPP:
		if !r.APP {
			return g.deny(ErrAPPUnavailable, fmt.Sprintf("%v has no APP", r.ProgramYear)), false
		}
	case events.PathwayMVP:
		if !r.MVP {
			return g.deny(ErrMVPUnavailable, fmt.Sprintf("%v has no MVPs", r.ProgramYear)), false
		}
	default:
		return g.deny(ErrInvalidChoice, fmt.Sprintf("pathway %q", g.in.Pathway)), false
	}
	return Gate{}, true
}

// scored allows a submission scored with a payment adjustment, unless the
// pathway is closed to this participant.
func (g *gating) scored(el Selection, detail string) Gate {
	switch {
	case g.in.Pathway == events.PathwayAPP && !g.in.Standing.MIPSAPM:
		return g.deny(ErrAPPUnavailable, "not a MIPS APM participant")
	case g.in.Pathway == events.PathwayMVP && el.Choice == events.ChoiceOptIn && !g.in.Rules.MVPForOptIn:
		return g.deny(ErrMVPNotForOptIn, fmt.Sprintf("%v does not open MVPs to opt-in eligible participants", g.in.Rules.ProgramYear))
	}
	return g.allow(false, detail+" ("+g.in.Standing.Phase.String()+"): scored, with a payment adjustment", el)
}

// voluntary allows a voluntary submission, on traditional MIPS only.
func (g *gating) voluntary(el Selection, detail string) Gate {
	switch g.in.Pathway {
	case events.PathwayAPP:
		return g.deny(ErrVoluntaryAPP, "the APP cannot be reported voluntarily")
	case events.PathwayMVP:
		return g.deny(ErrMVPNotForVoluntary, "")
	}
	return g.allow(true, detail+": voluntary, no payment adjustment", el)
}

// notMIPSEligible answers for an exempt or excluded participant: voluntary
// reporting where the program has it and the participant is not MIPS
// eligible; otherwise no.
func (g *gating) notMIPSEligible() Gate {
	st := g.in.Standing
	notMIPSEligible := st.Status == events.StatusExempt || st.Exclusion == events.ExclusionQP ||
		st.Exclusion == events.ExclusionNewlyEnrolled || st.Exclusion == events.ExclusionIneligibleClinicianType
	reason, what := ErrExempt, "exempt ("+st.Basis+")"
	if st.Status == events.StatusExcluded {
		reason, what = ErrExcluded, "excluded ("+st.Exclusion.String()+")"
	}
	if !notMIPSEligible || !g.in.Rules.VoluntaryReporting {
		return g.deny(reason, what+"; no voluntary reporting for it")
	}
	return g.voluntary(Selection{}, what+", not MIPS eligible, reporting without an election")
}

// virtualGroup answers for a virtual group, which has no eligibility
// determination of its own: it is judged by its membership. It reports
// traditional MIPS only; with members, once its election is final (from
// the virtual group deadline), its submission is scored with a payment
// adjustment for its members.
func (g *gating) virtualGroup() Gate {
	r := g.in.Rules
	if g.in.Pathway != events.PathwayTraditional {
		return g.deny(ErrVirtualGroupPathway, "a virtual group reports traditional MIPS, neither the APP nor MVPs")
	}
	dl := r.VirtualGroupWindow.Close
	switch {
	case dl.IsZero():
		return g.deny(ErrNoConfirmedElection, fmt.Sprintf("%v has no virtual groups", r.ProgramYear))
	case g.in.Members == 0:
		return g.deny(ErrNoConfirmedElection, "no virtual group election: none was made, or it was retracted")
	case g.in.Now.Before(dl):
		return g.deny(ErrNoConfirmedElection, "the virtual group's election is final only from its deadline, "+eligibility.FormatEastern(dl))
	}
	return g.allow(false, fmt.Sprintf("a virtual group of %d member TIN(s), its election final since %s: scored, with a payment adjustment for its members",
		g.in.Members, eligibility.FormatEastern(dl)), Selection{})
}

// partialQP answers for a Partial QP: scored after its Partial QP election
// (or, in PY2017, by submitting), voluntary where the year allows it.
func (g *gating) partialQP() Gate {
	r := g.in.Rules
	switch {
	case g.in.PartialQP.Phase == PhaseFinal:
		return g.scored(g.in.PartialQP.Confirmed, "Partial QP election confirmed")
	case r.PartialQPReportingElects:
		return g.scored(Selection{}, "a Partial QP: submitting data counts as its Partial QP election this year")
	case r.PartialQPMayReportVoluntarily:
		return g.voluntary(Selection{}, "a Partial QP without a Partial QP election")
	}
	return g.deny(ErrPartialQPNoElection, fmt.Sprintf("%v: a Partial QP is not in MIPS without its election, and may not report voluntarily this year", r.ProgramYear))
}

// GateOption adjusts MaySubmit.
type GateOption func(*gateConfig)

type gateConfig struct{ entity events.Participant }

// ThroughAPMEntity names the APM Entity a Partial QP is assessed with: its
// Partial QP election is the entity's, not the clinician's own (unless its
// standing says it is assessed individually: then its own election counts,
// 42 CFR 414.1310(b)(1)(ii)).
func ThroughAPMEntity(entity events.Participant) GateOption {
	return func(c *gateConfig) { c.entity = entity }
}

// MaySubmit answers whether p may submit data for py on pathway now: the
// submission gate (Submission) over the participant's reconciled standing,
// its opt-in election and its Partial QP election, read from the ledger.
func (s *Service) MaySubmit(ctx context.Context, py events.ProgramYear, p events.Participant, pathway events.Pathway, opts ...GateOption) (Gate, error) {
	var cfg gateConfig
	for _, o := range opts {
		o(&cfg)
	}
	rules, err := s.table.Lookup(py)
	if err != nil {
		return Gate{}, refuse(ErrInvalidCommand, p, py, err.Error(), "ask about a program year the table holds")
	}
	in := GateInput{Rules: rules, Kind: p.Kind, Pathway: pathway, Now: s.now()}
	if p.Kind == events.KindVirtualGroup {
		members, err := s.membership(ctx, py, p)
		if err != nil {
			return Gate{}, err
		}
		in.Members = len(members)
		return Submission(in), nil
	}
	if in.Standing, err = s.elig.Eligibility(ctx, rules, p, in.Now); err != nil {
		return Gate{}, err
	}
	if in.Election, err = s.State(ctx, py, p); err != nil {
		return Gate{}, err
	}
	pqp := p
	if !cfg.entity.IsZero() && !in.Standing.IndividuallyAssessed {
		pqp = cfg.entity // one assessed individually makes its own election
	}
	if in.Standing.Status == events.StatusPartialQP {
		if in.PartialQP, err = s.PartialQPState(ctx, py, pqp); err != nil {
			return Gate{}, err
		}
	}
	return Submission(in), nil
}
