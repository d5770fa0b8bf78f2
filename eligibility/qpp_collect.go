package eligibility

import (
	"fmt"
	"strconv"
	"time"

	"github.com/electionledger/ledger/events"
)

// keyKind says what an item's key names.
type keyKind uint8

const (
	keyParticipant keyKind = iota // a group's or a clinician's determination and election
	keyMember                     // a TIN's virtual group membership
)

// itemKey identifies what a record says something about, per year: a
// participant key (TIN for a group, TIN/NPI for a clinician) or a TIN's
// virtual group membership. It holds no pointer, so a map of them costs the
// garbage collector nothing to scan.
type itemKey struct {
	what keyKind
	kind events.ParticipantKind
	tin  uint32
	npi  uint32
	year int32
}

// entityKey identifies an APM Entity's opt-in per year.
type entityKey struct {
	id   string
	year int32
}

// content is what a record says about its key: two records naming one key
// must say the same.
type content struct {
	status    events.EligibilityStatus
	exclusion events.ExclusionReason
	exceeded  events.Criteria
	hasDet    bool
	choice    events.Choice // ChoiceNone: no decision
	qpStatus  string
	run       int
	at        int64 // the decision's UnixNano
	vg        string
}

// seenItem is the content a key was first given, and by which record.
type seenItem struct {
	c     content
	first int32
}

// item is one thing a record says: a determination, an election, or both,
// of one participant; or a TIN's virtual group membership.
type item struct {
	key    itemKey
	entity entityKey // an APM Entity's opt-in (key unused)
	c      content
	det    events.EligibilityDetermined
	el     events.ElectionConfirmed
	member events.TIN
	field  string // where in the record, for a conflict
}

// collector gathers a document's records: each record's items are kept only
// if the record has no problem; a key given twice must say the same.
type collector struct {
	opts     ImportOptions
	table    *Table
	rules    map[events.ProgramYear]*Rules
	out      Import
	bad      []Problem // problems of bad records
	conflict []Problem
	seen     map[itemKey]seenItem
	entities map[entityKey]seenItem
	vgIndex  map[entityKey]int // virtual group and year -> index in out.Memberships

	// the record being read
	index    int
	problems []Problem
	notes    []Problem
	items    []item
}

func newCollector(table *Table, opts ImportOptions) (*collector, error) {
	if opts.ImportedAt.IsZero() {
		return nil, &ImportError{Problems: []Problem{{Index: -1, Field: "importedAt",
			Reason: "say when the document is imported (ImportOptions.ImportedAt)"}}}
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxDocumentBytes
	}
	opts.ImportedAt = opts.ImportedAt.UTC()
	return &collector{opts: opts, table: table, rules: map[events.ProgramYear]*Rules{},
		seen: map[itemKey]seenItem{}, entities: map[entityKey]seenItem{}, vgIndex: map[entityKey]int{}}, nil
}

// begin starts record i.
func (c *collector) begin(i int) {
	c.index = i
	c.problems, c.notes, c.items = c.problems[:0], c.notes[:0], c.items[:0]
}

// failed reports whether the current record has a problem.
func (c *collector) failed() bool { return len(c.problems) > 0 }

func (c *collector) problem(field, reason string) {
	c.problems = append(c.problems, Problem{Index: c.index, Field: field, Reason: reason})
}

func (c *collector) problemRule(field, reason string, rule error) {
	c.problems = append(c.problems, Problem{Index: c.index, Field: field, Reason: reason, Rule: rule})
}

func (c *collector) note(field, reason string) {
	c.notes = append(c.notes, Problem{Index: c.index, Field: field, Reason: reason})
}

// lookup returns the table's rules for a MIPS year, or records a problem.
func (c *collector) lookup(field string, py events.ProgramYear) *Rules {
	if r, ok := c.rules[py]; ok {
		return r
	}
	r, err := c.table.Lookup(py)
	switch {
	case err != nil && (py.Year < 1000 || py.Year > 9999):
		c.problem(field, "not a four-digit year") // the value is the document's text: not echoed
		return nil
	case err != nil:
		c.problem(field, fmt.Sprintf("%v is not in the program-year table", py))
		return nil
	}
	c.rules[py] = r
	return r
}

// end finishes the current record: a record with a problem is left out
// whole; the items of a good one are kept, each key once.
func (c *collector) end() {
	if c.failed() {
		c.bad = append(c.bad, c.problems...)
		return
	}
	for i := range c.items {
		c.keep(&c.items[i])
	}
	c.out.Report.Notes = append(c.out.Report.Notes, c.notes...)
	c.out.Report.Imported++
}

