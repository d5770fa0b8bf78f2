package projection

import (
	"github.com/electionledger/ledger/eligibility"
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

// Get returns a participant's feedback for py. Under the APM scoring
// standard (PY2017-2020) a clinician the scoring model puts in MIPS through
// its APM Entity gets the entity's feedback, in full, whatever its own
// status.
func (m *FeedbackModel) Get(py events.ProgramYear, p events.Participant) Feedback {
	m.status.mu.RLock()
	defer m.status.mu.RUnlock()
	r := m.status.cat.lookup(py, p)
	fb := Feedback{Participant: p, ProgramYear: py}
	f := m.status.factsOf(r)
	kind := m.status.kind(r)
	rules := m.scoring.rules(py)
	if rules != nil {
		kind = m.scoring.ownKind(rules, r) // a PY2017 Partial QP that reported elected so
	}
	if f != nil && (f.flags&fQP != 0 || f.exclusion == events.ExclusionQP && kind == KindExcluded) {
		fb.Reason = "Qualifying APM Participants receive no MIPS feedback"
		return fb
	}
	entity := m.standardEntity(py, r)
	switch {
	case entity != noRef && m.inMIPSThroughEntity(rules, py, r, p):
		// The APM scoring standard: the entity's feedback applies to every
		// clinician in MIPS through it, individually exempt ones included.
		fb.Level, fb.Cost, fb.ClaimsQuality, fb.InBenchmarks, fb.PublicReporting = FeedbackFull, true, true, true, true
		fb.Reason = "in MIPS through its APM Entity: full feedback, benchmarks and public reporting"
	case kind == KindRequired, kind == KindOptedIn, kind == KindPartialQPElected:
		fb.Level, fb.Cost, fb.ClaimsQuality, fb.InBenchmarks, fb.PublicReporting = FeedbackFull, true, true, true, true
		fb.Reason = "full feedback, benchmarks and public reporting"
	case kind == KindVoluntary:
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
	if entity != noRef {
		_, fb.APMEntity = m.status.cat.key(entity)
		fb.Reason += "; feedback under the APM scoring standard goes to APM Entity " + fb.APMEntity.ID
	}
	return fb
}

// inMIPSThroughEntity reports whether the scoring model puts the clinician
// p (at r) in MIPS through its APM Entity under the APM scoring standard:
// the feedback follows the score. The caller holds the read lock.
func (m *FeedbackModel) inMIPSThroughEntity(rules *eligibility.Rules, py events.ProgramYear, r ref, p events.Participant) bool {
	if rules == nil || p.Kind != events.KindIndividual {
		return false
	}
	fs, err := m.scoring.finalAt(rules, py, r, p)
	return err == nil && fs.InMIPS && fs.Through == ThroughAPMEntity
}

// standardEntity returns, in the years of the APM scoring standard
// (PY2017-2020), the APM Entity of a MIPS APM whose Participation List names
// the clinician at r: its feedback is the entity's.
func (m *FeedbackModel) standardEntity(py events.ProgramYear, r ref) ref {
	sf := m.scoring.factsOf(r)
	if sf == nil || sf.std == noRef {
		return noRef
	}
	if rules := m.scoring.rules(py); rules == nil || !rules.APMEntityScoreOverrides {
		return noRef
	}
	return sf.std
}

// Access is the answer to "may this viewer open that participant's
// feedback".
type Access struct {
	Allowed bool
	Reason  string
}

// MayOpen answers whether viewer may open subject's feedback for py
// (docs/rules.md §7, the 2017 feedback notice): nobody opens a Qualifying
// APM Participant's MIPS feedback, nor the feedback of a participant that
// receives none. Under the APM scoring standard (PY2017-2020) a clinician's
// feedback is its APM Entity's: the entity opens it; the participant TINs of
// a Shared Savings Program ACO open it directly; those of a Next Generation
// ACO (or another APM) only through the entity's representative. Otherwise
// the participant opens its own feedback, and a practice (TIN) its
// clinicians'. The viewer is whom the person asking acts for: a practice
// (TIN), a clinician (TIN/NPI) or an APM Entity.
func (m *FeedbackModel) MayOpen(py events.ProgramYear, subject, viewer events.Participant) Access {
	fb := m.Get(py, subject)
	if fb.Level == FeedbackNone {
		return Access{Reason: "no feedback to open: " + fb.Reason}
	}
	m.status.mu.RLock()
	entity := m.standardEntity(py, m.status.cat.lookup(py, subject))
	model := events.ModelUnspecified
	if entity != noRef {
		model = m.scoring.models[entity]
	}
	m.status.mu.RUnlock()
	own := viewer == subject || subject.Kind == events.KindIndividual && viewer == events.Group(subject.TIN)
	if entity == noRef {
		if own {
			return Access{Allowed: true, Reason: "its own feedback"}
		}
		return Access{Reason: "only the participant (or its practice) opens its feedback"}
	}
	_, e := m.status.cat.key(entity)
	switch {
	case viewer == e:
		return Access{Allowed: true, Reason: "the APM Entity opens the feedback under the APM scoring standard"}
	case own && model == events.ModelSharedSavings:
		return Access{Allowed: true, Reason: "a participant TIN of a Shared Savings Program ACO opens it directly"}
	case own:
		return Access{Reason: "under the APM scoring standard the feedback is APM Entity " + e.ID + "'s; a participant of a " + modelName(model) +
			" opens it only through the entity's representative"}
	}
	return Access{Reason: "only APM Entity " + e.ID + " (and, for a Shared Savings Program ACO, its participant TINs) opens this feedback"}
}

func modelName(m events.APMModel) string {
	switch m {
	case events.ModelNextGenerationACO:
		return "Next Generation ACO"
	case events.ModelSharedSavings:
		return "Shared Savings Program ACO"
	}
	return "an APM"
}
