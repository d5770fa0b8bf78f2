package eligibility

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/electionledger/ledger/events"
)

// Phase says how settled a participant's standing is.
type Phase uint8

// Phases.
const (
	PhaseNone    Phase = iota // no determination yet
	PhaseInitial              // from segment 1 alone: segment 2 is not determined yet
	PhaseFinal                // segment 2 reconciled with segment 1, or a source that is not segmented
)

var phaseNames = [...]string{"none", "initial", "final"}

// String returns "none", "initial" or "final".
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// MarshalText returns the String form.
func (p Phase) MarshalText() ([]byte, error) {
	if int(p) >= len(phaseNames) {
		return nil, fmt.Errorf("eligibility: unknown phase %d", uint8(p))
	}
	return []byte(phaseNames[p]), nil
}

// UnmarshalText parses the String form.
func (p *Phase) UnmarshalText(b []byte) error {
	for i, n := range phaseNames {
		if string(b) == n {
			*p = Phase(i)
			return nil
		}
	}
	return fmt.Errorf("eligibility: unknown phase (%d bytes); want none, initial or final", len(b))
}

// SegmentPolicy decides whether a participant that is not required and
// whose two segments disagree is opt-in eligible. Which rule CMS applies is
// unconfirmed, so it is data: set Rules.SegmentPolicy to change it. Every
// policy makes a participant in the opt-in range in both segments opt-in
// eligible, and one that exceeds nothing in either exempt.
type SegmentPolicy uint8

// Segment policies.
const (
	// OptInIfExceedsInBoth (the default): opt-in eligible if it exceeds at
	// least one criterion in both segments.
	OptInIfExceedsInBoth SegmentPolicy = iota
	// OptInIfExceedsInEither: opt-in eligible if it exceeds at least one
	// criterion in either segment.
	OptInIfExceedsInEither
	// OptInIfExceedsInSegment2: opt-in eligible if it exceeds at least one
	// criterion in segment 2.
	OptInIfExceedsInSegment2
	// NoOptInWhenSegmentsDisagree: opt-in eligible only if both segments
	// are in the opt-in range.
	NoOptInWhenSegmentsDisagree
)

var policyNames = [...]string{"opt-in if it exceeds a criterion in both segments", "opt-in if it exceeds a criterion in either segment",
	"opt-in if it exceeds a criterion in segment 2", "no opt-in when the segments disagree"}

// String describes the policy.
func (p SegmentPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("segment-policy(%d)", uint8(p))
}

// Level is a participant's standing against the low-volume threshold in
// one segment.
type Level uint8

// Levels.
const (
	LevelBelow Level = iota // exceeds no criterion (or no determination)
	LevelOptIn              // exceeds some but not all criteria: the opt-in range
	LevelAbove              // exceeds every criterion: above the threshold
)

// String returns "below", "opt-in range" or "above".
func (l Level) String() string { return [...]string{"below", "opt-in range", "above"}[min(l, 2)] }

// Finding is what reconciliation reads of one determination.
type Finding struct {
	Status           events.EligibilityStatus
	Exclusion        events.ExclusionReason
	Exceeded         events.Criteria
	Source           events.Source
	NewlyEstablished bool
	DeterminedAt     time.Time
}

// FindingOf returns what reconciliation reads of d.
func FindingOf(d *events.EligibilityDetermined) Finding {
	return Finding{Status: d.Status, Exclusion: d.Exclusion, Exceeded: d.Exceeded, Source: d.Source,
		NewlyEstablished: d.NewlyEstablished, DeterminedAt: d.DeterminedAt}
}

// qpFinding reports whether the finding is a QP or a Partial QP.
func (f *Finding) isQP() bool {
	return f.Status == events.StatusExcluded && f.Exclusion == events.ExclusionQP
}

func (f *Finding) isPartialQP() bool { return f.Status == events.StatusPartialQP }

