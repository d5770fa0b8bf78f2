package projection

import (
	"github.com/electionledger/ledger/events"
)

// FeedbackLevel is how much performance feedback a participant receives.
type FeedbackLevel uint8

// Feedback levels.
const (
	FeedbackNone    FeedbackLevel = iota // no MIPS feedback
	FeedbackLimited                      // voluntary reporters: no cost or claims-based quality feedback
	FeedbackFull                         // required and opted-in participants
)

// String returns the FeedbackLevel in words.
func (l FeedbackLevel) String() string { return [...]string{"none", "limited", "full"}[l] }

// Feedback is what a participant receives for a program year (docs/rules.md §4-5).
type Feedback struct {
	Participant events.Participant
	ProgramYear events.ProgramYear
	Level       FeedbackLevel
	// Cost and ClaimsQuality: feedback on cost measures and on claims-based
	// quality measures (withheld from voluntary reporters).
	Cost, ClaimsQuality bool
	// InBenchmarks: the participant's data goes into benchmarks.
	InBenchmarks bool
	// PublicReporting on Care Compare, and whether the participant may opt
	// out of it during the preview period (voluntary reporters may).
	PublicReporting, MayOptOut bool
	// APMEntity: feedback under the APM scoring standard goes to this APM
	// Entity and applies to its MIPS eligible clinicians.
	APMEntity events.Participant
	Reason    string
}

// Feedback is the feedback read model: it derives from the Status and
// Scoring models (it keeps no state of its own).
type FeedbackModel struct {
	status  *Status
	scoring *Scoring
}

// NewFeedback returns the feedback model over status and scoring.
func NewFeedback(status *Status, scoring *Scoring) *FeedbackModel {
	return &FeedbackModel{status: status, scoring: scoring}
}

// Get returns a participant's feedback for py.
func (m *FeedbackModel) Get(py events.ProgramYear, p events.Participant) Feedback {
	m.status.mu.RLock()
	defer m.status.mu.RUnlock()
	r := m.status.cat.lookup(py, p)
	fb := Feedback{Participant: p, ProgramYear: py}
	f := m.status.factsOf(r)
	kind := m.status.kind(r)
	if f != nil && (f.flags&fQP != 0 || f.exclusion == events.ExclusionQP && kind == KindExcluded) {
		fb.Reason = "Qualifying APM Participants receive no MIPS feedback"
		return fb
	}
	switch kind {
	case KindRequired, KindOptedIn, KindPartialQPElected:
		fb.Level, fb.Cost, fb.ClaimsQuality, fb.InBenchmarks, fb.PublicReporting = FeedbackFull, true, true, true, true
		fb.Reason = "full feedback, benchmarks and public reporting"
	case KindVoluntary:
		fb.Level, fb.PublicReporting, fb.MayOptOut = FeedbackLimited, true, true
		fb.Reason = "voluntary reporter: limited feedback (no cost or claims-based quality measures), not in benchmarks, may opt out of public reporting during the preview"
		if f.flags&fReportingOut != 0 {
			fb.PublicReporting, fb.MayOptOut = false, false
			fb.Reason = "voluntary reporter: limited feedback (no cost or claims-based quality measures), not in benchmarks; opted out of public reporting"
		}
	default:
		fb.Reason = "not participating: " + kind.String()
		return fb
	}
	if p.Kind == events.KindIndividual {
		if sf := m.scoring.factsOf(r); sf != nil && sf.apm != noRef && sf.flags&sOnList != 0 {
			_, fb.APMEntity = m.status.cat.key(sf.apm)
			fb.Reason += "; feedback under the APM scoring standard goes to APM Entity " + fb.APMEntity.ID
		}
	}
	return fb
}
