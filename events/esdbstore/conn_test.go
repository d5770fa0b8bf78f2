package esdbstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
)

// use makes one call of each kind and returns the first error of each.
func use(ctx context.Context, s events.Store, stream string) []error {
	_, errA := s.Append(ctx, stream, events.Any, ev(0))
	var errR, errAll, errSub error
	for _, err := range s.ReadStream(ctx, stream, 0) {
		errR = err
		break
	}
	for _, err := range s.ReadAll(ctx, 0) {
		errAll = err
		break
	}
	for _, err := range s.Subscribe(ctx, 0, events.Filter{}) {
		errSub = err
		break
	}
	return []error{errA, errR, errAll, errSub}
}

// TestUnreachableServer: 32 concurrent callers of every kind against a
// server that is not there each get a *ConnectionError, in bounded time;
// nothing panics (client v4.2.0 panics with "send on closed channel" when
// a client is closed while callers wait inside it); Open, which connects,
// refuses the address; and no goroutine outlives Close.
func TestUnreachableServer(t *testing.T) {
	addr := closedAddr(t)
	conn := "esdb://" + addr + "?tls=false&maxDiscoverAttempts=2&discoveryInterval=10&gossipTimeout=1"
	noLeak(t, func() {
		if _, err := esdbstore.Open(conn); !errors.Is(err, esdbstore.ErrUnavailable) {
			t.Errorf("open: %v, want ErrUnavailable", err)
		}
		s, err := esdbstore.Open(conn, esdbstore.WithLazyConnect(), esdbstore.WithRetries(2, 20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 32*4)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, err := range use(ctx, s, fmt.Sprintf("election-%d", i)) {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			var ce *esdbstore.ConnectionError
			if !errors.As(err, &ce) || !errors.Is(err, esdbstore.ErrUnavailable) {
				t.Errorf("a call against an unreachable server: %v, want a *ConnectionError", err)
			}
		}
		if d := time.Since(start); d > 45*time.Second {
			t.Errorf("the calls took %v", d)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestServerGoesAwayUnderLoad: 16 writers append while the server stops
// and starts again. Each append either succeeds or fails with a
// *ConnectionError; after the restart they succeed; no stream holds an
// event twice or a broken chain; nothing panics or leaks.
func TestServerGoesAwayUnderLoad(t *testing.T) {
	srv := esdbfake.Run(t)
	conn := srv.ConnectionString()
	ctx := context.Background()
	noLeak(t, func() {
		s, err := esdbstore.Open(conn, esdbstore.WithRetries(3, 20*time.Millisecond), esdbstore.WithCallTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stream := fmt.Sprintf("score-load-%d", w)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Append(ctx, stream, events.Any, ev(i)); err != nil && !errors.Is(err, esdbstore.ErrUnavailable) {
						t.Errorf("append during the outage: %v", err)
						return
					}
				}
			}()
		}
		time.Sleep(150 * time.Millisecond)
		srv.Stop()
		time.Sleep(400 * time.Millisecond)
		if err := srv.Start(srv.Addr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		wg.Wait()
		if _, err := s.Append(ctx, "score-load-0", events.Any, ev(-1)); err != nil {
			t.Fatalf("append after the restart: %v", err)
		}
	})
	s := open(t, conn)
	c := raw(t, conn)
	for w := range 16 {
		stream := fmt.Sprintf("score-load-%d", w)
		uniqueIDs(t, c, stream)
		if _, err := chain.VerifyStream(stream, s.ReadStream(ctx, stream, 0)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseFromLoopBody: Close called from inside the loop body of a
// subscription (caught up and live), a $all read and a stream read returns
// promptly, the loop then ends (with ErrClosed where it asks the server
// for more), and no goroutine outlives it.
func TestCloseFromLoopBody(t *testing.T) {
	srv := esdbfake.Run(t)
	kinds := map[string]func(ctx context.Context, s *esdbstore.Store) func(func(events.Record, error) bool){
		"subscribe (catching up)": func(ctx context.Context, s *esdbstore.Store) func(func(events.Record, error) bool) {
			return s.Subscribe(ctx, 0, events.Filter{})
		},
		"read all": func(ctx context.Context, s *esdbstore.Store) func(func(events.Record, error) bool) {
			return s.ReadAll(ctx, 0)
		},
		"read stream": func(ctx context.Context, s *esdbstore.Store) func(func(events.Record, error) bool) {
			return s.ReadStream(ctx, "election-body", 0)
		},
	}
	for name, seq := range kinds {
		t.Run(name, func(t *testing.T) {
			noLeak(t, func() {
				s, err := esdbstore.Open(srv.ConnectionString(), esdbstore.WithPageSize(2))
				if err != nil {
					t.Fatal(err)
				}
				mustAppend(t, s, "election-body", events.Any, ev(0), ev(1), ev(2))
				done := make(chan error, 1)
				go func() {
					closed := false
					var last error
					for _, err := range seq(context.Background(), s) {
						if err != nil {
							last = err
							break
						}
						if !closed {
							closed = true
							if err := s.Close(); err != nil {
								last = err
								break
							}
						}
					}
					done <- last
				}()
				select {
				case err := <-done:
					if err != nil && !errors.Is(err, events.ErrClosed) {
						t.Fatalf("the loop ended with %v, want ErrClosed or nothing", err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("Close from the loop body did not return, or the loop did not end")
				}
			})
		})
	}
	t.Run("subscribe (live)", func(t *testing.T) {
		noLeak(t, func() {
			s, err := esdbstore.Open(srv.ConnectionString())
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				var last error
				for r, err := range s.Subscribe(context.Background(), 0, events.Filter{StreamPrefixes: []string{"election-live-body"}}) {
					if err != nil {
						last = err
						break
					}
					if r.Stream == "election-live-body" {
						_ = s.Close()
					}
				}
				done <- last
			}()
			time.Sleep(100 * time.Millisecond) // live by now
			other := open(t, srv.ConnectionString())
			mustAppend(t, other, "election-live-body", events.Any, ev(0))
			select {
			case err := <-done:
				if !errors.Is(err, events.ErrClosed) {
					t.Fatalf("the live subscription ended with %v, want ErrClosed", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Close from a live subscription's body did not return")
			}
			_ = other.Close()
		})
	})
}

// TestCloseEndsWaitingCalls: Close, from another goroutine, ends an append
// waiting on a stalled server and a live subscription, which return
// ErrClosed.
func TestCloseEndsWaitingCalls(t *testing.T) {
	srv := esdbfake.Run(t, esdbfake.WithWriteTimeout(time.Minute))
	noLeak(t, func() {
		s, err := esdbstore.Open(srv.ConnectionString())
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, "election-wait", events.NoStream, ev(0))
		srv.StallCommits(2 * time.Second)
		errs := make(chan error, 2)
		go func() {
			_, err := s.Append(context.Background(), "election-wait", events.Exact(0), ev(1))
			errs <- err
		}()
		go func() {
			for _, err := range s.Subscribe(context.Background(), 0, events.Filter{StreamPrefixes: []string{"nothing-"}}) {
				errs <- err
				return
			}
		}()
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		_ = s.Close()
		for range 2 {
			if err := <-errs; !errors.Is(err, events.ErrClosed) {
				t.Errorf("a waiting call ended with %v, want ErrClosed", err)
			}
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Close took %v to end the waiting calls", d)
		}
		time.Sleep(2 * time.Second) // let the stalled commit land before the server goes
	})
}

// TestNotLeaderRedirects: a follower's not-leader answers send the client
// to the leader; the store retries there and writes once.
func TestNotLeaderRedirects(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString(), esdbstore.WithRetries(6, 10*time.Millisecond))
	mustAppend(t, s, "election-leader", events.NoStream, ev(0))
	srv.NotLeader(3)
	res := mustAppend(t, s, "election-leader", events.Exact(0), ev(1))
	if res.Revision != 1 || uniqueIDs(t, raw(t, srv.ConnectionString()), "election-leader") != 2 {
		t.Fatalf("after the redirects: %+v", res)
	}
}

// TestIdleSubscriptionSurvivesRestarts: a live subscription that delivers
// nothing while the server restarts eight times (more than the store's six
// attempts) resubscribes each time, and then delivers the next append:
// only failures to reach the server in a row count against it.
func TestIdleSubscriptionSurvivesRestarts(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString(), esdbstore.WithRetries(5, 20*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		for r, err := range s.Subscribe(ctx, 0, events.Filter{StreamPrefixes: []string{"election-idle"}}) {
			if err == nil && r.Stream != "election-idle" {
				err = fmt.Errorf("delivered %s", r.Stream)
			}
			got <- err
			return
		}
	}()
	for range 8 {
		time.Sleep(150 * time.Millisecond)
		srv.Stop()
		time.Sleep(50 * time.Millisecond)
		if err := srv.Start(srv.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	other := open(t, srv.ConnectionString())
	mustAppend(t, other, "election-idle", events.NoStream, ev(0))
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the subscription ended with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the subscription delivered nothing after the restarts")
	}
}
