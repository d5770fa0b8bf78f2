package codeshape_test

import (
	"fmt"
	"go/parser"

	"github.com/electionledger/ledger/internal/codeshape"
)

// Depth counts the nested blocks a reader holds in mind; an else-if chain
// is one.
func Example() {
	e, _ := parser.ParseExpr(`func() {
		for _, x := range xs {
			if x > 0 {
				println(x)
			} else if x < 0 {
				println(-x)
			}
		}
	}`)
	fmt.Println(codeshape.Depth(e), "limit", codeshape.MaxDepth)
	// Output: 2 limit 4
}
