package events

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// Event is a ledger event payload. EventType returns its stable wire name,
// which never derives from the Go type name, so renaming a Go type cannot
// break a recorded log.
type Event interface {
	EventType() string
}

// Wire names of the ledger's event types.
const (
	TypeEligibilityDetermined      = "eligibility.determined"
	TypeElectionRequested          = "election.requested"
	TypeElectionRequestWithdrawn   = "election.request-withdrawn"
	TypeElectionConfirmed          = "election.confirmed"
	TypeAPMParticipationSnapshot   = "apm.participation-snapshot"
	TypeVirtualGroupMembership     = "virtual-group.membership"
	TypeVirtualGroupMemberAdmitted = "virtual-group.member-admitted"
	TypeVirtualGroupMemberReleased = "virtual-group.member-released"
	TypeVirtualGroupRetracted      = "virtual-group.election-retracted"
	TypePublicReportingOptedOut    = "public-reporting.opted-out"
	TypeUploadCancelled            = "upload.cancelled"
	TypeCommandRecorded            = "command.recorded"
	TypeScoreReported              = "score.reported"
)

// Seals reports whether an event of this type seals its stream: after it,
// every Store refuses any append to the stream with ErrStreamSealed. An
// ElectionConfirmed is final; nothing may follow it.
func Seals(eventType string) bool { return eventType == TypeElectionConfirmed }

// enum is the shared text form of the small enumerations below: index 0 is
// the zero value ("" on the wire only where a field is optional).
type enum struct {
	kind  string
	names []string
}

func (e enum) name(v uint8) string {
	if int(v) < len(e.names) {
		return e.names[v]
	}
	return e.kind + "(" + strconv.Itoa(int(v)) + ")"
}

func (e enum) marshal(v uint8) ([]byte, error) { return e.append(nil, v) }

// append appends the wire name: the allocation-free form the JSON encoder
// uses (encoding.TextAppender).
func (e enum) append(b []byte, v uint8) ([]byte, error) {
	if int(v) >= len(e.names) {
		return b, fmt.Errorf("events: unknown %s %d", e.kind, v)
	}
	return append(b, e.names[v]...), nil
}

func (e enum) unmarshal(b []byte) (uint8, error) {
	for i, n := range e.names {
		if string(b) == n {
			return uint8(i), nil
		}
	}
	return 0, &IdentifierError{Kind: e.kind, Rule: ErrFormat, Got: strconv.Quote(string(b)), Want: fmt.Sprintf("one of %q", e.names)}
}

// EligibilityStatus is a determination's outcome for a program year.
type EligibilityStatus uint8

// Eligibility statuses.
const (
	StatusUnknown       EligibilityStatus = iota // no determination
	StatusRequired                               // exceeds every LVT criterion: MIPS eligible, must participate
	StatusOptInEligible                          // exceeds some but not all criteria: may opt in or report voluntarily
	StatusExempt                                 // exceeds no criterion: exempt and not opt-in eligible
	StatusExcluded                               // excluded whatever its volumes; see ExclusionReason
	// StatusPartialQP: a Partial Qualifying APM Participant, excluded from
	// MIPS unless a Partial QP election is made for it.
	StatusPartialQP
	// StatusNotAssessed: not judged against the low-volume threshold at all
	// (APM Entities from PY2021): neither required nor exempt by volume.
	StatusNotAssessed
)

var statusEnum = enum{"eligibility status", []string{"", "required", "opt-in-eligible", "exempt", "excluded", "partial-qp", "not-assessed"}}

// String returns the stable wire name.
func (s EligibilityStatus) String() string { return statusEnum.name(uint8(s)) }

// MarshalText returns the stable wire name.
func (s EligibilityStatus) MarshalText() ([]byte, error) { return statusEnum.marshal(uint8(s)) }

// AppendText appends the stable wire name.
func (s EligibilityStatus) AppendText(b []byte) ([]byte, error) {
	return statusEnum.append(b, uint8(s))
}

// UnmarshalText parses the wire name.
func (s *EligibilityStatus) UnmarshalText(b []byte) error {
	v, err := statusEnum.unmarshal(b)
	*s = EligibilityStatus(v)
	return err
}

// ExclusionReason says why a participant is excluded or may not elect.
type ExclusionReason uint8

