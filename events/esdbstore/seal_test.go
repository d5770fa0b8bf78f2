package esdbstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/google/uuid"
)

func sealingEvent() events.EventData {
	e := ev(9)
	e.Type = events.TypeElectionConfirmed
	return e
}

// setMeta writes a stream's metadata as another client would.
func setMeta(t *testing.T, c *esdb.Client, stream, js string) {
	t.Helper()
	if _, err := c.AppendToStream(context.Background(), "$$"+stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}},
		esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson, Data: []byte(js)}); err != nil {
		t.Fatalf("set metadata of %s: %v", stream, err)
	}
}

func denied(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeAccessDenied
}

// TestSealSetsACL: with credentials, sealing narrows the stream's ACL so
// that only the ledger's writer may write the stream or its metadata and
// nobody but admins may delete it, keeping the rest of the metadata (the
// operator's own property, the read entries) as it was. Another client is
// then refused by the server itself; an admin is not, and verification
// reports what the admin appended.
func TestSealSetsACL(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t, esdbfake.WithTLS())
	srv.AddUser("ledger", "pw1")
	srv.AddUser("clerk", "pw2")
	admin := raw(t, srv.ConnectionStringFor("admin", "changeit"))
	setMeta(t, admin, "$all", `{"$acl":{"$r":["ledger"]}}`)
	const stream = "election-mips-2024-acl"
	setMeta(t, admin, stream, `{"$acl":{"$r":["ledger","auditors"],"$mr":["ledger","auditors"]},"ops.owner":"team-a"}`)
	s := open(t, srv.ConnectionStringFor("ledger", "pw1"))
	mustAppend(t, s, stream, events.NoStream, ev(0))
	mustAppend(t, s, stream, events.Exact(0), sealingEvent())
	md, err := s.Metadata(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	acl, _ := md["$acl"].(map[string]any)
	for k, want := range map[string][]any{"$w": {"ledger"}, "$d": {}, "$mw": {"ledger"}, "$r": {"ledger", "auditors"}, "$mr": {"ledger", "auditors"}} {
		if got, _ := acl[k].([]any); !slices.Equal(got, want) {
			t.Errorf("ACL %s = %v, want %v", k, acl[k], want)
		}
	}
	if md["ops.owner"] != "team-a" || md[esdbstore.SealedProperty] != float64(1) {
		t.Errorf("metadata after the seal: %v", md)
	}
	clerk := raw(t, srv.ConnectionStringFor("clerk", "pw2"))
	ledgerRaw := raw(t, srv.ConnectionStringFor("ledger", "pw1"))
	if _, err := clerk.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, esdb.EventData{EventType: "x", Data: []byte(`{}`)}); !denied(err) {
		t.Errorf("another client appends to a sealed stream: %v, want access denied", err)
	}
	if _, err := clerk.AppendToStream(ctx, "$$"+stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}); !denied(err) {
		t.Errorf("another client rewrites a sealed stream's ACL: %v, want access denied", err)
	}
	if _, err := ledgerRaw.DeleteStream(ctx, stream, esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}}); !denied(err) {
		t.Errorf("the ledger's own user deletes a sealed stream: %v, want access denied", err)
	}
	if _, err := s.Append(ctx, stream, events.Any, ev(2)); !errors.Is(err, events.ErrStreamSealed) {
		t.Errorf("the store appends after the seal: %v", err)
	}
	// An admin is let through; verification reports it.
	forged := forge(t, s, stream, 2)
	if _, err := admin.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(1)}, forged); err != nil {
		t.Fatal(err)
	}
	_, err = s.Verify(ctx)
	if !has(err, stream, "sealed") {
		t.Fatalf("verification after an admin appended to a sealed stream: %v", err)
	}
}

