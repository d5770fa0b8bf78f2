package pgstore_test

import (
	"context"

	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// outOfOrder delays a transaction's commit after its inserts: most a
// little, one in eight by 15ms, so that transactions commit in another
// order than the one they took their positions in.
func outOfOrder(ctx context.Context) {
	d := time.Duration(rand.IntN(2000)) * time.Microsecond
	if rand.IntN(8) == 0 {
		d = 15 * time.Millisecond
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// followWhileWriting runs writers × each calls of write, at once, while
// poll follows the log "from the checkpoint on" as a reader does: each poll
// returns what it read after checkpoint and the next checkpoint. When the
// writers are done it polls until a poll finds nothing new, and returns
// everything the follower saw, in the order it saw it.
func followWhileWriting(t *testing.T, writers, each int, write func(ctx context.Context, w, i int) error,
	poll func(ctx context.Context, checkpoint int64) ([]uuid.UUID, int64, error)) []uuid.UUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := write(ctx, w, i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()
	var seen []uuid.UUID
	var checkpoint int64
	for done := false; ; {
		select {
		case <-writing:
			done = true
		default:
		}
		ids, next, err := poll(ctx, checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		seen, checkpoint = append(seen, ids...), next
		if done && len(ids) == 0 {
			break
		}
		if !done {
			time.Sleep(time.Millisecond)
		}
	}
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	return seen
}

// countOnce checks that seen holds each of want exactly once, and returns
// how many it missed and repeated.
func countOnce(want, seen []uuid.UUID) (missed, repeated int) {
	n := make(map[uuid.UUID]int, len(want))
	for _, id := range seen {
		n[id]++
	}
	for _, id := range want {
		switch c := n[id]; {
		case c == 0:
			missed++
		case c > 1:
			repeated += c - 1
		}
	}
	return missed, repeated
}

// TestGapSafePositions: 16 writers append 10,000 events while a follower
// polls "everything from my checkpoint on" (ReadAll), a subscriber follows
// live on the same store and another on a second store (its own
// connections, as another process would have); every transaction's commit
// is delayed at random so that commits come out of order. Each follower
// must see every committed event exactly once, in the order of the final
// log.
//
// The sequence design fails this test. With positions from a sequence
// (position bigserial) and the same follower reading position > checkpoint,
// a transaction that took position 1,000 but commits after the one that
// took 1,001 is never read: the follower has already moved its checkpoint
// past it. TestSequencePositionsMissEvents keeps that reproduction running
// on the same harness: on the 2-core reference machine it missed 3,489,
// 3,559 and 3,634 of 10,000 events in three runs (the prototype,
// without delayed commits, missed 1,974 with 16 writers). Positions from
// the transaction ID are not enough alone: with pgstore's read bound
// ("position < the oldest running transaction's") removed, this test
// failed with 3,337 of 10,000 missed. With it, none is ever missed.
func TestGapSafePositions(t *testing.T) {
	for name, opts := range paths {
		t.Run(name, func(t *testing.T) { testGapSafePositions(t, opts...) })
	}
}

func testGapSafePositions(t *testing.T, opts ...pgstore.Option) {
	const writers, each = 16, 625
	s := pgtest.Open(t, append(opts, pgstore.WithBeforeCommit(outOfOrder))...)
	other, err := pgstore.Open(context.Background(), pgtest.URL(t), pgstore.WithSchema(s.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	// Meanwhile, write transactions in another database of the server:
	// readers leave them out of their bound, and must still miss nothing.
	noise, stopNoise, elsewhere := make(chan error, 1), make(chan struct{}), pgtest.Database(t)
	go func() { noise <- writeElsewhere(elsewhere, stopNoise) }()
	defer func() {
		close(stopNoise)
		if err := <-noise; err != nil {
			t.Errorf("the other database's writer: %v", err)
		}
	}()

	var mu sync.Mutex
	var written []uuid.UUID
	write := func(ctx context.Context, w, i int) error {
		e := event(i)
		if _, err := s.Append(ctx, fmt.Sprintf("gap-%d", w), events.Any, e); err != nil {
			return err
		}
		mu.Lock()
		written = append(written, e.ID)
		mu.Unlock()
		return nil
	}

	// Two live subscribers, each collecting until it has every event.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type result struct {
		recs []events.Record
		err  error
	}
	subs := make([]chan result, 2)
	for k, st := range []*pgstore.Store{s, other} {
		subs[k] = make(chan result, 1)
		go func() {
			var r result
			for rec, err := range st.Subscribe(ctx, 0, events.Filter{}) {
				if err != nil {
					r.err = err
					break
				}
				r.recs = append(r.recs, rec)
				if len(r.recs) == writers*each {
					break
				}
			}
			subs[k] <- r
		}()
	}

	var lastPos events.Position
	polled := followWhileWriting(t, writers, each, write, func(ctx context.Context, checkpoint int64) ([]uuid.UUID, int64, error) {
		var ids []uuid.UUID
		for r, err := range s.ReadAll(ctx, events.Position(checkpoint)) {
			if err != nil {
				return nil, 0, err
			}
			if r.Position <= lastPos && lastPos != 0 {
				return nil, 0, fmt.Errorf("position %d after %d", r.Position, lastPos)
			}
			lastPos = r.Position
			ids = append(ids, r.ID)
			checkpoint = int64(r.Position) + 1
		}
		return ids, checkpoint, nil
	})
	if missed, repeated := countOnce(written, polled); missed != 0 || repeated != 0 || len(polled) != len(written) {
		t.Fatalf("the checkpoint follower missed %d and repeated %d of %d events", missed, repeated, len(written))
	}

	var log []events.Record
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, r)
	}
	if len(log) != len(written) {
		t.Fatalf("the log holds %d events, %d were acknowledged", len(log), len(written))
	}
	for k, ch := range subs {
		r := <-ch
		if r.err != nil {
			t.Fatalf("subscriber %d: %v after %d records", k, r.err, len(r.recs))
		}
		ids := make([]uuid.UUID, len(r.recs))
		for i, rec := range r.recs {
			ids[i] = rec.ID
			if rec.ID != log[i].ID || rec.Position != log[i].Position {
				t.Fatalf("subscriber %d: record %d is %v@%d, the log has %v@%d there", k, i, rec.ID, rec.Position, log[i].ID, log[i].Position)
			}
		}
		if missed, repeated := countOnce(written, ids); missed != 0 || repeated != 0 {
			t.Fatalf("subscriber %d missed %d and repeated %d", k, missed, repeated)
		}
	}
	for i := range log {
		if polled[i] != log[i].ID {
			t.Fatalf("the checkpoint follower saw the log in another order at %d", i)
		}
	}
	if _, err := chain.VerifyChains(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// TestSequencePositionsMissEvents shows that the harness above catches the
// trap it exists for: the same writers and follower on a table whose
// positions come from a sequence miss events, because transactions commit
// out of sequence order. (It checks the harness, not the store: if it ever
// stops missing events, the gap-safety test above proves nothing.)
func TestSequencePositionsMissEvents(t *testing.T) {
	const writers, each = 16, 625
	url, schema := pgtest.URL(t), pgtest.Schema(t)
	ctx := context.Background()
	// A store opened once creates the schema; the trap's table goes beside it.
	s, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	table := pgx.Identifier{schema, "seqlog"}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE TABLE `+table+` (position bigserial PRIMARY KEY, id uuid NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	pool := make(chan *pgx.Conn, writers)
	for range writers {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		pool <- c
	}
	var mu sync.Mutex
	var written []uuid.UUID
	write := func(ctx context.Context, w, i int) error {
		c := <-pool
		defer func() { pool <- c }()
		id := uuid.New()
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (id) VALUES ($1)`, id); err != nil {
				return err
			}
			outOfOrder(ctx)
			return nil
		})
		if err == nil {
			mu.Lock()
			written = append(written, id)
			mu.Unlock()
		}
		return err
	}
	seen := followWhileWriting(t, writers, each, write, func(ctx context.Context, checkpoint int64) ([]uuid.UUID, int64, error) {
		rows, err := conn.Query(ctx, `SELECT position, id FROM `+table+` WHERE position > $1 ORDER BY position`, checkpoint)
		if err != nil {
			return nil, 0, err
		}
		var ids []uuid.UUID
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&checkpoint, &id); err != nil {
				return nil, 0, err
			}
			ids = append(ids, id)
		}
		return ids, checkpoint, rows.Err()
	})
	missed, repeated := countOnce(written, seen)
	t.Logf("positions from a sequence: the follower missed %d and repeated %d of %d events", missed, repeated, len(written))
	if missed == 0 {
		t.Fatal("the sequence design missed nothing: the harness no longer makes commits come out of order")
	}
}

// TestOlderTransactionComesFirst: a transaction that took its ID before
// an append, and commits an event after it, puts its event before the
// append's in the log. Until it ends, ReadAll and ReadBatch wait (the
// append was committed when they began, and nothing may be read past a
// running transaction), and a subscriber waits; then each sees both
// events, the older transaction's first, exactly once.
func TestOlderTransactionComesFirst(t *testing.T) {
	s := pgtest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	older := connect(t, pgtest.URL(t))
	tx, err := older.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // takes its ID now
		t.Fatal(err)
	}
	ey := event(1)
	y := mustAppend(t, s, "newer", events.NoStream, ey)

	type got struct {
		ids []uuid.UUID
		err error
	}
	readAll, readBatch, sub := make(chan got, 1), make(chan got, 1), make(chan got, 1)
	go func() {
		var g got
		for r, err := range s.ReadAll(ctx, 0) {
			if g.err = err; err != nil {
				break
			}
			g.ids = append(g.ids, r.ID)
		}
		readAll <- g
	}()
	go func() {
		var g got
		var buf []events.Record
		for pos := events.Position(0); ; {
			if buf, pos, g.err = s.ReadBatch(ctx, buf[:0], pos); g.err != nil || len(buf) == 0 {
				break
			}
			for _, r := range buf {
				g.ids = append(g.ids, r.ID)
			}
		}
		readBatch <- g
	}()
	go func() {
		var g got
		for r, err := range s.Subscribe(ctx, 0, events.Filter{}) {
			if g.err = err; err != nil {
				break
			}
			if g.ids = append(g.ids, r.ID); len(g.ids) == 2 {
				break
			}
		}
		sub <- g
	}()
	select {
	case g := <-readAll:
		t.Fatalf("ReadAll ended while an older transaction ran: %d records, %v", len(g.ids), g.err)
	case g := <-readBatch:
		t.Fatalf("ReadBatch ended while an older transaction ran: %d records, %v", len(g.ids), g.err)
	case g := <-sub:
		t.Fatalf("the subscriber ended while an older transaction ran: %d records, %v", len(g.ids), g.err)
	case <-time.After(300 * time.Millisecond):
	}

	x := events.NewRecord("older", 0, time.Now().Truncate(time.Microsecond), events.Hash{}, event(0))
	meta, _ := json.Marshal(x.Metadata)
	var xpos int64
	if err := tx.QueryRow(ctx, `INSERT INTO `+pgx.Identifier{s.Schema(), "events"}.Sanitize()+
		` (stream, revision, event_id, type, schema_version, recorded_at, data, metadata, prev_hash, hash)
		 VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING position`,
		x.Stream, x.ID, x.Type, x.SchemaVersion, x.RecordedAt, x.Data, meta, x.PrevHash[:], x.Hash[:]).Scan(&xpos); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if events.Position(xpos) >= y.Position {
		t.Fatalf("the older transaction's event is at %d, after the append's %d", xpos, y.Position)
	}
	for what, ch := range map[string]chan got{"ReadAll": readAll, "ReadBatch": readBatch, "Subscribe": sub} {
		g := <-ch
		if g.err != nil || len(g.ids) != 2 || g.ids[0] != x.ID || g.ids[1] != ey.ID {
			t.Fatalf("%s: %v %v, want the older transaction's event, then the append's", what, g.ids, g.err)
		}
	}
}

// TestOtherDatabasesDoNotStall: a transaction running in another database
// of the same server cannot insert into this ledger, so readers do not
// wait for it: ReadAll returns an append at once. (A transaction in the
// same database does hold them: TestOlderTransactionComesFirst.)
func TestOtherDatabasesDoNotStall(t *testing.T) {
	s := pgtest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	elsewhere := connect(t, pgtest.Database(t))
	tx, err := elsewhere.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	e := event(0)
	mustAppend(t, s, "here", events.NoStream, e)
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	var got []uuid.UUID
	for r, err := range s.ReadAll(rctx, 0) {
		if err != nil {
			t.Fatalf("ReadAll while another database's transaction runs: %v", err)
		}
		got = append(got, r.ID)
	}
	if len(got) != 1 || got[0] != e.ID {
		t.Fatalf("ReadAll: %v, want the append", got)
	}
}

// writeElsewhere runs short write transactions in the database at url,
// each holding its transaction ID for a random moment, until stop closes.
func writeElsewhere(url string, stop <-chan struct{}) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE TABLE noise (n int)`); err != nil {
		return err
	}
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO noise VALUES (1)`); err != nil {
				return err
			}
			time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
			return nil
		}); err != nil {
			return err
		}
	}
}
