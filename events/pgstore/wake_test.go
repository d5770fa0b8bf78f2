package pgstore_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/google/uuid"
)

// named returns the server URL with an application_name of its own, so a
// test can find (and kill) exactly one store's connections.
func named(t *testing.T) (string, string) {
	t.Helper()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Scheme == "" {
		t.Skip("the server's connection string is not a URL; this test names its connections through it")
	}
	app := "pgtest-" + uuid.NewString()[:8]
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), app
}

// kill terminates every server connection with the application name and
// returns how many there were.
func kill(t *testing.T, app string) int {
	t.Helper()
	c := connect(t, pgtest.URL(t))
	var n int
	if err := c.QueryRow(context.Background(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// follower collects a subscription's records on a channel.
type follower struct {
	recs chan events.Record
	errs chan error
}

func follow(ctx context.Context, s events.Store, from events.Position) *follower {
	f := &follower{recs: make(chan events.Record, 100_000), errs: make(chan error, 1)}
	go func() {
		for r, err := range s.Subscribe(ctx, from, events.Filter{}) {
			if err != nil {
				f.errs <- err
				return
			}
			f.recs <- r
		}
	}()
	return f
}

// next waits for the next record, failing after within.
func (f *follower) next(t *testing.T, within time.Duration) events.Record {
	t.Helper()
	select {
	case r := <-f.recs:
		return r
	case err := <-f.errs:
		t.Fatalf("the subscription ended: %v", err)
	case <-time.After(within):
		t.Fatalf("no record within %v", within)
	}
	return events.Record{}
}

// twoStores opens a store, and a second on the same schema with its own
// connections and application name, as another process would.
func twoStores(t *testing.T, opts ...pgstore.Option) (writer *pgstore.Store, reader *pgstore.Store, readerApp string) {
	t.Helper()
	writer = pgtest.Open(t)
	u, app := named(t)
	reader, err := pgstore.Open(context.Background(), u, append([]pgstore.Option{pgstore.WithSchema(writer.Schema())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	return writer, reader, app
}

// TestNotifyWakesAnotherStore: a subscriber whose poll interval is an hour
// still sees another store's append at once: the NOTIFY woke it.
func TestNotifyWakesAnotherStore(t *testing.T) {
	w, r, _ := twoStores(t, pgstore.WithPollInterval(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustAppend(t, w, "a", events.NoStream, event(0))
	f := follow(ctx, r, 0)
	f.next(t, 10*time.Second) // caught up: now it waits live
	for i := range 5 {
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		e := event(i + 1)
		mustAppend(t, w, "a", events.Any, e)
		if got := f.next(t, 10*time.Second); got.ID != e.ID {
			t.Fatalf("got %v, want %v", got.ID, e.ID)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the live record took %v", d)
		}
	}
}

// TestPollingWithoutNotify: a row inserted by a client that sends no
// notification reaches a subscriber at the next poll.
func TestPollingWithoutNotify(t *testing.T) {
	w, r, _ := twoStores(t, pgstore.WithPollInterval(100*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustAppend(t, w, "a", events.NoStream, event(0))
	f := follow(ctx, r, 0)
	f.next(t, 10*time.Second)
	rec := events.NewRecord("plain", 0, time.Now().Truncate(time.Microsecond), events.Hash{}, event(1))
	if _, err := rawInsert(ctx, connect(t, pgtest.URL(t)), w.Schema(), rec); err != nil {
		t.Fatal(err)
	}
	if got := f.next(t, 10*time.Second); got.ID != rec.ID || got.Hash != rec.Hash {
		t.Fatalf("got %v, want the plainly inserted %v", got.ID, rec.ID)
	}
}

// TestListenerReconnects: killing every connection of the subscriber's
// store, its listener's included, loses no wake-up for long: the listener
// reconnects, and the subscription goes on exactly once, in order.
func TestListenerReconnects(t *testing.T) {
	w, r, app := twoStores(t, pgstore.WithPollInterval(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var want []events.AppendResult
	want = append(want, mustAppend(t, w, "a", events.Any, event(0)))
	f := follow(ctx, r, 0)
	f.next(t, 10*time.Second)
	for round := range 3 {
		if n := kill(t, app); n == 0 {
			t.Fatalf("round %d: the reading store had no connection to kill", round)
		}
		for i := range 3 {
			want = append(want, mustAppend(t, w, "a", events.Any, event(10*round+i)))
		}
		for i := len(want) - 3; i < len(want); i++ {
			if got := f.next(t, 20*time.Second); got.Position != want[i].Position {
				t.Fatalf("round %d: got position %d, want %d", round, got.Position, want[i].Position)
			}
		}
	}
}

// TestSubscriptionResumesAfterDrop: the reading store's connections are
// killed twice during catch-up and once while live; the subscriber sees
// every record once, in the log's order.
func TestSubscriptionResumesAfterDrop(t *testing.T) {
	w, r, app := twoStores(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 3000
	evs := make([]events.EventData, 0, 100)
	for i := range n {
		evs = append(evs, event(i))
		if len(evs) == 100 {
			mustAppend(t, w, "bulk-"+uuid.NewString()[:4], events.NoStream, evs...)
			evs = evs[:0]
		}
	}
	log := readAll(t, w)
	var got []events.Record
	for rec, err := range r.Subscribe(ctx, 0, events.Filter{}) {
		if err != nil {
			t.Fatalf("after %d records: %v", len(got), err)
		}
		got = append(got, rec)
		switch len(got) {
		case 700, 1900:
			if kill(t, app) == 0 {
				t.Fatal("no connection to kill")
			}
		case n:
			kill(t, app)
			go func() {
				time.Sleep(100 * time.Millisecond)
				for i := range 10 {
					w.Append(ctx, "live", events.Any, event(i))
				}
			}()
		}
		if len(got) == n+10 {
			break
		}
	}
	log = readAll(t, w)
	if len(log) != len(got) {
		t.Fatalf("subscriber saw %d records, the log holds %d", len(got), len(log))
	}
	for i := range log {
		if got[i].ID != log[i].ID || got[i].Position != log[i].Position {
			t.Fatalf("record %d: subscriber saw %v@%d, the log has %v@%d", i, got[i].ID, got[i].Position, log[i].ID, log[i].Position)
		}
	}
}

// TestAppendAfterDrop: appends go on after the store's connections die.
func TestAppendAfterDrop(t *testing.T) {
	u, app := named(t)
	s, err := pgstore.Open(context.Background(), u, pgstore.WithSchema(pgtest.Schema(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, "a", events.NoStream, event(0))
	for i := range 3 {
		if kill(t, app) == 0 {
			t.Fatal("no connection to kill")
		}
		mustAppend(t, s, "a", events.Exact(uint64(i)), event(i+1))
	}
	if _, err := chain.VerifyChains(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}
