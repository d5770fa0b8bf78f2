package esdbfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// These tests drive the double with the bare client, as any other client
// of a server would, to show each of the server's behaviours it carries.

func client(t *testing.T, conn string) *esdb.Client {
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

func event(n int) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: "test", ContentType: esdb.ContentTypeJson, Data: []byte(fmt.Sprintf(`{"n":%d}`, n))}
}

func appendTo(t *testing.T, c *esdb.Client, stream string, exp esdb.ExpectedRevision, evs ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	res, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func read(c *esdb.Client, stream string, from uint64) ([]*esdb.RecordedEvent, error) {
	return drain(c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{From: esdb.Revision(from)}, 1000))
}

func readAll(c *esdb.Client, from esdb.AllPosition) ([]*esdb.RecordedEvent, error) {
	return drain(c.ReadAll(context.Background(), esdb.ReadAllOptions{From: from}, 100000))
}

// drain reads all of a read's events.
func drain(rs *esdb.ReadStream, err error) ([]*esdb.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev.Event)
	}
}

func code(err error) esdb.ErrorCode {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

// TestStrictPositions: $all positions are byte offsets; a read from a
// record's position includes it, one from inside a record is refused with
// the server's error, a subscription from a record delivers what follows
// it, and one from inside a record is confirmed and then ends with
// InvalidArgument. Without the behaviour, the double reads on from the
// next record, as no server does.
func TestStrictPositions(t *testing.T) {
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			b := esdbfake.ServerBehaviours()
			b.StrictPositions = strict
			srv := esdbfake.Run(t, esdbfake.WithBehaviours(b))
			c := client(t, srv.ConnectionString())
			res := appendTo(t, c, "s", esdb.NoStream{}, event(0), event(1), event(2))
			evs, err := read(c, "s", 0)
			if err != nil || len(evs) != 3 {
				t.Fatalf("read: %d events, %v", len(evs), err)
			}
			// Multi-event appends: one position per event, commit ==
			// prepare, the reply naming the last.
			for i, e := range evs {
				if e.Position.Commit != e.Position.Prepare || (i > 0 && e.Position.Commit <= evs[i-1].Position.Commit+1) {
					t.Fatalf("event %d at %+v", i, e.Position)
				}
			}
			if res.CommitPosition != evs[2].Position.Commit {
				t.Fatalf("the append's reply names position %d, its last event is at %d", res.CommitPosition, evs[2].Position.Commit)
			}
			at := evs[1].Position
			got, err := readAll(c, at)
			if err != nil || len(got) != 2 || got[0].EventID != evs[1].EventID {
				t.Fatalf("read all from event 1's position: %d events, %v", len(got), err)
			}
			inside := esdb.Position{Commit: at.Commit + 1, Prepare: at.Commit + 1}
			got, err = readAll(c, inside)
			if strict {
				st, _ := status.FromError(errors.Unwrap(err))
				if err == nil || st.Code() != codes.Unknown || !strings.Contains(st.Message(), "Unexpected ReadAllResult: InvalidPosition") {
					t.Fatalf("read all from inside a record: %d events, %v; want the server's InvalidPosition", len(got), err)
				}
			} else if err != nil || len(got) != 1 || got[0].EventID != evs[2].EventID {
				t.Fatalf("lenient read from inside a record: %d events, %v", len(got), err)
			}
			// Subscriptions deliver what follows a position.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: at})
			if err != nil {
				t.Fatal(err)
			}
			first := nextEvent(t, sub)
			if first.EventAppeared == nil || first.EventAppeared.Event.EventID != evs[2].EventID {
				t.Fatalf("subscription from event 1's position: first %+v, want event 2", first)
			}
			sub.Close()
			sub, err = c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: inside,
				Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"s"}}})
			if err != nil {
				t.Fatalf("the subscription is confirmed before its catch-up read: %v", err)
			}
			m := nextEvent(t, sub)
			sub.Close()
			if strict {
				st, _ := status.FromError(m.SubscriptionDropped.Error)
				if m.SubscriptionDropped == nil || st.Code() != codes.InvalidArgument || st.Message() != "Trying to read from an invalid position." {
					t.Fatalf("subscription from inside a record: %+v", m)
				}
			} else if m.EventAppeared == nil || m.EventAppeared.Event.EventID != evs[2].EventID {
				t.Fatalf("lenient subscription from inside a record: %+v", m)
			}
		})
	}
}

