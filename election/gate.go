package election

import (
	"context"
	"errors"
	"fmt"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// Reasons the submission gate refuses, besides ErrVoluntaryAPP and
// ErrAPPUnavailable.
var (
	// ErrNoConfirmedElection: an opt-in eligible participant must confirm an
	// election before submitting data.
	ErrNoConfirmedElection = errors.New("opt-in eligible without a confirmed election")
	// ErrExempt: an exempt participant (no low-volume criterion exceeded) has
	// nothing to submit.
	ErrExempt = errors.New("exempt")
	// ErrExcluded: an excluded participant (QP, newly enrolled, ineligible
	// clinician type, ...) does not submit MIPS data.
	ErrExcluded = errors.New("excluded")
	// ErrNoDetermination: no eligibility determination yet.
	ErrNoDetermination = errors.New("no eligibility determination")
)

// Gate is the submission gate's answer.
type Gate struct {
	Allowed bool
	// Phase says whether the standing the answer rests on is initial
	// (segment 1 alone) or final (segment 2 reconciled with it).
	Phase eligibility.Phase
	// Status is the participant's reconciled eligibility status.
	Status events.EligibilityStatus
	// Reason is the rule that refuses (nil when allowed): ErrNoConfirmedElection,
	// ErrVoluntaryAPP, ErrAPPUnavailable, ErrExempt, ErrExcluded,
	// ErrNoDetermination or ErrMVPNotForOptIn.
	Reason error
	// Detail explains the answer; Election is the confirmed election, if any.
	Detail   string
	Election Selection
}

// MaySubmit answers whether p may submit data for py on pathway now. A
// required participant may submit (the APP if it is a MIPS APM
// participant); an opt-in eligible one only after confirming an election:
// opted in, on traditional MIPS or (as a MIPS APM participant) the APP;
// voluntary, on traditional MIPS only.
func (s *Service) MaySubmit(ctx context.Context, py events.ProgramYear, p events.Participant, pathway events.Pathway) (Gate, error) {
	rules, err := s.table.Lookup(py)
	if err != nil {
		return Gate{}, refuse(ErrInvalidCommand, p, py, err.Error(), "ask about a program year the table holds")
	}
	det, err := s.elig.Eligibility(ctx, rules, p, s.now())
	if err != nil {
		return Gate{}, err
	}
	found := det.Determined()
	st, err := s.State(ctx, py, p)
	if err != nil {
		return Gate{}, err
	}
	deny := func(reason error, detail string) (Gate, error) {
		return Gate{Reason: reason, Detail: detail, Election: st.Confirmed, Phase: det.Phase, Status: det.Status}, nil
	}
	allow := func(detail string, el Selection) (Gate, error) {
		return Gate{Allowed: true, Detail: detail, Election: el, Phase: det.Phase, Status: det.Status}, nil
	}
	appOK := func() (Gate, error) {
		switch {
		case !rules.APP:
			return deny(ErrAPPUnavailable, fmt.Sprintf("%v has no APP", py))
		case !det.MIPSAPM:
			return deny(ErrAPPUnavailable, "not a MIPS APM participant")
		}
		return allow("", st.Confirmed)
	}
	// An imported or ledger election that is final decides for an
	// opt-in eligible participant.
	if st.Phase == PhaseFinal && (!found || det.Status == events.StatusOptInEligible) {
		c := st.Confirmed
		switch {
		case pathway == events.PathwayAPP && c.Choice == events.ChoiceVoluntary:
			return deny(ErrVoluntaryAPP, "a voluntary reporter cannot submit to the APP")
		case pathway == events.PathwayAPP:
			return appOK()
		case pathway == events.PathwayMVP && !rules.MVPForOptIn:
			return deny(ErrMVPNotForOptIn, "")
		}
		return allow("election confirmed: "+c.Choice.String(), c)
	}
	if !found {
		return deny(ErrNoDetermination, "")
	}
	switch det.Status {
	case events.StatusRequired:
		if pathway == events.PathwayAPP {
			return appOK()
		}
		return allow("required to participate ("+det.Phase.String()+")", Selection{})
	case events.StatusOptInEligible:
		detail := "confirm an election first"
		if st.Phase == PhasePending {
			detail = "the pending selection is not confirmed; type CONFIRM first"
		}
		return deny(ErrNoConfirmedElection, detail)
	case events.StatusExempt:
		return deny(ErrExempt, det.Phase.String()+": "+det.Basis)
	case events.StatusExcluded:
		return deny(ErrExcluded, det.Exclusion.String())
	case events.StatusPartialQP:
		return deny(ErrExcluded, "a Partial QP without a Partial QP election")
	}
	return deny(ErrNoDetermination, "status "+det.Status.String())
}
