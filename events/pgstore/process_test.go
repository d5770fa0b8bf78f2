package pgstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// The child processes' instructions, in their environment.
const (
	envChildSchema = "PGSTORE_TEST_CHILD_SCHEMA"
	envChildID     = "PGSTORE_TEST_CHILD_ID"
)

// ack is one append a child process had acknowledged.
type ack struct {
	Stream   string
	ID       uuid.UUID
	Revision uint64
	Position events.Position
	Hash     events.Hash
}

const (
	processes     = 4
	sharedStreams = 3
	exactEach     = 120 // appends at an exact expected revision, per process
	anyEach       = 60  // appends with Any, per process
	idemEach      = 10  // idempotent appends every process makes with the same IDs
)

// idemEvent is the event every process appends as the k-th idempotent one:
// the same ID and content everywhere.
func idemEvent(k int) events.EventData {
	return events.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("pgstore-test-idem-"+strconv.Itoa(k))),
		Type: "test.event", SchemaVersion: 1, Data: []byte(`{"idem":` + strconv.Itoa(k) + `}`)}
}

// TestSeveralProcesses starts four OS processes that append at once to
// shared streams: at exact expected revisions (each retrying with the
// revision a refusal reports), with Any, and the same idempotent events in
// every process. Afterwards no chain has forked, every acknowledged append
// is in the log where its acknowledgement says, no event ID is there
// twice, nothing unacknowledged is there, and a subscriber that followed
// the whole run saw the log exactly once, in order.
func TestSeveralProcesses(t *testing.T) {
	if os.Getenv(envChildSchema) != "" {
		t.Skip("a child process runs TestChildAppender only")
	}
	schema := pgtest.Schema(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	type result struct {
		acks []ack
		err  error
	}
	results := make(chan result, processes)
	for k := range processes {
		cmd := exec.CommandContext(ctx, exe, "-test.run=^TestChildAppender$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChildSchema+"="+schema, envChildID+"="+strconv.Itoa(k))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		go func() {
			out, err := cmd.Output()
			var r result
			if err != nil {
				r.err = fmt.Errorf("process %d: %v\n%s%s", k, err, out, stderr.String())
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if line, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
					var a ack
					if err := json.Unmarshal([]byte(line), &a); err != nil {
						r.err = err
					}
					r.acks = append(r.acks, a)
				}
			}
			results <- r
		}()
	}

	// The children create the schema between them; follow it once it is there.
	var s *pgstore.Store
	for s == nil {
		if s, err = pgstore.Open(ctx, pgtest.URL(t), pgstore.WithSchema(schema)); err != nil {
			t.Fatal(err)
		}
	}
	defer s.Close()
	want := processes*(exactEach+anyEach) + idemEach
	followed := make(chan []events.Record, 1)
	go func() {
		var recs []events.Record
		for r, err := range s.Subscribe(ctx, 0, events.Filter{}) {
			if err != nil {
				break
			}
			recs = append(recs, r)
			if len(recs) == want {
				break
			}
		}
		followed <- recs
	}()

	var acks []ack
	for range processes {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		acks = append(acks, r.acks...)
	}
	if len(acks) != processes*(exactEach+anyEach+idemEach) {
		t.Fatalf("%d acknowledgements, want %d", len(acks), processes*(exactEach+anyEach+idemEach))
	}

	log := readAll(t, s)
	byID := make(map[uuid.UUID]events.Record, len(log))
	for _, r := range log {
		if _, dup := byID[r.ID]; dup {
			t.Fatalf("event %v is in the log twice", r.ID)
		}
		byID[r.ID] = r
	}
	acked := map[uuid.UUID]bool{}
	for _, a := range acks {
		r, ok := byID[a.ID]
		if !ok {
			t.Fatalf("acknowledged event %v (%s@%d) is not in the log", a.ID, a.Stream, a.Revision)
		}
		if r.Stream != a.Stream || r.Revision != a.Revision || r.Position != a.Position || r.Hash != a.Hash {
			t.Fatalf("event %v: acknowledged at %s@%d position %d, the log has %s@%d position %d",
				a.ID, a.Stream, a.Revision, a.Position, r.Stream, r.Revision, r.Position)
		}
		acked[a.ID] = true
	}
	if len(log) != len(acked) || len(log) != want {
		t.Fatalf("the log holds %d events; %d distinct were acknowledged, %d expected", len(log), len(acked), want)
	}
	rep, err := chain.VerifyChains(ctx, s)
	if err != nil {
		t.Fatalf("the chains: %v", err)
	}
	if rep.Records != want {
		t.Fatalf("verified %d records, want %d", rep.Records, want)
	}
	select {
	case recs := <-followed:
		if len(recs) != len(log) {
			t.Fatalf("the subscriber saw %d records, the log holds %d", len(recs), len(log))
		}
		for i := range log {
			if recs[i].ID != log[i].ID {
				t.Fatalf("the subscriber's record %d is not the log's", i)
			}
		}
	case <-time.After(time.Minute):
		t.Fatal("the subscriber did not see the whole log")
	}
}

// TestChildAppender is one of TestSeveralProcesses' processes; it runs only
// when started by it. It prints every acknowledged append as an ACK line.
func TestChildAppender(t *testing.T) {
	schema := os.Getenv(envChildSchema)
	if schema == "" {
		t.Skip("runs only as a child of TestSeveralProcesses")
	}
	id, _ := strconv.Atoi(os.Getenv(envChildID))
	ctx := context.Background()
	s, err := pgstore.Open(ctx, pgtest.URL(t), pgstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	report := func(stream string, e events.EventData, res events.AppendResult) {
		b, _ := json.Marshal(ack{Stream: stream, ID: e.ID, Revision: res.Revision, Position: res.Position, Hash: res.Hash})
		mu.Lock()
		defer mu.Unlock()
		fmt.Println("ACK " + string(b))
	}
	var wg sync.WaitGroup
	fail := make(chan error, 3)
	// Exact expected revisions: believe the last revision seen, and on a
	// refusal take the one the error reports.
	wg.Go(func() {
		last := map[string]events.ExpectedRevision{}
		for i := range exactEach {
			stream := "shared-" + strconv.Itoa(i%sharedStreams)
			e := event(id*1000 + i)
			exp, ok := last[stream]
			if !ok {
				exp = events.NoStream
			}
			for tries := 0; ; tries++ {
				res, err := s.Append(ctx, stream, exp, e)
				var w *events.WrongExpectedRevisionError
				if errors.As(err, &w) && w.ActualKnown && tries < 1000 {
					exp = events.NoStream
					if w.Actual >= 0 {
						exp = events.Exact(uint64(w.Actual))
					}
					continue
				}
				if err != nil {
					fail <- err
					return
				}
				last[stream] = events.Exact(res.Revision)
				report(stream, e, res)
				break
			}
		}
	})
	wg.Go(func() {
		for i := range anyEach {
			stream := "shared-" + strconv.Itoa(i%sharedStreams)
			e := event(id*1000 + 500 + i)
			res, err := s.Append(ctx, stream, events.Any, e)
			if err != nil {
				fail <- err
				return
			}
			report(stream, e, res)
		}
	})
	wg.Go(func() {
		for k := range idemEach {
			e := idemEvent(k)
			stream := "idem-" + strconv.Itoa(k)
			res, err := s.Append(ctx, stream, events.Any, e)
			if err != nil {
				fail <- err
				return
			}
			report(stream, e, res)
		}
	})
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
}