// nextEvent returns the subscription's next event or drop.
func nextEvent(t *testing.T, sub *esdb.Subscription) *esdb.SubscriptionEvent {
	t.Helper()
	for {
		m := sub.Recv()
		if m.EventAppeared != nil || m.SubscriptionDropped != nil {
			return m
		}
	}
}

// TestIdempotencyChecks: the index writer's checks, one by one.
func TestIdempotencyChecks(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	x, y := event(0), event(1)
	first := appendTo(t, c, "idem", esdb.NoStream{}, x, y)

	// Strong check: an expected revision before the end, events at the
	// following revisions → the original reply, nothing written.
	again := appendTo(t, c, "idem", esdb.NoStream{}, x, y)
	if again.NextExpectedVersion != 1 || again.CommitPosition != first.CommitPosition {
		t.Fatalf("strong idempotent reply %+v, want %+v", again, first)
	}
	// Part of the append written: CorruptedIdempotency, answered as a
	// wrong expected version.
	if _, err := c.AppendToStream(ctx, "idem", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, x, event(9)); code(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("corrupted idempotency (strong): %v", err)
	}
	if _, err := c.AppendToStream(ctx, "idem", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, x, event(9)); code(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("corrupted idempotency (weak): %v", err)
	}
	// Weak check: Any finds the IDs in the cache.
	if res := appendTo(t, c, "idem", esdb.Any{}, x, y); res.NextExpectedVersion != 1 {
		t.Fatalf("weak idempotent reply %+v", res)
	}
	// Exact expected revision equal to the last: no check at all.
	appendTo(t, c, "idem", esdb.Revision(1), x)
	if evs, _ := read(c, "idem", 0); len(evs) != 3 || evs[2].EventID != x.EventID {
		t.Fatalf("an append at the stream's end with an ID already written: %d events, want it written again", len(evs))
	}
	// A restart empties the cache: Any then writes the IDs again.
	srv.Stop()
	if err := srv.Start(srv.Addr()); err != nil {
		t.Fatal(err)
	}
	c2 := client(t, srv.ConnectionString())
	appendTo(t, c2, "idem", esdb.Any{}, y)
	if evs, _ := read(c2, "idem", 0); len(evs) != 4 {
		t.Fatalf("Any after a restart: %d events, want the ID written again", len(evs))
	}
}

// TestIdempotencyCacheBounded: the weak check's cache holds IDs up to a
// byte budget; older IDs are forgotten and an Any append of them writes
// them again.
func TestIdempotencyCacheBounded(t *testing.T) {
	b := esdbfake.ServerBehaviours()
	b.IdempotencyCacheBytes = 4 << 10
	srv := esdbfake.Run(t, esdbfake.WithBehaviours(b))
	c := client(t, srv.ConnectionString())
	x := event(0)
	appendTo(t, c, "old", esdb.NoStream{}, x)
	appendTo(t, c, "old", esdb.Any{}, x)
	if evs, _ := read(c, "old", 0); len(evs) != 1 {
		t.Fatalf("recent ID appended again with Any: %d events, want 1", len(evs))
	}
	for i := range 200 {
		appendTo(t, c, "filler", esdb.Any{}, event(i))
	}
	appendTo(t, c, "old", esdb.Any{}, x)
	if evs, _ := read(c, "old", 0); len(evs) != 2 {
		t.Fatalf("evicted ID appended again with Any: %d events, want 2 (a duplicate)", len(evs))
	}
}

