package projection

import (
	"context"
	"fmt"
	"testing"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

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

// TestHighestReason checks the scoring model's table of "highest of"
// reasons against formatting each one, beyond the table's range too.
func TestHighestReason(t *testing.T) {
	s := NewScoring(NewStatus(NewCatalog(), eligibility.Default()), nil, ScoringConfig{})
	for n := 1; n <= 6; n++ {
		for src := range ScoreSource(len(sourceNames)) {
			want := fmt.Sprintf("the highest of %d candidate score(s): the %s score", n, src)
			if got := s.highestReason(n, src); got != want {
				t.Fatalf("highestReason(%d, %v) = %q, want %q", n, src, got, want)
			}
		}
	}
}

// TestReserve: models reserved for a log's length take that many
// participants without regrowing their tables, and a rebuild reserves.
func TestReserve(t *testing.T) {
	const n = 5000
	m := NewModels(nil, ScoringConfig{})
	m.Status.reserve(n)
	m.Scoring.reserve(n)
	slots, keys, st, sc := m.Catalog.nums.Cap(), cap(m.Catalog.keys), cap(m.Status.facts), cap(m.Scoring.facts)
	py := events.PY(events.MIPS, 2024)
	for i := range n {
		p := events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 300_000_000+i)))
		m.Status.get(py, p)
		m.Scoring.get(py, p)
	}
	if m.Catalog.Len() != n {
		t.Fatalf("%d participants, want %d", m.Catalog.Len(), n)
	}
	if m.Catalog.nums.Cap() != slots || cap(m.Catalog.keys) != keys || cap(m.Status.facts) != st || cap(m.Scoring.facts) != sc {
		t.Fatalf("regrew: table %d→%d slots, keys %d→%d, status %d→%d, scoring %d→%d", slots, m.Catalog.nums.Cap(),
			keys, cap(m.Catalog.keys), st, cap(m.Status.facts), sc, cap(m.Scoring.facts))
	}

	s := memstore.New()
	reg := events.NewRegistry()
	for i := range n {
		p := events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 300_000_000+i)))
		d, err := reg.Encode(uuid.New(), events.EligibilityDetermined{Participant: p, ProgramYear: py, Status: events.StatusRequired}, events.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(context.Background(), fmt.Sprint(i), events.Any, d); err != nil {
			t.Fatal(err)
		}
	}
	m = NewModels(nil, ScoringConfig{})
	if _, err := NewRunner(s, reg, m.Projections()).Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cap(m.Catalog.keys) < n || cap(m.Status.facts) < n || cap(m.Scoring.facts) < n || m.Catalog.nums.Cap() < n {
		t.Fatalf("a rebuild of %d records reserved keys %d, status %d, scoring %d, table %d", n,
			cap(m.Catalog.keys), cap(m.Status.facts), cap(m.Scoring.facts), m.Catalog.nums.Cap())
	}
}
