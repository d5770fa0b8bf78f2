package esdbstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
)

// goroutines returns the stacks of the running goroutines by ID.
func goroutines() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		head, _, _ := strings.Cut(string(g), " [")
		if id, err := strconv.Atoi(strings.TrimPrefix(head, "goroutine ")); err == nil {
			out[id] = string(g)
		}
	}
	return out
}

// noLeak runs fn and then waits until every goroutine started while it ran
// has ended, failing with their stacks if some are still running after
// 20 seconds. (A small hand-written check, in the manner of
// go.uber.org/goleak, so as not to add a module.)
func noLeak(t *testing.T, fn func()) {
	t.Helper()
	before := goroutines()
	fn()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var leaked []string
		for id, st := range goroutines() {
			// A test may restart the double: its listener is not the
			// store's.
			if _, ok := before[id]; !ok && !strings.Contains(st, "testing.(*T).Run") && !strings.Contains(st, "testing.tRunner") &&
				!strings.Contains(st, "grpc.(*Server).Serve(") {
				leaked = append(leaked, st)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(leaked)
			t.Fatalf("%d goroutines outlived the store:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// records reads a whole stream.
func records(t *testing.T, s events.Store, stream string) []events.Record {
	t.Helper()
	var out []events.Record
	for r, err := range s.ReadStream(context.Background(), stream, 0) {
		if err != nil {
			t.Fatalf("read %s: %v", stream, err)
		}
		out = append(out, r)
	}
	return out
}

// raw is a bare client, for tests that play another client of the server.
func raw(t *testing.T, conn string) *esdb.Client {
	t.Helper()
	cfg, err := esdb.ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawEvents reads a stream with the bare client, events the ledger did not
// write included.
func rawEvents(t *testing.T, c *esdb.Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		var e *esdb.Error
		if errors.As(err, &e) && e.Code() == esdb.ErrorCodeResourceNotFound {
			return nil
		}
		if err != nil {
			t.Fatalf("raw read of %s: %v", stream, err)
		}
		out = append(out, ev.Event)
	}
}

// uniqueIDs fails if a stream holds an event ID twice.
func uniqueIDs(t *testing.T, c *esdb.Client, stream string) int {
	t.Helper()
	evs := rawEvents(t, c, stream)
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.EventID.String()] {
			t.Fatalf("%s holds event %s twice", stream, e.EventID)
		}
		seen[e.EventID.String()] = true
	}
	return len(evs)
}
