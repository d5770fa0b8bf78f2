package projection

import (
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
)

// The read models marshal to JSON a service can serve as it is: field names
// in lower camel case, enumerations as their words, times in RFC 3339, and
// every TIN masked ("*****6789"), as everywhere outside the payload codec
// and the QPP export. The forms are documented on each MarshalJSON.

// jsonParticipant is a participant in a read model's JSON, its TIN masked.
type jsonParticipant struct {
	Kind string `json:"kind"`
	TIN  string `json:"tin,omitzero"` // masked: "*****" and the last four digits
	NPI  string `json:"npi,omitzero"`
	ID   string `json:"id,omitzero"`
}

// masked returns p's JSON form, or nil for the zero participant.
func masked(p events.Participant) *jsonParticipant {
	if p.IsZero() {
		return nil
	}
	j := &jsonParticipant{Kind: p.Kind.String(), ID: p.ID}
	if !p.TIN.IsZero() {
		j.TIN = p.TIN.String()
	}
	if !p.NPI.IsZero() {
		j.NPI = p.NPI.String()
	}
	return j
}

// jsonTime omits a zero time.
func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// word returns an enumeration's word, or "" for its zero value.
func word[E interface {
	comparable
	String() string
}](e E) string {
	var zero E
	if e == zero {
		return ""
	}
	return e.String()
}

// MarshalJSON writes the view as {"participant": {"kind", "tin" (masked),
// "npi", "id"}, "programYear": "MIPS-2024", "kind", "eligibility", "phase",
// "basis", "source", "exclusion", "determinedAt", "mipsApm", "qp",
// "portalRegistered", "choice", "pathway", "electedBy", "electedAs",
// "organization", "onBehalfOf", "electedAt", "virtualGroupId", "imported",
// "publicReportingOptedOut"}; empty members are left out.
func (v StatusView) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Participant             *jsonParticipant `json:"participant,omitzero"`
		ProgramYear             string           `json:"programYear"`
		Kind                    string           `json:"kind"`
		Eligibility             string           `json:"eligibility,omitzero"`
		Phase                   string           `json:"phase,omitzero"`
		Basis                   string           `json:"basis,omitzero"`
		Source                  string           `json:"source,omitzero"`
		Exclusion               string           `json:"exclusion,omitzero"`
		DeterminedAt            *time.Time       `json:"determinedAt,omitzero"`
		MIPSAPM                 bool             `json:"mipsApm,omitzero"`
		QP                      bool             `json:"qp,omitzero"`
		PortalRegistered        bool             `json:"portalRegistered,omitzero"`
		Choice                  string           `json:"choice,omitzero"`
		Pathway                 string           `json:"pathway,omitzero"`
		ElectedBy               string           `json:"electedBy,omitzero"`
		ElectedAs               string           `json:"electedAs,omitzero"`
		Organization            string           `json:"organization,omitzero"`
		OnBehalfOf              *jsonParticipant `json:"onBehalfOf,omitzero"`
		ElectedAt               *time.Time       `json:"electedAt,omitzero"`
		VirtualGroupID          string           `json:"virtualGroupId,omitzero"`
		Imported                bool             `json:"imported,omitzero"`
		PublicReportingOptedOut bool             `json:"publicReportingOptedOut,omitzero"`
	}{
		masked(v.Participant), v.ProgramYear.String(), v.Kind.String(), word(v.Eligibility), phaseWord(v.Phase), v.Basis,
		word(v.Source), word(v.Exclusion), jsonTime(v.DeterminedAt), v.MIPSAPM, v.QP, v.PortalRegistered,
		word(v.Choice), word(v.Pathway), v.ElectedBy, word(v.ElectedAs), v.Organization, masked(v.OnBehalfOf),
		jsonTime(v.ElectedAt), v.VirtualGroupID, v.Imported, v.PublicReportingOptedOut,
	}, json.Deterministic(true))
}

func phaseWord(p eligibility.Phase) string {
	if p == eligibility.PhaseNone {
		return ""
	}
	return p.String()
}