// TestLenientIdempotency: with ServerIdempotency off the double
// acknowledges any repeat of IDs, as no server does.
func TestLenientIdempotency(t *testing.T) {
	srv := esdbfake.Run(t, esdbfake.WithBehaviours(esdbfake.Behaviours{StrictPositions: true}))
	c := client(t, srv.ConnectionString())
	x := event(0)
	appendTo(t, c, "s", esdb.NoStream{}, x)
	appendTo(t, c, "s", esdb.Any{}, event(1))
	appendTo(t, c, "s", esdb.Revision(1), x)
	if evs, _ := read(c, "s", 0); len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
}

// TestWriteTimeoutCommitsLater: a write whose commit is held back past the
// write timeout is answered with the server's timeout, and commits anyway;
// a retry meanwhile is dropped (not yet replicated) and times out too;
// after the commit the retry is answered idempotently.
func TestWriteTimeoutCommitsLater(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t, esdbfake.WithWriteTimeout(100*time.Millisecond))
	c := client(t, srv.ConnectionString())
	appendTo(t, c, "late", esdb.NoStream{}, event(0))
	x := event(1)
	srv.StallCommits(400 * time.Millisecond)
	_, err := c.AppendToStream(ctx, "late", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, x)
	if code(err) != esdb.ErrorAborted || !strings.Contains(err.Error(), "Operation timed out") {
		t.Fatalf("stalled append: %v, want Aborted: Operation timed out", err)
	}
	if evs, _ := read(c, "late", 0); len(evs) != 1 {
		t.Fatalf("the uncommitted event is readable: %d events", len(evs))
	}
	_, err = c.AppendToStream(ctx, "late", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, x)
	if code(err) != esdb.ErrorAborted {
		t.Fatalf("retry before the commit: %v, want the timeout (IdempotentNotReady drops it)", err)
	}
	if _, err := c.AppendToStream(ctx, "late", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, event(2)); code(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("another writer before the commit: %v, want a wrong expected version", err)
	}
	time.Sleep(500 * time.Millisecond)
	evs, _ := read(c, "late", 0)
	if len(evs) != 2 || evs[1].EventID != x.EventID {
		t.Fatalf("after the stall: %d events, want the timed-out write committed", len(evs))
	}
	if res := appendTo(t, c, "late", esdb.Revision(0), x); res.NextExpectedVersion != 1 || res.CommitPosition != evs[1].Position.Commit {
		t.Fatalf("retry after the commit: %+v", res)
	}
}

// TestMetadataStreams: a metadata stream reads as its latest event only;
// $maxCount and $tb hide events.
func TestMetadataStreams(t *testing.T) {
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	for i := range 5 {
		appendTo(t, c, "m", esdb.Any{}, event(i))
	}
	for _, md := range []string{`{"a":1}`, `{"a":2,"$maxCount":2}`} {
		appendTo(t, c, "$$m", esdb.Any{}, esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson, Data: []byte(md)})
	}
	meta, err := read(c, "$$m", 0)
	if err != nil || len(meta) != 1 || meta[0].EventNumber != 1 || string(meta[0].Data) != `{"a":2,"$maxCount":2}` {
		t.Fatalf("metadata stream reads %d events (%v), want only the latest, at revision 1", len(meta), err)
	}
	if evs, _ := read(c, "m", 0); len(evs) != 2 || evs[0].EventNumber != 3 {
		t.Fatalf("$maxCount 2 leaves %d events", len(evs))
	}
	if all, _ := readAll(c, esdb.Start{}); len(all) != 1+5+2 {
		t.Fatalf("$all holds %d events, want every one until a scavenge", len(all))
	}
	if n := srv.Scavenge(); n != 4 {
		t.Fatalf("scavenge removed %d events, want the 3 hidden ones and the old metadata", n)
	}
}

