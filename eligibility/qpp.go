package eligibility

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// ErrImport matches an ImportError.
var ErrImport = errors.New("eligibility: QPP document refused")

// Problem is one bad record of a QPP document: where it is and what is
// wrong. It never holds a TIN.
type Problem struct {
	Index  int    // the record's index in the document (-1: the document itself)
	Field  string // e.g. "tin", "isOptedIn", "organizations[1].groupScenario"
	Reason string
}

// ImportError lists every bad record of a refused document. When a
// document has any bad record, nothing of it is imported.
type ImportError struct {
	Problems []Problem
}

// Error implements error.
func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "eligibility: QPP document refused, nothing imported: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		if p.Index >= 0 {
			fmt.Fprintf(&b, "; record %d: %s: %s", p.Index, p.Field, p.Reason)
		} else {
			fmt.Fprintf(&b, "; %s: %s", p.Field, p.Reason)
		}
	}
	return b.String()
}

// Is matches ErrImport.
func (e *ImportError) Is(target error) bool { return target == ErrImport }

// Import is what a valid QPP document yields: determinations and, where a
// decision was made, historical elections.
type Import struct {
	Determinations []events.EligibilityDetermined
	Elections      []events.ElectionConfirmed
}

// decision is one opt-in decision record of /api/eligibility (docs/rules.md §6).
type decision struct {
	TIN               *string `json:"tin"`
	NPI               *string `json:"npi"`
	IsOptInEligible   *bool   `json:"isOptInEligible"`
	IsOptedIn         *bool   `json:"isOptedIn"`
	OptInDecisionDate *string `json:"optInDecisionDate"`
	Year              *int    `json:"year"`
	RunNum            *int    `json:"runNum"`
}

// strict decoding: a field of the wrong type or a duplicate name is a
// problem, not a guess.
func unmarshalStrict(b []byte, v any) error {
	return json.Unmarshal(b, v, jsontext.AllowDuplicateNames(false))
}

// ImportDecisions validates and converts a document of opt-in decision
// records: either a JSON array or an object whose "data" member is one.
// The whole document is checked first; any bad record (malformed TIN or NPI,
// a year the table lacks, contradictory flags) refuses all of it with an
// *ImportError listing every problem. importedAt stamps the determinations.
//
// A record with isOptInEligible true becomes an opt-in-eligible
// determination (a false one does not say whether the participant is
// required or exempt, so it yields none). isOptedIn true or false with a
// decision date becomes a confirmed historical election (opt-in or
// voluntary, traditional pathway: the record names no pathway).
func ImportDecisions(table *Table, doc []byte, importedAt time.Time) (Import, error) {
	var raw []jsontext.Value
	var wrapped struct {
		Data *[]jsontext.Value `json:"data"`
	}
	trimmed := bytes.TrimSpace(doc)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := unmarshalStrict(trimmed, &raw); err != nil {
			return Import{}, &ImportError{Problems: []Problem{{Index: -1, Field: "document", Reason: "not a JSON array of records: " + safeJSONError(err)}}}
		}
	default:
		if err := unmarshalStrict(trimmed, &wrapped); err != nil || wrapped.Data == nil {
			reason := `want a JSON array of records or {"data": [...]}`
			if err != nil {
				reason += ": " + safeJSONError(err)
			}
			return Import{}, &ImportError{Problems: []Problem{{Index: -1, Field: "document", Reason: reason}}}
		}
		raw = *wrapped.Data
	}

	var problems []Problem
	var out Import
	for i, r := range raw {
		add := func(field, reason string) {
			problems = append(problems, Problem{Index: i, Field: field, Reason: reason})
		}
		var d decision
		if err := unmarshalStrict(r, &d); err != nil {
			add("record", "not a decision record: "+safeJSONError(err))
			continue
		}
		before := len(problems)
		p, ok := participantFrom(d.TIN, d.NPI, add)
		var rules Rules
		switch {
		case d.Year == nil:
			add("year", "missing")
		default:
			var err error
			if rules, err = table.Rules(events.PY(events.MIPS, *d.Year)); err != nil {
				add("year", fmt.Sprintf("MIPS %d is not in the program-year table", *d.Year))
			}
		}
		if d.RunNum == nil || *d.RunNum < 0 {
			add("runNum", "missing or negative")
		}
		if d.IsOptInEligible == nil {
			add("isOptInEligible", "missing; want true or false")
		}
		date, hasDate := parseDate(d.OptInDecisionDate, add)
		checkDecision(d.IsOptInEligible, d.IsOptedIn, hasDate, date, &rules, add)
		if len(problems) > before || !ok {
			continue
		}
		py := rules.ProgramYear
		if *d.IsOptInEligible {
			out.Determinations = append(out.Determinations, events.EligibilityDetermined{
				Participant: p, ProgramYear: py, Status: events.StatusOptInEligible,
				Source: events.SourceImport, DeterminedAt: importedAt.UTC(), Run: *d.RunNum,
			})
		}
		if d.IsOptedIn != nil {
			out.Elections = append(out.Elections, historical(p, py, *d.IsOptedIn, date))
		}
	}
	if len(problems) > 0 {
		return Import{}, &ImportError{Problems: problems}
	}
	return out, nil
}