// forge builds the event a client that knows the envelope could append
// after a stream's last record: correctly chained, enveloped like the
// ledger's own.
func forge(t *testing.T, s events.Store, stream string, rev uint64) esdb.EventData {
	t.Helper()
	recs := records(t, s, stream)
	e := ev(int(rev))
	r := events.NewRecord(stream, rev, time.Now(), recs[len(recs)-1].Hash, e)
	md, _ := json.Marshal(map[string]any{"ledger": 1, "schemaVersion": 1, "revision": rev, "recordedAt": r.RecordedAt,
		"prevHash": r.PrevHash, "hash": r.Hash, "actor": e.Metadata.Actor, "actorRole": e.Metadata.ActorRole, "commandId": e.Metadata.CommandID})
	return esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: md}
}

// has reports whether err (or one of the errors it joins) is a
// *events.ChainError on stream whose problem mentions word.
func has(err error, stream, word string) bool {
	if err == nil {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if has(e, stream, word) {
				return true
			}
		}
	}
	var ce *events.ChainError
	return errors.As(err, &ce) && ce.Stream == stream && strings.Contains(ce.Error(), word)
}

// TestSealWithoutCredentials: an --insecure server has no ACLs; the seal is
// recorded in the metadata, the rest of which is kept.
func TestSealWithoutCredentials(t *testing.T) {
	srv := esdbfake.Run(t)
	const stream = "election-mips-2024-insecure"
	setMeta(t, raw(t, srv.ConnectionString()), stream, `{"ops.owner":"team-a"}`)
	s := open(t, srv.ConnectionString())
	res := mustAppend(t, s, stream, events.NoStream, sealingEvent())
	md, err := s.Metadata(context.Background(), stream)
	if err != nil || md["ops.owner"] != "team-a" || md[esdbstore.SealedProperty] != float64(res.Revision) || md["$acl"] != nil {
		t.Fatalf("metadata %v (%v)", md, err)
	}
}

// TestSealFailureIsAnError: when the seal cannot be recorded (here the
// stream's metadata may be written by admins only), the sealing append is
// an error that says so, the event is in the stream, and the store still
// refuses to append after it; once the operator lets the ledger write the
// metadata, retrying the same append finishes the seal and returns the
// original result.
func TestSealFailureIsAnError(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t, esdbfake.WithTLS())
	srv.AddUser("ledger", "pw1")
	admin := raw(t, srv.ConnectionStringFor("admin", "changeit"))
	const stream = "election-mips-2024-locked"
	setMeta(t, admin, stream, `{"$acl":{"$mw":["$admins"]}}`)
	s := open(t, srv.ConnectionStringFor("ledger", "pw1"), esdbstore.WithRetries(2, 10*time.Millisecond))
	seal := sealingEvent()
	_, err := s.Append(ctx, stream, events.NoStream, seal)
	var se *esdbstore.SealError
	if !errors.Is(err, esdbstore.ErrSealNotRecorded) || !errors.As(err, &se) || se.Revision != 0 || se.Stream != stream {
		t.Fatalf("sealing with the metadata locked: %v, want a *SealError", err)
	}
	if _, err := s.Append(ctx, stream, events.Any, ev(1)); !errors.Is(err, events.ErrStreamSealed) {
		t.Fatalf("append after the unrecorded seal: %v, want ErrStreamSealed", err)
	}
	setMeta(t, admin, stream, `{"$acl":{"$mw":["ledger"]}}`)
	res, err := s.Append(ctx, stream, events.NoStream, seal)
	if err != nil || res.Revision != 0 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if rev, ok, err := s.Sealed(ctx, stream); err != nil || !ok || rev != 0 {
		t.Fatalf("sealed: %d %v %v", rev, ok, err)
	}
	if n := len(records(t, s, stream)); n != 1 {
		t.Fatalf("the stream holds %d records", n)
	}
}

