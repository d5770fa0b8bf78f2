package eligibility

import (
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
)

// Clinician is one clinician's own facts for "otherwise eligible".
type Clinician struct {
	NPI  events.NPI
	Type ClinicianType
	// MedicareEnrolled is the date the clinician first enrolled in Medicare;
	// zero means enrolled before any year in question.
	MedicareEnrolled time.Time
	// QP: a Qualifying APM Participant this year.
	QP bool
}

// Input is what one determination is made from.
type Input struct {
	Participant events.Participant
	// Volumes for the segment or snapshot the determination comes from.
	Volumes events.Volumes
	// Clinician: an individual's own facts (Kind Individual).
	Clinician Clinician
	// Clinicians billing under the TIN (groups) or the member TINs (virtual
	// groups): the group is opt-in eligible only if one is otherwise eligible.
	Clinicians []Clinician
	// MIPSAPM: participates in a MIPS APM (may report the APP).
	MIPSAPM bool
	// PrimaryCare: a participating primary-care practice (QIPS).
	PrimaryCare bool
	// PortalRegistered: registered on the payer's portal (QIPS).
	PortalRegistered bool
	// Source and SourceDate name the segment or snapshot; DeterminedAt is
	// when the determination was made.
	Source       events.Source
	SourceDate   time.Time
	DeterminedAt time.Time
}

// ErrInvalidInput matches an InputError.
var ErrInvalidInput = errors.New("eligibility: invalid determination input")

// InputError reports a determination input that cannot be judged. It names
// the participant masked.
type InputError struct {
	Participant events.Participant
	Field       string
	Reason      string
}

// Error implements error.
func (e *InputError) Error() string {
	return fmt.Sprintf("eligibility: determination for %v: %s: %s", e.Participant, e.Field, e.Reason)
}

// Is matches ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// OtherwiseEligible reports whether a clinician may be MIPS eligible this
// year whatever its volumes, and if not, why.
func (r *Rules) OtherwiseEligible(c Clinician) (bool, events.ExclusionReason) {
	switch {
	case c.QP:
		return false, events.ExclusionQP
	case !c.MedicareEnrolled.IsZero() && c.MedicareEnrolled.Year() >= r.ProgramYear.Year:
		return false, events.ExclusionNewlyEnrolled
	case !r.EligibleType(c.Type):
		return false, events.ExclusionIneligibleClinicianType
	}
	return true, events.ExclusionNone
}

// Determine judges one participant for one program year: required, opt-in
// eligible, exempt, or excluded with its reason, and which low-volume
// criteria it exceeded (strictly greater than the threshold).
//
//   - Individuals are excluded as Qualifying APM Participants, when they
//     enrolled in Medicare during the year, or when their clinician type is
//     not eligible that year.
//   - Groups (and virtual groups) are excluded when no clinician billing
//     under them is otherwise eligible.
//   - APM Entities can never opt in: below the threshold they are exempt,
//     with ExclusionAPMEntity saying why they are not opt-in eligible.
//   - Exceeding every criterion means required; some but not all, opt-in
//     eligible (exempt in years without opt-in); none, exempt.
//   - Programs without a low-volume threshold (QIPS) make every
//     participating primary-care practice opt-in eligible.
func Determine(r *Rules, in Input) (events.EligibilityDetermined, error) {
	p := in.Participant
	bad := func(field, reason string) (events.EligibilityDetermined, error) {
		return events.EligibilityDetermined{}, &InputError{Participant: p, Field: field, Reason: reason}
	}
	if err := p.Validate(); err != nil {
		return bad("participant", err.Error())
	}
	v := in.Volumes
	if v.AllowedChargesCents < 0 || v.PartBPatients < 0 || v.CoveredServices < 0 {
		return bad("volumes", "negative volume; counts and cents must be 0 or more")
	}
	if in.Source == events.SourceUnknown {
		return bad("source", "name the segment, snapshot or import the volumes come from")
	}
	if in.DeterminedAt.IsZero() {
		return bad("determinedAt", "say when the determination was made")
	}
	out := events.EligibilityDetermined{
		Participant: p, ProgramYear: r.ProgramYear, Volumes: v,
		Source: in.Source, SourceDate: in.SourceDate.UTC(), DeterminedAt: in.DeterminedAt.UTC(),
		MIPSAPM: in.MIPSAPM, PortalRegistered: in.PortalRegistered,
	}
	if p.Kind == events.KindIndividual {
		out.ClinicianType = string(in.Clinician.Type)
		out.QP = in.Clinician.QP
	}
	excluded := func(reason events.ExclusionReason) (events.EligibilityDetermined, error) {
		out.Status, out.Exclusion = events.StatusExcluded, reason
		return out, nil
	}

	if r.NoLVT {
		switch {
		case p.Kind != events.KindGroup:
			return excluded(events.ExclusionNotInProgram) // practices opt in, not clinicians
		case r.PrimaryCareOnly && !in.PrimaryCare:
			return excluded(events.ExclusionNotInProgram)
		}
		out.Status = events.StatusOptInEligible
		return out, nil
	}

	switch p.Kind {
	case events.KindIndividual:
		if ok, why := r.OtherwiseEligible(in.Clinician); !ok {
			return excluded(why)
		}
	case events.KindGroup, events.KindVirtualGroup:
		eligible := false
		for _, c := range in.Clinicians {
			if ok, _ := r.OtherwiseEligible(c); ok {
				eligible = true
				break
			}
		}
		if !eligible {
			return excluded(events.ExclusionNoEligibleClinician)
		}
	}

	out.Exceeded = r.LVT.Exceeded(v)
	switch {
	case out.Exceeded == r.LVT.Criteria:
		out.Status = events.StatusRequired
	case p.Kind == events.KindAPMEntity:
		out.Status, out.Exclusion = events.StatusExempt, events.ExclusionAPMEntity
	case out.Exceeded != 0 && r.OptIn:
		out.Status = events.StatusOptInEligible
	default:
		out.Status = events.StatusExempt
	}
	return out, nil
}
