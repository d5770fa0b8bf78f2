package eligibility

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json/jsontext"
)

// decision is one opt-in decision record of /api/eligibility (docs/rules.md
// §6): a pointer is nil when the member is absent or null.
type decision struct {
	TIN               *string `json:"tin"`
	NPI               *string `json:"npi"`
	IsOptInEligible   *bool   `json:"isOptInEligible"`
	IsOptedIn         *bool   `json:"isOptedIn"`
	OptInDecisionDate *string `json:"optInDecisionDate"`
	Year              *int    `json:"year"`
	RunNum            *int    `json:"runNum"`
}

var decisionShape = docShape{bareArray: true, want: `want {"data": [decision records]} or a JSON array of them`}

// ReadDecisions reads a document of opt-in decision records
// (/api/eligibility, docs/rules.md §6): an object whose "data" member is an
// array of records, or the array alone. The document is decoded as a stream
// and bounded by opts.MaxBytes. Every record is checked (malformed or
// masked TIN, malformed NPI, a year the table lacks, contradictory flags, a
// decision date outside the year's window); a bad record refuses the whole
// document with an *ImportError listing every problem with its record's
// index and field, unless opts.KeepValid asks for the valid records and the
// report. A document naming one participant (TIN, or TIN/NPI, per year)
// twice with different content is refused whole.
//
// A record with isOptInEligible true becomes an opt-in-eligible
// determination with its run number (a false one does not say whether the
// participant is required or exempt, so it yields none). isOptedIn true
// (opted in) or false (voluntary reporting) with a decision date becomes a
// confirmed historical election on the traditional pathway (the record names
// no pathway). A group's opt-in dated in the year's virtual group window is
// the opt-in a virtual group election confirmed (docs/rules.md §4).
func ReadDecisions(ctx context.Context, table *Table, r io.Reader, opts ImportOptions) (Import, error) {
	c, err := newCollector(table, opts)
	if err != nil {
		return Import{}, err
	}
	n, doc, err := streamRecords(ctx, r, c.opts.MaxBytes, decisionShape, func(i int, v jsontext.Value) {
		c.begin(i)
		c.decisionRecord(v)
		c.end()
	})
	if err != nil {
		return Import{}, err
	}
	return c.finish(n, doc)
}

// decisionRecord reads one decision record.
func (c *collector) decisionRecord(v jsontext.Value) {
	var d decision
	if err := unmarshalStrict(v, &d); err != nil {
		c.problem("record", "not a decision record: "+safeJSONError(err))
		return
	}
	p, ok := c.participant(d.TIN, d.NPI)
	var rules *Rules
	if d.Year == nil {
		c.problem("year", "missing")
	} else {
		rules = c.lookup("year", events.PY(events.MIPS, *d.Year))
	}
	if d.RunNum == nil || *d.RunNum < 0 || *d.RunNum > math.MaxInt32 {
		c.problem("runNum", "missing, negative or too large")
	}
	if d.IsOptInEligible == nil {
		c.problem("isOptInEligible", "missing; want true or false")
	}
	date, hasDate := c.date("optInDecisionDate", d.OptInDecisionDate)
	c.checkDecision("", p, d.IsOptInEligible, d.IsOptedIn, hasDate, date, rules)
	if c.failed() || !ok {
		return
	}
	var det *events.EligibilityDetermined
	if *d.IsOptInEligible {
		x := c.determination(p, rules.ProgramYear)
		x.Status, x.Run = events.StatusOptInEligible, *d.RunNum
		det = &x
	}
	it := participantItem(p, rules.ProgramYear, det, d.IsOptedIn, date, "tin")
	it.c.run = int32(*d.RunNum) // a record without a determination still names its run
	c.items = append(c.items, it)
}

// participant parses a decision record's tin and optional npi (absent,
// null or "" for a group).
func (c *collector) participant(tin, npi *string) (events.Participant, bool) {
	t, ok := c.tin("tin", tin)
	if npi == nil || *npi == "" {
		return events.Group(t), ok
	}
	n, err := events.ParseNPI(*npi)
	if err != nil {
		c.problem("npi", identifierReason(err))
		return events.Participant{}, false
	}
	return events.Individual(t, n), ok
}

// tin parses a TIN, reporting a masked one (ErrMaskedTIN) apart from a
// malformed one.
func (c *collector) tin(field string, s *string) (events.TIN, bool) {
	switch {
	case s == nil:
		c.problem(field, "missing")
		return events.TIN{}, false
	case maskedTIN(*s):
		c.problemRule(field, "masked, as CMS's public endpoint shows TINs: it names no participant and is not matched to one; "+
			"import the document as fetched with an authorized token", ErrMaskedTIN)
		return events.TIN{}, false
	}
	t, err := events.ParseTIN(*s)
	if err != nil {
		c.problem(field, identifierReason(err))
		return events.TIN{}, false
	}
	return t, true
}

// date parses an ISO 8601 decision date with its zone.
func (c *collector) date(field string, s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		c.problem(field, "not an ISO 8601 timestamp with a zone (e.g. 2025-02-03T15:04:05.000Z)")
		return time.Time{}, false
	}
	return t.UTC(), true
}

// checkDecision finds contradictory decision flags and a decision the
// year's rules do not allow. at prefixes the fields ("" or a scenario's
// path and a dot).
func (c *collector) checkDecision(at string, p events.Participant, eligible, optedIn *bool, hasDate bool, date time.Time, rules *Rules) {
	switch {
	case optedIn != nil && eligible != nil && !*eligible:
		c.problem(at+"isOptedIn", "a decision is recorded for a participant that is not opt-in eligible")
	case optedIn != nil && !hasDate:
		c.problem(at+"optInDecisionDate", "a decision (isOptedIn not null) needs its decision date")
	case optedIn == nil && hasDate:
		c.problem(at+"optInDecisionDate", "a decision date without a decision (isOptedIn is null)")
	}
	if rules == nil {
		return
	}
	if eligible != nil && *eligible && !rules.OptIn {
		c.problem(at+"isOptInEligible", fmt.Sprintf("opt-in eligible, but %v had no opt-in", rules.ProgramYear))
	}
	if optedIn == nil {
		return
	}
	// A virtual group's election opts its members in, final at the
	// virtual group deadline: dated inside its window, or at its close.
	vgw := rules.VirtualGroupWindow
	viaVirtualGroup := *optedIn && p.Kind == events.KindGroup && !vgw.IsZero() && (vgw.Contains(date) || date.Equal(vgw.Close))
	switch {
	case !rules.OptIn:
		c.problem(at+"isOptedIn", fmt.Sprintf("%v had no opt-in election", rules.ProgramYear))
	case hasDate && !rules.ElectionWindow.Contains(date) && !viaVirtualGroup:
		c.problem(at+"optInDecisionDate", fmt.Sprintf("outside the %v election window", rules.ProgramYear))
	case !*optedIn && !rules.VoluntaryReporting:
		c.problem(at+"isOptedIn", fmt.Sprintf("%v has no voluntary reporting", rules.ProgramYear))
	}
}
