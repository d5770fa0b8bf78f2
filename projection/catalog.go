package projection

import (
	"slices"
	"sync"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/hashtab"
)

// ref is a dense index of a (program year, participant) pair in a Catalog.
type ref uint32

const noRef = ^ref(0)

// pkey is the catalog's key: an interned program year and a participant.
type pkey struct {
	py uint16
	p  events.Participant
}

// actor is an interned who-acted triple.
type actor struct {
	id   string
	role events.ActorRole
	org  string
}

// Catalog interns program years, participants and actors for the
// projections that share it, so each projection keeps its facts in dense
// slices instead of maps of its own. It is not safe for concurrent use: the
// Runner applies events from one goroutine, and queries must not run while
// it does except through the projections' query methods, which lock.
type Catalog struct {
	// mu guards the catalog and every projection sharing it: Apply takes it
	// for writing, queries for reading.
	mu     sync.RWMutex
	years  interner[events.ProgramYear]
	nums   hashtab.Table // groups and individuals, by numHash: their refs
	named  map[pkey]ref  // virtual groups and APM Entities
	keys   []pkey
	actors interner[actor]

	// A one-entry cache: the projections sharing a catalog look up the
	// same participant for each event.
	lastKey pkey
	lastRef ref
	hasRef  bool
	hashes  []uint64 // warm's scratch: the hashes to prefetch
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{named: map[pkey]ref{}}
}

// year returns the program year's index, adding it if new.
func (c *Catalog) year(py events.ProgramYear) uint16 { return uint16(c.years.id(py)) }

// yearOf returns the program year's index if the catalog knows it.
func (c *Catalog) yearOf(py events.ProgramYear) (uint16, bool) {
	i, ok := c.years.find(py)
	return uint16(i), ok
}

// numKey packs a group or individual of one program year into an integer:
// a set top bit (so no key is zero), the kind, the TIN (under 10^9 < 2^30)
// and the NPI (under 3*10^9 < 2^32).
func numKey(p events.Participant) uint64 {
	k := uint64(1)<<63 | uint64(p.TIN.Number())<<32 | uint64(p.NPI.Number())
	if p.Kind == events.KindIndividual {
		k |= 1 << 62
	}
	return k
}

// numHash is the catalog's hash of a numbered participant in a program
// year: its packed number and the year index, mixed by multiplying with
// 2^64/φ (Fibonacci hashing), so the top bits the table starts at depend
// on every bit of the key.
func numHash(yi uint16, p events.Participant) uint64 {
	return (numKey(p) ^ uint64(yi)<<47) * 0x9E3779B97F4A7C15
}

// numHashOf is the hash of the participant at ref at, for the table's
// growth.
func (c *Catalog) numHashOf(at uint32) uint64 { k := c.keys[at]; return numHash(k.py, k.p) }

// findNum returns a numbered participant's ref, or false with the cursor
// stopped where it would go.
func (c *Catalog) findNum(yi uint16, p events.Participant) (ref, hashtab.Cursor, bool) {
	cur := c.nums.Probe(numHash(yi, p))
	for at, ok := cur.Next(); ok; at, ok = cur.Next() {
		if k := &c.keys[at]; k.py == yi && k.p == p {
			return ref(at), cur, true
		}
	}
	return noRef, cur, false
}

func numbered(p events.Participant) bool {
	return p.ID == "" && (p.Kind == events.KindGroup || p.Kind == events.KindIndividual)
}

// intern returns the participant's ref, adding it if new.
func (c *Catalog) intern(py events.ProgramYear, p events.Participant) ref {
	yi := c.year(py)
	if c.hasRef && c.lastKey.py == yi && c.lastKey.p == p {
		return c.lastRef
	}
	r := c.internSlow(yi, p)
	c.lastKey, c.lastRef, c.hasRef = pkey{yi, p}, r, true
	return r
}

