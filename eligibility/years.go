package eligibility

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // US Eastern time on machines without a zoneinfo database

	"github.com/electionledger/ledger/events"
)

// Window is a span of time: open at Open (inclusive), closed from Close
// (exclusive). An election made at exactly the close instant is late.
type Window struct {
	Open  time.Time
	Close time.Time
}

// Contains reports whether t is in [Open, Close).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Open) && t.Before(w.Close) }

// IsZero reports whether the window is unset (no such window that year).
func (w Window) IsZero() bool { return w.Open.IsZero() && w.Close.IsZero() }

// LVT is a low-volume threshold: a participant exceeds a criterion only when
// strictly greater than its value. Criteria names which of the three apply
// (PY2018 had two).
type LVT struct {
	ChargesCents int64 // allowed charges for covered professional services, in cents
	Patients     int   // Part B-enrolled patients
	Services     int   // covered professional services
	Criteria     events.Criteria
}

// Exceeded returns the criteria the volumes exceed (strictly greater).
func (l LVT) Exceeded(v events.Volumes) events.Criteria {
	var c events.Criteria
	if l.Criteria.Has(events.CriterionCharges) && v.AllowedChargesCents > l.ChargesCents {
		c |= events.CriterionCharges
	}
	if l.Criteria.Has(events.CriterionPatients) && v.PartBPatients > l.Patients {
		c |= events.CriterionPatients
	}
	if l.Criteria.Has(events.CriterionServices) && v.CoveredServices > l.Services {
		c |= events.CriterionServices
	}
	return c
}

// ClinicianType is a clinician specialty as the eligibility rules name it.
type ClinicianType string

// Clinician types named by RULES.md §3.
const (
	Physician                 ClinicianType = "physician"
	PhysicianAssistant        ClinicianType = "physician-assistant"
	NursePractitioner         ClinicianType = "nurse-practitioner"
	ClinicalNurseSpecialist   ClinicianType = "clinical-nurse-specialist"
	CRNA                      ClinicianType = "certified-registered-nurse-anesthetist"
	PhysicalTherapist         ClinicianType = "physical-therapist"
	OccupationalTherapist     ClinicianType = "occupational-therapist"
	SpeechLanguagePathologist ClinicianType = "speech-language-pathologist"
	Audiologist               ClinicianType = "audiologist"
	ClinicalPsychologist      ClinicianType = "clinical-psychologist"
	RegisteredDietitian       ClinicianType = "registered-dietitian"
	ClinicalSocialWorker      ClinicianType = "clinical-social-worker"
	CertifiedNurseMidwife     ClinicianType = "certified-nurse-midwife"
	OtherClinicianType        ClinicianType = "other" // any type not eligible in any year
)

// Rules is one program year's row of the table: every rule that changes by
// year is here, as data.
type Rules struct {
	ProgramYear events.ProgramYear
	// OptIn: opt-in elections exist this year.
	OptIn bool
	// ElectionWindow: when opt-in and voluntary-reporting elections are
	// taken; the close is 8 pm US Eastern on the deadline date.
	ElectionWindow Window
	// DataSubmissionDeadline is separate from the election deadline (PY2024
	// proves they differ).
	DataSubmissionDeadline time.Time
	// VirtualGroupWindow: the earlier window for virtual group elections.
	VirtualGroupWindow Window
	// LVT is the low-volume threshold; NoLVT programs (QIPS) have none.
	LVT   LVT
	NoLVT bool
	// PerformanceThreshold (PT), ExceptionalThreshold (0: no bonus that
	// year) and ApplicablePercent (A, the maximum negative adjustment, in
	// percent) drive the payment adjustment.
	PerformanceThreshold float64
	ExceptionalThreshold float64
	ApplicablePercent    float64
	// Choices that exist: voluntary reporting, the APM Performance Pathway,
	// MVPs, and MVPs for opt-in eligible participants.
	VoluntaryReporting bool
	APP                bool
	MVP                bool
	MVPForOptIn        bool
	// APMEntityScoreOverrides: an APM Entity score overrides other scores
	// (PY2017-2020) instead of competing as a candidate (PY2021 on).
	APMEntityScoreOverrides bool
	// QIPS-style requirements: Office and Clinical Champions, portal
	// registration, primary care only.
	ChampionsRequired          bool
	PortalRegistrationRequired bool
	PrimaryCareOnly            bool
	// ClinicianTypes eligible this year (individuals).
	ClinicianTypes []ClinicianType
	// Unconfirmed lists the fields whose values RULES.md marks unconfirmed
	// or does not state; callers should confirm or override them.
	Unconfirmed []string
}

// EligibleType reports whether a clinician type is MIPS eligible this year.
func (r *Rules) EligibleType(t ClinicianType) bool { return slices.Contains(r.ClinicianTypes, t) }

