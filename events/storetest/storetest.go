package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
)

// Factory returns a store for one subtest. It may be shared with other
// data (a real server): every subtest writes under a prefix of its own and
// reads only what is under it.
type Factory func(t testing.TB) events.Store

// Option adjusts the suite to a store's documented limits.
type Option func(*config)

type config struct {
	pageSize int
}

// timeout bounds every subtest, so a store that hangs fails instead.
const timeout = 60 * time.Second

// Run runs the whole suite against stores made by newStore.
func Run(t *testing.T, newStore Factory, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, events.Store)
	}{
		{"AppendAndReadStream", testAppendAndRead},
		{"ExpectedRevision", testExpectedRevision},
		{"RefusedAppendWritesNothing", testRefusedAppendWritesNothing},
		{"ReadStreamFrom", testReadStreamFrom},
		{"ReadStreamNotFound", testReadStreamNotFound},
		{"ReadAllOrderAgreesWithStreams", testReadAllOrder},
		{"ReadAllFromPosition", testReadAllFrom},
		{"ReadBatch", testReadBatch},
		{"IdempotentAppend", testIdempotent},
		{"DuplicateEventID", testDuplicate},
		{"SealedStream", testSealed},
		{"InvalidAppend", testInvalid},
		{"HostileStreamNames", testHostileStreamNames},
		{"HostilePayloads", testHostilePayloads},
		{"EveryEventTypeRoundTrips", testEveryEventTypeRoundTrips},
		{"CallerBuffers", testCallerBuffers},
		{"MerkleTree", testTree},
		{"ConcurrentExpectedRevision", testConcurrentExact},
		{"ConcurrentNoStream", testConcurrentNoStream},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpLive},
		{"SubscribeResumeFromPosition", testSubscribeResume},
		{"SubscribeFilter", testSubscribeFilter},
		{"SubscribeMidStreamUnderConcurrentAppends", testSubscribeConcurrent},
		{"ContextCancellation", testContext},
		{"LoopBodyMayAppend", testLoopBodyAppends},
		{"HashChain", testHashChain},
		{"Close", testClose},
		{"PositionsAcrossPages", testPositions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &scoped{Store: newStore(t), prefix: "t" + uuid.NewString()[:8], cfg: cfg}
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// scoped is the store a subtest sees: the store under test, with the
// prefix of the subtest's streams and the suite's options.
type scoped struct {
	events.Store
	prefix string
	cfg    config
}

// streamPrefix returns the subtest's stream prefix.
func streamPrefix(s events.Store) string { return s.(*scoped).prefix }

func cfgOf(s events.Store) config { return s.(*scoped).cfg }

// IDsPerStream forwards events.IDScope: a store whose event IDs are unique
// per stream only (it says so) is not required to refuse an ID written to
// one stream in another.
func (s *scoped) IDsPerStream() bool { return events.EventIDsPerStream(s.Store) }

// ownStreams is the filter accepting the subtest's own streams only.
func ownStreams(s events.Store) events.Filter {
	return events.Filter{StreamPrefixes: []string{streamPrefix(s) + "-"}}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// stream returns a new stream name under the subtest's prefix.
func stream(s events.Store, name string) string {
	return streamPrefix(s) + "-" + name + "-" + uuid.NewString()[:8]
}

// ev returns a test event with a fresh ID.
func ev(n int) events.EventData {
	return events.EventData{
		ID:            uuid.New(),
		Type:          "test.event",
		SchemaVersion: 1,
		Data:          []byte(`{"n":` + strconv.Itoa(n) + `}`),
		Metadata: events.Metadata{
			Actor:     "tester",
			ActorRole: events.RoleSystem,
			CommandID: uuid.New(),
		},
	}
}

// sealingEvent returns a test event whose type seals its stream (an
// election's confirmation), with a fresh ID.
func sealingEvent() events.EventData {
	e := ev(-1)
	e.Type = events.TypeElectionConfirmed
	return e
}

func mustAppend(t *testing.T, s events.Store, name string, exp events.ExpectedRevision, evs ...events.EventData) events.AppendResult {
	t.Helper()
	r, err := s.Append(ctxFor(t), name, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s (expected %v): %v", name, exp, err)
	}
	return r
}

func readStream(t *testing.T, s events.Store, name string, from uint64) ([]events.Record, error) {
	t.Helper()
	var out []events.Record
	for r, err := range s.ReadStream(ctxFor(t), name, from) {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// readAll reads the subtest's own records from the global log.
func readAll(t *testing.T, s events.Store, from events.Position) []events.Record {
	t.Helper()
	var out []events.Record
	f := ownStreams(s)
	for r, err := range s.ReadAll(ctxFor(t), from) {
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		if f.Accepts(r.Stream) {
			out = append(out, r)
		}
	}
	return out
}

func testAppendAndRead(t *testing.T, s events.Store) {
	name := stream(s, "rw")
	in := []events.EventData{ev(0), ev(1), ev(2)}
	in[1].Metadata.AttestedAt = time.Date(2025, 1, 2, 15, 4, 5, 6, time.UTC)
	in[1].Metadata.OnBehalfOf = events.Group(events.MustParseTIN("000456789"))
	res := mustAppend(t, s, name, events.NoStream, in...)
	if res.Revision != 2 {
		t.Fatalf("append of 3 events to a new stream: revision %d, want 2", res.Revision)
	}
	got, err := readStream(t, s, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d records, want 3", len(got))
	}
	for i, r := range got {
		if r.Revision != uint64(i) || r.Stream != name || r.ID != in[i].ID || r.Type != in[i].Type ||
			r.SchemaVersion != in[i].SchemaVersion || string(r.Data) != string(in[i].Data) {
			t.Fatalf("record %d = %+v, want the event appended at revision %d", i, r, i)
		}
		if !r.SameContent(&in[i]) {
			t.Fatalf("record %d metadata %+v, want %+v", i, r.Metadata, in[i].Metadata)
		}
		if r.RecordedAt.IsZero() {
			t.Fatalf("record %d has no RecordedAt", i)
		}
		if i > 0 && r.Position <= got[i-1].Position {
			t.Fatalf("positions not increasing: %d then %d", got[i-1].Position, r.Position)
		}
	}
	if res.Position != got[2].Position || res.Hash != got[2].Hash {
		t.Fatalf("append result %+v does not name the last record (position %d)", res, got[2].Position)
	}
	// Appending more continues the revisions.
	res = mustAppend(t, s, name, events.Exact(2), ev(3))
	if res.Revision != 3 {
		t.Fatalf("next append: revision %d, want 3", res.Revision)
	}
}

func testExpectedRevision(t *testing.T, s events.Store) {
	existing := stream(s, "exists")
	mustAppend(t, s, existing, events.NoStream, ev(0), ev(1)) // last revision 1
	cases := []struct {
		name     string
		stream   string
		expected events.ExpectedRevision
		ok       bool
		actual   int64
	}{
		{"any on a new stream", stream(s, "new"), events.Any, true, 0},
		{"no stream on a new stream", stream(s, "new"), events.NoStream, true, 0},
		{"stream exists on a new stream", stream(s, "new"), events.StreamExists, false, events.NoRevision},
		{"exact 0 on a new stream", stream(s, "new"), events.Exact(0), false, events.NoRevision},
		{"no stream on an existing stream", existing, events.NoStream, false, 1},
		{"exact 0 on a stream at 1", existing, events.Exact(0), false, 1},
		{"exact 5 on a stream at 1", existing, events.Exact(5), false, 1},
		{"exact 1 on a stream at 1", existing, events.Exact(1), true, 0},
		{"stream exists on an existing stream", existing, events.StreamExists, true, 0},
		{"any on an existing stream", existing, events.Any, true, 0},
	}
	for _, c := range cases {
		_, err := s.Append(ctxFor(t), c.stream, c.expected, ev(9))
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, events.ErrWrongExpectedRevision) {
			t.Errorf("%s: err = %v, want ErrWrongExpectedRevision", c.name, err)
			continue
		}
		var w *events.WrongExpectedRevisionError
		if !errors.As(err, &w) {
			t.Errorf("%s: %T is not a *WrongExpectedRevisionError", c.name, err)
			continue
		}
		if w.Stream != c.stream || w.Expected != c.expected || (w.ActualKnown && w.Actual != c.actual) {
			t.Errorf("%s: %+v, want stream %s expected %v actual %d", c.name, w, c.stream, c.expected, c.actual)
		}
	}
}

func testRefusedAppendWritesNothing(t *testing.T, s events.Store) {
	name := stream(s, "refused")
	mustAppend(t, s, name, events.NoStream, ev(0))
	before := len(readAll(t, s, 0))
	refused := []events.EventData{ev(1), ev(2)}
	if _, err := s.Append(ctxFor(t), name, events.Exact(7), refused...); !errors.Is(err, events.ErrWrongExpectedRevision) {
		t.Fatalf("err = %v, want ErrWrongExpectedRevision", err)
	}
	if after := len(readAll(t, s, 0)); after != before {
		t.Fatalf("a refused append changed the log from %d to %d records", before, after)
	}
	// The refused events' IDs were not consumed: they append normally now.
	res := mustAppend(t, s, name, events.Exact(0), refused...)
	if res.Revision != 2 {
		t.Fatalf("revision %d after appending the once-refused events, want 2", res.Revision)
	}
}

func testReadStreamFrom(t *testing.T, s events.Store) {
	name := stream(s, "from")
	var in []events.EventData
	for i := range 600 { // more than one read batch
		in = append(in, ev(i))
	}
	mustAppend(t, s, name, events.NoStream, in...)
	got, err := readStream(t, s, name, 250)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 350 || got[0].Revision != 250 || got[349].Revision != 599 || got[0].ID != in[250].ID {
		t.Fatalf("read from 250: %d records, first revision %d", len(got), got[0].Revision)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Revision != got[i-1].Revision+1 {
			t.Fatalf("revisions not consecutive at %d", i)
		}
	}
	got, err = readStream(t, s, name, 600)
	if err != nil || len(got) != 0 {
		t.Fatalf("read past the end: %d records, err %v; want none and no error", len(got), err)
	}
	// Breaking out early is allowed.
	n := 0
	for range s.ReadStream(ctxFor(t), name, 0) {
		n++
		if n == 3 {
			break
		}
	}
}

func testReadStreamNotFound(t *testing.T, s events.Store) {
	_, err := readStream(t, s, stream(s, "missing"), 0)
	if !errors.Is(err, events.ErrStreamNotFound) {
		t.Fatalf("read of a missing stream: err = %v, want ErrStreamNotFound", err)
	}
}

func testReadAllOrder(t *testing.T, s events.Store) {
	names := []string{stream(s, "a"), stream(s, "b"), stream(s, "c")}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := s.Append(ctxFor(t), n, events.Any, ev(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all := readAll(t, s, 0)
	if len(all) != 150 {
		t.Fatalf("read all: %d records, want 150", len(all))
	}
	next := map[string]uint64{}
	for i, r := range all {
		if i > 0 && r.Position <= all[i-1].Position {
			t.Fatalf("positions not increasing at %d", i)
		}
		if r.Revision != next[r.Stream] {
			t.Fatalf("read all has %s@%d where the stream's order wants revision %d", r.Stream, r.Revision, next[r.Stream])
		}
		next[r.Stream]++
	}
	for _, n := range names {
		recs, err := readStream(t, s, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(recs); i++ {
			if recs[i].Position <= recs[i-1].Position {
				t.Fatalf("%s: positions disagree with revisions at %d", n, i)
			}
		}
	}
}

func testReadAllFrom(t *testing.T, s events.Store) {
	name := stream(s, "all")
	for i := range 20 {
		mustAppend(t, s, name, events.Any, ev(i))
	}
	all := readAll(t, s, 0)
	if len(all) != 20 {
		t.Fatalf("read all: %d records after appending 20 to a fresh stream, want 20", len(all))
	}
	mid := all[7].Position
	rest := readAll(t, s, mid)
	if len(rest) != 13 || rest[0].ID != all[7].ID {
		t.Fatalf("read all from position %d: %d records, want 13 starting at revision 7", mid, len(rest))
	}
	if after := readAll(t, s, all[19].Position+1); len(after) != 0 {
		t.Fatalf("read all past the end: %d records", len(after))
	}
}

// testReadBatch checks a store's events.BatchReader, if it has one, against
// its ReadAll: the same records in the same order, from any position.
func testReadBatch(t *testing.T, s events.Store) {
	inner := s.(*scoped).Store
	br, ok := inner.(events.BatchReader)
	if !ok {
		t.Skip("the store is not an events.BatchReader")
	}
	for _, n := range []string{stream(s, "batch-a"), stream(s, "batch-b")} {
		for i := range 300 {
			mustAppend(t, s, n, events.Any, ev(i))
		}
	}
	var want []events.Record
	for r, err := range inner.ReadAll(ctxFor(t), 0) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	for _, from := range []int{0, 1, len(want) / 2, len(want) - 1, len(want)} {
		var pos events.Position
		if from < len(want) {
			pos = want[from].Position
		} else {
			pos = want[len(want)-1].Position + 1
		}
		var got []events.Record
		for calls := 0; ; calls++ {
			if calls > len(want)+1 {
				t.Fatalf("ReadBatch from %d never reached the end", pos)
			}
			var (
				buf []events.Record
				err error
			)
			buf, pos, err = br.ReadBatch(ctxFor(t), nil, pos)
			if err != nil {
				t.Fatal(err)
			}
			if len(buf) == 0 {
				break
			}
			got = append(got, buf...)
		}
		if len(got) != len(want)-from {
			t.Fatalf("ReadBatch from record %d: %d records, want %d", from, len(got), len(want)-from)
		}
		for i := range got {
			w := want[from+i]
			if got[i].ID != w.ID || got[i].Position != w.Position || got[i].Hash != w.Hash || got[i].Stream != w.Stream {
				t.Fatalf("ReadBatch from record %d: record %d is %s@%d, ReadAll has %s@%d", from, i, got[i].Stream, got[i].Revision, w.Stream, w.Revision)
			}
		}
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	cancel()
	if _, _, err := br.ReadBatch(ctx, nil, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadBatch with a cancelled context: %v, want context.Canceled", err)
	}
}

func testIdempotent(t *testing.T, s events.Store) {
	name := stream(s, "idem")
	e0 := ev(0)
	first := mustAppend(t, s, name, events.NoStream, e0)
	batch := []events.EventData{ev(1), ev(2), ev(3)}
	second := mustAppend(t, s, name, events.Exact(0), batch...)
	n := len(readAll(t, s, 0))

	// A retry with the same IDs and content returns the original result,
	// even with an expected revision that no longer holds.
	if again := mustAppend(t, s, name, events.NoStream, e0); again != first {
		t.Fatalf("retry of the first append returned %+v, want the original %+v", again, first)
	}
	if again := mustAppend(t, s, name, events.Exact(0), batch...); again != second {
		t.Fatalf("retry of the batch returned %+v, want the original %+v", again, second)
	}
	if again := mustAppend(t, s, name, events.Any, batch...); again != second {
		t.Fatalf("retry with Any returned %+v, want %+v", again, second)
	}
	if m := len(readAll(t, s, 0)); m != n {
		t.Fatalf("retries wrote %d new records", m-n)
	}
}

func testDuplicate(t *testing.T, s events.Store) {
	name := stream(s, "dup")
	e := ev(0)
	mustAppend(t, s, name, events.NoStream, e)
	other := e
	other.Data = []byte(`{"n":42}`)
	otherMeta := e
	otherMeta.Metadata.Actor = "someone else"
	cases := map[string]func() error{
		"same ID, other data": func() error {
			_, err := s.Append(ctxFor(t), name, events.Any, other)
			return err
		},
		"same ID, other metadata": func() error {
			_, err := s.Append(ctxFor(t), name, events.Any, otherMeta)
			return err
		},
		"same ID, other stream": func() error {
			if events.EventIDsPerStream(s) {
				return events.ErrDuplicateEvent // the store says its IDs are per stream (events.IDScope)
			}
			_, err := s.Append(ctxFor(t), stream(s, "elsewhere"), events.Any, e)
			return err
		},
		"same ID twice in one append": func() error {
			x := ev(5)
			_, err := s.Append(ctxFor(t), name, events.Any, x, x)
			return err
		},
		"old ID after new ones": func() error {
			_, err := s.Append(ctxFor(t), name, events.Any, ev(6), e)
			return err
		},
		"old ID followed by new ones": func() error {
			_, err := s.Append(ctxFor(t), name, events.Any, e, ev(7))
			return err
		},
	}
	n := len(readAll(t, s, 0))
	for what, f := range cases {
		if err := f(); !errors.Is(err, events.ErrDuplicateEvent) {
			t.Errorf("%s: err = %v, want ErrDuplicateEvent", what, err)
		}
	}
	if m := len(readAll(t, s, 0)); m != n {
		t.Fatalf("refused duplicates wrote %d records", m-n)
	}
}

func testSealed(t *testing.T, s events.Store) {
	name := stream(s, "sealed")
	mustAppend(t, s, name, events.NoStream, ev(0))
	seal := sealingEvent()
	sealed := mustAppend(t, s, name, events.Exact(0), seal)
	for _, exp := range []events.ExpectedRevision{events.Any, events.StreamExists, events.Exact(1), events.Exact(0)} {
		_, err := s.Append(ctxFor(t), name, exp, ev(2))
		if !errors.Is(err, events.ErrStreamSealed) {
			t.Fatalf("append with %v after the seal: err = %v, want ErrStreamSealed", exp, err)
		}
		var se *events.StreamSealedError
		if errors.As(err, &se) && (se.Stream != name || se.SealedAt != 1) {
			t.Fatalf("sealed error %+v, want stream %s sealed at 1", se, name)
		}
	}
	if _, err := s.Append(ctxFor(t), name, events.Any, sealingEvent()); !errors.Is(err, events.ErrStreamSealed) {
		t.Fatalf("a second sealing event: err = %v, want ErrStreamSealed", err)
	}
	// The retry of the sealing append itself is idempotent, not refused.
	if again := mustAppend(t, s, name, events.Exact(0), seal); again != sealed {
		t.Fatalf("retry of the sealing append: %+v, want %+v", again, sealed)
	}
	recs, err := readStream(t, s, name, 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("sealed stream reads %d records (err %v), want 2", len(recs), err)
	}
	// A sealing event followed by another in one append is refused whole.
	other := stream(s, "seal-batch")
	if _, err := s.Append(ctxFor(t), other, events.Any, sealingEvent(), ev(1)); !errors.Is(err, events.ErrStreamSealed) {
		t.Fatalf("an event after a sealing one in the same append: err = %v, want ErrStreamSealed", err)
	}
	if _, err := readStream(t, s, other, 0); !errors.Is(err, events.ErrStreamNotFound) {
		t.Fatalf("the refused sealing batch wrote something: %v", err)
	}
}

func testInvalid(t *testing.T, s events.Store) {
	name := stream(s, "invalid")
	noID := ev(0)
	noID.ID = uuid.Nil
	noType := ev(0)
	noType.Type = ""
	badVersion := ev(0)
	badVersion.SchemaVersion = 0
	cases := map[string]func() error{
		"nil ID":       func() error { _, err := s.Append(ctxFor(t), name, events.Any, noID); return err },
		"no type":      func() error { _, err := s.Append(ctxFor(t), name, events.Any, noType); return err },
		"version 0":    func() error { _, err := s.Append(ctxFor(t), name, events.Any, badVersion); return err },
		"empty stream": func() error { _, err := s.Append(ctxFor(t), "", events.Any, ev(0)); return err },
		"no events":    func() error { _, err := s.Append(ctxFor(t), name, events.Any); return err },
		"bad expected": func() error { _, err := s.Append(ctxFor(t), name, events.ExpectedRevision(-9), ev(0)); return err },
	}
	for what, f := range cases {
		if err := f(); !errors.Is(err, events.ErrInvalidEvent) {
			t.Errorf("%s: err = %v, want ErrInvalidEvent", what, err)
		}
	}
	if n := len(readAll(t, s, 0)); n != 0 {
		t.Fatalf("invalid appends wrote %d records", n)
	}
}

// testConcurrentExact races 64 appenders at the same expected revision:
// exactly one wins; every loser learns the winner's revision.
func testConcurrentExact(t *testing.T, s events.Store) {
	const writers = 64
	name := stream(s, "race")
	mustAppend(t, s, name, events.NoStream, ev(0), ev(1), ev(2)) // at revision 2
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Append(ctxFor(t), name, events.Exact(2), ev(100+i))
			if err == nil {
				wins.Add(1)
				return
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	if wins.Load() != 1 {
		t.Fatalf("%d appends at the same expected revision succeeded, want exactly 1", wins.Load())
	}
	for err := range errs {
		var w *events.WrongExpectedRevisionError
		if !errors.As(err, &w) {
			t.Fatalf("loser err = %v, want *WrongExpectedRevisionError", err)
		}
		if w.ActualKnown && w.Actual != 3 {
			t.Fatalf("loser told actual revision %d, want 3", w.Actual)
		}
	}
	recs, err := readStream(t, s, name, 0)
	if err != nil || len(recs) != 4 {
		t.Fatalf("stream has %d records after the race (err %v), want 4", len(recs), err)
	}
}

func testConcurrentNoStream(t *testing.T, s events.Store) {
	const writers = 64
	name := stream(s, "create")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Append(ctxFor(t), name, events.NoStream, ev(i))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, events.ErrWrongExpectedRevision):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d creators of the same stream succeeded, want 1", wins.Load())
	}
}

// collect reads n records from a subscription, failing on error or timeout.
func collect(t *testing.T, seq func(func(events.Record, error) bool), n int) []events.Record {
	t.Helper()
	var out []events.Record
	if n == 0 {
		return out
	}
	for r, err := range seq {
		if err != nil {
			t.Fatalf("subscription ended after %d of %d records: %v", len(out), n, err)
		}
		out = append(out, r)
		if len(out) == n {
			break
		}
	}
	if len(out) != n {
		t.Fatalf("subscription ended after %d of %d records", len(out), n)
	}
	return out
}

func testSubscribeCatchUpLive(t *testing.T, s events.Store) {
	name := stream(s, "sub")
	for i := range 10 {
		mustAppend(t, s, name, events.Any, ev(i))
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	got := make(chan events.Record, 100)
	done := make(chan error, 1)
	go func() {
		for r, err := range s.Subscribe(ctx, 0, ownStreams(s)) {
			if err != nil {
				done <- err
				return
			}
			got <- r
		}
		done <- nil
	}()
	want := 10
	for i := range 5 {
		want++
		mustAppend(t, s, name, events.Any, ev(10+i))
	}
	var recs []events.Record
	deadline := time.After(timeout)
	for len(recs) < want {
		select {
		case r := <-got:
			recs = append(recs, r)
		case err := <-done:
			t.Fatalf("subscription ended early: %v", err)
		case <-deadline:
			t.Fatalf("subscription delivered %d of %d records", len(recs), want)
		}
	}
	for i, r := range recs {
		if r.Revision != uint64(i) {
			t.Fatalf("record %d has revision %d", i, r.Revision)
		}
	}
	// Live: one more after catching up.
	mustAppend(t, s, name, events.Any, ev(99))
	select {
	case r := <-got:
		if r.Revision != 15 {
			t.Fatalf("live record revision %d, want 15", r.Revision)
		}
	case <-deadline:
		t.Fatal("no live record")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled subscription ended with %v, want context.Canceled", err)
		}
	case <-time.After(timeout):
		t.Fatal("subscription did not end after cancel")
	}
}

func testSubscribeResume(t *testing.T, s events.Store) {
	name := stream(s, "resume")
	for i := range 30 {
		mustAppend(t, s, name, events.Any, ev(i))
	}
	ctx := ctxFor(t)
	first := collect(t, s.Subscribe(ctx, 0, ownStreams(s)), 12)
	checkpoint := first[len(first)-1].Position + 1
	rest := collect(t, s.Subscribe(ctx, checkpoint, ownStreams(s)), 18)
	if rest[0].Revision != 12 || rest[17].Revision != 29 {
		t.Fatalf("resumed from position %d at revision %d..%d, want 12..29", checkpoint, rest[0].Revision, rest[17].Revision)
	}
}

func testSubscribeFilter(t *testing.T, s events.Store) {
	elections, scores := streamPrefix(s)+"-election", streamPrefix(s)+"-score"
	for i := range 20 {
		mustAppend(t, s, elections+"-"+strconv.Itoa(i%3), events.Any, ev(i))
		mustAppend(t, s, scores, events.Any, ev(i))
	}
	ctx := ctxFor(t)
	got := collect(t, s.Subscribe(ctx, 0, events.Filter{StreamPrefixes: []string{elections}}), 20)
	for _, r := range got {
		if !strings.HasPrefix(r.Stream, elections) {
			t.Fatalf("filtered subscription delivered %s", r.Stream)
		}
	}
	// The filter still delivers live records that match, after skipping
	// ones that don't.
	mustAppend(t, s, scores, events.Any, ev(100))
	mustAppend(t, s, elections+"-x", events.Any, ev(101))
	live := collect(t, s.Subscribe(ctx, got[19].Position+1, events.Filter{StreamPrefixes: []string{streamPrefix(s) + "-election"}}), 1)
	if live[0].Stream != elections+"-x" {
		t.Fatalf("live filtered record from %s", live[0].Stream)
	}
}

// testSubscribeConcurrent starts a subscriber mid-stream while 8 writers
// append: it must see every record from its start position exactly once, in
// global order.
func testSubscribeConcurrent(t *testing.T, s events.Store) {
	const writers, each = 8, 150
	prefix := streamPrefix(s) + "-conc"
	for i := range 50 {
		mustAppend(t, s, prefix+"-seed", events.Any, ev(i))
	}
	start := readAll(t, s, 0)[25].Position
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	var wg sync.WaitGroup
	go appendConcurrently(ctx, t, s, &wg, prefix, writers, each)
	want := 25 + writers*each
	delivered := collect(t, s.Subscribe(ctx, start, events.Filter{StreamPrefixes: []string{prefix}}), want)
	wg.Wait()
	checkDeliveredOnceInOrder(t, delivered)
	inLog := readAll(t, s, start)
	if len(inLog) != want {
		t.Fatalf("log has %d records from the start position, subscriber saw %d", len(inLog), want)
	}
	for i := range inLog {
		if inLog[i].ID != delivered[i].ID {
			t.Fatalf("subscriber order differs from the log at %d", i)
		}
	}
}

// appendConcurrently starts writers goroutines, counted in wg, the w-th
// appending each events one by one to the stream prefix-w.
func appendConcurrently(ctx context.Context, t *testing.T, s events.Store, wg *sync.WaitGroup, prefix string, writers, each int) {
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Append(ctx, fmt.Sprintf("%s-%d", prefix, w), events.Any, ev(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
}

// checkDeliveredOnceInOrder fails t when a subscription delivered a record
// twice or out of global order.
func checkDeliveredOnceInOrder(t *testing.T, delivered []events.Record) {
	t.Helper()
	seen := make(map[uuid.UUID]bool, len(delivered))
	for i, r := range delivered {
		if seen[r.ID] {
			t.Fatalf("record %s delivered twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.Position <= delivered[i-1].Position {
			t.Fatalf("delivery out of global order at %d", i)
		}
	}
}

func testContext(t *testing.T, s events.Store) {
	name := stream(s, "ctx")
	mustAppend(t, s, name, events.NoStream, ev(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, name, events.Any, ev(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: err = %v, want context.Canceled", err)
	}
	if recs, _ := readStream(t, s, name, 0); len(recs) != 1 {
		t.Fatalf("the cancelled append wrote: %d records", len(recs))
	}
	checkEnds := func(what string, seq func(func(events.Record, error) bool)) {
		for _, err := range seq {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s with a cancelled context yielded err %v, want context.Canceled", what, err)
			}
			return
		}
		t.Fatalf("%s with a cancelled context yielded nothing, want context.Canceled", what)
	}
	checkEnds("ReadStream", s.ReadStream(ctx, name, 0))
	checkEnds("ReadAll", s.ReadAll(ctx, 0))
	checkEnds("Subscribe", s.Subscribe(ctx, 0, ownStreams(s)))

	// A deadline that passes while the subscriber waits live ends it.
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	n := 0
	var last error
	for _, err := range s.Subscribe(dctx, 0, ownStreams(s)) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != 1 || !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("subscription with a deadline: %d records then %v, want 1 then DeadlineExceeded", n, last)
	}
}

func testLoopBodyAppends(t *testing.T, s events.Store) {
	name := stream(s, "reentrant")
	mustAppend(t, s, name, events.NoStream, ev(0), ev(1))
	ctx := ctxFor(t)
	for r, err := range s.ReadStream(ctx, name, 0) {
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, name+"-copy", events.Any, ev(int(r.Revision)))
	}
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Stream == name {
			mustAppend(t, s, name+"-copy2", events.Any, ev(0))
		}
	}
	for _, err := range s.Subscribe(ctx, 0, ownStreams(s)) {
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, name+"-copy3", events.Any, ev(0))
		break
	}
	recs, err := readStream(t, s, name+"-copy", 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("appends from inside a read loop: %d records, err %v", len(recs), err)
	}
}

func testHashChain(t *testing.T, s events.Store) {
	a, b := stream(s, "chain-a"), stream(s, "chain-b")
	var results []events.AppendResult
	for i := range 5 {
		results = append(results, mustAppend(t, s, a, events.Any, ev(i)))
		mustAppend(t, s, b, events.Any, ev(i), ev(i+100))
	}
	recs, err := readStream(t, s, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !recs[0].PrevHash.IsZero() {
		t.Fatal("revision 0 has a previous hash")
	}
	for i, r := range recs {
		if r.Hash != results[i].Hash {
			t.Fatalf("revision %d hash differs from the append result", i)
		}
		if i > 0 && r.PrevHash != recs[i-1].Hash {
			t.Fatalf("revision %d does not link to revision %d", i, i-1)
		}
	}
	if n, err := chain.VerifyStream(a, s.ReadStream(ctxFor(t), a, 0)); err != nil || n != 5 {
		t.Fatalf("verify %s: %d records, %v", a, n, err)
	}
	var v chain.StreamVerifier
	for _, r := range readAll(t, s, 0) {
		if err := v.Check(&r); err != nil {
			t.Fatalf("verify the whole log: %v", err)
		}
	}
	if v.Streams() != 2 {
		t.Fatalf("verifier saw %d streams, want 2", v.Streams())
	}
}

func testClose(t *testing.T, s events.Store) {
	name := stream(s, "close")
	mustAppend(t, s, name, events.NoStream, ev(0))
	ctx := ctxFor(t)
	ended := make(chan error, 1)
	go func() {
		for _, err := range s.Subscribe(ctx, 0, ownStreams(s)) {
			if err != nil {
				ended <- err
				return
			}
		}
		ended <- nil
	}()
	time.Sleep(20 * time.Millisecond) // let it reach the live wait
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, events.ErrClosed) {
			t.Fatalf("subscriber ended with %v on close, want ErrClosed", err)
		}
	case <-time.After(timeout):
		t.Fatal("subscriber still running after Close")
	}
	if _, err := s.Append(ctx, name, events.Any, ev(1)); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("append after close: err = %v, want ErrClosed", err)
	}
	if _, err := readStream(t, s, name, 0); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("read after close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