// checkDecision finds contradictory decision flags.
func checkDecision(eligible, optedIn *bool, hasDate bool, date time.Time, rules *Rules, add func(field, reason string)) {
	switch {
	case optedIn != nil && eligible != nil && !*eligible:
		add("isOptedIn", "a decision is recorded for a participant that is not opt-in eligible")
	case optedIn != nil && !hasDate:
		add("optInDecisionDate", "a decision (isOptedIn not null) needs its decision date")
	case optedIn == nil && hasDate:
		add("optInDecisionDate", "a decision date without a decision (isOptedIn is null)")
	}
	if optedIn != nil && rules.ProgramYear.Year != 0 {
		switch {
		case !rules.OptIn:
			add("isOptedIn", fmt.Sprintf("%v had no opt-in election", rules.ProgramYear))
		case hasDate && !rules.ElectionWindow.Contains(date):
			add("optInDecisionDate", fmt.Sprintf("outside the %v election window", rules.ProgramYear))
		case !*optedIn && !rules.VoluntaryReporting:
			add("isOptedIn", fmt.Sprintf("%v has no voluntary reporting", rules.ProgramYear))
		}
	}
}

// participantFrom parses a record's tin and optional npi.
func participantFrom(tin, npi *string, add func(field, reason string)) (events.Participant, bool) {
	if tin == nil {
		add("tin", "missing")
		return events.Participant{}, false
	}
	t, err := events.ParseTIN(*tin)
	if err != nil {
		add("tin", identifierReason(err))
		return events.Participant{}, false
	}
	if npi == nil || *npi == "" {
		return events.Group(t), true
	}
	n, err := events.ParseNPI(*npi)
	if err != nil {
		add("npi", identifierReason(err))
		return events.Participant{}, false
	}
	return events.Individual(t, n), true
}

func identifierReason(err error) string {
	var ie *events.IdentifierError
	if errors.As(err, &ie) {
		return fmt.Sprintf("%v: %s; want %s", ie.Rule, ie.Got, ie.Want)
	}
	return "malformed"
}

// safeJSONError describes a JSON error without quoting the document, which
// may hold a TIN.
func safeJSONError(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) {
		where := string(se.JSONPointer)
		if where == "" {
			where = "value"
		}
		return fmt.Sprintf("%s has the wrong type (JSON %s)", where, se.JSONKind)
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return fmt.Sprintf("invalid JSON at byte %d", syn.ByteOffset)
	}
	return "invalid JSON"
}

func parseDate(s *string, add func(field, reason string)) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		add("optInDecisionDate", "not an ISO 8601 timestamp with a zone (e.g. 2025-02-03T15:04:05Z)")
		return time.Time{}, false
	}
	return t.UTC(), true
}

func historical(p events.Participant, py events.ProgramYear, optedIn bool, at time.Time) events.ElectionConfirmed {
	choice := events.ChoiceVoluntary
	if optedIn {
		choice = events.ChoiceOptIn
	}
	return events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: choice,
		Pathway: events.PathwayTraditional, ConfirmedAt: at, Imported: true}
}

