package projection

import "math/bits"

// numTable maps packed participant numbers, with their program year, to
// refs: an open-addressing table with linear probing, so a lookup usually
// touches one cache line (a Go map touches a control word and a slot). Keys
// are never zero (see numKey), so a zero key marks an empty slot.
type numTable struct {
	slots []numSlot
	n     int
	shift uint8
}

type numSlot struct {
	k  uint64
	yi uint16 // the catalog's program-year index
	v  ref
}

// fibonacci hashing: multiply by 2^64/φ and keep the top bits.
const fib = 0x9E3779B97F4A7C15

func (t *numTable) home(yi uint16, k uint64) uint64 {
	return ((k ^ uint64(yi)<<47) * fib) >> t.shift
}

func (t *numTable) get(yi uint16, k uint64) (ref, bool) {
	if t.n == 0 {
		return 0, false // (and find does not allocate the table)
	}
	r, empty := t.find(yi, k)
	return r, empty == nil
}

// find returns k's ref, or (when k is absent) the empty slot where it
// would go, for fill.
func (t *numTable) find(yi uint16, k uint64) (ref, *numSlot) {
	if len(t.slots) == 0 {
		t.resize(1024)
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.home(yi, k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k && s.yi == yi {
			return s.v, nil
		}
		if s.k == 0 {
			return 0, s
		}
	}
}

// fill adds absent k at the empty slot find returned for it (no other
// change to the table in between).
func (t *numTable) fill(s *numSlot, yi uint16, k uint64, v ref) {
	if 2*(t.n+1) > len(t.slots) {
		t.put(yi, k, v) // regrows first
		return
	}
	*s = numSlot{k, yi, v}
	t.n++
}

// put adds k, which must not be present.
func (t *numTable) put(yi uint16, k uint64, v ref) {
	if 2*(t.n+1) > len(t.slots) {
		t.resize(max(2*len(t.slots), 1024))
	}
	mask := uint64(len(t.slots) - 1)
	i := t.home(yi, k)
	for t.slots[i].k != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = numSlot{k, yi, v}
	t.n++
}

// reserve sizes the table for n keys in all, so that adding them does not
// regrow it.
func (t *numTable) reserve(n int) {
	size := 1024
	for size < 2*n {
		size *= 2
	}
	if size > len(t.slots) {
		t.resize(size)
	}
}

func (t *numTable) resize(size int) {
	old := t.slots
	t.slots = make([]numSlot, size)
	t.shift = uint8(64 - bits.Len(uint(size-1)))
	t.n = 0
	for _, s := range old {
		if s.k != 0 {
			t.put(s.yi, s.k, s.v)
		}
	}
}