// Validate checks that a row is usable.
func (r *Rules) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := r.ProgramYear.Validate(); err != nil {
		bad("program year: %w", err)
	}
	if r.OptIn && r.ElectionWindow.IsZero() {
		bad("opt-in exists but there is no election window")
	}
	if !r.ElectionWindow.IsZero() && !r.ElectionWindow.Open.Before(r.ElectionWindow.Close) {
		bad("election window opens at %v, not before it closes at %v", r.ElectionWindow.Open, r.ElectionWindow.Close)
	}
	if !r.VirtualGroupWindow.IsZero() && !r.VirtualGroupWindow.Open.Before(r.VirtualGroupWindow.Close) {
		bad("virtual group window opens at %v, not before it closes", r.VirtualGroupWindow.Open)
	}
	if !r.NoLVT && r.LVT.Criteria == 0 {
		bad("no LVT criteria: set LVT.Criteria or NoLVT")
	}
	if r.PerformanceThreshold < 0 || r.PerformanceThreshold > 100 {
		bad("performance threshold %v outside 0..100", r.PerformanceThreshold)
	}
	if r.ExceptionalThreshold != 0 && (r.ExceptionalThreshold < r.PerformanceThreshold || r.ExceptionalThreshold > 100) {
		bad("exceptional threshold %v must be 0 (none) or between the performance threshold and 100", r.ExceptionalThreshold)
	}
	if r.ApplicablePercent < 0 || r.ApplicablePercent > 100 {
		bad("applicable percent %v outside 0..100", r.ApplicablePercent)
	}
	if len(errs) > 0 {
		return &RulesError{ProgramYear: r.ProgramYear, Err: errors.Join(errs...)}
	}
	return nil
}

// ErrUnknownProgramYear: the table has no row for the program year.
var ErrUnknownProgramYear = errors.New("eligibility: unknown program year")

// ErrInvalidRules matches a RulesError.
var ErrInvalidRules = errors.New("eligibility: invalid program-year rules")

// RulesError reports an unusable program-year row.
type RulesError struct {
	ProgramYear events.ProgramYear
	Err         error
}

// Error implements error.
func (e *RulesError) Error() string {
	return fmt.Sprintf("eligibility: rules for %v: %v", e.ProgramYear, e.Err)
}

// Unwrap matches ErrInvalidRules and the causes.
func (e *RulesError) Unwrap() []error { return []error{ErrInvalidRules, e.Err} }

// Table is the program-year table. Build one with Default (the known MIPS
// and QIPS years) or NewTable, then add or override years with Set. A Table
// is safe for concurrent use.
type Table struct {
	mu   sync.RWMutex
	rows map[events.ProgramYear]*Rules // never modified once stored: Set replaces
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{rows: make(map[events.ProgramYear]*Rules)} }

// Set adds or replaces a program year's rules.
func (t *Table) Set(r Rules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	r.ClinicianTypes = slices.Clone(r.ClinicianTypes)
	r.Unconfirmed = slices.Clone(r.Unconfirmed)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows[r.ProgramYear] = &r
	return nil
}

// Rules returns a copy of a program year's rules.
func (t *Table) Rules(py events.ProgramYear) (Rules, error) {
	r, err := t.Lookup(py)
	if err != nil {
		return Rules{}, err
	}
	return *r, nil
}

// Lookup returns a program year's rules without copying them, for hot
// paths. The Rules are shared: read them, never modify them (Set replaces a
// row; it does not change the one Lookup returned).
func (t *Table) Lookup(py events.ProgramYear) (*Rules, error) {
	t.mu.RLock()
	r, ok := t.rows[py]
	t.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %v; add it with Table.Set", ErrUnknownProgramYear, py)
	}
	return r, nil
}

// ProgramYears lists the table's program years in order.
func (t *Table) ProgramYears() []events.ProgramYear {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.SortedFunc(maps.Keys(t.rows), func(a, b events.ProgramYear) int {
		if a.Program != b.Program {
			if a.Program < b.Program {
				return -1
			}
			return 1
		}
		return a.Year - b.Year
	})
}

// Eastern returns the instant of a wall-clock time in US Eastern time, with
// daylight saving applied as it was on that date.
func Eastern(year int, month time.Month, day, hour, min int) time.Time {
	return time.Date(year, month, day, hour, min, 0, 0, eastern())
}

func eastern() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic("eligibility: the embedded time zone database lacks America/New_York: " + err.Error())
	}
	return loc
}

// closeAt is 8 pm US Eastern on a date: every deadline's close.
func closeAt(year int, month time.Month, day int) time.Time { return Eastern(year, month, day, 20, 0) }

// openAt is midnight US Eastern on a date.
func openAt(year int, month time.Month, day int) time.Time { return Eastern(year, month, day, 0, 0) }

// types2019 lists the MIPS eligible clinician types from PY2019.
func types2019() []ClinicianType {
	return []ClinicianType{Physician, PhysicianAssistant, NursePractitioner, ClinicalNurseSpecialist, CRNA,
		PhysicalTherapist, OccupationalTherapist, SpeechLanguagePathologist, Audiologist, ClinicalPsychologist, RegisteredDietitian}
}