// keep adds an item unless its key was given before: with the same content
// it is a repeat (a lookup repeats a practice's TIN under each clinician);
// with other content, a conflict.
func (c *collector) keep(it *item) {
	var prev seenItem
	var found bool
	if it.entity.id != "" {
		prev, found = c.entities[it.entity]
	} else {
		prev, found = c.seen[it.key]
	}
	switch {
	case found && prev.c == it.c:
		return
	case found:
		c.conflict = append(c.conflict, Problem{Index: c.index, Field: it.field, Rule: ErrConflictingRecords,
			Reason: "names " + c.describe(it) + " again, with other content than record " + strconv.Itoa(int(prev.first))})
		return
	}
	s := seenItem{c: it.c, first: int32(c.index)}
	if it.entity.id != "" {
		c.entities[it.entity] = s
	} else {
		c.seen[it.key] = s
	}
	switch {
	case it.key.what == keyMember:
		c.member(it)
	default:
		if it.c.hasDet {
			c.out.Determinations = append(c.out.Determinations, it.det)
		}
		if it.c.choice != events.ChoiceNone {
			c.out.Elections = append(c.out.Elections, it.el)
		}
	}
}

// describe names an item's key for a conflict, with the TIN masked and no
// identifier of the document's.
func (c *collector) describe(it *item) string {
	switch {
	case it.entity.id != "":
		return fmt.Sprintf("this APM Entity in %d", it.entity.year) // its identifier is the document's text: not echoed
	case it.key.what == keyMember:
		return fmt.Sprintf("the virtual group membership of TIN %v in %d", it.member, it.key.year)
	case it.c.hasDet:
		return fmt.Sprintf("%v in %d", it.det.Participant, it.key.year)
	}
	return fmt.Sprintf("%v in %d", it.el.Participant, it.key.year)
}

// member adds a TIN to its virtual group's membership.
func (c *collector) member(it *item) {
	py := events.PY(events.MIPS, int(it.key.year))
	k := entityKey{id: it.c.vg, year: it.key.year}
	i, ok := c.vgIndex[k]
	if !ok {
		vg, _ := events.NewVirtualGroup(it.c.vg) // checked when the item was made
		i = len(c.out.Memberships)
		c.vgIndex[k] = i
		c.out.Memberships = append(c.out.Memberships, events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py,
			EffectiveAt: c.opts.ImportedAt})
	}
	c.out.Memberships[i].Members = append(c.out.Memberships[i].Members, it.member)
}

// finish returns the import, or refuses the document: when it is bad
// itself, when it names a participant twice with conflicting content, or
// (without KeepValid) when any record is bad.
func (c *collector) finish(records int, doc *Problem) (Import, error) {
	switch {
	case doc != nil:
		return Import{}, &ImportError{Problems: append(c.bad, *doc)}
	case len(c.conflict) > 0:
		return Import{}, &ImportError{Problems: append(c.bad, c.conflict...)}
	case len(c.bad) > 0 && !c.opts.KeepValid:
		return Import{}, &ImportError{Problems: c.bad}
	}
	c.out.Report.Records = records
	c.out.Report.Skipped = c.bad
	return c.out, nil
}

// determination is an imported determination's frame.
func (c *collector) determination(p events.Participant, py events.ProgramYear) events.EligibilityDetermined {
	return events.EligibilityDetermined{Participant: p, ProgramYear: py, Source: events.SourceImport,
		DeterminedAt: c.opts.ImportedAt}
}

// participantItem makes the item of a participant's determination (if det
// is not nil) and decision (if optedIn is not nil).
func participantItem(p events.Participant, py events.ProgramYear, det *events.EligibilityDetermined, optedIn *bool, at time.Time, field string) item {
	it := item{key: itemKey{what: keyParticipant, kind: p.Kind, tin: p.TIN.Number(), npi: p.NPI.Number(), year: int32(py.Year)}, field: field}
	if det != nil {
		it.det = *det
		it.c.hasDet, it.c.status, it.c.exclusion, it.c.exceeded = true, det.Status, det.Exclusion, det.Exceeded
		it.c.qpStatus, it.c.run = det.QPStatus, det.Run
	}
	if optedIn != nil {
		it.el = historical(p, py, *optedIn, at)
		it.c.choice, it.c.at = it.el.Choice, at.UnixNano()
	}
	return it
}
