package pgstore

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/electionledger/ledger/events"
	"github.com/jackc/pgx/v5"
)

// The fast append: when the store can tell the stream's head without
// reading it (a stream the append expects not to exist, or one whose head
// this store wrote or read last), it computes the chain from that head and
// sends the inserts as one statement, committed on its own: one round trip,
// no lock, no reads. The database's guard checks exactly what the reads
// would have: the revision must be free (primary key), the event IDs new
// (unique index), the previous hash the predecessor's and the predecessor
// not sealing (insert guard). If the guess was wrong in any way the
// statement fails whole, writes nothing, and the append runs the general
// path, which decides as always (idempotency, seal, expected revision). A
// failure that leaves the outcome unknown (a lost connection) also goes to
// the general path, whose idempotency check finds an insert that landed.
// WithoutFastAppend turns it off; the tests run the suite both ways.

// maxFastEvents is the largest append the fast path takes.
const maxFastEvents = 8

// insertColumns are the columns an insert names, ten parameters a row.
const insertColumns = `(stream, revision, event_id, type, schema_version, recorded_at, data, metadata, prev_hash, hash)`

// fastInsert returns the statement inserting n rows in order.
func fastInsert(table string, n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + table + ` ` + insertColumns + ` VALUES `)
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range 10 {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(r*10+c+1))
		}
		b.WriteByte(')')
	}
	if n == 1 {
		// A single row that finds its revision taken is skipped quietly
		// (no row comes back): the guess was wrong, nothing was written,
		// and the server logs no error. With more rows a taken revision
		// fails the statement instead (the next row's previous hash is
		// not the taken row's), so no part of an append is ever written.
		b.WriteString(` ON CONFLICT (stream, revision) DO NOTHING`)
	}
	b.WriteString(` RETURNING position`)
	return b.String()
}

// heads remembers the last record of streams this store wrote or read to
// the end: what the fast path guesses from. A guess only decides whether
// to try the fast path; the database checks it. It keeps the streams of
// the last 32,768 to 65,536 appends and reads in two generations: when the
// current one fills, it becomes the old one and the one before is dropped.
type heads struct {
	mu       sync.Mutex
	cur, old map[string]head
}

// headsGeneration is how many streams a generation holds.
const headsGeneration = 1 << 15

func (h *heads) get(stream string) (head, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v, ok := h.cur[stream]; ok {
		return v, true
	}
	v, ok := h.old[stream]
	return v, ok
}

func (h *heads) put(stream string, v head) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil || len(h.cur) >= headsGeneration {
		h.old, h.cur = h.cur, make(map[string]head, 1024)
	}
	h.cur[stream] = v
}

// remember notes a stream's last record: one this store appended, or the
// last one a read that reached the stream's end returned.
func (s *Store) remember(r *events.Record) {
	s.heads.put(r.Stream, head{exists: true, revision: r.Revision, hash: r.Hash, sealed: events.Seals(r.Type)})
}

// guess returns the head to append after, or false to take the general
// path. NoStream is a guess of no head at all, and so is Any on a stream
// the store knows nothing of (a ledger's appends with Any mostly start
// streams: determinations, scores); the others need a remembered head
// that meets them.
func (s *Store) guess(stream string, expected events.ExpectedRevision) (head, bool) {
	if expected == events.NoStream {
		return head{}, true
	}
	h, ok := s.heads.get(stream)
	if !ok && expected == events.Any {
		return head{}, true
	}
	if !ok || !h.exists || h.sealed {
		return head{}, false // the general path reads, or refuses the seal
	}
	switch {
	case expected == events.Any, expected == events.StreamExists:
		return h, true
	case expected >= 0 && uint64(expected) == h.revision:
		return h, true
	}
	return head{}, false
}

// appendFast tries the fast path. ok is false when it declined or its
// guess failed: nothing was written then, or (on a lost connection) the
// general path will find out.
func (s *Store) appendFast(ctx context.Context, stream string, expected events.ExpectedRevision, evs []events.EventData, metas [][]byte) (events.AppendResult, bool) {
	if s.opts.noFast || len(evs) > maxFastEvents {
		return events.AppendResult{}, false
	}
	h, ok := s.guess(stream, expected)
	if !ok {
		return events.AppendResult{}, false
	}
	recs := s.chain(stream, h, evs)
	args := make([]any, 0, 10*len(evs))
	for i := range recs {
		args = insertArgs(args, &recs[i], metas[i])
	}
	last := &recs[len(recs)-1]
	pos, n, err := s.insertFast(ctx, len(evs), args)
	if err != nil || n != len(evs) {
		return events.AppendResult{}, false
	}
	s.remember(last)
	return events.AppendResult{Revision: last.Revision, Position: pos, Hash: last.Hash}, true
}

// insertFast runs the insert on its own, or, with the test hook that
// delays commits, in a transaction the hook runs inside. It returns the
// last position and how many rows were inserted.
func (s *Store) insertFast(ctx context.Context, n int, args []any) (events.Position, int, error) {
	if s.opts.beforeCommit == nil {
		return positions(s.pool.Query(ctx, s.sql.fastInsert[n], args...))
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	pos, k, err := positions(tx.Query(ctx, s.sql.fastInsert[n], args...))
	if err != nil || k != n {
		return pos, k, err
	}
	s.opts.beforeCommit(ctx)
	return pos, k, tx.Commit(ctx)
}

// positions reads an insert's RETURNING position rows: the last position
// and how many.
func positions(rows pgx.Rows, err error) (events.Position, int, error) {
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var pos events.Position
	n := 0
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return 0, n, err
		}
		pos = max(pos, events.Position(p))
		n++
	}
	return pos, n, rows.Err()
}

// payload is an event's data as a parameter: empty, never NULL.
func payload(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