// Findings are the determinations a standing is reconciled from: the
// latest of each kind recorded so far. A nil Finding is absent.
type Findings struct {
	// Segment1 and Segment2 are the latest determinations of each segment.
	Segment1, Segment2 *Finding
	// Reported is the latest determination from any other source that
	// speaks to status: a QPP import, a payer portal list, an APM snapshot.
	Reported *Finding
	// QP is the latest determination of an individual that speaks to QP
	// status: an APM snapshot or QPP import, or any determination finding
	// a QP or a Partial QP.
	QP *Finding
}

// Slot says which of a participant's Findings a determination updates.
type Slot uint8

// Slots. A determination from the virtual group assessment period feeds no
// standing (only virtual group membership).
const (
	SlotNone Slot = iota
	SlotSegment1
	SlotSegment2
	SlotReported
)

// SlotOf returns the slot a determination of p updates, and whether it also
// speaks to QP status (individuals only).
func SlotOf(p events.ParticipantKind, d *events.EligibilityDetermined) (slot Slot, qp bool) {
	switch d.Source {
	case events.SourceSegment1:
		slot = SlotSegment1
	case events.SourceSegment2:
		slot = SlotSegment2
	case events.SourceVirtualGroupAssessment:
		slot = SlotNone
	default:
		slot = SlotReported
	}
	qp = p == events.KindIndividual && (d.Source == events.SourceAPMSnapshot ||
		d.Source == events.SourceImport && !UnconfirmedQPStatus(d.QPStatus) ||
		d.Status == events.StatusPartialQP || d.Status == events.StatusExcluded && d.Exclusion == events.ExclusionQP)
	return slot, qp
}

// UnconfirmedQPStatus reports whether a QPP qpStatus code is one whose
// meaning no source confirms ("Q", "R"; docs/rules.md §6). A determination
// imported with such a code does not speak to QP status: it neither makes
// the clinician a QP or Partial QP nor clears an earlier finding that it
// is one.
func UnconfirmedQPStatus(code string) bool { return code == "Q" || code == "R" }

// Standing is a participant's eligibility for a program year, reconciled
// from its determinations: the answer "may it elect, must it participate"
// and whether that answer is initial (segment 1 alone) or final.
type Standing struct {
	Participant events.Participant
	ProgramYear events.ProgramYear
	// Status and Exclusion are the reconciled answer.
	Status    events.EligibilityStatus
	Exclusion events.ExclusionReason
	Phase     Phase
	// Levels and Exceeded are each segment's finding (zero without one).
	Levels   [2]Level
	Exceeded [2]events.Criteria
	// Source is what decided the status: a segment, or the source of a
	// determination that stands over them (a later import).
	Source events.Source
	// DeterminedAt is when the latest determination considered was made.
	DeterminedAt time.Time
	// Basis says, in words, how the status was reached.
	Basis string
	// QP: a Qualifying APM Participant (Status excluded, for that reason).
	QP bool
	// MIPSAPM: the latest determination of any kind (segment, APM
	// snapshot, import) finds a MIPS APM participant.
	MIPSAPM bool
	// IndividuallyAssessed: the latest determination that speaks to QP
	// status assessed the clinician on its own (it makes its own Partial QP
	// election).
	IndividuallyAssessed bool
	// Facts from the latest determination.
	PortalRegistered   bool
	ClinicianType      string
	EligibleClinicians int
}

// Determined reports whether any determination stands.
func (s Standing) Determined() bool { return s.Phase != PhaseNone }

// String describes the standing, e.g. "group *****6789: opt-in-eligible
// (final)". The TIN is masked.
func (s Standing) String() string {
	if !s.Determined() {
		return s.Participant.String() + ": no determination"
	}
	out := s.Participant.String() + ": " + s.Status.String()
	if s.Exclusion != events.ExclusionNone {
		out += " (" + s.Exclusion.String() + ")"
	}
	return out + " (" + s.Phase.String() + ")"
}

