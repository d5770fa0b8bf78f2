package esdbstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
)

// tick is a clock that moves a millisecond at every reading, so that every
// attempt of an append stamps another time (and so another hash).
func tick() func() time.Time {
	var n atomic.Int64
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

// TestTimeoutThenLateCommit: the server answers an append with its write
// timeout but commits it later (replication to a quorum was slow). The
// store's retries meanwhile are dropped by the server (the write is not
// yet replicated) or find nothing; once the write commits, the next
// attempt finds it and answers from the stored record, stamped at the
// first attempt's time: the receipt is that record's hash, not the hash of
// a re-stamped retry. Nothing is written twice.
func TestTimeoutThenLateCommit(t *testing.T) {
	srv := esdbfake.Run(t, esdbfake.WithWriteTimeout(100*time.Millisecond))
	s := open(t, srv.ConnectionString(), esdbstore.WithRetries(10, 50*time.Millisecond), esdbstore.WithClock(tick()))
	ctx := context.Background()
	mustAppend(t, s, "election-late", events.NoStream, ev(0))
	e := ev(1)
	e.Type = events.TypeElectionConfirmed // a receipt
	srv.StallCommits(600 * time.Millisecond)
	res, err := s.Append(ctx, "election-late", events.Exact(0), e)
	if err != nil {
		t.Fatalf("append through a late commit: %v", err)
	}
	recs := records(t, s, "election-late")
	if len(recs) != 2 || recs[1].ID != e.ID {
		t.Fatalf("the stream holds %d records", len(recs))
	}
	if res.Hash != recs[1].Hash || res.Position != recs[1].Position || res.Revision != 1 {
		t.Fatalf("receipt %x at %d, the stored record is %x at %d", res.Hash[:4], res.Position, recs[1].Hash[:4], recs[1].Position)
	}
	if uniqueIDs(t, raw(t, srv.ConnectionString()), "election-late") != 2 {
		t.Fatal("an event was written twice")
	}
	if _, err := chain.VerifyStream("election-late", s.ReadStream(ctx, "election-late", 0)); err != nil {
		t.Fatal(err)
	}
}

// TestIdempotentAnswerIsTheStoredRecord: between this store's read of the
// stream and its write, another process runs the same command (the same
// event IDs and content, stamped at another time). The server answers the
// write as an idempotent retry; the store reads the records back and
// returns the other process's hash, which is what the stream holds, not
// the hash of the record it would have written.
func TestIdempotentAnswerIsTheStoredRecord(t *testing.T) {
	srv := esdbfake.Run(t)
	ctx := context.Background()
	other := open(t, srv.ConnectionString(), esdbstore.WithClock(func() time.Time { return time.Unix(1e9, 0) }))
	mustAppend(t, other, "election-twice", events.NoStream, ev(0))
	e := ev(1)
	var once sync.Once
	var theirs events.AppendResult
	clock := func() time.Time {
		// Called after this store read the stream, before it writes.
		once.Do(func() { theirs = mustAppend(t, other, "election-twice", events.Exact(0), e) })
		return time.Unix(2e9, 0)
	}
	s := open(t, srv.ConnectionString(), esdbstore.WithClock(clock))
	res, err := s.Append(ctx, "election-twice", events.Exact(0), e)
	if err != nil {
		t.Fatal(err)
	}
	if res != theirs {
		t.Fatalf("this store answered %+v, the stream holds %+v", res, theirs)
	}
	if n := uniqueIDs(t, raw(t, srv.ConnectionString()), "election-twice"); n != 2 {
		t.Fatalf("the stream holds %d events", n)
	}
}

// TestDeepRetry: the first attempt's reply is lost, and before the store
// tries again another writer appends 100 events to the stream; the retry
// finds the store's own events 100 deep and writes nothing, whether the
// append expects any revision (the store reads back to them) or an exact
// one (the store reads where that revision puts them).
func TestDeepRetry(t *testing.T) {
	for name, exp := range map[string]events.ExpectedRevision{"any": events.Any, "exact": events.Exact(0)} {
		t.Run(name, func(t *testing.T) {
			srv := esdbfake.Run(t)
			ctx := context.Background()
			s := open(t, srv.ConnectionString(), esdbstore.WithRetries(2, time.Second))
			other := open(t, srv.ConnectionString())
			c := raw(t, srv.ConnectionString())
			stream := "score-deep-" + name
			mustAppend(t, s, stream, events.NoStream, ev(0))
			srv.DropNextAck(1)
			buried := make(chan error, 1)
			go func() {
				// Once the first attempt is written (its reply lost), and
				// long before the store tries again, bury it.
				for len(rawEvents(t, c, stream)) < 2 {
					time.Sleep(5 * time.Millisecond)
				}
				batch := make([]events.EventData, 100)
				for i := range batch {
					batch[i] = ev(100 + i)
				}
				_, err := other.Append(ctx, stream, events.Any, batch...)
				buried <- err
			}()
			e := ev(1)
			res, err := s.Append(ctx, stream, exp, e)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-buried; err != nil {
				t.Fatal(err)
			}
			recs := records(t, s, stream)
			if res.Revision != 1 || recs[1].ID != e.ID || res.Hash != recs[1].Hash {
				t.Fatalf("result %+v; revision 1 holds %s", res, recs[1].ID)
			}
			if recs[len(recs)-1].Revision != 101 {
				t.Fatalf("the retry ran before the events were buried: the stream ends at %d", recs[len(recs)-1].Revision)
			}
			if n := uniqueIDs(t, c, stream); n != 102 {
				t.Fatalf("the stream holds %d events, want 102", n)
			}
		})
	}
}

// TestAnyRetryNeverDuplicates: a caller retries an append with Any long
// after it was written, when the server's cache of recent event IDs has
// forgotten it (a small cache, other traffic, then a restart): the server
// alone would write it again; the store finds it in the stream and answers
// with the original result.
func TestAnyRetryNeverDuplicates(t *testing.T) {
	b := esdbfake.ServerBehaviours()
	b.IdempotencyCacheBytes = 8 << 10
	srv := esdbfake.Run(t, esdbfake.WithBehaviours(b))
	ctx := context.Background()
	s := open(t, srv.ConnectionString())
	e := ev(0)
	first := mustAppend(t, s, "eligibility-any", events.Any, e)
	for i := range 300 {
		mustAppend(t, s, "eligibility-other", events.Any, ev(i))
	}
	mustAppend(t, s, "eligibility-any", events.Any, ev(1))
	srv.Stop()
	if err := srv.Start(srv.Addr()); err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(ctx, "eligibility-any", events.Any, e)
	if err != nil || again != first {
		t.Fatalf("retry with Any: %+v %v, want the original %+v", again, err, first)
	}
	// The same check the server would make shows it would have duplicated.
	c := raw(t, srv.ConnectionString())
	d, _ := toEventData(e)
	if _, err := c.AppendToStream(ctx, "eligibility-any", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, d); err != nil {
		t.Fatal(err)
	}
	if n := len(rawEvents(t, c, "eligibility-any")); n != 3 {
		t.Fatalf("the bare client's retry left %d events; the double should have written a duplicate (3)", n)
	}
}

func toEventData(e events.EventData) (esdb.EventData, error) {
	return esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data}, nil
}

