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
	keyEntity                     // an APM Entity's opt-in
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

// qpCodes are the qpStatus codes content keeps, by index.
var qpCodes = [...]string{"", "Y", "N", "P", "Q", "R"}

// content is what a record says about its key, compactly and without a
// pointer: two records naming one key must say the same. From it and the
// participant, finish rebuilds the determination and the election.
type content struct {
	hasDet    bool
	status    events.EligibilityStatus
	exclusion events.ExclusionReason
	exceeded  events.Criteria
	qp        uint8 // index in qpCodes
	choice    events.Choice
	run       int32
	at        int64 // the decision's UnixNano
	vg        int32 // virtual group: index in collector.vgNames
}

// kept is one key a document gave, as first given.
type kept struct {
	p     events.Participant // the participant, or the member TIN as a group
	year  int32
	what  keyKind
	first int32 // the record that gave it
	c     content
}

// keptChunk is how many kept entries a chunk holds: growing by chunks
// copies nothing.
const keptChunk = 4096

// item is one thing a record says: a determination, an election, or both,
// of one participant; a TIN's virtual group membership; an APM Entity's
// opt-in. Items of a record are kept only if the whole record is good.
type item struct {
	p      events.Participant
	year   int32
	what   keyKind
	c      content
	vgName string // keyMember: the virtual group's identifier
	field  string // where in the record, for a conflict
}

// collector gathers a document's records: each record's items are kept only
// if the record has no problem; a key given twice must say the same.
type collector struct {
	opts     ImportOptions
	table    *Table
	rules    map[events.ProgramYear]*Rules
	bad      []Problem // problems of bad records
	conflict []Problem
	report   Report
	kept     [][]kept // in document order, by chunks
	seen     map[itemKey]int32
	entities map[entityKey]int32
	vgNames  []string
	vgIndex  map[string]int32
	dets     int // how many kept entries carry a determination
	els      int // and an election

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
		seen: map[itemKey]int32{}, entities: map[entityKey]int32{}, vgIndex: map[string]int32{}}, nil
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

// lookup returns the table's rules for a year, or records a problem.
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
	c.report.Notes = append(c.report.Notes, c.notes...)
	c.report.Imported++
}

// keep adds an item unless its key was given before: with the same content
// it is a repeat (a lookup repeats a practice's TIN under each clinician);
// with other content, a conflict.
func (c *collector) keep(it *item) {
	if it.what == keyMember {
		it.c.vg = c.vgID(it.vgName)
	}
	var prev int32
	var found bool
	var k itemKey
	var ek entityKey
	if it.what == keyEntity {
		ek = entityKey{id: it.p.ID, year: it.year}
		prev, found = c.entities[ek]
	} else {
		k = itemKey{what: it.what, kind: it.p.Kind, tin: it.p.TIN.Number(), npi: it.p.NPI.Number(), year: it.year}
		prev, found = c.seen[k]
	}
	if found {
		if first := c.at(prev); first.c != it.c {
			c.conflict = append(c.conflict, Problem{Index: c.index, Field: it.field, Rule: ErrConflictingRecords,
				Reason: "names " + describe(it) + " again, with other content than record " + strconv.Itoa(int(first.first))})
		}
		return
	}
	i := c.push(kept{p: it.p, year: it.year, what: it.what, first: int32(c.index), c: it.c})
	if it.what == keyEntity {
		c.entities[ek] = i
	} else {
		c.seen[k] = i
	}
	if it.c.hasDet {
		c.dets++
	}
	if it.c.choice != events.ChoiceNone {
		c.els++
	}
}

// push appends to kept, returning the entry's index.
func (c *collector) push(k kept) int32 {
	if n := len(c.kept); n == 0 || len(c.kept[n-1]) == keptChunk {
		c.kept = append(c.kept, make([]kept, 0, keptChunk))
	}
	last := &c.kept[len(c.kept)-1]
	*last = append(*last, k)
	return int32((len(c.kept)-1)*keptChunk + len(*last) - 1)
}

func (c *collector) at(i int32) *kept { return &c.kept[i/keptChunk][i%keptChunk] }

