package esdbstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/electionledger/ledger/events/storetest"
	"github.com/google/uuid"
)

// EnvURL names the environment variable with a real server's connection
// string, e.g. esdb://localhost:2113?tls=false.
const EnvURL = "ELECTIONLEDGER_ESDB_URL"

func open(t testing.TB, conn string, opts ...esdbstore.Option) *esdbstore.Store {
	t.Helper()
	s, err := esdbstore.Open(conn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// conformancePage is the page size the conformance runs read with: small,
// so that the positions test crosses many page boundaries.
const conformancePage = 128

// TestConformanceDouble runs the whole storetest suite with the real client
// against the in-process double, with every one of the server's behaviours
// on (esdbfake.ServerBehaviours).
func TestConformanceDouble(t *testing.T) {
	srv := esdbfake.Run(t, esdbfake.WithBehaviours(esdbfake.ServerBehaviours()))
	storetest.Run(t, func(t testing.TB) events.Store {
		return open(t, srv.ConnectionString(), esdbstore.WithPageSize(conformancePage))
	}, storetest.PageSize(conformancePage))
}

// TestConformanceServer runs the suite against a real EventStoreDB or
// KurrentDB server when ELECTIONLEDGER_ESDB_URL is set.
func TestConformanceServer(t *testing.T) {
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skip(EnvURL + " is not set: skipping the suite against a real EventStoreDB/KurrentDB server " +
			"(start one and set e.g. " + EnvURL + "=esdb://localhost:2113?tls=false; see the README)")
	}
	storetest.Run(t, func(t testing.TB) events.Store {
		return open(t, url, esdbstore.WithPageSize(conformancePage))
	}, storetest.PageSize(conformancePage))
}

func ev(n int) events.EventData {
	return events.EventData{ID: uuid.New(), Type: "test.event", SchemaVersion: 1, Data: []byte(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: events.Metadata{Actor: "a", ActorRole: events.RoleSystem, CommandID: uuid.New()}}
}

// TestLostAckNotDuplicated: the server applies an append but the
// connection drops before the client sees the acknowledgement; the store's
// retry must not write the event twice.
func TestLostAckNotDuplicated(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString(), esdbstore.WithRetries(8, 20*time.Millisecond))
	ctx := context.Background()
	first, err := s.Append(ctx, "election-x", events.NoStream, ev(0))
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Len()
	srv.DropNextAck(1)
	e := ev(1)
	res, err := s.Append(ctx, "election-x", events.Exact(first.Revision), e)
	if err != nil {
		t.Fatalf("append with a lost ack: %v", err)
	}
	if got := srv.Len(); got != before+1 {
		t.Fatalf("the server holds %d new events after the retry, want exactly 1", got-before)
	}
	var recs []events.Record
	for r, err := range s.ReadStream(ctx, "election-x", 0) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[1].ID != e.ID || res.Revision != 1 || res.Hash != recs[1].Hash {
		t.Fatalf("stream after the retry: %d records, result %+v", len(recs), res)
	}
	if _, err := chain.VerifyStream("election-x", s.ReadStream(ctx, "election-x", 0)); err != nil {
		t.Fatal(err)
	}
	// Lost acks on a multi-event append and on a sealing one as well.
	srv.DropNextAck(1)
	seal := ev(9)
	seal.Type = events.TypeElectionConfirmed
	if _, err := s.Append(ctx, "election-x", events.Exact(1), ev(2), seal); err != nil {
		t.Fatal(err)
	}
	if got := srv.Len(); got < before+3 {
		t.Fatalf("multi-event append lost: %d", got-before)
	}
	if _, err := s.Append(ctx, "election-x", events.Any, ev(3)); !errors.Is(err, events.ErrStreamSealed) {
		t.Fatalf("append after the seal: %v, want ErrStreamSealed", err)
	}
	rev, ok, err := s.Sealed(ctx, "election-x")
	if err != nil || !ok || rev != 3 {
		t.Fatalf("sealed metadata: %d %v %v", rev, ok, err)
	}
}

// TestServerDownAtStart: the store opens while the server is down; the
// first calls fail until it comes up, then succeed with a rebuilt client.
func TestServerDownAtStart(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	srv := esdbfake.New()
	s := open(t, "esdb://"+addr+"?tls=false&discoveryInterval=20&maxDiscoverAttempts=2&gossipTimeout=1",
		esdbstore.WithRetries(30, 50*time.Millisecond), esdbstore.WithCallTimeout(2*time.Second), esdbstore.WithLazyConnect())
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), "election-late", events.NoStream, ev(0))
		done <- err
	}()
	time.Sleep(600 * time.Millisecond) // the client's first connection has failed by now
	if err := srv.Start(addr); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("append once the server came up: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("append never succeeded after the server came up")
	}
	if n, err := chain.VerifyStream("election-late", s.ReadStream(context.Background(), "election-late", 0)); n != 1 || err != nil {
		t.Fatalf("the stream holds %d events (%v), want 1", n, err)
	}
	// And a server that goes away and comes back mid-life.
	srv.Stop()
	go func() { time.Sleep(300 * time.Millisecond); _ = srv.Start(addr) }()
	if _, err := s.Append(context.Background(), "election-late", events.Exact(0), ev(1)); err != nil {
		t.Fatalf("append across a restart: %v", err)
	}
}