// TestSoftDeleteAndTombstone: a soft delete replaces the metadata (ACL
// included) with $tb = long.MaxValue and the stream reads as not found
// until an append undeletes it, continuing its numbering; a tombstone ends
// it for good.
func TestSoftDeleteAndTombstone(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	appendTo(t, c, "soft", esdb.NoStream{}, event(0), event(1))
	appendTo(t, c, "$$soft", esdb.Any{}, esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson,
		Data: []byte(`{"$acl":{"$w":["ledger"]},"electionledger.sealedAt":1}`)})
	if _, err := c.DeleteStream(ctx, "soft", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(c, "soft", 0); code(err) != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("read of a soft-deleted stream: %v, want not found", err)
	}
	meta, _ := read(c, "$$soft", 0)
	if len(meta) != 1 || string(meta[0].Data) != `{"$tb":9223372036854775807}` {
		t.Fatalf("metadata after a soft delete: %q", meta[0].Data)
	}
	res := appendTo(t, c, "soft", esdb.NoStream{}, event(2))
	if res.NextExpectedVersion != 2 {
		t.Fatalf("append to a soft-deleted stream landed at %d, want 2 (numbering continues)", res.NextExpectedVersion)
	}
	evs, _ := read(c, "soft", 0)
	meta, _ = read(c, "$$soft", 0)
	var md map[string]any
	_ = json.Unmarshal(meta[0].Data, &md)
	if len(evs) != 1 || evs[0].EventNumber != 2 || md["$tb"] != float64(2) {
		t.Fatalf("after the undelete: %d events, metadata %s", len(evs), meta[0].Data)
	}

	appendTo(t, c, "hard", esdb.NoStream{}, event(0))
	if _, err := c.TombstoneStream(ctx, "hard", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(c, "hard", 0); code(err) != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("read of a tombstoned stream: %v", err)
	}
	if _, err := c.AppendToStream(ctx, "hard", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, event(1)); code(err) != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("append to a tombstoned stream: %v", err)
	}
	all, _ := readAll(c, esdb.Start{})
	last := all[len(all)-1]
	if last.StreamID != "hard" || last.EventType != "$streamDeleted" || last.EventNumber != 1<<63-1 {
		t.Fatalf("the tombstone in $all: %+v", last)
	}
}

// TestMetadataUndeletesASoftDeletedStream: metadata written to a
// soft-deleted stream's metadata stream undeletes the stream, as an append
// does, with $tb set past its old events: they stay hidden, whatever the
// new metadata says.
func TestMetadataUndeletesASoftDeletedStream(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	appendTo(t, c, "gone", esdb.NoStream{}, event(0), event(1))
	if _, err := c.DeleteStream(ctx, "gone", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
	appendTo(t, c, "$$gone", esdb.Any{}, esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson,
		Data: []byte(`{"electionledger.sealedAt":1}`)})
	meta, _ := read(c, "$$gone", 0)
	var md map[string]any
	_ = json.Unmarshal(meta[0].Data, &md)
	if md["$tb"] != float64(2) || md["electionledger.sealedAt"] != float64(1) {
		t.Fatalf("metadata after it was written to a soft-deleted stream: %s, want $tb 2 and the entry kept", meta[0].Data)
	}
	if evs, err := read(c, "gone", 0); err != nil && code(err) != esdb.ErrorCodeResourceNotFound || len(evs) != 0 {
		t.Fatalf("the old events show again: %d events, %v", len(evs), err)
	}
	res := appendTo(t, c, "gone", esdb.StreamExists{}, event(2))
	if res.NextExpectedVersion != 2 {
		t.Fatalf("the next append landed at %d, want 2", res.NextExpectedVersion)
	}
}

// TestNotLeader: a follower's answer names the leader; the client
// reconnects to it and the next call succeeds.
func TestNotLeader(t *testing.T) {
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	appendTo(t, c, "s", esdb.Any{}, event(0))
	srv.NotLeader(1)
	_, err := c.AppendToStream(context.Background(), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, event(1))
	if code(err) != esdb.ErrorCodeNotLeader {
		t.Fatalf("append on a follower: %v, want not leader", err)
	}
	appendTo(t, c, "s", esdb.Any{}, event(2))
}

