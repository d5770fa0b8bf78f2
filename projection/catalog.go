package projection

import (
	"sync"

	"github.com/electionledger/ledger/events"
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
	mu      sync.RWMutex
	years   []events.ProgramYear
	yearIdx map[events.ProgramYear]uint16
	nums    map[[2]uint64]ref // groups and individuals: program year, kind, TIN, NPI
	named   map[pkey]ref      // virtual groups and APM Entities
	keys    []pkey
	actors  []actor
	actIdx  map[actor]uint32
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{yearIdx: map[events.ProgramYear]uint16{}, nums: map[[2]uint64]ref{}, named: map[pkey]ref{}, actIdx: map[actor]uint32{}}
}

func (c *Catalog) year(py events.ProgramYear) uint16 {
	if i, ok := c.yearIdx[py]; ok {
		return i
	}
	i := uint16(len(c.years))
	c.years = append(c.years, py)
	c.yearIdx[py] = i
	return i
}

// numKey packs a group or individual into two integers: hashing them is
// much cheaper than hashing a struct holding a string.
func numKey(py uint16, p events.Participant) [2]uint64 {
	return [2]uint64{uint64(py)<<8 | uint64(p.Kind), uint64(p.TIN.Number())<<32 | uint64(p.NPI.Number())}
}

func numbered(p events.Participant) bool {
	return p.ID == "" && (p.Kind == events.KindGroup || p.Kind == events.KindIndividual)
}

// intern returns the participant's ref, adding it if new.
func (c *Catalog) intern(py events.ProgramYear, p events.Participant) ref {
	yi := c.year(py)
	if numbered(p) {
		nk := numKey(yi, p)
		if r, ok := c.nums[nk]; ok {
			return r
		}
		r := c.add(pkey{yi, p})
		c.nums[nk] = r
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

// lookup returns the participant's ref or noRef.
func (c *Catalog) lookup(py events.ProgramYear, p events.Participant) ref {
	i, ok := c.yearIdx[py]
	if !ok {
		return noRef
	}
	var r ref
	if numbered(p) {
		r, ok = c.nums[numKey(i, p)]
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
	return c.years[k.py], k.p
}

// Len returns how many (program year, participant) pairs the catalog holds.
func (c *Catalog) Len() int { return len(c.keys) }

func (c *Catalog) actor(md *events.Metadata) uint32 {
	a := actor{md.Actor, md.ActorRole, md.Organization}
	if i, ok := c.actIdx[a]; ok {
		return i
	}
	i := uint32(len(c.actors))
	c.actors = append(c.actors, a)
	c.actIdx[a] = i
	return i
}

// grow extends s so that index r is valid.
func grow[T any](s []T, r ref) []T {
	if int(r) < len(s) {
		return s
	}
	if int(r) < cap(s) {
		return s[:r+1]
	}
	n := make([]T, r+1, max(2*cap(s), int(r)+1, 64))
	copy(n, s)
	return n
}

// factsFor returns the facts of participant p in a dense slice, adding p to
// the catalog and growing the slice (new entries set to zero) as needed.
func factsFor[T any](c *Catalog, facts *[]T, zero T, py events.ProgramYear, p events.Participant) *T {
	r := c.intern(py, p)
	if int(r) >= len(*facts) {
		n := len(*facts)
		*facts = grow(*facts, r)
		for i := n; i < len(*facts); i++ {
			(*facts)[i] = zero
		}
	}
	return &(*facts)[r]
}
