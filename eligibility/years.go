package eligibility

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// Clinician types named by docs/rules.md §3.
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
// year is here, as data. docs/rules.md gives the source of each value;
// Unconfirmed names the ones no source confirms.
type Rules struct {
	ProgramYear events.ProgramYear
	// PaymentYear is the year the payment adjustment applies to (MIPS: the
	// performance year + 2); 0 when the program has none stated.
	PaymentYear int
	// OptIn: opt-in elections exist this year (MIPS PY2019 on).
	OptIn bool
	// ElectionWindow: when opt-in and voluntary-reporting elections are
	// taken; the close is 8 pm US Eastern on the deadline date.
	ElectionWindow Window
	// DataSubmissionDeadline is separate from the election deadline (PY2024
	// proves they differ): nothing is accepted from this instant on.
	DataSubmissionDeadline time.Time
	// VirtualGroupWindow: the window for virtual group elections, in the
	// year before the performance year, open through 11:59 pm US Eastern on
	// Dec 31 (Close is the following midnight).
	VirtualGroupWindow Window
	// VirtualGroupAssessment is the period virtual group eligibility was
	// assessed on (PY2018); zero means segment 1 (PY2019 on).
	VirtualGroupAssessment Window
	// MaxVirtualGroupClinicians: a virtual group member (a solo practitioner
	// or a group) has at most this many eligible clinicians.
	MaxVirtualGroupClinicians int
	// Segments are the two 12-month determination periods: segment 1 gives
	// the initial status, segment 2 reconciled with it the final one.
	Segments [2]Window
	// SegmentPolicy decides whether a participant whose two segments
	// disagree is opt-in eligible (see SegmentPolicy; the default is
	// OptInIfExceedsInBoth).
	SegmentPolicy SegmentPolicy
	// PartialQPElectionDeadline: Partial QP elections are due by this
	// instant (8 pm US Eastern, Mar 31 of the year after the performance
	// year); zero where no separate election is made.
	PartialQPElectionDeadline time.Time
	// PartialQPElectionOpens: when Partial QP elections are first taken
	// (unconfirmed: the forms say only "no later than March 31"; Jan 1 of
	// the year after the performance year is assumed).
	PartialQPElectionOpens time.Time
	// PublicReportingPreview: the Care Compare preview period, when a
	// voluntary reporter may opt out of public reporting (unconfirmed:
	// "late in the year after the performance year"; Nov 1 - Dec 31 is
	// assumed).
	PublicReportingPreview Window
	// PartialQPMayReportVoluntarily: a Partial QP that did not elect may
	// still report voluntarily (PY2022-PY2024).
	PartialQPMayReportVoluntarily bool
	// PartialQPReportingElects: submitting data counts as the Partial QP
	// election (PY2017).
	PartialQPReportingElects bool
	// LVT is the low-volume threshold; NoLVT programs (QIPS) have none.
	LVT   LVT
	NoLVT bool
	// APMEntityLVT: APM Entities are judged against the low-volume
	// threshold (PY2017-2020); from PY2021 an APM Entity has no LVT status.
	APMEntityLVT bool
	// APMEntityOptIn: an APM Entity group that exceeds some but not all
	// criteria may opt in, through an election made for the entity
	// (PY2019-2020).
	APMEntityOptIn bool
	// APMEntityExemptionCoversClinicians: an exempt APM Entity group makes
	// every eligible clinician on its Participation List exempt
	// (PY2017-2020).
	APMEntityExemptionCoversClinicians bool
	// BelowLVTAPMCliniciansDoNotCount: a clinician who is in MIPS APMs only
	// through APM Entities that are all below the low-volume threshold does
	// not count toward the otherwise eligible clinicians that make a group
	// opt-in eligible (PY2019-2020).
	BelowLVTAPMCliniciansDoNotCount bool
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
	// Unconfirmed lists the fields whose values no source confirms; callers
	// should confirm or override them.
	Unconfirmed []string
}

