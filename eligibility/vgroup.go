package eligibility

import (
	"errors"
	"fmt"

	"github.com/electionledger/ledger/events"
)

// Reasons a TIN may not be a virtual group member. A *MemberError matches
// ErrNotVirtualGroupMember and one of these.
var (
	// ErrNotVirtualGroupMember matches every MemberError.
	ErrNotVirtualGroupMember = errors.New("eligibility: not eligible for virtual group membership")
	// ErrNoVirtualGroups: the program year has no virtual groups.
	ErrNoVirtualGroups = errors.New("no virtual groups this program year")
	// ErrNoMembershipDetermination: no determination from the period
	// membership is judged on (segment 1; PY2018's assessment period).
	ErrNoMembershipDetermination = errors.New("no determination from the membership assessment period")
	// ErrMemberBelowThreshold: the TIN is neither above the low-volume
	// threshold nor opt-in eligible in that period (or is excluded).
	ErrMemberBelowThreshold = errors.New("neither above the low-volume threshold nor opt-in eligible")
	// ErrMemberTooLarge: more eligible clinicians bill under the TIN than a
	// member may have.
	ErrMemberTooLarge = errors.New("too many eligible clinicians for a virtual group member")
	// ErrMemberUncounted: the determination does not count the TIN's
	// eligible clinicians.
	ErrMemberUncounted = errors.New("the determination does not count the eligible clinicians")
	// ErrMemberOfAnother: the TIN is already a member of another virtual
	// group this year.
	ErrMemberOfAnother = errors.New("already a member of another virtual group this year")
)

// MemberError says why a TIN may not join a virtual group. It names the TIN
// masked.
type MemberError struct {
	TIN         events.TIN
	ProgramYear events.ProgramYear
	Rule        error // one of the reasons above
	Detail      string
	Remedy      string
}

// Error implements error.
func (e *MemberError) Error() string {
	s := fmt.Sprintf("eligibility: TIN %v may not be a virtual group member in %v: %v", e.TIN, e.ProgramYear, e.Rule)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Remedy != "" {
		s += "; to pass: " + e.Remedy
	}
	return s
}

// Unwrap matches ErrNotVirtualGroupMember and the rule.
func (e *MemberError) Unwrap() []error { return []error{ErrNotVirtualGroupMember, e.Rule} }

// MembershipSource is the determination source virtual group membership is
// judged on this year: segment 1 (PY2019 on), or the virtual group
// assessment period where the year has one (PY2018).
func (r *Rules) MembershipSource() events.Source {
	if !r.VirtualGroupAssessment.IsZero() {
		return events.SourceVirtualGroupAssessment
	}
	return events.SourceSegment1
}

// CheckVirtualGroupMember judges whether a TIN may be a member of virtual
// group vgID this year, from the TIN's group determinations (in recorded
// order) and the virtual group it already belongs to this year (memberOf,
// "" if none). A member is a solo practitioner or a group with at most
// MaxVirtualGroupClinicians eligible clinicians, above the low-volume
// threshold or opt-in eligible in the membership period (MembershipSource),
// and in no other virtual group that year. It returns nil or a
// *MemberError.
func (r *Rules) CheckVirtualGroupMember(tin events.TIN, dets []events.EligibilityDetermined, memberOf, vgID string) error {
	no := func(rule error, detail, remedy string) error {
		return &MemberError{TIN: tin, ProgramYear: r.ProgramYear, Rule: rule, Detail: detail, Remedy: remedy}
	}
	if r.MaxVirtualGroupClinicians == 0 || r.VirtualGroupWindow.IsZero() {
		return no(ErrNoVirtualGroups, "", "form virtual groups in a program year that has them (MIPS PY2018 on)")
	}
	if memberOf != "" && memberOf != vgID {
		return no(ErrMemberOfAnother, "a member of virtual group "+memberOf,
			"a TIN joins at most one virtual group a year; leave the other before its deadline")
	}
	src := r.MembershipSource()
	var d *events.EligibilityDetermined
	for i := range dets {
		x := &dets[i]
		if x.Participant == events.Group(tin) && x.ProgramYear == r.ProgramYear && x.Source == src && (d == nil || Supersedes(x, d)) {
			d = x
		}
	}
	if d == nil {
		return no(ErrNoMembershipDetermination, "no "+src.String()+" determination of the TIN",
			"record the TIN's "+src.String()+" determination first")
	}
	f := FindingOf(d)
	switch {
	case d.Status == events.StatusExcluded:
		return no(ErrMemberBelowThreshold, "excluded ("+d.Exclusion.String()+")", "only TINs with an otherwise eligible clinician join")
	case r.Level(&f) == LevelAbove:
	case r.OptIn && r.Level(&f) == LevelOptIn:
	default:
		return no(ErrMemberBelowThreshold, "below the low-volume threshold in "+src.String(),
			"only TINs above the threshold or opt-in eligible in "+src.String()+" join")
	}
	switch {
	case d.EligibleClinicians == 0:
		return no(ErrMemberUncounted, "", "record a determination that counts the TIN's eligible clinicians (Input.Clinicians)")
	case d.EligibleClinicians > r.MaxVirtualGroupClinicians:
		return no(ErrMemberTooLarge, fmt.Sprintf("%d eligible clinicians; at most %d", d.EligibleClinicians, r.MaxVirtualGroupClinicians),
			"only solo practitioners and groups of at most "+fmt.Sprint(r.MaxVirtualGroupClinicians)+" eligible clinicians join")
	}
	return nil
}