// LogValue logs the standing with the TIN masked.
func (s Standing) LogValue() slog.Value {
	return slog.GroupValue(slog.String("participant", s.Participant.String()), slog.String("programYear", s.ProgramYear.String()),
		slog.String("status", s.Status.String()), slog.String("exclusion", s.Exclusion.String()),
		slog.String("phase", s.Phase.String()), slog.String("basis", s.Basis))
}

// Bases of a standing (Standing.Basis).
const (
	BasisInitial          = "initial: segment 1 alone (segment 2 is not determined yet)"
	BasisBothAbove        = "final: above the low-volume threshold in both segments"
	BasisBothOptIn        = "final: in the opt-in range in both segments"
	BasisBothBelow        = "final: below the low-volume threshold in both segments"
	BasisDisagreeOptIn    = "final: the segments disagree; required only if above in both; opt-in eligible by the segment policy"
	BasisDisagreeExempt   = "final: the segments disagree; required only if above in both; exempt by the segment policy"
	BasisNoOptInThisYear  = "final: not above the low-volume threshold in both segments; no opt-in this year"
	BasisNewlyEstablished = "final: newly established during segment 2, judged on segment 2 alone"
	BasisNoSegment1       = "final: no segment 1 determination (billed nothing then); required only if above in both"
	BasisSegmentExcluded  = "final: the latest segment finds it not otherwise eligible"
	BasisReported         = "as its source reported it (a later import, a portal list or an APM snapshot)"
	BasisAPMNotAssessed   = "APM Entities are not judged against the low-volume threshold this year"
	BasisAPMNoOptIn       = "an APM Entity may not opt in this year"
	BasisQP               = "a Qualifying APM Participant (the latest QP determination)"
	BasisPartialQP        = "a Partial QP (the latest QP determination): excluded unless a Partial QP election is made"
)

// Level returns a finding's level against this year's threshold: from the
// criteria it exceeded, or, where a determination records only a status
// (an import), from the status.
func (r *Rules) Level(f *Finding) Level {
	switch {
	case f == nil:
		return LevelBelow
	case f.Status == events.StatusRequired,
		r.LVT.Criteria != 0 && f.Exceeded.Has(r.LVT.Criteria):
		return LevelAbove
	case f.Exceeded != 0, f.Status == events.StatusOptInEligible:
		return LevelOptIn
	}
	return LevelBelow
}

// optInBy applies the segment policy to two levels that do not make the
// participant required.
func (r *Rules) optInBy(l1, l2 Level) bool {
	switch r.SegmentPolicy {
	case OptInIfExceedsInEither:
		return l1 >= LevelOptIn || l2 >= LevelOptIn
	case OptInIfExceedsInSegment2:
		return l2 >= LevelOptIn
	case NoOptInWhenSegmentsDisagree:
		return l1 == LevelOptIn && l2 == LevelOptIn
	}
	return l1 >= LevelOptIn && l2 >= LevelOptIn
}