// PartialQPElectionWindow is when Partial QP elections are taken: from
// PartialQPElectionOpens until the deadline (zero where there is none).
func (r *Rules) PartialQPElectionWindow() Window {
	if r.PartialQPElectionDeadline.IsZero() {
		return Window{}
	}
	return Window{Open: r.PartialQPElectionOpens, Close: r.PartialQPElectionDeadline}
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
	for i, w := range r.Segments {
		if !w.IsZero() && !w.Open.Before(w.Close) {
			bad("segment %d opens at %v, not before it closes", i+1, w.Open)
		}
	}
	if !r.Segments[0].IsZero() && !r.Segments[1].IsZero() && r.Segments[1].Open.Before(r.Segments[0].Open) {
		bad("segment 2 starts before segment 1")
	}
	if r.SegmentPolicy > NoOptInWhenSegmentsDisagree {
		bad("unknown segment policy %d", r.SegmentPolicy)
	}
	if r.MaxVirtualGroupClinicians < 0 {
		bad("at most %d clinicians per virtual group member: want 0 (no virtual groups) or more", r.MaxVirtualGroupClinicians)
	}
	if !r.PartialQPElectionOpens.IsZero() && !r.PartialQPElectionDeadline.IsZero() && !r.PartialQPElectionOpens.Before(r.PartialQPElectionDeadline) {
		bad("Partial QP elections open at %v, not before their deadline", r.PartialQPElectionOpens)
	}
	if !r.PublicReportingPreview.IsZero() && !r.PublicReportingPreview.Open.Before(r.PublicReportingPreview.Close) {
		bad("the public-reporting preview opens at %v, not before it closes", r.PublicReportingPreview.Open)
	}
	if r.APMEntityOptIn && !r.APMEntityLVT {
		bad("APM Entities may opt in only in years that judge them against the LVT (set APMEntityLVT)")
	}
	if len(errs) > 0 {
		return &RulesError{ProgramYear: r.ProgramYear, Err: errors.Join(errs...)}
	}
	return nil
}

// ErrUnknownProgramYear: the table has no row for the program year. It
// matches an *UnknownProgramYearError.
var ErrUnknownProgramYear = errors.New("eligibility: unknown program year")

// UnknownProgramYearError names a program year the table lacks and the ones
// it holds.
type UnknownProgramYearError struct {
	ProgramYear events.ProgramYear
	Held        []events.ProgramYear
	// Canonical is the table's spelling of the program when the request
	// spelled it differently (e.g. "mips" for MIPS); zero otherwise.
	Canonical events.Program
}

// Error implements error.
func (e *UnknownProgramYearError) Error() string {
	var b strings.Builder
	b.WriteString("eligibility: unknown program year ")
	b.WriteString(safeProgramYear(e.ProgramYear))
	if e.Canonical != "" {
		fmt.Fprintf(&b, ": the table spells the program %q", string(e.Canonical))
	}
	b.WriteString("; the table holds ")
	b.WriteString(describeHeld(e.Held))
	b.WriteString(" (add a year with Table.Set)")
	return b.String()
}

// Is matches ErrUnknownProgramYear.
func (e *UnknownProgramYearError) Is(target error) bool { return target == ErrUnknownProgramYear }

// safeProgramYear prints a program year without echoing what could be a
// TIN: a program name that is not a valid one, or a year of more than four
// digits, is described instead of quoted.
func safeProgramYear(py events.ProgramYear) string {
	prog := string(py.Program)
	if py.Program.Validate() != nil {
		prog = fmt.Sprintf("(an invalid program name of %d characters)", len(py.Program))
	}
	if py.Year < 0 || py.Year > 9999 {
		return prog + " (a year outside 0-9999)"
	}
	return prog + "-" + strconv.Itoa(py.Year)
}

