package eligibility

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// eventNamespace is the UUID v5 namespace of determination and import event
// IDs (a constant of this library).
func eventNamespace() uuid.UUID {
	return uuid.UUID{0x6e, 0x1c, 0x9e, 0x41, 0x0b, 0x7a, 0x4d, 0x55, 0x9a, 0x3f, 0x51, 0xe0, 0x2c, 0x8d, 0x47, 0x13}
}

// DeterminationID derives a determination's event ID from what identifies
// it (participant, year, source, source date, run and time), so recording
// the same determination twice appends it once.
func DeterminationID(d *events.EligibilityDetermined) uuid.UUID {
	b := make([]byte, 0, 96)
	b = append(b, "eligibility.determined\x00"...)
	b = append(b, d.Participant.Kind.String()...)
	b = append(b, 0)
	b = append(b, d.Participant.TIN.Digits()...)
	b = append(b, 0)
	b = append(b, d.Participant.NPI.String()...)
	b = append(b, 0)
	b = append(b, d.Participant.ID...)
	b = append(b, 0)
	b = append(b, d.ProgramYear.String()...)
	b = append(b, byte(d.Source))
	b = binary.BigEndian.AppendUint64(b, uint64(d.SourceDate.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(d.DeterminedAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(d.Run))
	sum := sha256.Sum256(b) // keep the TIN out of the UUID's input as stored anywhere
	return uuid.NewSHA1(eventNamespace(), sum[:])
}

// ErrInvalidDetermination matches a DeterminationError.
var ErrInvalidDetermination = errors.New("eligibility: invalid determination")

// DeterminationError is a determination Record refuses, or a score
// RecordScore refuses. It names the participant masked.
type DeterminationError struct {
	Participant events.Participant
	Field       string
	Reason      string
	Err         error  // the cause, if any (an *UnknownProgramYearError)
	What        string // "score" for a score; "" for a determination
}

// Error implements error.
func (e *DeterminationError) Error() string {
	what := e.What
	if what == "" {
		what = "determination"
	}
	s := fmt.Sprintf("eligibility: %s for %v refused: %s: %s", what, e.Participant, e.Field, e.Reason)
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap matches ErrInvalidDetermination and the cause.
func (e *DeterminationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidDetermination, e.Err}
	}
	return []error{ErrInvalidDetermination}
}

// ValidateDetermination checks a determination against the table before it
// is recorded: its program year is in the table, spelled as the table
// spells it; the participant, status, exclusion and source are known
// values that fit together; volumes are not negative; it says when it was
// made.
func (t *Table) ValidateDetermination(d *events.EligibilityDetermined) error {
	bad := func(field, reason string, err error) error {
		return &DeterminationError{Participant: d.Participant, Field: field, Reason: reason, Err: err}
	}
	if _, err := t.Lookup(d.ProgramYear); err != nil {
		return bad("programYear", "not a program year of the table", err)
	}
	if err := d.Participant.Validate(); err != nil {
		return bad("participant", "not a valid participant; build one with events.Group, Individual, NewVirtualGroup or NewAPMEntity", nil)
	}
	if _, err := d.Status.MarshalText(); err != nil || d.Status == events.StatusUnknown {
		return bad("status", "want required, opt-in-eligible, exempt, excluded, partial-qp or not-assessed", nil)
	}
	if _, err := d.Exclusion.MarshalText(); err != nil || (d.Status == events.StatusExcluded) != (d.Exclusion != events.ExclusionNone) {
		return bad("exclusion", "an excluded determination names its reason, and only an excluded one", nil)
	}
	if _, err := d.Source.MarshalText(); err != nil || d.Source == events.SourceUnknown {
		return bad("source", "name the segment, snapshot, import or list the determination comes from", nil)
	}
	if v := d.Volumes; v.AllowedChargesCents < 0 || v.PartBPatients < 0 || v.CoveredServices < 0 || d.EligibleClinicians < 0 {
		return bad("volumes", "counts and cents must be 0 or more", nil)
	}
	if d.DeterminedAt.IsZero() {
		return bad("determinedAt", "say when the determination was made", nil)
	}
	if d.Status == events.StatusPartialQP && d.Participant.Kind != events.KindIndividual {
		return bad("status", "only a clinician (TIN/NPI) is a Partial QP", nil)
	}
	return nil
}

// Record appends a determination to the participant's eligibility stream,
// after ValidateDetermination: a refused determination appends nothing.
// Earlier determinations stay in the stream: a later one supersedes them in
// their slot (see Reconcile) without erasing them. Recording the same
// determination again is a no-op that returns the original result.
func Record(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, table *Table, d events.EligibilityDetermined, md events.Metadata) (events.AppendResult, error) {
	if err := table.ValidateDetermination(&d); err != nil {
		return events.AppendResult{}, err
	}
	data, err := reg.Encode(DeterminationID(&d), d, md)
	if err != nil {
		return events.AppendResult{}, err
	}
	return store.Append(ctx, names.Eligibility(d.ProgramYear, d.Participant), events.Any, data)
}

// History reads every determination of a participant for a program year, in
// recorded order.
func History(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, py events.ProgramYear, p events.Participant) ([]events.EligibilityDetermined, error) {
	var out []events.EligibilityDetermined
	for rec, err := range store.ReadStream(ctx, names.Eligibility(py, p), 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		e, err := reg.Decode(&rec)
		if err != nil {
			return nil, err
		}
		d, ok := e.(events.EligibilityDetermined)
		if !ok {
			return nil, fmt.Errorf("eligibility: %s@%d holds %s, not a determination", rec.Stream, rec.Revision, rec.Type)
		}
		out = append(out, d)
	}
	return out, nil
}

// Current returns a participant's standing for the program year of rules
// as of asOf (zero: everything recorded), reconciled from its
// determinations in the store (Reconcile). A participant with no
// determination has a standing whose Phase is PhaseNone.
func Current(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, rules *Rules, p events.Participant, asOf time.Time) (Standing, error) {
	h, err := History(ctx, store, names, reg, rules.ProgramYear, p)
	if err != nil {
		return Standing{}, err
	}
	return Reconcile(rules, p, h, asOf), nil
}

// ScoreID derives a reported score's event ID from what identifies it
// (participant, year, pathway, time), so recording the same report twice
// appends it once.
func ScoreID(s *events.ScoreReported) uuid.UUID {
	b := make([]byte, 0, 96)
	b = append(b, "score.reported\x00"...)
	b = append(b, s.Participant.Kind.String()...)
	b = append(b, 0)
	b = append(b, s.Participant.TIN.Digits()...)
	b = append(b, 0)
	b = append(b, s.Participant.NPI.String()...)
	b = append(b, 0)
	b = append(b, s.Participant.ID...)
	b = append(b, 0)
	b = append(b, s.ProgramYear.String()...)
	b = append(b, byte(s.Pathway))
	b = binary.BigEndian.AppendUint64(b, uint64(s.ReportedAt.UnixNano()))
	sum := sha256.Sum256(b)
	return uuid.NewSHA1(eventNamespace(), sum[:])
}

// MaxScoredCategories is the number of MIPS performance categories
// (quality, cost, improvement activities, promoting interoperability).
const MaxScoredCategories = 4

// ValidateScore checks a reported score before it is recorded: its program
// year is in the table, the participant is valid, the pathway is one a
// score names, the score is from 0 to 100, and it says how many
// performance categories were scored (1 to 4: fewer than two is
// reweighting, which sets the final score to the performance threshold;
// there is no default).
func (t *Table) ValidateScore(s *events.ScoreReported) error {
	bad := func(field, reason string, err error) error {
		return &DeterminationError{Participant: s.Participant, Field: field, Reason: reason, Err: err, What: "score"}
	}
	if _, err := t.Lookup(s.ProgramYear); err != nil {
		return bad("programYear", "not a program year of the table", err)
	}
	if err := s.Participant.Validate(); err != nil {
		return bad("participant", "not a valid participant", nil)
	}
	switch {
	case s.Pathway != events.PathwayTraditional && s.Pathway != events.PathwayAPP && s.Pathway != events.PathwayMVP:
		return bad("pathway", "name the traditional MIPS, APP or MVP pathway", nil)
	case !(s.Score >= 0 && s.Score <= 100):
		return bad("score", "a final score is from 0 to 100", nil)
	case s.ScoredCategories < 1 || s.ScoredCategories > MaxScoredCategories:
		return bad("scoredCategories", fmt.Sprintf("say how many performance categories were scored, 1 to %d (there is no default)", MaxScoredCategories), nil)
	case s.ReportedAt.IsZero():
		return bad("reportedAt", "say when the score was reported", nil)
	}
	return nil
}

// RecordScore appends a reported score to the participant's score stream,
// after ValidateScore: a refused score appends nothing. Recording the same
// report again appends nothing new.
func RecordScore(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, table *Table, s events.ScoreReported, md events.Metadata) (events.AppendResult, error) {
	if err := table.ValidateScore(&s); err != nil {
		return events.AppendResult{}, err
	}
	data, err := reg.Encode(ScoreID(&s), s, md)
	if err != nil {
		return events.AppendResult{}, err
	}
	return store.Append(ctx, names.Score(s.ProgramYear, s.Participant), events.Any, data)
}