// Exclusion reasons.
const (
	ExclusionNone                    ExclusionReason = iota
	ExclusionQP                                      // a Qualifying APM Participant
	ExclusionNewlyEnrolled                           // enrolled in Medicare during the year
	ExclusionIneligibleClinicianType                 // clinician type not MIPS eligible that year
	ExclusionNoEligibleClinician                     // group: no clinician under the TIN is otherwise eligible
	ExclusionAPMEntity                               // APM Entities are scored under the APM standard and cannot opt in
	ExclusionNotInProgram                            // payer program: not a participating practice
)

var exclusionEnum = enum{"exclusion reason", []string{"", "qualifying-apm-participant", "newly-enrolled", "ineligible-clinician-type", "no-eligible-clinician", "apm-entity", "not-in-program"}}

// String returns the stable wire name.
func (r ExclusionReason) String() string { return exclusionEnum.name(uint8(r)) }

// MarshalText returns the stable wire name.
func (r ExclusionReason) MarshalText() ([]byte, error) { return exclusionEnum.marshal(uint8(r)) }

// AppendText appends the stable wire name.
func (r ExclusionReason) AppendText(b []byte) ([]byte, error) {
	return exclusionEnum.append(b, uint8(r))
}

// UnmarshalText parses the wire name.
func (r *ExclusionReason) UnmarshalText(b []byte) error {
	v, err := exclusionEnum.unmarshal(b)
	*r = ExclusionReason(v)
	return err
}

// Criteria is a set of low-volume-threshold criteria, used for which
// criteria a participant exceeded.
type Criteria uint8

// Low-volume-threshold criteria.
const (
	CriterionCharges  Criteria = 1 << iota // allowed charges for covered professional services
	CriterionPatients                      // Part B-enrolled patients
	CriterionServices                      // covered professional services
)

// Count returns how many criteria the set holds.
func (c Criteria) Count() int { return bits.OnesCount8(uint8(c)) }

// Has reports whether every criterion of o is in c.
func (c Criteria) Has(o Criteria) bool { return c&o == o }

var criteriaNames = [...]string{"charges", "patients", "services"}

// String lists the criteria, e.g. "charges+services" ("none" if empty).
func (c Criteria) String() string {
	if c == 0 {
		return "none"
	}
	var s string
	for i, n := range criteriaNames {
		if c&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += n
		}
	}
	return s
}

// MarshalText returns the String form; "" for the empty set.
func (c Criteria) MarshalText() ([]byte, error) { return c.AppendText([]byte{}) }

// AppendText appends the String form; nothing for the empty set.
func (c Criteria) AppendText(b []byte) ([]byte, error) {
	if c >= 1<<len(criteriaNames) {
		return b, fmt.Errorf("events: unknown criteria bits %b", c)
	}
	first := true
	for i, n := range criteriaNames {
		if c&(1<<i) != 0 {
			if !first {
				b = append(b, '+')
			}
			b, first = append(b, n...), false
		}
	}
	return b, nil
}

// UnmarshalText parses the String form.
func (c *Criteria) UnmarshalText(b []byte) error {
	*c = 0
	s := string(b)
	if s == "" || s == "none" {
		return nil
	}
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, "+")
		found := false
		for i, n := range criteriaNames {
			if part == n {
				*c |= 1 << i
				found = true
			}
		}
		if !found {
			return &IdentifierError{Kind: "criteria", Rule: ErrFormat, Got: strconv.Quote(part), Want: "charges, patients or services joined by '+'"}
		}
	}
	return nil
}

// Source says what produced an eligibility determination.
type Source uint8

// Determination sources.
const (
	SourceUnknown     Source = iota
	SourceSegment1           // first 12-month segment (Oct 1 two years before the PY – Sep 30)
	SourceSegment2           // second segment (Oct 1 the year before – Sep 30 of the PY)
	SourceAPMSnapshot        // an APM participation snapshot date
	SourceImport             // imported from a QPP Eligibility API document
	SourcePortal             // a payer portal's registration list (QIPS)
	// SourceVirtualGroupAssessment: the period virtual group eligibility was
	// assessed on before segment 1 took that role (PY2018: Jul 1 - Nov 30
	// 2017).
	SourceVirtualGroupAssessment
)

var sourceEnum = enum{"determination source", []string{"", "segment-1", "segment-2", "apm-snapshot", "import", "portal", "virtual-group-assessment"}}

// String returns the stable wire name.
func (s Source) String() string { return sourceEnum.name(uint8(s)) }

