package hashtab

import (
	"math/bits"
	"runtime"
)

// minSize is the smallest number of slots a table allocates.
const minSize = 16

// Table maps 64-bit hashes to indexes into a slice its caller keeps. The
// zero value is an empty table, ready to use. It is not safe for
// concurrent use.
type Table struct {
	slots []slot
	shift uint8 // 64 - log2(len(slots)): a hash's top bits are its home slot
	n     int
}

type slot struct {
	tag uint32 // the hash's low 32 bits, never zero; 0 marks an empty slot
	at  uint32 // the entry's index in the caller's slice
}

func tagOf(h uint64) uint32 { return uint32(h) | 1 }

// Len returns how many entries the table holds.
func (t *Table) Len() int { return t.n }

// Cap returns how many entries the table holds before it grows.
func (t *Table) Cap() int { return max(len(t.slots)/2-1, 0) }

// Cursor walks the slots a hash probes, in order, from its home slot to
// the first empty one. It is valid until the table next changes.
type Cursor struct {
	t   *Table
	h   uint64
	i   uint64
	tag uint32
}

// Probe starts a walk for hash h. It changes nothing, so lookups may run
// at once from several goroutines while nothing is inserted.
func (t *Table) Probe(h uint64) Cursor {
	c := Cursor{t: t, h: h, tag: tagOf(h)}
	if len(t.slots) > 0 {
		c.i = h >> t.shift
	}
	return c
}

// Next returns the index of the next entry whose hash may be h (its tag
// matches: the caller compares the keys), or false at the first empty
// slot, where an absent key goes (Insert).
func (c *Cursor) Next() (at uint32, ok bool) {
	if len(c.t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(c.t.slots) - 1)
	for {
		s := c.t.slots[c.i]
		if s.tag == 0 {
			return 0, false
		}
		c.i = (c.i + 1) & mask
		if s.tag == c.tag {
			return s.at, true
		}
	}
}

// Insert adds entry at, whose hash the cursor probed, in the empty slot
// where the cursor stopped (Next returned false, and the table has not
// changed since). When that makes the table half full it doubles, asking
// hashOf for the hash of each entry already in it.
func (t *Table) Insert(c *Cursor, at uint32, hashOf func(at uint32) uint64) {
	if len(t.slots) == 0 {
		t.resize(minSize)
		c.i = c.h >> t.shift
	}
	t.slots[c.i] = slot{tag: c.tag, at: at}
	t.n++
	if 2*t.n >= len(t.slots) {
		t.grow(2*len(t.slots), hashOf)
	}
}

// Reserve sizes the table for n entries in all, so that adding them does
// not make it grow.
func (t *Table) Reserve(n int, hashOf func(at uint32) uint64) {
	size := minSize
	for size <= 2*n {
		size *= 2
	}
	if size > len(t.slots) {
		t.grow(size, hashOf)
	}
}

// grow re-inserts every entry into a table of size slots.
func (t *Table) grow(size int, hashOf func(at uint32) uint64) {
	old := t.slots
	t.resize(size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s.tag == 0 {
			continue
		}
		h := hashOf(s.at)
		i := h >> t.shift
		for t.slots[i].tag != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = slot{tag: tagOf(h), at: s.at}
	}
}

func (t *Table) resize(size int) {
	t.slots = make([]slot, size)
	t.shift = uint8(64 - bits.Len(uint(size-1)))
}

// Prefetch reads the home slot of each hash, in a loop of its own, so that
// the cache misses of the lookups about to follow are in flight at once.
// It changes nothing.
func (t *Table) Prefetch(hs []uint64) {
	if len(t.slots) == 0 {
		return
	}
	var sum uint32
	for _, h := range hs {
		sum += t.slots[h>>t.shift].tag
	}
	runtime.KeepAlive(sum) // the reads are the point: keep them
}
