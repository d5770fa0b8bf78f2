package ordered_test

import (
	"fmt"

	"github.com/electionledger/ledger/internal/ordered"
)

// Squares of 0..4, computed on two workers, printed in order.
func Example() {
	type job struct{ n, sq int }
	cfg := ordered.Config[job]{Workers: 2,
		New:  func() *job { return &job{} },
		Work: func(j *job, _ int) { j.sq = j.n * j.n }}
	produce := func(take ordered.Take[job], send ordered.Send[job]) {
		for i := range 5 {
			j, ok := take()
			if !ok {
				return
			}
			j.n = i
			if !send(j) {
				return
			}
		}
	}
	for j := range ordered.Run(cfg, produce) {
		fmt.Print(j.sq, " ")
	}
	fmt.Println()
	// Output: 0 1 4 9 16
}