// MarshalText returns the stable wire name.
func (s Source) MarshalText() ([]byte, error) { return sourceEnum.marshal(uint8(s)) }

// AppendText appends the stable wire name.
func (s Source) AppendText(b []byte) ([]byte, error) { return sourceEnum.append(b, uint8(s)) }

// UnmarshalText parses the wire name.
func (s *Source) UnmarshalText(b []byte) error {
	v, err := sourceEnum.unmarshal(b)
	*s = Source(v)
	return err
}

// Choice is an election choice.
type Choice uint8

// Election choices. NoDecision is never recorded as an election; it exists
// for registries' bulk uploads, where it means "leave this one alone".
const (
	ChoiceNone       Choice = iota
	ChoiceOptIn             // become MIPS eligible via opt-in: score and payment adjustment
	ChoiceVoluntary         // report voluntarily: informational score, no adjustment
	ChoiceNoDecision        // make no election (bulk uploads)
	// ChoicePartialQP: a Partial QP election, to participate in MIPS (made
	// by an APM Entity for its Partial QPs, or by an individually assessed
	// clinician), in the participant's Partial QP election stream.
	ChoicePartialQP
)

var choiceEnum = enum{"choice", []string{"", "opt-in", "voluntary", "no-decision", "partial-qp"}}

// String returns the stable wire name.
func (c Choice) String() string { return choiceEnum.name(uint8(c)) }

// MarshalText returns the stable wire name.
func (c Choice) MarshalText() ([]byte, error) { return choiceEnum.marshal(uint8(c)) }

// AppendText appends the stable wire name.
func (c Choice) AppendText(b []byte) ([]byte, error) { return choiceEnum.append(b, uint8(c)) }

// UnmarshalText parses the wire name.
func (c *Choice) UnmarshalText(b []byte) error {
	v, err := choiceEnum.unmarshal(b)
	*c = Choice(v)
	return err
}

// Pathway is the reporting pathway an election names.
type Pathway uint8

// Reporting pathways.
const (
	PathwayNone        Pathway = iota
	PathwayTraditional         // traditional MIPS
	PathwayAPP                 // the APM Performance Pathway (MIPS APM participants)
	PathwayMVP                 // MIPS Value Pathways
)

var pathwayEnum = enum{"pathway", []string{"", "traditional", "app", "mvp"}}

// String returns the stable wire name.
func (p Pathway) String() string { return pathwayEnum.name(uint8(p)) }

// MarshalText returns the stable wire name.
func (p Pathway) MarshalText() ([]byte, error) { return pathwayEnum.marshal(uint8(p)) }

// AppendText appends the stable wire name.
func (p Pathway) AppendText(b []byte) ([]byte, error) { return pathwayEnum.append(b, uint8(p)) }

// UnmarshalText parses the wire name.
func (p *Pathway) UnmarshalText(b []byte) error {
	v, err := pathwayEnum.unmarshal(b)
	*p = Pathway(v)
	return err
}

// ListKind names the APM list a clinician appeared on at a snapshot.
type ListKind uint8

// APM list kinds.
const (
	ListNone                   ListKind = iota
	ListParticipation                   // MIPS APM Participation List
	ListAffiliatedPractitioner          // Affiliated Practitioner List
)

var listEnum = enum{"APM list", []string{"", "participation", "affiliated-practitioner"}}

// String returns the stable wire name.
func (l ListKind) String() string { return listEnum.name(uint8(l)) }

// MarshalText returns the stable wire name.
func (l ListKind) MarshalText() ([]byte, error) { return listEnum.marshal(uint8(l)) }

// AppendText appends the stable wire name.
func (l ListKind) AppendText(b []byte) ([]byte, error) { return listEnum.append(b, uint8(l)) }

// UnmarshalText parses the wire name.
func (l *ListKind) UnmarshalText(b []byte) error {
	v, err := listEnum.unmarshal(b)
	*l = ListKind(v)
	return err
}

// Volumes are the low-volume-threshold inputs of one segment. Money is kept
// as integer cents.
type Volumes struct {
	AllowedChargesCents int64 `json:"allowedChargesCents"`
	PartBPatients       int   `json:"partBPatients"`
	CoveredServices     int   `json:"coveredServices"`
}

