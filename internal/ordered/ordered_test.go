package ordered_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/internal/ordered"
)

type item struct {
	n      int
	shares []int // which workers worked on it (Every)
	result int
}

// count sends items numbered 0..n-1.
func count(n int, made *atomic.Int64) func(ordered.Take[item], ordered.Send[item]) {
	return func(take ordered.Take[item], send ordered.Send[item]) {
		for i := range n {
			it, ok := take()
			if !ok {
				return
			}
			made.Add(1)
			it.n, it.shares, it.result = i, it.shares[:0], 0
			if !send(it) {
				return
			}
		}
	}
}

// TestInOrder: items worked on by several workers, taking random times,
// come out in the order sent, each worked on once, with only Ahead items
// ever made.
func TestInOrder(t *testing.T) {
	news := 0
	cfg := ordered.Config[item]{Workers: 4, Ahead: 6,
		New: func() *item { news++; return &item{} },
		Work: func(it *item, k int) {
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			it.result = it.n * it.n
		}}
	var made atomic.Int64
	next := 0
	for it := range ordered.Run(cfg, count(500, &made)) {
		if it.n != next || it.result != next*next {
			t.Fatalf("got item %d (result %d), want %d", it.n, it.result, next)
		}
		next++
	}
	if next != 500 || news != 6 {
		t.Fatalf("%d items, %d made, want 500 and 6", next, news)
	}
}

// TestEveryWorkerDoesItsShare: with Every, each item reaches every worker
// once before the consumer sees it.
func TestEveryWorkerDoesItsShare(t *testing.T) {
	const workers = 3
	cfg := ordered.Config[item]{Workers: workers, Every: true,
		New: func() *item { return &item{shares: make([]int, 0, workers)} }}
	var mu sync.Mutex
	cfg.Work = func(it *item, k int) {
		mu.Lock()
		defer mu.Unlock()
		it.shares = append(it.shares, k)
	}
	var made atomic.Int64
	n := 0
	for it := range ordered.Run(cfg, count(200, &made)) {
		seen := map[int]bool{}
		for _, k := range it.shares {
			seen[k] = true
		}
		if len(it.shares) != workers || len(seen) != workers {
			t.Fatalf("item %d: worked on by %v, want each of %d workers once", it.n, it.shares, workers)
		}
		n++
	}
	if n != 200 {
		t.Fatalf("%d items", n)
	}
}

// TestStopEarly: breaking out of the loop stops the producer and leaves no
// goroutine behind.
func TestStopEarly(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := ordered.Config[item]{Workers: 4, New: func() *item { return &item{} }, Work: func(*item, int) {}}
	var made atomic.Int64
	for it := range ordered.Run(cfg, count(1_000_000, &made)) {
		if it.n == 10 {
			break
		}
	}
	if m := made.Load(); m > 10+8+1 {
		t.Fatalf("the producer made %d items after the consumer left at 10 (at most Ahead more)", m)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines after the run, %d before", g, before)
	}
}