// jsonCandidate is a candidate score in JSON.
type jsonCandidate struct {
	Source   string           `json:"source"`
	Of       *jsonParticipant `json:"of,omitzero"`
	Score    float64          `json:"score"`
	Reported float64          `json:"reported"`
	Hardship bool             `json:"hardship,omitzero"`
}

// MarshalJSON writes the final score as {"clinician": {...}, "programYear",
// "paymentYear", "inMIPS", "through", "informational", "phase", "score",
// "source", "of": {...}, "hardship", "reason", "candidates": [{"source",
// "of", "score", "reported", "hardship"}], "adjustment": {"applies",
// "base", "exceptional", "total"}} (percentages); TINs masked.
func (f FinalScore) MarshalJSON() ([]byte, error) {
	cands := make([]jsonCandidate, len(f.Candidates))
	for i, c := range f.Candidates {
		cands[i] = jsonCandidate{Source: c.Source.String(), Of: masked(c.Of), Score: c.Score, Reported: c.Reported, Hardship: c.Hardship}
	}
	return json.Marshal(struct {
		Clinician     *jsonParticipant `json:"clinician,omitzero"`
		ProgramYear   string           `json:"programYear"`
		PaymentYear   int              `json:"paymentYear,omitzero"`
		InMIPS        bool             `json:"inMIPS"`
		Through       string           `json:"through"`
		Informational bool             `json:"informational,omitzero"`
		Phase         string           `json:"phase,omitzero"`
		Score         float64          `json:"score"`
		Source        string           `json:"source"`
		Of            *jsonParticipant `json:"of,omitzero"`
		Hardship      bool             `json:"hardship,omitzero"`
		Reason        string           `json:"reason"`
		Candidates    []jsonCandidate  `json:"candidates"`
		Adjustment    struct {
			Applies     bool    `json:"applies"`
			Base        float64 `json:"base"`
			Exceptional float64 `json:"exceptional"`
			Total       float64 `json:"total"`
		} `json:"adjustment"`
	}{
		Clinician: masked(f.Clinician), ProgramYear: f.ProgramYear.String(), PaymentYear: f.PaymentYear, InMIPS: f.InMIPS,
		Through: f.Through.String(), Informational: f.Informational, Phase: phaseWord(f.Phase), Score: f.Score,
		Source: f.Source.String(), Of: masked(f.Of), Hardship: f.Hardship, Reason: f.Reason, Candidates: cands,
		Adjustment: struct {
			Applies     bool    `json:"applies"`
			Base        float64 `json:"base"`
			Exceptional float64 `json:"exceptional"`
			Total       float64 `json:"total"`
		}{f.Adjustment.Applies, f.Adjustment.Base, f.Adjustment.Exceptional, f.Adjustment.Total()},
	}, json.Deterministic(true))
}

// MarshalJSON writes the feedback as {"participant": {...}, "programYear",
// "level", "cost", "claimsQuality", "inBenchmarks", "publicReporting",
// "mayOptOut", "apmEntity": {...}, "reason"}; TINs masked.
func (fb Feedback) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Participant     *jsonParticipant `json:"participant,omitzero"`
		ProgramYear     string           `json:"programYear"`
		Level           string           `json:"level"`
		Cost            bool             `json:"cost"`
		ClaimsQuality   bool             `json:"claimsQuality"`
		InBenchmarks    bool             `json:"inBenchmarks"`
		PublicReporting bool             `json:"publicReporting"`
		MayOptOut       bool             `json:"mayOptOut"`
		APMEntity       *jsonParticipant `json:"apmEntity,omitzero"`
		Reason          string           `json:"reason"`
	}{masked(fb.Participant), fb.ProgramYear.String(), fb.Level.String(), fb.Cost, fb.ClaimsQuality, fb.InBenchmarks,
		fb.PublicReporting, fb.MayOptOut, masked(fb.APMEntity), fb.Reason}, json.Deterministic(true))
}
