package election

import (
	"errors"
	"fmt"

	"github.com/electionledger/ledger/events"
)

// ErrRefused matches every refusal of a command by a rule. Each rule has its
// own sentinel below, also matched by errors.Is; errors.As with *Refusal
// gives the participant, the detail and the remedy.
var ErrRefused = errors.New("election: refused")

// The rules. A *Refusal matches ErrRefused and exactly one of these.
var (
	// ErrElectionFinal: the election is confirmed; it can never be undone or
	// changed, and no command for the participant and year is accepted.
	ErrElectionFinal = errors.New("election is final")
	// ErrNotOptInEligible: only opt-in eligible participants elect (not
	// exempt, required, excluded, APM Entities, or undetermined ones).
	ErrNotOptInEligible = errors.New("participant is not opt-in eligible")
	// ErrNoOptInThisYear: the program year has no opt-in election.
	ErrNoOptInThisYear = errors.New("no opt-in election this program year")
	// ErrOutsideWindow: the election window is not open now.
	ErrOutsideWindow = errors.New("outside the election window")
	// ErrVoluntaryAPP: the APP cannot be reported voluntarily.
	ErrVoluntaryAPP = errors.New("the APP cannot be reported voluntarily")
	// ErrAPPUnavailable: the APP needs a MIPS APM participant and a year
	// that has it.
	ErrAPPUnavailable = errors.New("the APP is not available to this participant")
	// ErrMVPNotForOptIn: MVPs are not available to opt-in eligible
	// participants.
	ErrMVPNotForOptIn = errors.New("MVPs are not available to opt-in eligible participants")
	// ErrNoVoluntaryChoice: the program year has no voluntary reporting.
	ErrNoVoluntaryChoice = errors.New("no voluntary reporting in this program")
	// ErrChampions: the program requires an Office Champion (an
	// administrator) and a Clinical Champion (a practicing physician with a
	// valid NPI).
	ErrChampions = errors.New("champions missing or invalid")
	// ErrPortalRegistration: the practice must be registered on the payer's
	// portal.
	ErrPortalRegistration = errors.New("not registered on the program portal")
	// ErrInvalidChoice: the choice or pathway is not one a request can name.
	ErrInvalidChoice = errors.New("invalid choice or pathway")
	// ErrConfirmPhrase: confirmation requires typing exactly CONFIRM.
	ErrConfirmPhrase = errors.New("confirmation phrase is not CONFIRM")
	// ErrNothingPending: confirm or withdraw with no pending request.
	ErrNothingPending = errors.New("no pending request")
	// ErrAlreadyPending: a new request while one is pending.
	ErrAlreadyPending = errors.New("a request is already pending")
	// ErrWrongBatch: the pending request belongs to another batch (or none).
	ErrWrongBatch = errors.New("the pending request is not part of this batch")
	// ErrUnauthorized: the actor may not act for this participant.
	ErrUnauthorized = errors.New("actor not authorized for the participant")
	// ErrNotAttested: the actor has not accepted the Statement of Truth.
	ErrNotAttested = errors.New("Statement of Truth not attested")
	// ErrInvalidCommand: the command is malformed (no command ID, invalid
	// participant, unknown program year).
	ErrInvalidCommand = errors.New("invalid command")
	// ErrCommandIDReused: a command ID already used for another command.
	ErrCommandIDReused = errors.New("command ID already used for another command")
	// ErrNoEligibleMember: no TIN a virtual group election lists may be a
	// member (each member's result says why).
	ErrNoEligibleMember = errors.New("no listed TIN may be a virtual group member")
	// ErrVirtualGroupPending: a member's opt-in through a virtual group is
	// the virtual group's to revise or retract until its deadline.
	ErrVirtualGroupPending = errors.New("opted in through a virtual group whose election is not yet final")
	// ErrAPMEntityOptIn: an APM Entity may opt in only in the years that
	// allow it (PY2019-2020).
	ErrAPMEntityOptIn = errors.New("APM Entities cannot opt in this program year")
	// ErrNoPartialQPElection: the program year has no separate Partial QP
	// election.
	ErrNoPartialQPElection = errors.New("no Partial QP election this program year")
	// ErrNotPartialQP: only a Partial QP assessed individually, or an APM
	// Entity for its Partial QPs, makes a Partial QP election.
	ErrNotPartialQP = errors.New("not a Partial QP that elects for itself")
)

// Refusal is a command refused by a rule: which rule, for whom (TIN
// masked), why, and what would make it pass. A refused command appends
// nothing.
type Refusal struct {
	Rule        error
	Participant events.Participant
	ProgramYear events.ProgramYear
	Detail      string
	Remedy      string
}

// Error implements error.
func (r *Refusal) Error() string {
	s := fmt.Sprintf("election refused for %v in %v: %v", r.Participant, r.ProgramYear, r.Rule)
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	if r.Remedy != "" {
		s += "; to pass: " + r.Remedy
	}
	return s
}

// Unwrap matches ErrRefused and the rule.
func (r *Refusal) Unwrap() []error { return []error{ErrRefused, r.Rule} }

func refuse(rule error, p events.Participant, py events.ProgramYear, detail, remedy string) *Refusal {
	return &Refusal{Rule: rule, Participant: p, ProgramYear: py, Detail: detail, Remedy: remedy}
}

// ErrLedgerViolation matches an event that cannot follow the state it is
// applied to: above all, anything after ElectionConfirmed.
var ErrLedgerViolation = errors.New("election: ledger violation")

// ViolationError reports an event Evolve refused to apply.
type ViolationError struct {
	Stream   string // set by callers that know it
	Revision uint64
	Type     string
	Problem  string
}

// Error implements error.
func (e *ViolationError) Error() string {
	where := ""
	if e.Stream != "" {
		where = fmt.Sprintf(" at %s@%d", e.Stream, e.Revision)
	}
	return fmt.Sprintf("election: ledger violation%s: %s: %s", where, e.Type, e.Problem)
}

// Is matches ErrLedgerViolation.
func (e *ViolationError) Is(target error) bool { return target == ErrLedgerViolation }
