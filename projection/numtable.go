package projection

import "math/bits"

// numTable maps packed participant numbers to refs: an open-addressing
// table with linear probing, so a lookup usually touches one cache line
// (a Go map touches a control word and a slot). Keys are never zero (see
// numKey), so a zero key marks an empty slot.
type numTable struct {
	slots []numSlot
	n     int
	shift uint8
}

type numSlot struct {
	k uint64
	v ref
}

// fibonacci hashing: multiply by 2^64/φ and keep the top bits.
const fib = 0x9E3779B97F4A7C15

func (t *numTable) get(k uint64) (ref, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := (k * fib) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k {
			return s.v, true
		}
		if s.k == 0 {
			return 0, false
		}
	}
}

// put adds k, which must not be present.
func (t *numTable) put(k uint64, v ref) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	i := (k * fib) >> t.shift
	for t.slots[i].k != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = numSlot{k, v}
	t.n++
}

func (t *numTable) grow() {
	old := t.slots
	size := max(2*len(old), 1024)
	t.slots = make([]numSlot, size)
	t.shift = uint8(64 - bits.Len(uint(size-1)))
	t.n = 0
	for _, s := range old {
		if s.k != 0 {
			t.put(s.k, s.v)
		}
	}
}