// EligibilityDetermined records one determination of a participant's
// eligibility for a program year, from one source (a segment, an APM
// snapshot, an import). Determinations change through the year; each is
// kept, and the eligibility package reconciles them into the participant's
// standing (segment 1 is the initial status, segment 2 reconciled with it
// the final one).
type EligibilityDetermined struct {
	Participant  Participant       `json:"participant"`
	ProgramYear  ProgramYear       `json:"programYear"`
	Status       EligibilityStatus `json:"status"`
	Exclusion    ExclusionReason   `json:"exclusion,omitzero"`
	Exceeded     Criteria          `json:"exceeded,omitzero"` // LVT criteria exceeded (strictly greater)
	Volumes      Volumes           `json:"volumes"`
	Source       Source            `json:"source"`
	SourceDate   time.Time         `json:"sourceDate"` // segment end or snapshot date
	DeterminedAt time.Time         `json:"determinedAt"`
	// ClinicianType is the specialty code for individuals (e.g. "physician").
	ClinicianType string `json:"clinicianType,omitzero"`
	QP            bool   `json:"qp,omitzero"`      // Qualifying APM Participant
	MIPSAPM       bool   `json:"mipsApm,omitzero"` // participates in a MIPS APM (may use the APP)
	// PortalRegistered: registered on the payer's portal (QIPS).
	PortalRegistered bool `json:"portalRegistered,omitzero"`
	// Run is the QPP eligibility run number of an imported determination.
	Run int `json:"run,omitzero"`
	// NewlyEstablished: the TIN or TIN/NPI was newly established during the
	// segment this determination covers (segment 2: it is judged on segment
	// 2 alone).
	NewlyEstablished bool `json:"newlyEstablished,omitzero"`
	// EligibleClinicians counts, for a group, the otherwise eligible
	// clinicians billing under the TIN (a virtual group member may have at
	// most 10); 0 when not counted.
	EligibleClinicians int `json:"eligibleClinicians,omitzero"`
	// IndividuallyAssessed: a clinician assessed for QP status on its own
	// (an Affiliated Practitioner List), who makes its own Partial QP
	// election; otherwise its APM Entity makes it.
	IndividuallyAssessed bool `json:"individuallyAssessed,omitzero"`
	// QPStatus is the QPP NPI lookup's qpStatus code for the clinician, as
	// the document gave it ("Y", "N", "P", "Q" or "R"; "" when none was
	// given): kept because the meaning of "Q" and "R" is unconfirmed.
	QPStatus string `json:"qpStatus,omitzero"`
}

// EventType implements Event.
func (EligibilityDetermined) EventType() string { return TypeEligibilityDetermined }

// Champion is a QIPS practice champion.
type Champion struct {
	Name string `json:"name"`
	Role string `json:"role"`         // "administrator" (office) or "physician" (clinical)
	NPI  NPI    `json:"npi,omitzero"` // the clinical champion's NPI
}

// ElectionRequested records a selection: binding only once confirmed.
// Schema version 2 (v1 had a boolean optIn and no pathway; the registry's
// upcaster converts it).
type ElectionRequested struct {
	Participant Participant `json:"participant"`
	ProgramYear ProgramYear `json:"programYear"`
	Choice      Choice      `json:"choice"`
	Pathway     Pathway     `json:"pathway"`
	RequestedAt time.Time   `json:"requestedAt"`
	// BatchID names the registry upload the selection belongs to, if any.
	BatchID string `json:"batchId,omitzero"`
	// VirtualGroupID names the virtual group whose election this is part of.
	VirtualGroupID   string    `json:"virtualGroupId,omitzero"`
	OfficeChampion   *Champion `json:"officeChampion,omitzero"`
	ClinicalChampion *Champion `json:"clinicalChampion,omitzero"`
}

// EventType implements Event.
func (ElectionRequested) EventType() string { return TypeElectionRequested }

// ElectionRequestWithdrawn records that a pending selection was cancelled
// before confirmation.
type ElectionRequestWithdrawn struct {
	Participant Participant `json:"participant"`
	ProgramYear ProgramYear `json:"programYear"`
	WithdrawnAt time.Time   `json:"withdrawnAt"`
	Reason      string      `json:"reason,omitzero"`
	BatchID     string      `json:"batchId,omitzero"`
}

// EventType implements Event.
func (ElectionRequestWithdrawn) EventType() string { return TypeElectionRequestWithdrawn }