// scenario is an individualScenario or groupScenario of the NPI lookup.
type scenario struct {
	IsOptInEligible        *bool    `json:"isOptInEligible"`
	IsOptedIn              *bool    `json:"isOptedIn"`
	OptInDecisionDate      *string  `json:"optInDecisionDate"`
	LowVolumeSwitch        *bool    `json:"lowVolumeSwitch"`
	LowVolumeStatusReasons []string `json:"lowVolumeStatusReasons"`
}

type organization struct {
	TIN                *string   `json:"TIN"`
	IndividualScenario *scenario `json:"individualScenario"`
	GroupScenario      *scenario `json:"groupScenario"`
}

type npiLookup struct {
	Data *struct {
		NPI           *string        `json:"npi"`
		QPStatus      *string        `json:"qpStatus"`
		NewlyEnrolled *bool          `json:"newlyEnrolled"`
		Organizations []organization `json:"organizations"`
	} `json:"data"`
}

// ImportNPILookup validates and converts an NPI lookup response
// (/api/eligibility/npi/{npi}?year=YYYY) for program year py: each
// organization's individual scenario becomes the clinician's (TIN/NPI)
// determination and its group scenario the practice's (TIN), with any
// recorded decision as a historical election.
//
// Status from the flags: qpStatus "Y" excludes the clinician as a QP,
// "P" makes it a Partial QP (StatusPartialQP: excluded unless a Partial QP
// election is made), and newlyEnrolled excludes it as newly enrolled; otherwise lowVolumeSwitch false means
// required, lowVolumeSwitch true with isOptInEligible true opt-in eligible,
// and with isOptInEligible false exempt. isOptInEligible true with
// lowVolumeSwitch false is contradictory. Problems are indexed by
// organization.
func ImportNPILookup(table *Table, py events.ProgramYear, doc []byte, importedAt time.Time) (Import, error) {
	rules, err := table.Rules(py)
	if err != nil {
		return Import{}, &ImportError{Problems: []Problem{{Index: -1, Field: "year", Reason: fmt.Sprintf("%v is not in the program-year table", py)}}}
	}
	var lk npiLookup
	if err := unmarshalStrict(doc, &lk); err != nil || lk.Data == nil {
		reason := `want {"data": {"npi": ..., "organizations": [...]}}`
		if err != nil {
			reason += ": " + safeJSONError(err)
		}
		return Import{}, &ImportError{Problems: []Problem{{Index: -1, Field: "document", Reason: reason}}}
	}
	d := lk.Data
	var problems []Problem
	top := func(field, reason string) {
		problems = append(problems, Problem{Index: -1, Field: field, Reason: reason})
	}
	var npi events.NPI
	if d.NPI == nil {
		top("npi", "missing")
	} else if npi, err = events.ParseNPI(*d.NPI); err != nil {
		top("npi", identifierReason(err))
	}
	qp, partial := false, false
	if d.QPStatus != nil {
		switch *d.QPStatus {
		case "Y":
			qp = true
		case "P":
			partial = true
		case "N", "":
		default:
			top("qpStatus", "want Y, N or P")
		}
	}
	newly := d.NewlyEnrolled != nil && *d.NewlyEnrolled
	if len(d.Organizations) == 0 {
		top("organizations", "no organization: nothing to import")
	}

	var out Import
	seen := map[events.TIN]bool{}
	for i, org := range d.Organizations {
		add := func(field, reason string) {
			problems = append(problems, Problem{Index: i, Field: field, Reason: reason})
		}
		if org.TIN == nil {
			add("TIN", "missing")
			continue
		}
		tin, err := events.ParseTIN(*org.TIN)
		if err != nil {
			add("TIN", identifierReason(err))
			continue
		}
		if seen[tin] {
			add("TIN", "the same TIN appears in two organizations")
			continue
		}
		seen[tin] = true
		for _, sc := range []struct {
			name string
			s    *scenario
			p    events.Participant
		}{
			{"individualScenario", org.IndividualScenario, events.Individual(tin, npi)},
			{"groupScenario", org.GroupScenario, events.Group(tin)},
		} {
			if sc.s == nil {
				continue
			}
			field := func(f string) string { return sc.name + "." + f }
			before := len(problems)
			s := sc.s
			if s.IsOptInEligible == nil {
				add(field("isOptInEligible"), "missing; want true or false")
			}
			if s.LowVolumeSwitch == nil {
				add(field("lowVolumeSwitch"), "missing; want true or false")
			}
			if s.IsOptInEligible != nil && s.LowVolumeSwitch != nil && *s.IsOptInEligible && !*s.LowVolumeSwitch {
				add(field("isOptInEligible"), "opt-in eligible but above the low-volume threshold (lowVolumeSwitch false)")
			}
			date, hasDate := parseDate(s.OptInDecisionDate, func(f, r string) { add(field(f), r) })
			checkDecision(s.IsOptInEligible, s.IsOptedIn, hasDate, date, &rules, func(f, r string) { add(field(f), r) })
			if len(problems) > before || npi.IsZero() && sc.p.Kind == events.KindIndividual {
				continue
			}
			det := events.EligibilityDetermined{Participant: sc.p, ProgramYear: py,
				Source: events.SourceImport, DeterminedAt: importedAt.UTC()}
			individual := sc.p.Kind == events.KindIndividual
			switch {
			case individual && qp:
				det.Status, det.Exclusion, det.QP = events.StatusExcluded, events.ExclusionQP, true
			case individual && partial:
				det.Status = events.StatusPartialQP // excluded unless a Partial QP election is made
			case individual && newly:
				det.Status, det.Exclusion = events.StatusExcluded, events.ExclusionNewlyEnrolled
			case !*s.LowVolumeSwitch:
				det.Status = events.StatusRequired
			case *s.IsOptInEligible:
				det.Status = events.StatusOptInEligible
			default:
				det.Status = events.StatusExempt
			}
			if (det.Status == events.StatusExcluded || det.Status == events.StatusPartialQP) && s.IsOptedIn != nil {
				add(field("isOptedIn"), "a decision is recorded for an excluded clinician")
				continue
			}
			out.Determinations = append(out.Determinations, det)
			if s.IsOptedIn != nil {
				out.Elections = append(out.Elections, historical(sc.p, py, *s.IsOptedIn, date))
			}
		}
	}
	if len(problems) > 0 {
		return Import{}, &ImportError{Problems: problems}
	}
	return out, nil
}