// describeHeld lists program years by program, with runs of years joined:
// "MIPS 2017-2026, QIPS 2021".
func describeHeld(pys []events.ProgramYear) string {
	var parts []string
	for i := 0; i < len(pys); {
		j := i
		for j+1 < len(pys) && pys[j+1].Program == pys[i].Program && pys[j+1].Year == pys[j].Year+1 {
			j++
		}
		part := string(pys[i].Program) + " " + strconv.Itoa(pys[i].Year)
		if j > i {
			part += "-" + strconv.Itoa(pys[j].Year)
		}
		if len(parts) > 0 && strings.HasPrefix(parts[len(parts)-1], string(pys[i].Program)+" ") {
			part = strings.TrimPrefix(part, string(pys[i].Program)+" ")
			parts[len(parts)-1] += ", " + part
		} else {
			parts = append(parts, part)
		}
		i = j + 1
	}
	if len(parts) == 0 {
		return "no program years"
	}
	return strings.Join(parts, "; ")
}

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
	mu      sync.RWMutex
	rows    map[events.ProgramYear]*Rules // never modified once stored: Set replaces
	version atomic.Uint64                 // counts Sets: a reader's cached rows are current while it is unchanged
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
	t.version.Add(1)
	return nil
}

// Version counts the changes made to the table (Set): a reader that caches
// rows from Lookup may keep them while Version returns the same value.
func (t *Table) Version() uint64 { return t.version.Load() }

// Rules returns a copy of a program year's rules, the form a caller changes
// before Set: its slices (ClinicianTypes, Unconfirmed) are its own, so
// changing the copy never changes the table's row.
func (t *Table) Rules(py events.ProgramYear) (Rules, error) {
	r, err := t.Lookup(py)
	if err != nil {
		return Rules{}, err
	}
	c := *r
	c.ClinicianTypes = slices.Clone(r.ClinicianTypes)
	c.Unconfirmed = slices.Clone(r.Unconfirmed)
	return c, nil
}

// Lookup returns a program year's rules without copying them, for hot
// paths. The Rules are shared: read them, never modify them (Set replaces a
// row; it does not change the one Lookup returned).
func (t *Table) Lookup(py events.ProgramYear) (*Rules, error) {
	t.mu.RLock()
	r, ok := t.rows[py]
	t.mu.RUnlock()
	if !ok {
		return nil, t.unknown(py)
	}
	return r, nil
}

// unknown builds the error for a program year the table lacks.
func (t *Table) unknown(py events.ProgramYear) error {
	e := &UnknownProgramYearError{ProgramYear: py, Held: t.ProgramYears()}
	for _, h := range e.Held {
		if h.Program != py.Program && strings.EqualFold(string(h.Program), string(py.Program)) {
			e.Canonical = h.Program
			break
		}
	}
	return e
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

// FormatEastern writes an instant as CMS states deadlines, in US Eastern
// time, with the UTC instant beside it: "Mon Jan 4 2027 12:00 am EST
// (2027-01-04T05:00:00Z)".
func FormatEastern(t time.Time) string {
	return t.In(eastern()).Format("Mon Jan 2 2006 3:04 pm MST") + " (" + t.UTC().Format(time.RFC3339) + ")"
}

func eastern() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic("eligibility: the embedded time zone database lacks America/New_York: " + err.Error())
	}
	return loc
}

// closeAt is 8 pm US Eastern on a date: every election and data deadline's
// close.
func closeAt(year int, month time.Month, day int) time.Time { return Eastern(year, month, day, 20, 0) }

// openAt is midnight US Eastern on a date.
func openAt(year int, month time.Month, day int) time.Time { return Eastern(year, month, day, 0, 0) }

// endOfDay is the end of a date in US Eastern time (the next midnight): a
// window open "through 11:59 pm" or "through Dec 31" closes then.
func endOfDay(year int, month time.Month, day int) time.Time {
	return openAt(year, month, day).AddDate(0, 0, 1)
}

// segments returns the two 12-month segments starting on the first of
// month two years before the performance year.
func segments(py int, month time.Month) [2]Window {
	return [2]Window{
		{Open: openAt(py-2, month, 1), Close: openAt(py-1, month, 1)},
		{Open: openAt(py-1, month, 1), Close: openAt(py, month, 1)},
	}
}

// types2018 lists the MIPS eligible clinician types of PY2018.
func types2018() []ClinicianType {
	return []ClinicianType{Physician, PhysicianAssistant, NursePractitioner, ClinicalNurseSpecialist, CRNA}
}

