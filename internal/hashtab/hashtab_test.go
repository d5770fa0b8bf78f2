package hashtab_test

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/electionledger/ledger/internal/hashtab"
)

// strings is a caller of the table: names kept in a slice, looked up by
// name.
type strings struct {
	seed  maphash.Seed
	t     hashtab.Table
	names []string
	hash  func(string) uint64 // the hash the table is given (default maphash)
}

func newStrings(hash func(string) uint64) *strings {
	s := &strings{seed: maphash.MakeSeed(), hash: hash}
	if s.hash == nil {
		s.hash = func(k string) uint64 { return maphash.String(s.seed, k) }
	}
	return s
}

func (s *strings) hashOf(at uint32) uint64 { return s.hash(s.names[at]) }

// find returns name's index, adding it if absent.
func (s *strings) find(name string, add bool) (int, bool) {
	c := s.t.Probe(s.hash(name))
	for {
		at, ok := c.Next()
		if !ok {
			break
		}
		if s.names[at] == name {
			return int(at), true
		}
	}
	if !add {
		return -1, false
	}
	s.names = append(s.names, name)
	s.t.Insert(&c, uint32(len(s.names)-1), s.hashOf)
	return len(s.names) - 1, false
}

// TestAgainstAMap: random inserts and lookups, with a good hash and with
// hashes that collide (a constant, and only 3 distinct values), answer as
// a Go map does, across many growths and a Reserve.
func TestAgainstAMap(t *testing.T) {
	for name, hash := range map[string]func(string) uint64{
		"maphash":  nil,
		"constant": func(string) uint64 { return 42 },
		"three":    func(k string) uint64 { return uint64(len(k)%3) << 61 },
	} {
		t.Run(name, func(t *testing.T) {
			s := newStrings(hash)
			want := map[string]int{}
			rng := rand.New(rand.NewPCG(1, 2))
			n := 20_000
			if hash != nil {
				n = 1500 // every lookup probes the whole cluster
			}
			for i := range n {
				if i == n/2 {
					s.t.Reserve(n, s.hashOf)
				}
				k := strconv.Itoa(rng.IntN(n))
				got, found := s.find(k, rng.IntN(2) == 0)
				w, ok := want[k]
				switch {
				case found != ok:
					t.Fatalf("%q: found %v, the map has it %v", k, found, ok)
				case ok && got != w:
					t.Fatalf("%q: index %d, want %d", k, got, w)
				case !ok && got >= 0:
					want[k] = got
				}
			}
			if s.t.Len() != len(want) {
				t.Fatalf("Len %d, the map holds %d", s.t.Len(), len(want))
			}
			for k, w := range want {
				if got, ok := s.find(k, false); !ok || got != w {
					t.Fatalf("%q: %d %v, want %d", k, got, ok, w)
				}
			}
		})
	}
}

// TestZeroTableAndPrefetch: the zero Table is empty and usable; Prefetch
// on it and on a filled one changes nothing.
func TestZeroTableAndPrefetch(t *testing.T) {
	s := newStrings(nil)
	s.t.Prefetch([]uint64{1, 2, 3})
	if _, ok := s.find("a", false); ok || s.t.Len() != 0 {
		t.Fatal("the zero table holds something")
	}
	for i := range 100 {
		s.find(strconv.Itoa(i), true)
	}
	hs := []uint64{s.hash("5"), s.hash("500"), 0, ^uint64(0)}
	s.t.Prefetch(hs)
	if at, ok := s.find("5", false); !ok || s.names[at] != "5" || s.t.Len() != 100 {
		t.Fatal("Prefetch changed the table")
	}
}

func BenchmarkFind(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s := newStrings(nil)
			keys := make([]string, n)
			for i := range keys {
				keys[i] = "election-mips-2024-" + strconv.Itoa(i*7919)
				s.find(keys[i], true)
			}
			b.Run("hashtab", func(b *testing.B) {
				for i := range b.N {
					s.find(keys[i%n], false)
				}
			})
			b.Run("map", func(b *testing.B) {
				m := make(map[string]int, n)
				for i, k := range keys {
					m[k] = i
				}
				b.ResetTimer()
				for i := range b.N {
					_ = m[keys[i%n]]
				}
			})
		})
	}
}

// TestReserve: a table reserved for n entries takes n without growing.
func TestReserve(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 1000} {
		s := newStrings(nil)
		s.t.Reserve(n, s.hashOf)
		c := s.t.Cap()
		if c < n {
			t.Fatalf("Reserve(%d): Cap %d", n, c)
		}
		for i := range n {
			s.find(strconv.Itoa(i), true)
		}
		if s.t.Cap() != c || s.t.Len() != n {
			t.Fatalf("Reserve(%d): Cap %d then %d after %d inserts", n, c, s.t.Cap(), s.t.Len())
		}
	}
}
