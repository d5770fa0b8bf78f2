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
	// PartialQP: a Partial QP this year (excluded from MIPS unless a Partial
	// QP election is made for it).
	PartialQP bool
	// IndividuallyAssessed: assessed for QP status on its own (an Affiliated
	// Practitioner List), so it makes its own Partial QP election.
	IndividuallyAssessed bool
	// OnlyInBelowLVTAPMEntities: the clinician is in MIPS APMs, and every
	// APM Entity it is in is below the low-volume threshold. In the years
	// of Rules.BelowLVTAPMCliniciansDoNotCount such a clinician does not
	// make its group opt-in eligible.
	OnlyInBelowLVTAPMEntities bool
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
	// NewlyEstablished: the TIN or TIN/NPI was newly established during the
	// segment (segment 2: it is then judged on segment 2 alone).
	NewlyEstablished bool
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

// Determine judges one participant for one program year from one source
// (a segment, an APM snapshot, the virtual group assessment period):
// required, opt-in eligible, exempt, excluded with its reason, a Partial QP,
// or not assessed, and which low-volume criteria it exceeded (strictly
// greater than the threshold; recorded even when it is excluded). A
// participant's standing reconciles its determinations (Reconcile): segment
// 1 alone is its initial status, segment 2 reconciled with it the final one.
//
//   - Individuals are excluded as Qualifying APM Participants, when they
//     enrolled in Medicare during the year, or when their clinician type is
//     not eligible that year; a Partial QP has a status of its own.
//   - Groups (and virtual groups) are excluded when no clinician billing
//     under them is otherwise eligible; a group's determination counts its
//     otherwise eligible clinicians.
//   - APM Entities are judged against the threshold only in the years that
//     do so (PY2017-2020), may be opt-in eligible only in the years that
//     allow it (PY2019-2020), and are otherwise not assessed.
//   - Exceeding every criterion means required; some but not all, opt-in
//     eligible (exempt in years without opt-in); none, exempt.
//   - Programs without a low-volume threshold (QIPS) make every
//     participating primary-care practice opt-in eligible.
func Determine(r *Rules, in Input) (events.EligibilityDetermined, error) {
	if err := in.validate(); err != nil {
		return events.EligibilityDetermined{}, err
	}
	p, v := in.Participant, in.Volumes
	out := events.EligibilityDetermined{
		Participant: p, ProgramYear: r.ProgramYear, Volumes: v,
		Source: in.Source, SourceDate: in.SourceDate.UTC(), DeterminedAt: in.DeterminedAt.UTC(),
		MIPSAPM: in.MIPSAPM, PortalRegistered: in.PortalRegistered, NewlyEstablished: in.NewlyEstablished,
	}
	if p.Kind == events.KindIndividual {
		out.ClinicianType = string(in.Clinician.Type)
		out.QP = in.Clinician.QP
		out.IndividuallyAssessed = in.Clinician.IndividuallyAssessed
	}
	if r.NoLVT {
		out.Status = events.StatusOptInEligible
		if p.Kind != events.KindGroup || (r.PrimaryCareOnly && !in.PrimaryCare) {
			// Practices opt in, not clinicians; primary care only where the
			// program says so.
			out.Status, out.Exclusion = events.StatusExcluded, events.ExclusionNotInProgram
		}
		return out, nil
	}
	out.Exceeded = r.LVT.Exceeded(v)
	if r.screen(in, &out) {
		return out, nil
	}
	optIn := r.OptIn && (p.Kind != events.KindAPMEntity || r.APMEntityOptIn)
	switch {
	case out.Exceeded == r.LVT.Criteria:
		out.Status = events.StatusRequired
	case out.Exceeded != 0 && optIn:
		out.Status = events.StatusOptInEligible
	default:
		out.Status = events.StatusExempt
	}
	return out, nil
}

// validate refuses input Determine cannot judge, naming the field.
func (in Input) validate() error {
	p, v := in.Participant, in.Volumes
	bad := func(field, reason string) error {
		return &InputError{Participant: p, Field: field, Reason: reason}
	}
	if err := p.Validate(); err != nil {
		return bad("participant", err.Error())
	}
	if v.AllowedChargesCents < 0 || v.PartBPatients < 0 || v.CoveredServices < 0 {
		return bad("volumes", "negative volume; counts and cents must be 0 or more")
	}
	if _, err := in.Source.MarshalText(); err != nil || in.Source == events.SourceUnknown {
		return bad("source", "name the segment, snapshot or import the volumes come from")
	}
	if in.DeterminedAt.IsZero() {
		return bad("determinedAt", "say when the determination was made")
	}
	if in.Clinician.QP && in.Clinician.PartialQP {
		return bad("clinician", "a clinician is a QP or a Partial QP, not both")
	}
	return nil
}

// countsForGroup reports whether a clinician billing under a group counts
// toward the otherwise eligible clinicians that make the group eligible:
// it is otherwise eligible and, in the years of
// BelowLVTAPMCliniciansDoNotCount, not only in APM Entities below the
// threshold.
func (r *Rules) countsForGroup(c Clinician) bool {
	if ok, _ := r.OtherwiseEligible(c); !ok {
		return false
	}
	return !(r.BelowLVTAPMCliniciansDoNotCount && c.OnlyInBelowLVTAPMEntities)
}

// screen settles the statuses the threshold does not decide (an excluded
// clinician or group, a Partial QP, an APM Entity in a year that does not
// assess APM Entities) and reports whether it settled out's status.
func (r *Rules) screen(in Input, out *events.EligibilityDetermined) (settled bool) {
	exclude := func(why events.ExclusionReason) bool {
		out.Status, out.Exclusion = events.StatusExcluded, why
		return true
	}
	switch in.Participant.Kind {
	case events.KindIndividual:
		if ok, why := r.OtherwiseEligible(in.Clinician); !ok {
			return exclude(why)
		}
		if in.Clinician.PartialQP {
			out.Status = events.StatusPartialQP
			return true
		}
	case events.KindGroup, events.KindVirtualGroup:
		for _, c := range in.Clinicians {
			if r.countsForGroup(c) {
				out.EligibleClinicians++
			}
		}
		if out.EligibleClinicians == 0 {
			return exclude(events.ExclusionNoEligibleClinician)
		}
	case events.KindAPMEntity:
		if !r.APMEntityLVT {
			out.Status = events.StatusNotAssessed
			return true
		}
	}
	return false
}