// types2019 lists the MIPS eligible clinician types from PY2019.
func types2019() []ClinicianType {
	return append(types2018(), PhysicalTherapist, OccupationalTherapist, SpeechLanguagePathologist, Audiologist,
		ClinicalPsychologist, RegisteredDietitian)
}

// types2022 lists the MIPS eligible clinician types from PY2022.
func types2022() []ClinicianType {
	return append(types2019(), ClinicalSocialWorker, CertifiedNurseMidwife)
}

// Default returns a new table with MIPS PY2017-PY2026 and QIPS MY2021, as
// docs/rules.md states them with their sources. Each call returns a fresh
// table the caller may change (Table.Set).
//
// Values no source confirms are flagged in each row's Unconfirmed field;
// among them: the time of day every window opens (midnight US Eastern is
// assumed); PY2026's windows and deadlines and PY2025's; whether PY2019's
// and PY2023's election deadlines moved with their data deadlines; the
// virtual group close time before PY2022; PY2017's segment dates, data
// deadline and clinician types; the Partial QP election deadline outside
// PY2022-PY2025 and whether a Partial QP may report voluntarily outside
// PY2022-PY2024; the policy for segments that disagree; QIPS's close (the
// end of Dec 31 2020) and its payment year. Release months of
// determinations are never encoded: determinations carry their own dates.
func Default() *Table {
	t := NewTable()
	for _, year := range []func() Rules{
		mips2017, mips2018, mips2019, mips2020, mips2021,
		mips2022, mips2023, mips2024, mips2025, mips2026, qips2021,
	} {
		r := year()
		if r.ProgramYear.Program == events.MIPS {
			r.Unconfirmed = append(r.Unconfirmed, "PublicReportingPreview (dates)")
			if !r.PartialQPElectionOpens.IsZero() {
				r.Unconfirmed = append(r.Unconfirmed, "PartialQPElectionOpens")
			}
		}
		if err := t.Set(r); err != nil {
			panic(err) // the built-in table is static: a failure is a programming error
		}
	}
	return t
}

// Values no source confirms, as the rows' Unconfirmed fields name them.
const (
	uOpenTime   = "ElectionWindow.Open (time of day)"
	uVGOpenTime = "VirtualGroupWindow.Open (time of day)"
	uVGClose    = "VirtualGroupWindow.Close (11:59 pm is confirmed for PY2022-PY2025 only)"
	uPQPDue     = "PartialQPElectionDeadline (confirmed for PY2022-PY2025 only)"
	uPQPVol     = "PartialQPMayReportVoluntarily (confirmed for PY2022-PY2024 only)"
	uPolicy     = "SegmentPolicy (whether a participant whose segments disagree may opt in)"
	uMVPOptIn   = "MVPForOptIn (not available to opt-in eligible participants is confirmed for PY2022-PY2023 only)"
)

// lvt2019 is the low-volume threshold from PY2019 on: $90,000 in allowed
// charges, 200 patients, 200 covered professional services.
func lvt2019() LVT {
	return LVT{ChargesCents: 90_000_00, Patients: 200, Services: 200,
		Criteria: events.CriterionCharges | events.CriterionPatients | events.CriterionServices}
}

// mipsBase is what every MIPS year from PY2019 shares; each year's function
// changes what differs.
func mipsBase(py int) Rules {
	return Rules{
		ProgramYear: events.PY(events.MIPS, py), PaymentYear: py + 2, LVT: lvt2019(),
		Segments: segments(py, time.October), MaxVirtualGroupClinicians: 10,
		PartialQPElectionDeadline: closeAt(py+1, time.March, 31), PartialQPElectionOpens: openAt(py+1, time.January, 1),
		PublicReportingPreview: Window{Open: openAt(py+1, time.November, 1), Close: endOfDay(py+1, time.December, 31)},
		ApplicablePercent:      9, ClinicianTypes: types2019(),
	}
}

// virtualGroupWindow is a virtual group election window: open on a date in
// the year before the performance year, through 11:59 pm US Eastern on
// Dec 31.
func virtualGroupWindow(py int, open time.Month, day int) Window {
	return Window{Open: openAt(py-1, open, day), Close: endOfDay(py-1, time.December, 31)}
}