// ElectionConfirmed records the binding election. It seals its stream: the
// election is final and can never be undone or changed.
type ElectionConfirmed struct {
	Participant Participant `json:"participant"`
	ProgramYear ProgramYear `json:"programYear"`
	Choice      Choice      `json:"choice"`
	Pathway     Pathway     `json:"pathway"`
	ConfirmedAt time.Time   `json:"confirmedAt"`
	// RequestRevision is the stream revision of the request it confirms.
	RequestRevision uint64 `json:"requestRevision"`
	BatchID         string `json:"batchId,omitzero"`
	VirtualGroupID  string `json:"virtualGroupId,omitzero"`
	// Imported marks a historical election imported from QPP.
	Imported bool `json:"imported,omitzero"`
}

// EventType implements Event.
func (ElectionConfirmed) EventType() string { return TypeElectionConfirmed }

// APMListEntry is one clinician on an APM list at a snapshot date.
type APMListEntry struct {
	TIN  TIN      `json:"tin"`
	NPI  NPI      `json:"npi"`
	List ListKind `json:"list"`
}

// APMModel names the APM an entity belongs to, where a rule depends on it
// (who opens feedback: docs/rules.md §7).
type APMModel uint8

// APM models.
const (
	ModelUnspecified       APMModel = iota
	ModelSharedSavings              // Medicare Shared Savings Program ACO
	ModelNextGenerationACO          // Next Generation ACO Model
	ModelOther                      // any other APM
)

var modelEnum = enum{"APM model", []string{"", "shared-savings-program", "next-generation-aco", "other"}}

// String returns the stable wire name.
func (m APMModel) String() string { return modelEnum.name(uint8(m)) }

// MarshalText returns the stable wire name.
func (m APMModel) MarshalText() ([]byte, error) { return modelEnum.marshal(uint8(m)) }

// AppendText appends the stable wire name.
func (m APMModel) AppendText(b []byte) ([]byte, error) { return modelEnum.append(b, uint8(m)) }

// UnmarshalText parses the wire name.
func (m *APMModel) UnmarshalText(b []byte) error {
	v, err := modelEnum.unmarshal(b)
	*m = APMModel(v)
	return err
}

// APMParticipationSnapshot records an APM Entity's participation lists at a
// snapshot date (e.g. Mar 31, Jun 30, Aug 31, Dec 31).
type APMParticipationSnapshot struct {
	Entity       Participant    `json:"entity"`
	ProgramYear  ProgramYear    `json:"programYear"`
	SnapshotDate time.Time      `json:"snapshotDate"`
	MIPSAPM      bool           `json:"mipsApm"`
	Entries      []APMListEntry `json:"entries"`
	// Model is the APM the entity belongs to, when known (added December
	// 2026; older snapshots say nothing).
	Model APMModel `json:"model,omitzero"`
}

// EventType implements Event.
func (APMParticipationSnapshot) EventType() string { return TypeAPMParticipationSnapshot }

// VirtualGroupMembership records the member TINs of a virtual group for a
// program year.
type VirtualGroupMembership struct {
	VirtualGroup Participant `json:"virtualGroup"`
	ProgramYear  ProgramYear `json:"programYear"`
	Members      []TIN       `json:"members"`
	EffectiveAt  time.Time   `json:"effectiveAt"`
}

// EventType implements Event.
func (VirtualGroupMembership) EventType() string { return TypeVirtualGroupMembership }

// VirtualGroupMemberAdmitted records that a TIN was admitted as a member of
// a virtual group for a program year, after its membership eligibility was
// checked. A TIN is in at most one virtual group a year: each TIN has one
// such stream a year (StreamNamer.VirtualGroupMember), appended at its
// expected revision, so two virtual groups cannot both admit it.
type VirtualGroupMemberAdmitted struct {
	Member         Participant `json:"member"` // the TIN, as a group
	ProgramYear    ProgramYear `json:"programYear"`
	VirtualGroupID string      `json:"virtualGroupId"`
	AdmittedAt     time.Time   `json:"admittedAt"`
}

// EventType implements Event.
func (VirtualGroupMemberAdmitted) EventType() string { return TypeVirtualGroupMemberAdmitted }

// VirtualGroupMemberReleased records that a TIN is no longer a member of
// the virtual group that admitted it: a revision of the virtual group's
// election dropped it, or the election was retracted, before the virtual
// group deadline. The TIN may then join another virtual group.
type VirtualGroupMemberReleased struct {
	Member         Participant `json:"member"` // the TIN, as a group
	ProgramYear    ProgramYear `json:"programYear"`
	VirtualGroupID string      `json:"virtualGroupId"`
	ReleasedAt     time.Time   `json:"releasedAt"`
	Reason         string      `json:"reason,omitzero"`
}