// Reconcile returns p's standing from its findings under this year's rules:
//
//  1. Segment 1 alone is the initial status, as determined.
//  2. With segment 2, the final status: required only if above the
//     low-volume threshold in both segments; opt-in eligible (years with
//     opt-in) by the segment policy when not required; exempt otherwise. A
//     participant newly established during segment 2 is judged on segment 2
//     alone; one with no segment 1 determination billed nothing then. The
//     latest segment's exclusions (clinician type, Medicare enrollment, no
//     eligible clinician) apply.
//  3. A determination from another source that is later than every segment
//     determination (a QPP import, which CMS has already reconciled; a
//     payer portal list) stands as reported; without segments, the latest
//     such determination stands, final once segment 2 has ended. APM
//     snapshots never decide volumes when a segment does.
//  4. APM Entities: from PY2021 they have no LVT status (StatusNotAssessed);
//     they may opt in only where the year allows.
//  5. QP status comes from the latest determination that speaks to it: a QP
//     is excluded, a Partial QP has StatusPartialQP (a Partial QP election
//     decides whether it is in MIPS); a later finding of neither clears an
//     earlier one.
func (r *Rules) Reconcile(p events.Participant, f Findings) Standing {
	s := Standing{Participant: p, ProgramYear: r.ProgramYear}
	qpSays := 0 // 0: no QP finding; 1: QP; 2: Partial QP; 3: neither
	if f.QP != nil {
		switch {
		case f.QP.isQP():
			qpSays = 1
		case f.QP.isPartialQP():
			qpSays = 2
		default:
			qpSays = 3
		}
	}
	// A finding's QP or Partial QP status is replaced by its level when a
	// later QP determination found neither.
	volumeOnly := func(x *Finding) *Finding {
		if x == nil || qpSays != 3 || !x.isQP() && !x.isPartialQP() || !x.DeterminedAt.Before(f.QP.DeterminedAt) {
			return x
		}
		c := *x
		c.Status, c.Exclusion = [...]events.EligibilityStatus{events.StatusExempt, events.StatusOptInEligible, events.StatusRequired}[r.Level(x)], events.ExclusionNone
		return &c
	}
	s1, s2, rep := volumeOnly(f.Segment1), volumeOnly(f.Segment2), volumeOnly(f.Reported)
	latestSegment := time.Time{}
	for _, x := range []*Finding{s1, s2} {
		if x != nil && x.DeterminedAt.After(latestSegment) {
			latestSegment = x.DeterminedAt
		}
	}
	for _, x := range []*Finding{s1, s2, rep, f.QP} {
		if x != nil && x.DeterminedAt.After(s.DeterminedAt) {
			s.DeterminedAt = x.DeterminedAt
		}
	}
	for i, x := range []*Finding{s1, s2} {
		if x != nil {
			s.Levels[i], s.Exceeded[i] = r.Level(x), x.Exceeded
		}
	}
	segmented := s1 != nil || s2 != nil
	reportedStands := rep != nil && (!segmented ||
		rep.Source != events.SourceAPMSnapshot && !rep.DeterminedAt.Before(latestSegment))
	switch {
	case reportedStands:
		s.Status, s.Exclusion, s.Source, s.Basis = rep.Status, rep.Exclusion, rep.Source, BasisReported
		s.Phase = PhaseFinal
		if !r.NoLVT && !r.Segments[1].IsZero() && rep.DeterminedAt.Before(r.Segments[1].Close) {
			s.Phase = PhaseInitial // reported before segment 2 ended: it can only reflect segment 1
		}
	case s2 == nil && s1 != nil:
		s.Status, s.Exclusion, s.Source, s.Phase, s.Basis = s1.Status, s1.Exclusion, events.SourceSegment1, PhaseInitial, BasisInitial
	case s2 != nil:
		s.Source, s.Phase = events.SourceSegment2, PhaseFinal
		s.reconcileSegments(r, s1, s2)
	default:
		return Standing{Participant: p, ProgramYear: r.ProgramYear} // nothing stands
	}
	if p.Kind == events.KindAPMEntity {
		switch {
		case !r.APMEntityLVT && s.Status != events.StatusExcluded:
			s.Status, s.Exclusion, s.Basis = events.StatusNotAssessed, events.ExclusionNone, BasisAPMNotAssessed
		case s.Status == events.StatusOptInEligible && !r.APMEntityOptIn:
			s.Status, s.Exclusion, s.Basis = events.StatusExempt, events.ExclusionNone, BasisAPMNoOptIn
		case s.Exclusion == events.ExclusionAPMEntity:
			s.Exclusion = events.ExclusionNone // older determinations gave this reason with exempt
		}
	}
	if p.Kind == events.KindIndividual {
		switch {
		case qpSays == 1:
			s.Status, s.Exclusion, s.Basis = events.StatusExcluded, events.ExclusionQP, BasisQP
		case qpSays == 2 && (s.Status != events.StatusExcluded || s.Exclusion == events.ExclusionQP):
			s.Status, s.Exclusion, s.Basis = events.StatusPartialQP, events.ExclusionNone, BasisPartialQP
		}
	}
	s.QP = s.Status == events.StatusExcluded && s.Exclusion == events.ExclusionQP
	return s
}

