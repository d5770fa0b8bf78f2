package projection

// interner numbers distinct values densely in the order they arrive, with a
// one-entry cache: the projections sharing a catalog ask for the same year
// and actor event after event, so most lookups repeat the previous one.
type interner[K comparable] struct {
	vals  []K
	idx   map[K]uint32
	last  K
	lastI uint32
	has   bool
}

// id returns v's number, adding v if new.
func (n *interner[K]) id(v K) uint32 {
	if n.has && n.last == v {
		return n.lastI
	}
	i, ok := n.idx[v]
	if !ok {
		if n.idx == nil {
			n.idx = make(map[K]uint32)
		}
		i = uint32(len(n.vals))
		n.vals = append(n.vals, v)
		n.idx[v] = i
	}
	n.last, n.lastI, n.has = v, i, true
	return i
}

// find returns v's number without adding it.
func (n *interner[K]) find(v K) (uint32, bool) {
	if n.has && n.last == v {
		return n.lastI, true
	}
	i, ok := n.idx[v]
	return i, ok
}