// EventType implements Event.
func (VirtualGroupMemberReleased) EventType() string { return TypeVirtualGroupMemberReleased }

// VirtualGroupRetracted records that a virtual group's election was
// retracted before the virtual group deadline: it has no members and opts
// no one in.
type VirtualGroupRetracted struct {
	VirtualGroup Participant `json:"virtualGroup"`
	ProgramYear  ProgramYear `json:"programYear"`
	RetractedAt  time.Time   `json:"retractedAt"`
}

// EventType implements Event.
func (VirtualGroupRetracted) EventType() string { return TypeVirtualGroupRetracted }

// PublicReportingOptedOut records that a voluntary reporter opted out of
// public reporting of its data on Care Compare, during the preview period.
type PublicReportingOptedOut struct {
	Participant Participant `json:"participant"`
	ProgramYear ProgramYear `json:"programYear"`
	OptedOutAt  time.Time   `json:"optedOutAt"`
}

// EventType implements Event.
func (PublicReportingOptedOut) EventType() string { return TypePublicReportingOptedOut }

// UploadCancelled records that a registry cancelled an upload before
// confirming it: every participant it named, those whose selections were
// withdrawn and those already MIPS eligible alike, so that a submission
// pipeline discards the upload's data for all of them.
type UploadCancelled struct {
	BatchID      string        `json:"batchId"`
	Organization string        `json:"organization"` // the registry
	ProgramYear  ProgramYear   `json:"programYear"`
	Participants []Participant `json:"participants"`
	CancelledAt  time.Time     `json:"cancelledAt"`
}

// EventType implements Event.
func (UploadCancelled) EventType() string { return TypeUploadCancelled }

// CommandRecorded binds a command ID to the content of the command that
// first used it, in a stream of its own (StreamNamer.Command): a retry with
// the same content is answered with the original receipt; the same ID with
// other content is refused, on every store.
type CommandRecorded struct {
	CommandID   uuid.UUID   `json:"commandId"`
	Kind        string      `json:"kind"`        // e.g. "request", "batch.submit"
	Fingerprint Hash        `json:"fingerprint"` // SHA-256 of the command's content
	Participant Participant `json:"participant,omitzero"`
	ProgramYear ProgramYear `json:"programYear"`
	RecordedAt  time.Time   `json:"recordedAt"`
}

// EventType implements Event.
func (CommandRecorded) EventType() string { return TypeCommandRecorded }

// ScoreReported records a reported MIPS score for a participant: an
// individual, a group, a virtual group or an APM Entity, on a pathway.
type ScoreReported struct {
	Participant Participant `json:"participant"`
	ProgramYear ProgramYear `json:"programYear"`
	Pathway     Pathway     `json:"pathway"`
	Score       float64     `json:"score"` // 0 to 100
	// ScoredCategories counts performance categories scored; fewer than two
	// (hardship reweighting) sets the final score to the threshold.
	ScoredCategories int       `json:"scoredCategories"`
	ReportedAt       time.Time `json:"reportedAt"`
}

// EventType implements Event.
func (ScoreReported) EventType() string { return TypeScoreReported }

// ErrNoScoredCategories: a score payload without its number of scored
// performance categories. There is no default: without it, reweighting
// cannot be told from a full score.
var ErrNoScoredCategories = errors.New("events: a score without its number of scored categories")

// scoreReportedJSON is ScoreReported as decoded, telling a missing
// scoredCategories from a zero one.
type scoreReportedJSON struct {
	Participant      Participant `json:"participant"`
	ProgramYear      ProgramYear `json:"programYear"`
	Pathway          Pathway     `json:"pathway"`
	Score            float64     `json:"score"`
	ScoredCategories *int        `json:"scoredCategories"`
	ReportedAt       time.Time   `json:"reportedAt"`
}

// UnmarshalJSON decodes a score, refusing one without its number of
// scored categories (ErrNoScoredCategories).
func (r *ScoreReported) UnmarshalJSON(b []byte) error {
	var v scoreReportedJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.ScoredCategories == nil {
		return ErrNoScoredCategories
	}
	*r = ScoreReported{Participant: v.Participant, ProgramYear: v.ProgramYear, Pathway: v.Pathway, Score: v.Score,
		ScoredCategories: *v.ScoredCategories, ReportedAt: v.ReportedAt}
	return nil
}
