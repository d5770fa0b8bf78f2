package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
)

// commitLog records the commits a store's hook reports.
type commitLog struct {
	mu      sync.Mutex
	direct  []int // appends per commit in an appending goroutine
	handed  []int // appends per commit by the writer goroutine
	order   []commitSeen
	onFirst func()
}

type commitSeen struct {
	direct  bool
	appends int
}

func (c *commitLog) hook(direct bool, appends int) {
	c.mu.Lock()
	first := len(c.direct)+len(c.handed) == 0
	if direct {
		c.direct = append(c.direct, appends)
	} else {
		c.handed = append(c.handed, appends)
	}
	c.order = append(c.order, commitSeen{direct, appends})
	fn := c.onFirst
	c.mu.Unlock()
	if first && fn != nil {
		fn()
	}
}

func (c *commitLog) counts() (direct, handed []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.direct...), append([]int(nil), c.handed...)
}

// all returns every commit so far, in order.
func (c *commitLog) all() []commitSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]commitSeen(nil), c.order...)
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestLoneAppendCommitsInItsGoroutine: an append with no group to join is
// committed by its caller, one commit each; with WithHandOff every append
// goes to the writer goroutine instead. Both write the same records.
func TestLoneAppendCommitsInItsGoroutine(t *testing.T) {
	for _, handOff := range []bool{false, true} {
		t.Run(fmt.Sprintf("handoff=%v", handOff), func(t *testing.T) {
			var c commitLog
			opts := []boltstore.Option{boltstore.WithNoSync(), boltstore.WithCommitHook(c.hook)}
			if handOff {
				opts = append(opts, boltstore.WithHandOff())
			}
			s := open(t, opts...)
			for i := range 20 {
				res, err := s.Append(context.Background(), fmt.Sprintf("s-%d", i%3), events.Any, event())
				if err != nil || res.Position != events.Position(i) {
					t.Fatalf("append %d: %+v %v", i, res, err)
				}
			}
			direct, handed := c.counts()
			if handOff && (len(direct) != 0 || sum(handed) != 20) {
				t.Fatalf("handed off: %d direct commits, %v by the writer; want every append by the writer", len(direct), handed)
			}
			if !handOff && (len(direct) != 20 || sum(direct) != 20 || len(handed) != 0) {
				t.Fatalf("a lone writer: direct commits %v, by the writer %v; want 20 direct commits of one", direct, handed)
			}
			if n, err := chain.VerifyChains(context.Background(), s); err != nil || n.Records != 20 {
				t.Fatalf("verify: %+v %v", n, err)
			}
		})
	}
}

// TestAppendsDuringADirectCommitQueue: while an append is committed in its
// caller's goroutine, appends arriving meanwhile queue for the writer
// goroutine (none takes the write lock from under the commit) and are
// committed after it, in groups; a lone append after a group of many is
// still handed to the writer, and after a commit of one, committed by its
// caller.
func TestAppendsDuringADirectCommitQueue(t *testing.T) {
	const others = 3
	var c commitLog
	var s *boltstore.Store
	var wg sync.WaitGroup
	results := make(chan events.AppendResult, others)
	c.onFirst = func() {
		for i := range others {
			wg.Go(func() {
				res, err := s.Append(context.Background(), fmt.Sprintf("other-%d", i), events.NoStream, event())
				if err != nil {
					t.Error(err)
				}
				results <- res
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.Queued() < others {
			if time.Now().After(deadline) {
				t.Errorf("%d appends queued while a commit ran, want %d", s.Queued(), others)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	s = open(t, boltstore.WithNoSync(), boltstore.WithCommitHook(c.hook))
	first, err := s.Append(context.Background(), "first", events.NoStream, event())
	if err != nil || first.Position != 0 {
		t.Fatalf("first append: %+v %v", first, err)
	}
	wg.Wait()
	close(results)
	seen := map[events.Position]bool{first.Position: true}
	for res := range results {
		if res.Position == 0 || seen[res.Position] || res.Position > others {
			t.Fatalf("an append queued behind the first got position %d", res.Position)
		}
		seen[res.Position] = true
	}
	direct, handed := c.counts()
	if len(direct) != 1 || sum(handed) != others {
		t.Fatalf("direct commits %v, by the writer %v; want the first alone, then the %d others by the writer", direct, handed, others)
	}
	if s.Queued() != 0 {
		t.Fatalf("%d appends still counted as queued", s.Queued())
	}
	// After a commit of many, a lone append still goes to the writer (the
	// group's writers may be coming back); after a commit of one it is
	// committed by its caller again.
	for i := 0; ; i++ {
		before := c.all()
		last := before[len(before)-1]
		if _, err := s.Append(context.Background(), fmt.Sprintf("after-%d", i), events.NoStream, event()); err != nil {
			t.Fatal(err)
		}
		after := c.all()
		if len(after) != len(before)+1 || after[len(before)].direct != (last.appends <= 1) {
			t.Fatalf("a lone append after a commit of %d: commits %+v", last.appends, after)
		}
		if after[len(before)].direct {
			break
		}
		if i == 3 {
			t.Fatalf("no lone append committed by its caller: commits %+v", after)
		}
	}
}

// TestCloseWaitsForADirectCommit: Close during a commit in an appending
// goroutine waits for it; the append is acknowledged and durable, and
// appends after Close fail with ErrClosed.
func TestCloseWaitsForADirectCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	closed := make(chan error, 1)
	var s *boltstore.Store
	var c commitLog
	c.onFirst = func() {
		go func() { closed <- s.Close() }()
		select {
		case err := <-closed:
			t.Errorf("Close returned (%v) while a commit ran", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	s, err := boltstore.Open(path, boltstore.WithCommitHook(c.hook))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(context.Background(), "s", events.NoStream, event())
	if err != nil {
		t.Fatalf("the append Close waited for: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), "s", events.Any, event()); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("append after Close: %v, want ErrClosed", err)
	}
	s, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for r, err := range s.ReadStream(context.Background(), "s", 0) {
		if err != nil || r.Position != res.Position || r.Hash != res.Hash {
			t.Fatalf("reopened: %+v %v, want the acknowledged append %+v", r, err, res)
		}
	}
}

// TestCanceledBeforeItsTurn: an append whose context has ended is refused
// on either path and writes nothing.
func TestCanceledBeforeItsTurn(t *testing.T) {
	for _, handOff := range []bool{false, true} {
		opts := []boltstore.Option{boltstore.WithNoSync()}
		if handOff {
			opts = append(opts, boltstore.WithHandOff())
		}
		s := open(t, opts...)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Append(ctx, "s", events.NoStream, event()); !errors.Is(err, context.Canceled) {
			t.Fatalf("handoff=%v: %v, want context.Canceled", handOff, err)
		}
		if s.Len() != 0 {
			t.Fatalf("handoff=%v: a canceled append wrote %d records", handOff, s.Len())
		}
	}
}