// window opens at the start of one day and closes at the end of another.
func window(openY int, openM time.Month, openD int, closeY int, closeM time.Month, closeD int) Window {
	return Window{Open: openAt(openY, openM, openD), Close: closeAt(closeY, closeM, closeD)}
}

// mips2017 is MIPS PY2017.
func mips2017() Rules {
	r := mipsBase(2017)
	r.LVT = LVT{ChargesCents: 30_000_00, Patients: 100, Criteria: events.CriterionCharges | events.CriterionPatients}
	r.Segments = segments(2017, time.September)
	r.PerformanceThreshold, r.ExceptionalThreshold, r.ApplicablePercent = 3, 70, 4
	r.ClinicianTypes = types2018()
	r.MaxVirtualGroupClinicians = 0 // virtual groups began in PY2018
	r.PartialQPElectionDeadline, r.PartialQPElectionOpens, r.PartialQPReportingElects = time.Time{}, time.Time{}, true
	r.APMEntityLVT, r.APMEntityExemptionCoversClinicians, r.APMEntityScoreOverrides = true, true, true
	r.Unconfirmed = []string{"Segments (exact dates)", "DataSubmissionDeadline (none stated)", "ClinicianTypes (PY2018's five assumed)"}
	return r
}

// mips2018 is MIPS PY2018.
func mips2018() Rules {
	r := mipsBase(2018)
	r.LVT = LVT{ChargesCents: 90_000_00, Patients: 200, Criteria: events.CriterionCharges | events.CriterionPatients}
	r.Segments = segments(2018, time.September)
	r.DataSubmissionDeadline = closeAt(2019, time.April, 2)
	r.VirtualGroupWindow = virtualGroupWindow(2018, time.October, 11)
	r.VirtualGroupAssessment = Window{Open: openAt(2017, time.July, 1), Close: openAt(2017, time.December, 1)}
	r.PerformanceThreshold, r.ExceptionalThreshold, r.ApplicablePercent = 15, 70, 5
	r.ClinicianTypes = types2018()
	r.APMEntityLVT, r.APMEntityExemptionCoversClinicians, r.APMEntityScoreOverrides = true, true, true
	r.Unconfirmed = []string{uVGOpenTime, uVGClose, uPQPDue, uPQPVol}
	return r
}

// mips2019 is MIPS PY2019.
func mips2019() Rules {
	r := mipsBase(2019)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2020, time.January, 2, 2020, time.March, 31)
	r.DataSubmissionDeadline = closeAt(2020, time.April, 30)
	r.VirtualGroupWindow = virtualGroupWindow(2019, time.October, 1)
	r.PerformanceThreshold, r.ExceptionalThreshold, r.ApplicablePercent = 30, 75, 7
	r.APMEntityLVT, r.APMEntityOptIn, r.APMEntityExemptionCoversClinicians, r.APMEntityScoreOverrides = true, true, true, true
	r.BelowLVTAPMCliniciansDoNotCount = true
	r.Unconfirmed = []string{uOpenTime, "ElectionWindow.Close (whether the Apr 30 2020 extension moved elections)",
		uVGOpenTime, uVGClose, uPQPDue, uPQPVol, uPolicy}
	return r
}

// mips2020 is MIPS PY2020.
func mips2020() Rules {
	r := mipsBase(2020)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2021, time.January, 4, 2021, time.March, 31)
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.VirtualGroupWindow = virtualGroupWindow(2020, time.October, 1)
	r.PerformanceThreshold, r.ExceptionalThreshold = 45, 85
	r.APMEntityLVT, r.APMEntityOptIn, r.APMEntityExemptionCoversClinicians, r.APMEntityScoreOverrides = true, true, true, true
	r.BelowLVTAPMCliniciansDoNotCount = true
	r.Unconfirmed = []string{uOpenTime, uVGOpenTime, uVGClose, uPQPDue, uPQPVol, uPolicy}
	return r
}