// TestVerificationReports: what another client can do to the ledger's
// streams on a server that lets it (--insecure, or an admin), and how
// verification, reads and appends report it.
func TestVerificationReports(t *testing.T) {
	ctx := context.Background()
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString())
	c := raw(t, srv.ConnectionString())
	streams := map[string]string{"foreign": "election-foreign", "tombstone": "election-tomb", "soft": "eligibility-soft",
		"sealed": "election-sealed", "maxcount": "score-maxcount", "clean": "election-clean"}
	for _, st := range streams {
		mustAppend(t, s, st, events.NoStream, ev(0), ev(1))
	}
	mustAppend(t, s, streams["sealed"], events.Exact(1), sealingEvent())
	if rep, err := s.Verify(ctx); err != nil || rep.Records != 13 || rep.Streams != 6 {
		t.Fatalf("a clean ledger: %+v %v", rep, err)
	}
	// Another client: an event without the envelope, a tombstone, a soft
	// delete, an event after a seal, a $maxCount.
	if _, err := c.AppendToStream(ctx, streams["foreign"], esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}},
		esdb.EventData{EventID: uuid.New(), EventType: "election.confirmed", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctx, streams["tombstone"], esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStream(ctx, streams["soft"], esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendToStream(ctx, streams["sealed"], esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, forge(t, s, streams["sealed"], 3)); err != nil {
		t.Fatal(err)
	}
	setMeta(t, c, streams["maxcount"], `{"$maxCount":1}`)

	_, err := s.Verify(ctx)
	for what, word := range map[string]string{"foreign": "without the ledger's envelope", "tombstone": "tombstoned",
		"soft": "soft-deleted", "sealed": "after the stream was sealed", "maxcount": "$maxCount"} {
		if !has(err, streams[what], word) {
			t.Errorf("verification does not report the %s stream (%q):\n%v", what, word, err)
		}
	}
	if has(err, streams["clean"], "") {
		t.Errorf("verification reports the clean stream: %v", err)
	}
	if _, err := chain.VerifyChains(ctx, s); err == nil {
		t.Error("chain.VerifyChains passes the damaged ledger")
	}
	// Reads and appends refuse too, and write nothing.
	if _, err := s.Append(ctx, streams["tombstone"], events.Any, ev(5)); !errors.Is(err, esdbstore.ErrStreamDeleted) {
		t.Errorf("append to a tombstoned stream: %v", err)
	}
	if _, err := s.Append(ctx, streams["soft"], events.NoStream, ev(5)); !errors.Is(err, esdbstore.ErrStreamDeleted) {
		t.Errorf("append to a soft-deleted stream: %v", err)
	}
	if _, err := s.Append(ctx, streams["maxcount"], events.Any, ev(5)); !errors.Is(err, esdbstore.ErrStreamDeleted) {
		t.Errorf("append to a truncated stream: %v", err)
	}
	if _, err := s.Append(ctx, streams["foreign"], events.Any, ev(5)); !errors.Is(err, events.ErrChainBroken) {
		t.Errorf("append after a foreign event: %v", err)
	}
	if _, err := s.Append(ctx, streams["sealed"], events.Any, ev(5)); !errors.Is(err, events.ErrStreamSealed) {
		t.Errorf("append to a sealed stream another client appended to: %v", err)
	}
	for r, err := range s.ReadStream(ctx, streams["foreign"], 0) {
		if err != nil {
			if !has(err, streams["foreign"], "envelope") {
				t.Errorf("read of the stream with a foreign event: %v", err)
			}
			break
		}
		if r.Revision > 1 {
			t.Errorf("the foreign event read as a record")
		}
	}
	for _, err := range s.Subscribe(ctx, 0, events.Filter{StreamPrefixes: []string{"election-foreign"}}) {
		if err != nil {
			if !has(err, streams["foreign"], "envelope") {
				t.Errorf("a subscription meets the foreign event with %v", err)
			}
			break
		}
	}
	if n := len(rawEvents(t, c, streams["soft"]+"")); n != 0 {
		t.Errorf("the soft-deleted stream was written: %d events", n)
	}
	// A scavenge removes the soft-deleted stream's events from $all; the
	// deletion is still reported.
	srv.Scavenge()
	if _, err := s.Verify(ctx); !has(err, streams["soft"], "soft-deleted") {
		t.Errorf("after a scavenge: %v", err)
	}
}