// Default returns a new table with MIPS PY2018-PY2025 and QIPS MY2021, per
// RULES.md §1 and §3. Each call returns a fresh table the caller may change.
//
// Unconfirmed values, flagged in each row's Unconfirmed field:
//   - every window opens at midnight US Eastern on its first day (RULES.md
//     gives dates, not times of day);
//   - PY2019: whether the COVID-19 extension of the data deadline to Apr 30
//     2020 also moved elections (the table keeps Mar 31 2020);
//   - PY2025: the whole election window (Jan 2 - Mar 31 2026 assumed);
//   - PY2018: the data deadline (Apr 2 2019) and the clinician types (the
//     five of 2017-2018), which RULES.md does not state;
//   - virtual group windows close at 8 pm Eastern on Dec 31 like every other
//     deadline; QIPS closes at 8 pm Eastern on Dec 31 2020.
func Default() *Table {
	t := NewTable()
	lvt3 := LVT{ChargesCents: 90_000_00, Patients: 200, Services: 200,
		Criteria: events.CriterionCharges | events.CriterionPatients | events.CriterionServices}
	vg := func(py int) Window {
		return Window{Open: openAt(py-1, time.October, 1), Close: closeAt(py-1, time.December, 31)}
	}
	mips := func(py int) Rules {
		return Rules{
			ProgramYear: events.PY(events.MIPS, py), OptIn: true, LVT: lvt3,
			VirtualGroupWindow: vg(py), ApplicablePercent: 9, VoluntaryReporting: true,
			ClinicianTypes: types2019(),
			Unconfirmed:    []string{"ElectionWindow.Open (time of day)", "VirtualGroupWindow.Close (time of day)"},
		}
	}
	rows := []Rules{}

	r := mips(2018)
	r.OptIn, r.VoluntaryReporting = false, false
	r.LVT = LVT{ChargesCents: 90_000_00, Patients: 200, Criteria: events.CriterionCharges | events.CriterionPatients}
	r.DataSubmissionDeadline = closeAt(2019, time.April, 2)
	r.PerformanceThreshold, r.ExceptionalThreshold, r.ApplicablePercent = 15, 70, 5
	r.APMEntityScoreOverrides = true
	r.ClinicianTypes = []ClinicianType{Physician, PhysicianAssistant, NursePractitioner, ClinicalNurseSpecialist, CRNA}
	r.Unconfirmed = []string{"DataSubmissionDeadline", "ClinicianTypes", "VirtualGroupWindow.Close (time of day)"}
	rows = append(rows, r)

	r = mips(2019)
	r.ElectionWindow = Window{openAt(2020, time.January, 2), closeAt(2020, time.March, 31)}
	r.DataSubmissionDeadline = closeAt(2020, time.April, 30)
	r.PerformanceThreshold, r.ExceptionalThreshold, r.ApplicablePercent = 30, 75, 7
	r.APMEntityScoreOverrides = true
	r.Unconfirmed = append(r.Unconfirmed, "ElectionWindow.Close (whether the Apr 30 2020 extension moved elections)")
	rows = append(rows, r)

	r = mips(2020)
	r.ElectionWindow = Window{openAt(2021, time.January, 4), closeAt(2021, time.March, 31)}
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.PerformanceThreshold, r.ExceptionalThreshold = 45, 85
	r.APMEntityScoreOverrides = true
	rows = append(rows, r)

	r = mips(2021)
	r.ElectionWindow = Window{openAt(2022, time.January, 3), closeAt(2022, time.March, 31)}
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.PerformanceThreshold, r.ExceptionalThreshold = 60, 85
	r.APP = true
	rows = append(rows, r)

	types2022 := append(types2019(), ClinicalSocialWorker, CertifiedNurseMidwife)
	r = mips(2022)
	r.ElectionWindow = Window{openAt(2023, time.January, 3), closeAt(2023, time.March, 31)}
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.PerformanceThreshold, r.ExceptionalThreshold = 75, 89
	r.APP, r.ClinicianTypes = true, types2022
	rows = append(rows, r)

	r = mips(2023)
	r.ElectionWindow = Window{openAt(2024, time.January, 2), closeAt(2024, time.April, 1)}
	r.DataSubmissionDeadline = closeAt(2024, time.April, 15)
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022
	rows = append(rows, r)

	r = mips(2024)
	r.ElectionWindow = Window{openAt(2025, time.January, 2), closeAt(2025, time.March, 31)}
	r.DataSubmissionDeadline = closeAt(2025, time.April, 14)
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022
	rows = append(rows, r)

	r = mips(2025)
	r.ElectionWindow = Window{openAt(2026, time.January, 2), closeAt(2026, time.March, 31)}
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022
	r.Unconfirmed = append(r.Unconfirmed, "ElectionWindow", "DataSubmissionDeadline")
	rows = append(rows, r)

	rows = append(rows, Rules{
		ProgramYear:    events.PY(events.QIPS, 2021),
		OptIn:          true,
		ElectionWindow: Window{openAt(2020, time.October, 1), closeAt(2020, time.December, 31)},
		NoLVT:          true, ChampionsRequired: true, PortalRegistrationRequired: true, PrimaryCareOnly: true,
		Unconfirmed: []string{"ElectionWindow (times of day)", "DataSubmissionDeadline (none stated)"},
	})

	for _, r := range rows {
		if err := t.Set(r); err != nil {
			panic(err) // the built-in table is static: a failure is a programming error
		}
	}
	return t
}