// vgID interns a virtual group identifier.
func (c *collector) vgID(name string) int32 {
	if i, ok := c.vgIndex[name]; ok {
		return i
	}
	i := int32(len(c.vgNames))
	c.vgNames = append(c.vgNames, name)
	c.vgIndex[name] = i
	return i
}

// describe names an item's key for a conflict, with the TIN masked and no
// identifier of the document's.
func describe(it *item) string {
	switch it.what {
	case keyEntity:
		return fmt.Sprintf("this APM Entity in %d", it.year) // its identifier is the document's text: not echoed
	case keyMember:
		return fmt.Sprintf("the virtual group membership of TIN %v in %d", it.p.TIN, it.year)
	}
	return fmt.Sprintf("%v in %d", it.p, it.year)
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
	out := Import{Report: c.report}
	out.Report.Records, out.Report.Skipped = records, c.bad
	if c.dets > 0 {
		out.Determinations = make([]events.EligibilityDetermined, 0, c.dets)
	}
	if c.els > 0 {
		out.Elections = make([]events.ElectionConfirmed, 0, c.els)
	}
	vgs := map[entityKey]int{}
	for _, chunk := range c.kept {
		for i := range chunk {
			k := &chunk[i]
			py := events.PY(events.MIPS, int(k.year))
			switch {
			case k.what == keyMember:
				c.addMember(&out, vgs, k, py)
			default:
				if k.c.hasDet {
					out.Determinations = append(out.Determinations, c.rebuildDetermination(k, py))
				}
				if k.c.choice != events.ChoiceNone {
					out.Elections = append(out.Elections, historical(k.p, py, k.c.choice == events.ChoiceOptIn, time.Unix(0, k.c.at).UTC()))
				}
			}
		}
	}
	return out, nil
}

// rebuildDetermination is the determination a kept entry records.
func (c *collector) rebuildDetermination(k *kept, py events.ProgramYear) events.EligibilityDetermined {
	d := c.determination(k.p, py)
	d.Status, d.Exclusion, d.Exceeded = k.c.status, k.c.exclusion, k.c.exceeded
	d.QP = k.c.exclusion == events.ExclusionQP
	d.QPStatus, d.Run = qpCodes[k.c.qp], int(k.c.run)
	return d
}

// addMember adds a member TIN to its virtual group's membership.
func (c *collector) addMember(out *Import, vgs map[entityKey]int, k *kept, py events.ProgramYear) {
	name := c.vgNames[k.c.vg]
	ek := entityKey{id: name, year: k.year}
	i, ok := vgs[ek]
	if !ok {
		vg, _ := events.NewVirtualGroup(name) // checked when the item was made
		i = len(out.Memberships)
		vgs[ek] = i
		out.Memberships = append(out.Memberships, events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py,
			EffectiveAt: c.opts.ImportedAt})
	}
	out.Memberships[i].Members = append(out.Memberships[i].Members, k.p.TIN)
}

// determination is an imported determination's frame.
func (c *collector) determination(p events.Participant, py events.ProgramYear) events.EligibilityDetermined {
	return events.EligibilityDetermined{Participant: p, ProgramYear: py, Source: events.SourceImport,
		DeterminedAt: c.opts.ImportedAt}
}

// participantItem makes the item of a participant's determination (if det
// is not nil) and decision (if optedIn is not nil).
func participantItem(p events.Participant, py events.ProgramYear, det *events.EligibilityDetermined, optedIn *bool, at time.Time, field string) item {
	it := item{p: p, year: int32(py.Year), what: keyParticipant, field: field}
	if det != nil {
		it.c.hasDet, it.c.status, it.c.exclusion, it.c.exceeded = true, det.Status, det.Exclusion, det.Exceeded
		it.c.run = int32(det.Run)
		for i, code := range qpCodes {
			if code == det.QPStatus {
				it.c.qp = uint8(i)
			}
		}
	}
	if optedIn != nil {
		it.c.choice, it.c.at = events.ChoiceVoluntary, at.UnixNano()
		if *optedIn {
			it.c.choice = events.ChoiceOptIn
		}
	}
	return it
}