// mips2021 is MIPS PY2021.
func mips2021() Rules {
	r := mipsBase(2021)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2022, time.January, 3, 2022, time.March, 31)
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.VirtualGroupWindow = virtualGroupWindow(2021, time.October, 1)
	r.PerformanceThreshold, r.ExceptionalThreshold = 60, 85
	r.APP = true
	r.Unconfirmed = []string{uOpenTime, uVGOpenTime, uVGClose, uPQPDue, uPQPVol, uPolicy}
	return r
}

// mips2022 is MIPS PY2022.
func mips2022() Rules {
	r := mipsBase(2022)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2023, time.January, 3, 2023, time.March, 31)
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.VirtualGroupWindow = virtualGroupWindow(2022, time.October, 1)
	r.PerformanceThreshold, r.ExceptionalThreshold = 75, 89
	r.APP, r.ClinicianTypes = true, types2022()
	r.PartialQPMayReportVoluntarily = true
	r.Unconfirmed = []string{uOpenTime, uVGOpenTime, uPolicy}
	return r
}

// mips2023 is MIPS PY2023.
func mips2023() Rules {
	r := mipsBase(2023)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2024, time.January, 2, 2024, time.April, 1)
	r.DataSubmissionDeadline = closeAt(2024, time.April, 15)
	r.VirtualGroupWindow = virtualGroupWindow(2023, time.October, 3)
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022()
	r.PartialQPMayReportVoluntarily = true
	r.Unconfirmed = []string{uOpenTime, "ElectionWindow.Close (whether it moved with the data deadline)", uVGOpenTime, uPolicy}
	return r
}

// mips2024 is MIPS PY2024.
func mips2024() Rules {
	r := mipsBase(2024)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2025, time.January, 2, 2025, time.March, 31)
	r.DataSubmissionDeadline = closeAt(2025, time.April, 14)
	r.VirtualGroupWindow = virtualGroupWindow(2024, time.October, 2)
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022()
	r.PartialQPMayReportVoluntarily = true
	r.Unconfirmed = []string{uOpenTime, uVGOpenTime, uMVPOptIn, uPolicy}
	return r
}

// mips2025 is MIPS PY2025.
func mips2025() Rules {
	r := mipsBase(2025)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2026, time.January, 2, 2026, time.March, 31)
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.VirtualGroupWindow = virtualGroupWindow(2025, time.October, 1)
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022()
	r.Unconfirmed = []string{"ElectionWindow", "DataSubmissionDeadline", uVGOpenTime, uPQPVol,
		uMVPOptIn, uPolicy}
	return r
}

// mips2026 is MIPS PY2026.
func mips2026() Rules {
	r := mipsBase(2026)
	r.OptIn, r.VoluntaryReporting = true, true
	r.ElectionWindow = window(2027, time.January, 4, 2027, time.March, 31)
	r.DataSubmissionDeadline = r.ElectionWindow.Close
	r.VirtualGroupWindow = virtualGroupWindow(2026, time.October, 1)
	r.PerformanceThreshold = 75
	r.APP, r.MVP, r.ClinicianTypes = true, true, types2022()
	r.Unconfirmed = []string{"ElectionWindow", "DataSubmissionDeadline", "VirtualGroupWindow", uPQPDue, uPQPVol,
		uMVPOptIn, uPolicy,
		"Partial QP elections for individually assessed clinicians (who elects)"}
	return r
}

// qips2021 is QIPS MY2021.
func qips2021() Rules {
	return Rules{
		ProgramYear: events.PY(events.QIPS, 2021),
		OptIn:       true,
		// Open from Oct 1 2020 "running through December 2020": through the
		// end of Dec 31 US Eastern.
		ElectionWindow: Window{openAt(2020, time.October, 1), endOfDay(2020, time.December, 31)},
		NoLVT:          true, ChampionsRequired: true, PortalRegistrationRequired: true, PrimaryCareOnly: true,
		Unconfirmed: []string{"ElectionWindow.Open (time of day)", "ElectionWindow.Close (the end of Dec 31 US Eastern)",
			"DataSubmissionDeadline (none stated)", "PaymentYear (none stated)"},
	}
}
