package projection

import (
	"math/rand/v2"
	"testing"

	"github.com/electionledger/ledger/events"
)

// TestNumTableMatchesMap checks the open-addressing table against a Go map
// over random and clustered keys, through several growths.
func TestNumTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab numTable
	want := map[uint64]ref{}
	key := func(i int) uint64 {
		if i%3 == 0 { // clustered: consecutive TINs of groups
			return numKey(events.Group(events.MustParseTIN("100000000"))) + uint64(i)<<32
		}
		return 1<<63 | rng.Uint64()>>1
	}
	for i := range 50_000 {
		k := key(i)
		if _, dup := want[k]; dup {
			continue
		}
		if _, ok := tab.get(k); ok {
			t.Fatalf("key %x found before it was added", k)
		}
		tab.put(k, ref(i))
		want[k] = ref(i)
	}
	if tab.n != len(want) {
		t.Fatalf("table holds %d keys, want %d", tab.n, len(want))
	}
	for k, v := range want {
		if got, ok := tab.get(k); !ok || got != v {
			t.Fatalf("get(%x) = %d, %v; want %d", k, got, ok, v)
		}
	}
	for range 10_000 {
		k := 1<<63 | rng.Uint64()>>1
		if _, in := want[k]; in {
			continue
		}
		if _, ok := tab.get(k); ok {
			t.Fatalf("get(%x) found a key never added", k)
		}
	}
}

// TestCatalogAlternating interns participants in an order that defeats the
// catalog's one-entry caches: each must keep its own ref, per program year.
func TestCatalogAlternating(t *testing.T) {
	c := NewCatalog()
	tin := events.MustParseTIN("123456789")
	npi := events.MustParseNPI("1234567893")
	ps := []events.Participant{events.Group(tin), events.Individual(tin, npi), events.Group(events.MustParseTIN("987654321"))}
	vg, err := events.NewVirtualGroup("VG-2024-000001")
	if err != nil {
		t.Fatal(err)
	}
	ps = append(ps, vg)
	years := []events.ProgramYear{events.PY(events.MIPS, 2023), events.PY(events.MIPS, 2024)}
	refs := map[[2]int]ref{}
	for round := range 3 {
		for yi, py := range years {
			for pi, p := range ps {
				r := c.intern(py, p)
				if old, ok := refs[[2]int{yi, pi}]; ok && old != r {
					t.Fatalf("round %d: %v in %v interned as %d, earlier %d", round, p, py, r, old)
				}
				refs[[2]int{yi, pi}] = r
				if gpy, gp := c.key(r); gpy != py || gp != p {
					t.Fatalf("ref %d names %v %v, want %v %v", r, gp, gpy, p, py)
				}
				if l := c.lookup(py, p); l != r {
					t.Fatalf("lookup(%v, %v) = %d, want %d", py, p, l, r)
				}
			}
		}
	}
	if c.Len() != len(ps)*len(years) {
		t.Fatalf("catalog holds %d pairs, want %d", c.Len(), len(ps)*len(years))
	}
	a := c.actor(&events.Metadata{Actor: "a", ActorRole: events.RoleRegistry, Organization: "R"})
	b := c.actor(&events.Metadata{Actor: "b", ActorRole: events.RoleRegistry, Organization: "R"})
	if a == b || c.actor(&events.Metadata{Actor: "a", ActorRole: events.RoleRegistry, Organization: "R"}) != a {
		t.Fatalf("actors interned as %d and %d", a, b)
	}
}