// reconcileSegments sets the final status from segment 2 and segment 1 (nil
// when there is none).
func (s *Standing) reconcileSegments(r *Rules, s1, s2 *Finding) {
	switch s2.Status {
	case events.StatusExcluded, events.StatusPartialQP, events.StatusNotAssessed:
		s.Status, s.Exclusion, s.Basis = s2.Status, s2.Exclusion, BasisSegmentExcluded
		return
	}
	if s2.NewlyEstablished {
		s.Status, s.Exclusion, s.Basis = s2.Status, s2.Exclusion, BasisNewlyEstablished
		return
	}
	l1, l2 := r.Level(s1), r.Level(s2)
	s.Exclusion = events.ExclusionNone
	switch {
	case l1 == LevelAbove && l2 == LevelAbove:
		s.Status, s.Basis = events.StatusRequired, BasisBothAbove
	case !r.OptIn:
		s.Status, s.Basis = events.StatusExempt, BasisNoOptInThisYear
	case r.optInBy(l1, l2):
		s.Status, s.Basis = events.StatusOptInEligible, BasisDisagreeOptIn
		if l1 == LevelOptIn && l2 == LevelOptIn {
			s.Basis = BasisBothOptIn
		}
	default:
		s.Status, s.Basis = events.StatusExempt, BasisDisagreeExempt
		if l1 == LevelBelow && l2 == LevelBelow {
			s.Basis = BasisBothBelow
		}
	}
	if s1 == nil && s.Basis != BasisBothBelow {
		s.Basis = BasisNoSegment1
	}
}

// Supersedes reports whether determination b replaces a in its slot: the
// later DeterminedAt wins; at the same instant the later-recorded one (b)
// wins.
func Supersedes(b, a *events.EligibilityDetermined) bool {
	return !b.DeterminedAt.Before(a.DeterminedAt)
}

// Reconcile returns a participant's standing as of asOf (zero: now and
// forever) from its determinations in recorded order: the latest of each
// kind made by asOf, reconciled by Rules.Reconcile, with the facts (MIPS
// APM participation, clinician type, ...) of the latest determination.
// Determinations of other participants or program years are ignored.
func Reconcile(r *Rules, p events.Participant, dets []events.EligibilityDetermined, asOf time.Time) Standing {
	var slots [4]*events.EligibilityDetermined // by Slot
	var qp, latest *events.EligibilityDetermined
	for i := range dets {
		d := &dets[i]
		if d.Participant != p || d.ProgramYear != r.ProgramYear || !asOf.IsZero() && d.DeterminedAt.After(asOf) {
			continue
		}
		slot, speaks := SlotOf(p.Kind, d)
		if slot != SlotNone && (slots[slot] == nil || Supersedes(d, slots[slot])) {
			slots[slot] = d
		}
		if speaks && (qp == nil || Supersedes(d, qp)) {
			qp = d
		}
		if slot != SlotNone && (latest == nil || Supersedes(d, latest)) {
			latest = d
		}
	}
	finding := func(d *events.EligibilityDetermined) *Finding {
		if d == nil {
			return nil
		}
		f := FindingOf(d)
		return &f
	}
	s := r.Reconcile(p, Findings{Segment1: finding(slots[SlotSegment1]), Segment2: finding(slots[SlotSegment2]),
		Reported: finding(slots[SlotReported]), QP: finding(qp)})
	if latest != nil && s.Determined() {
		s.PortalRegistered = latest.PortalRegistered
		s.ClinicianType, s.EligibleClinicians = latest.ClinicianType, latest.EligibleClinicians
		for _, d := range append(slots[:], qp) {
			s.MIPSAPM = s.MIPSAPM || d != nil && d.MIPSAPM
		}
		s.IndividuallyAssessed = qp != nil && qp.IndividuallyAssessed
	}
	return s
}
