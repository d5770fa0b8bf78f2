package storekit_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/storekit"
	"github.com/google/uuid"
)

// logFill is a Fill over an in-memory log that grows: the way a store
// reads its log in batches of at most batch records.
type logFill struct {
	mu    sync.Mutex
	recs  []events.Record
	grew  chan struct{}
	batch int
	calls int
}

func (l *logFill) add(stream string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, events.Record{Stream: stream, Position: events.Position(len(l.recs))})
	close(l.grew)
	l.grew = make(chan struct{})
}

func (l *logFill) fill(buf []events.Record, next events.Position, f events.Filter, wait bool) ([]events.Record, events.Position, <-chan struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	for i := int(next); i < len(l.recs) && len(buf) < l.batch; i++ {
		next = events.Position(i + 1)
		if f.Accepts(l.recs[i].Stream) {
			buf = append(buf, l.recs[i])
		}
	}
	if len(buf) == 0 && wait {
		return buf, next, l.grew, nil
	}
	return buf, next, nil, nil
}

func positions(t *testing.T, seq func(func(events.Record, error) bool)) []events.Position {
	t.Helper()
	var out []events.Position
	for r, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Position)
	}
	return out
}

// TestPollAll: every record from the given position, across batches, and
// no more; breaking off stops the reads.
func TestPollAll(t *testing.T) {
	l := &logFill{grew: make(chan struct{}), batch: 3}
	for _, s := range []string{"a-1", "b-1", "a-1", "a-2", "b-2", "a-1", "b-1"} {
		l.add(s)
	}
	got := positions(t, storekit.PollAll(context.Background(), 2, l.fill))
	if want := []events.Position{2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Fatalf("PollAll from 2: %v, want %v", got, want)
	}
	l.calls = 0
	for range storekit.PollAll(context.Background(), 0, l.fill) {
		break
	}
	if l.calls != 1 {
		t.Fatalf("breaking off after one record made %d reads, want 1", l.calls)
	}
	buf, next, err := storekit.FillBatch(context.Background(), nil, 5, l.fill)
	if err != nil || len(buf) != 2 || next != 7 {
		t.Fatalf("FillBatch from 5: %d records, next %d, %v", len(buf), next, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := storekit.FillBatch(ctx, nil, 0, l.fill); !errors.Is(err, context.Canceled) {
		t.Fatalf("FillBatch on a cancelled context: %v", err)
	}
}

// TestPollSubscribe: catch up with the filter applied, then wake for each
// append, until the context ends (its error yielded).
func TestPollSubscribe(t *testing.T) {
	l := &logFill{grew: make(chan struct{}), batch: 2}
	for _, s := range []string{"a-1", "b-1", "a-2"} {
		l.add(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		time.Sleep(20 * time.Millisecond)
		l.add("b-2")
		l.add("a-3")
	}()
	var got []events.Position
	var end error
	for r, err := range storekit.PollSubscribe(ctx, 0, events.Filter{StreamPrefixes: []string{"a-"}}, l.fill) {
		if err != nil {
			end = err
			break
		}
		got = append(got, r.Position)
		if len(got) == 3 {
			cancel()
		}
		if len(got) > 3 {
			t.Fatalf("more than asked for: %v", got)
		}
	}
	if want := []events.Position{0, 2, 4}; !slices.Equal(got, want) || !errors.Is(end, context.Canceled) {
		t.Fatalf("PollSubscribe: %v ending with %v, want %v ending with the context's error", got, end, want)
	}
}

// TestValidateAppend: each refusal with its typed error; a good append
// passes.
func TestValidateAppend(t *testing.T) {
	ev := func(typ string) events.EventData {
		return events.EventData{ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: []byte(`{}`)}
	}
	dup := ev("t")
	for name, c := range map[string]struct {
		stream string
		exp    events.ExpectedRevision
		evs    []events.EventData
		want   error
	}{
		"fine":             {"s", events.Any, []events.EventData{ev("t"), ev(events.TypeElectionConfirmed)}, nil},
		"bad name":         {"s\x00", events.Any, []events.EventData{ev("t")}, events.ErrInvalidStreamName},
		"no events":        {"s", events.Any, nil, events.ErrInvalidEvent},
		"bad revision":     {"s", events.StreamExists - 1, []events.EventData{ev("t")}, events.ErrInvalidEvent},
		"no type":          {"s", events.Any, []events.EventData{ev("")}, events.ErrInvalidEvent},
		"after a seal":     {"s", events.Any, []events.EventData{ev(events.TypeElectionConfirmed), ev("t")}, events.ErrStreamSealed},
		"an ID twice":      {"s", events.NoStream, []events.EventData{dup, dup}, events.ErrDuplicateEvent},
		"a nil ID":         {"s", events.Any, []events.EventData{{Type: "t", SchemaVersion: 1}}, events.ErrInvalidEvent},
		"schema version 0": {"s", events.Any, []events.EventData{{ID: uuid.New(), Type: "t"}}, events.ErrInvalidEvent},
	} {
		err := storekit.ValidateAppend(c.stream, c.exp, c.evs)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestPollYieldsRecordsBeforeAnError: a Fill that reads some records and
// then fails (a damaged record) returns both; PollAll yields the records
// first, then the error, so a verifier resuming after the damage has seen
// everything before it.
func TestPollYieldsRecordsBeforeAnError(t *testing.T) {
	damaged := errors.New("damaged record at 2")
	fill := func(buf []events.Record, next events.Position, _ events.Filter, _ bool) ([]events.Record, events.Position, <-chan struct{}, error) {
		for p := next; p < 2; p++ {
			buf = append(buf, events.Record{Position: p})
		}
		return buf, 2, nil, damaged
	}
	var got []events.Position
	var last error
	for r, err := range storekit.PollAll(context.Background(), 0, fill) {
		if err != nil {
			last = err
			continue
		}
		got = append(got, r.Position)
	}
	if want := []events.Position{0, 1}; !slices.Equal(got, want) || !errors.Is(last, damaged) {
		t.Fatalf("PollAll yielded %v then %v, want %v then the damage", got, last, want)
	}
}