// TestSubscriptionResumesAfterDrop: the server drops every subscription
// after a few events; the store resubscribes from the last delivered
// position, with no gap and no repeat.
func TestSubscriptionResumesAfterDrop(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString(), esdbstore.WithRetries(8, 10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 60
	for i := range n / 2 {
		if _, err := s.Append(ctx, fmt.Sprintf("election-%d", i%4), events.Any, ev(i)); err != nil {
			t.Fatal(err)
		}
	}
	srv.DropSubscriptionsAfter(7)
	var wg sync.WaitGroup
	wg.Add(1)
	defer wg.Wait() // the writer finishes before the store closes
	go func() {
		defer wg.Done()
		for i := n / 2; i < n; i++ {
			if _, err := s.Append(ctx, fmt.Sprintf("election-%d", i%4), events.Any, ev(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	seen := map[uuid.UUID]bool{}
	var last events.Position
	count := 0
	for r, err := range s.Subscribe(ctx, 0, events.Filter{StreamPrefixes: []string{"election-"}}) {
		if err != nil {
			t.Fatalf("after %d records: %v", count, err)
		}
		if seen[r.ID] {
			t.Fatalf("record %s delivered twice", r.ID)
		}
		if count > 0 && r.Position <= last {
			t.Fatalf("out of order at %d", count)
		}
		seen[r.ID], last = true, r.Position
		if count++; count == n {
			break
		}
	}
	if count != n {
		t.Fatalf("delivered %d of %d", count, n)
	}
}

// TestCloseLeaksNoGoroutine opens, uses (append, read, subscribe) and
// closes stores: the goroutines they started are gone afterwards, and the
// closed store answers ErrClosed.
func TestCloseLeaksNoGoroutine(t *testing.T) {
	srv := esdbfake.Run(t)
	ctx := context.Background()
	useOnce := func() {
		s, err := esdbstore.Open(srv.ConnectionString())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "election-leak", events.Any, ev(0)); err != nil {
			t.Fatal(err)
		}
		for range s.ReadStream(ctx, "election-leak", 0) {
		}
		subDone := make(chan struct{})
		go func() {
			defer close(subDone)
			for _, err := range s.Subscribe(ctx, 0, events.Filter{}) {
				if err != nil {
					return
				}
			}
		}()
		time.Sleep(50 * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		<-subDone
		if _, err := s.Append(ctx, "election-leak", events.Any, ev(0)); !errors.Is(err, events.ErrClosed) {
			t.Fatalf("append after close: %v", err)
		}
	}
	useOnce() // gRPC starts a few process-wide goroutines once
	noLeak(t, func() {
		for range 3 {
			useOnce()
		}
	})
}

// TestServerVersions: Open refuses a server older than 22.6 (whose stream
// reads carry no $all positions), or one too old to say its version
// (before 21.10), with an *UnsupportedServerError; 22.6 and later, and
// every KurrentDB, are accepted. A lazily opened store refuses at its
// first call, without retrying.
func TestServerVersions(t *testing.T) {
	for version, ok := range map[string]bool{"": false, "21.10.9": false, "22.5.0": false, "22.6.0": true, "23.10.1": true,
		"24.10.0": true, "25.0.1": true} {
		srv := esdbfake.Run(t, esdbfake.WithVersion(version))
		s, err := esdbstore.Open(srv.ConnectionString())
		if ok {
			if err != nil {
				t.Errorf("version %q refused: %v", version, err)
				continue
			}
			v, err := s.ServerVersion(context.Background())
			if err != nil || fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) != version {
				t.Errorf("version %q reported as %+v (%v)", version, v, err)
			}
			s.Close()
			continue
		}
		var ue *esdbstore.UnsupportedServerError
		if !errors.Is(err, esdbstore.ErrUnsupportedServer) || !errors.As(err, &ue) || !strings.Contains(err.Error(), "22.6") {
			t.Errorf("version %q: %v, want an *UnsupportedServerError naming 22.6", version, err)
		}
		lazy := open(t, srv.ConnectionString(), esdbstore.WithLazyConnect())
		before := srv.Calls()
		if _, err := lazy.Append(context.Background(), "election-v", events.Any, ev(0)); !errors.Is(err, esdbstore.ErrUnsupportedServer) {
			t.Errorf("version %q, lazily: %v", version, err)
		}
		if d := srv.Calls().Sub(before); d.Total() != d.Features {
			t.Errorf("version %q: the refused store still sent %+v", version, d)
		}
	}
}

// TestEventsReadableAsJSON: the payload is the JSON data and the envelope
// is JSON custom metadata, as a server's UI shows them.
func TestEventsReadableAsJSON(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString())
	e := ev(42)
	e.Metadata.OnBehalfOf = events.Group(events.MustParseTIN("000456789"))
	if _, err := s.Append(context.Background(), "election-json", events.NoStream, e); err != nil {
		t.Fatal(err)
	}
	for r, err := range s.ReadStream(context.Background(), "election-json", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Data) != `{"n":42}` || !r.SameContent(&e) || r.ComputeHash() != r.Hash {
			t.Fatalf("round trip: %+v", r)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := esdbstore.Open("http://nope"); err == nil {
		t.Fatal("a non-esdb URL opened")
	}
	s, err := esdbstore.Open("kurrentdb://127.0.0.1:1?tls=false", esdbstore.WithLazyConnect())
	if err != nil {
		t.Fatalf("kurrentdb:// scheme: %v", err)
	}
	s.Close()
	// Open connects: nothing listens on port 1.
	if _, err := esdbstore.Open("kurrentdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1"); !errors.Is(err, esdbstore.ErrUnavailable) {
		t.Fatalf("open of an unreachable server: %v, want ErrUnavailable", err)
	}
}

// TestInvalidPositions: a read or subscription from a position that names
// no record (neither a record's Position, nor Position+1, nor 0) ends at
// once with a *PositionError; it is not retried or resubscribed.
func TestInvalidPositions(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString())
	res := mustAppend(t, s, "election-pos", events.NoStream, ev(0), ev(1))
	commit, after := esdbstore.ServerPosition(res.Position)
	if after || esdbstore.LedgerPosition(commit) != res.Position {
		t.Fatalf("position %d: server position %d, after %v", res.Position, commit, after)
	}
	bogus := esdbstore.LedgerPosition(commit+3) + 1 // just after a "record" three bytes into the last one
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := srv.Calls()
	for what, seq := range map[string]func(func(events.Record, error) bool){
		"read all": s.ReadAll(ctx, bogus), "subscribe": s.Subscribe(ctx, bogus, events.Filter{}),
	} {
		var got error
		for _, err := range seq {
			got = err
			break
		}
		var pe *esdbstore.PositionError
		if !errors.Is(got, esdbstore.ErrInvalidPosition) || !errors.As(got, &pe) || pe.Position != bogus {
			t.Errorf("%s from position %d: %v, want a *PositionError", what, bogus, got)
		}
	}
	if d := srv.Calls().Sub(before); d.ReadAll != 1 || d.Subscribe != 1 {
		t.Errorf("the refused position was asked for again: %+v", d)
	}
}
