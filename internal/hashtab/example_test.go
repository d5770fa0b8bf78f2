package hashtab_test

import (
	"fmt"
	"hash/maphash"

	"github.com/electionledger/ledger/internal/hashtab"
)

// A caller keeps its keys; the table finds their indexes.
func Example() {
	seed := maphash.MakeSeed()
	names := []string{}
	var t hashtab.Table
	hashOf := func(at uint32) uint64 { return maphash.String(seed, names[at]) }
	index := func(name string) int {
		c := t.Probe(maphash.String(seed, name))
		for at, ok := c.Next(); ok; at, ok = c.Next() {
			if names[at] == name {
				return int(at)
			}
		}
		names = append(names, name)
		t.Insert(&c, uint32(len(names)-1), hashOf)
		return len(names) - 1
	}
	fmt.Println(index("election-a"), index("score-b"), index("election-a"), t.Len())
	// Output: 0 1 0 2
}