// TestSubscriptionDrop: subscriptions drop after n events.
func TestSubscriptionDrop(t *testing.T) {
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	for i := range 5 {
		appendTo(t, c, "s", esdb.Any{}, event(i))
	}
	srv.DropSubscriptionsAfter(3)
	sub, err := c.SubscribeToAll(context.Background(), esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	n := 0
	for {
		m := nextEvent(t, sub)
		if m.SubscriptionDropped != nil {
			if st, _ := status.FromError(m.SubscriptionDropped.Error); st.Code() != codes.Unavailable || n != 3 {
				t.Fatalf("dropped after %d events with %v", n, m.SubscriptionDropped.Error)
			}
			return
		}
		n++
	}
}

// TestAccessControl: with TLS, calls carry credentials; a stream's ACL
// decides who writes it and its metadata; admins may do anything; $all is
// read by admins only unless $$$all says otherwise; anonymous calls are
// refused.
func TestAccessControl(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t, esdbfake.WithTLS())
	srv.AddUser("ledger", "pw1", "writers")
	srv.AddUser("other", "pw2")
	admin := client(t, srv.ConnectionStringFor("admin", "changeit"))
	ledger := client(t, srv.ConnectionStringFor("ledger", "pw1"))
	other := client(t, srv.ConnectionStringFor("other", "pw2"))
	anon := client(t, srv.ConnectionString())
	appendTo(t, other, "open", esdb.Any{}, event(0))
	appendTo(t, ledger, "$$sealed", esdb.Any{}, esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson,
		Data: []byte(`{"$acl":{"$w":["writers"],"$d":[],"$mw":["writers"]}}`)})
	appendTo(t, ledger, "sealed", esdb.Any{}, event(0))
	appendTo(t, admin, "sealed", esdb.Any{}, event(1))
	for what, err := range map[string]error{
		"other appends":          errOf(other.AppendToStream(ctx, "sealed", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, event(2))),
		"other writes metadata":  errOf(other.AppendToStream(ctx, "$$sealed", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)})),
		"ledger deletes":         errOf(ledger.DeleteStream(ctx, "sealed", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}})),
		"anonymous appends":      errOf(anon.AppendToStream(ctx, "open", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, event(3))),
		"non-admin reads $all":   func() error { _, err := readAll(ledger, esdb.Start{}); return err }(),
		"other reads $$settings": func() error { _, err := read(other, "$settings", 0); return err }(),
	} {
		if code(err) != esdb.ErrorCodeAccessDenied {
			t.Errorf("%s: %v, want access denied", what, err)
		}
	}
	if _, err := readAll(admin, esdb.Start{}); err != nil {
		t.Fatalf("admin reads $all: %v", err)
	}
	if evs, _ := read(other, "sealed", 0); len(evs) != 2 {
		t.Fatalf("the stream holds %d events", len(evs))
	}
}

func errOf[T any](_ T, err error) error { return err }

// TestServerVersion: the ServerFeatures service reports the version; a
// server without it (before 21.10) reports none.
func TestServerVersion(t *testing.T) {
	for v, want := range map[string]esdb.ServerVersion{"22.5.3": {Major: 22, Minor: 5, Patch: 3}, "": {}} {
		srv := esdbfake.Run(t, esdbfake.WithVersion(v))
		got, err := client(t, srv.ConnectionString()).GetServerVersion()
		if err != nil || *got != want {
			t.Errorf("version %q: %+v %v", v, got, err)
		}
	}
}

// TestCalls: the double counts the requests it answers.
func TestCalls(t *testing.T) {
	srv := esdbfake.Run(t)
	c := client(t, srv.ConnectionString())
	before := srv.Calls()
	appendTo(t, c, "s", esdb.Any{}, event(0))
	_, _ = read(c, "s", 0)
	_, _ = readAll(c, esdb.Start{})
	d := srv.Calls().Sub(before)
	if d.Append != 1 || d.ReadStream != 1 || d.ReadAll != 1 || d.Total() != 3+d.Features {
		t.Fatalf("calls %+v", d)
	}
}