// TestConcurrentSameCommand: many goroutines and two stores append the
// same events at once (a command retried while its first attempt still
// runs): the stream holds them once, and every caller gets the stored
// record's result.
func TestConcurrentSameCommand(t *testing.T) {
	srv := esdbfake.Run(t)
	a := open(t, srv.ConnectionString(), esdbstore.WithClock(tick()))
	b := open(t, srv.ConnectionString(), esdbstore.WithClock(tick()))
	mustAppend(t, a, "election-race", events.NoStream, ev(0))
	e1, e2 := ev(1), ev(2)
	var wg sync.WaitGroup
	results := make(chan events.AppendResult, 16)
	for i := range 16 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Append(context.Background(), "election-race", events.Exact(0), e1, e2)
			if err != nil {
				t.Error(err)
				return
			}
			results <- res
		}()
	}
	wg.Wait()
	close(results)
	recs := records(t, a, "election-race")
	if len(recs) != 3 {
		t.Fatalf("the stream holds %d records, want 3", len(recs))
	}
	for res := range results {
		if res.Hash != recs[2].Hash || res.Position != recs[2].Position {
			t.Fatalf("a caller got %x, the stream holds %x", res.Hash[:4], recs[2].Hash[:4])
		}
	}
}

// TestRoundTrips measures an append's cost in requests to the server and
// in round trips (requests one after another). docs/stores.md quotes these
// figures.
func TestRoundTrips(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString())
	mustAppend(t, s, "score-rt", events.NoStream, ev(0)) // warm: the client is connected
	seal := ev(9)
	seal.Type = events.TypeElectionConfirmed
	batch := make([]events.EventData, 10)
	for i := range batch {
		batch[i] = ev(i)
	}
	mustAppend(t, s, "election-rt-seal", events.NoStream, ev(0))
	cases := []struct {
		name            string
		stream          string
		exp             events.ExpectedRevision
		evs             []events.EventData
		requests, reads int64
	}{
		{"one event, exact revision", "score-rt", events.Exact(0), []events.EventData{ev(1)}, 3, 2},
		{"one event, new stream", "score-rt-new", events.NoStream, []events.EventData{ev(1)}, 4, 3},
		{"one event, any", "score-rt", events.Any, []events.EventData{ev(2)}, 4, 3},
		{"a batch of ten, exact revision", "score-rt", events.Exact(2), batch, 3, 2},
		{"a confirmation (seals)", "election-rt-seal", events.Exact(0), []events.EventData{seal}, 5, 3},
		{"a retried confirmation", "election-rt-seal", events.Exact(0), []events.EventData{seal}, 2, 2},
	}
	for _, c := range cases {
		before := srv.Calls()
		if _, err := s.Append(context.Background(), c.stream, c.exp, c.evs...); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d := srv.Calls().Sub(before)
		t.Logf("%-32s %d requests (%d appends, %d reads)", c.name, d.Total(), d.Append, d.ReadStream)
		if d.Total() != c.requests || d.ReadStream != c.reads {
			t.Errorf("%s: %d requests (%+v), want %d with %d reads", c.name, d.Total(), d, c.requests, c.reads)
		}
	}
}

// TestWrongExpectedRevisionAfterRace: of two writers at the same revision
// one wins; the other is told the actual revision, and its events are not
// in the stream.
func TestWrongExpectedRevisionAfterRace(t *testing.T) {
	srv := esdbfake.Run(t)
	s := open(t, srv.ConnectionString())
	mustAppend(t, s, "election-wev", events.NoStream, ev(0))
	mustAppend(t, s, "election-wev", events.Exact(0), ev(1))
	_, err := s.Append(context.Background(), "election-wev", events.Exact(0), ev(2))
	var w *events.WrongExpectedRevisionError
	if !errors.As(err, &w) || !w.ActualKnown || w.Actual != 1 {
		t.Fatalf("%v, want a wrong expected revision naming revision 1", err)
	}
}

func mustAppend(t *testing.T, s events.Store, stream string, exp events.ExpectedRevision, evs ...events.EventData) events.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}