func (c *Catalog) internSlow(yi uint16, p events.Participant) ref {
	if numbered(p) {
		r, cur, ok := c.findNum(yi, p)
		if ok {
			return r
		}
		r = c.add(pkey{yi, p})
		c.nums.Insert(&cur, uint32(r), c.numHashOf)
		return r
	}
	k := pkey{yi, p}
	if r, ok := c.named[k]; ok {
		return r
	}
	r := c.add(k)
	c.named[k] = r
	return r
}

func (c *Catalog) add(k pkey) ref {
	r := ref(len(c.keys))
	c.keys = append(c.keys, k)
	return r
}

// warm reads the table slots that interning each event's participant will
// touch (see warmer).
func (c *Catalog) warm(evs []events.Event) {
	c.hashes = c.hashes[:0]
	for _, e := range evs {
		var py events.ProgramYear
		var p events.Participant
		switch e := e.(type) {
		case events.EligibilityDetermined:
			py, p = e.ProgramYear, e.Participant
		case events.ScoreReported:
			py, p = e.ProgramYear, e.Participant
		case events.ElectionRequested:
			py, p = e.ProgramYear, e.Participant
		case events.ElectionConfirmed:
			py, p = e.ProgramYear, e.Participant
		case events.ElectionRequestWithdrawn:
			py, p = e.ProgramYear, e.Participant
		default:
			continue
		}
		if !numbered(p) {
			continue
		}
		if yi, ok := c.yearOf(py); ok {
			c.hashes = append(c.hashes, numHash(yi, p))
		}
	}
	c.nums.Prefetch(c.hashes)
}

// prefetchGroups prefetches the table slots of the groups of the
// individuals among refs [lo, hi) of program year yi, which scoring them
// will look up; hs is scratch (returned for reuse). It only reads, so
// several goroutines may call it at once.
func (c *Catalog) prefetchGroups(yi uint16, lo, hi int, hs []uint64) []uint64 {
	hs = hs[:0]
	for r := lo; r < hi; r++ {
		if k := &c.keys[r]; k.py == yi && k.p.Kind == events.KindIndividual {
			hs = append(hs, numHash(yi, events.Group(k.p.TIN)))
		}
	}
	c.nums.Prefetch(hs)
	return hs
}

// lookup returns the participant's ref or noRef.
func (c *Catalog) lookup(py events.ProgramYear, p events.Participant) ref {
	i, ok := c.yearOf(py)
	if !ok {
		return noRef
	}
	var r ref
	if numbered(p) {
		r, _, ok = c.findNum(i, p)
	} else {
		r, ok = c.named[pkey{i, p}]
	}
	if !ok {
		return noRef
	}
	return r
}

func (c *Catalog) key(r ref) (events.ProgramYear, events.Participant) {
	k := c.keys[r]
	return c.years.vals[k.py], k.p
}

// reserve sizes the catalog for about n participants, so that a rebuild
// does not keep regrowing (and copying) its tables.
func (c *Catalog) reserve(n int) {
	c.nums.Reserve(n, c.numHashOf)
	if cap(c.keys) < n {
		c.keys = append(make([]pkey, 0, n), c.keys...)
	}
}

// Len returns how many (program year, participant) pairs the catalog holds.
func (c *Catalog) Len() int { return len(c.keys) }

func (c *Catalog) actor(md *events.Metadata) uint32 {
	return c.actors.id(actor{md.Actor, md.ActorRole, md.Organization})
}

// reserveFacts gives facts room for n participants.
func reserveFacts[T any](facts *[]T, n int) {
	if n > len(*facts) {
		*facts = slices.Grow(*facts, n-len(*facts))
	}
}

// factsFor returns the facts of participant p in a dense slice, adding p to
// the catalog and growing the slice (new entries set to zero) as needed.
func factsFor[T any](c *Catalog, facts *[]T, zero T, py events.ProgramYear, p events.Participant) *T {
	r := c.intern(py, p)
	if int(r) >= len(*facts) {
		n := len(*facts)
		*facts = slices.Grow(*facts, int(r)+1-n)[:r+1]
		for i := n; i < len(*facts); i++ {
			(*facts)[i] = zero
		}
	}
	return &(*facts)[r]
}