// ElectionID derives a historical election's event ID, so importing the same
// document twice appends it once.
func ElectionID(e *events.ElectionConfirmed) uuid.UUID {
	b := []byte("election.confirmed/import\x00" + e.Participant.Kind.String() + "\x00" + e.Participant.TIN.Digits() + "\x00" +
		e.Participant.NPI.String() + "\x00" + e.ProgramYear.String() + "\x00" + e.Choice.String() + "\x00" +
		strconv.FormatInt(e.ConfirmedAt.UnixNano(), 10))
	sum := sha256.Sum256(b)
	return uuid.NewSHA1(eventNamespace(), sum[:])
}

// Apply records a validated import: each determination in its participant's
// eligibility stream, each historical election as the first and sealing
// event of its election stream. Re-applying the same import appends nothing
// new. An election stream that already holds events is refused: with
// events.ErrStreamSealed when its election is confirmed, with
// events.ErrWrongExpectedRevision when a request is pending. The ledger's
// own election stands.
func Apply(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, table *Table, imp Import, md events.Metadata) error {
	for _, d := range imp.Determinations {
		if _, err := Record(ctx, store, names, reg, table, d, md); err != nil {
			return err
		}
	}
	for _, e := range imp.Elections {
		data, err := reg.Encode(ElectionID(&e), e, md)
		if err != nil {
			return err
		}
		if _, err := store.Append(ctx, names.Election(e.ProgramYear, e.Participant), events.NoStream, data); err != nil {
			return fmt.Errorf("eligibility: import election for %v: %w", e.Participant, err)
		}
	}
	return nil
}

// OptInEntities returns the Qpp-Opt-In-Entities header value for the
// opted-in groups and individuals among elections: "TIN" or "TIN|NPI",
// comma-separated, sorted and without repeats. Voluntary reporters and
// other participant kinds are left out. The value holds full TINs: send it,
// never log it.
func OptInEntities(elections []events.ElectionConfirmed) string {
	var ids []string
	for _, e := range elections {
		if e.Choice != events.ChoiceOptIn {
			continue
		}
		if s := e.Participant.QPPEntity(); s != "" {
			ids = append(ids, s)
		}
	}
	slices.Sort(ids)
	return strings.Join(slices.Compact(ids), ",")
}
