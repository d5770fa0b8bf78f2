package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/storekit"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Append implements events.Store.
//
// When the store can tell the stream's head it first tries the fast path
// (fast.go): the chained rows in one autocommitted INSERT, which the
// database refuses whole if the guess was wrong. Otherwise, or then, the
// general path: one transaction that takes the stream's advisory lock,
// reads the stream's head and any earlier records with the same event IDs,
// decides (idempotency, then the seal, then the expected revision, as
// every Store does), computes the hash chain and inserts. Either way the
// database's insert guard checks the chain, the seal and the order, so no
// client can fork a stream or extend a sealed one whatever it sends.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if err := storekit.ValidateAppend(stream, expected, evs); err != nil {
		return events.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return events.AppendResult{}, err
	}
	metas := make([][]byte, len(evs))
	for i := range evs {
		m, err := encodeEvent(stream, &evs[i])
		if err != nil {
			return events.AppendResult{}, err
		}
		metas[i] = m
	}
	if err := s.checkOpen(); err != nil {
		return events.AppendResult{}, err
	}
	var err error
	for n := 0; n < s.opts.attempts; n++ {
		if n > 0 {
			if serr := s.sleep(ctx, n-1); serr != nil {
				return events.AppendResult{}, serr
			}
		}
		if n == 0 {
			if res, ok := s.appendFast(ctx, stream, expected, evs, metas); ok {
				s.appended()
				return res, nil
			}
			if err := ctx.Err(); err != nil {
				return events.AppendResult{}, err
			}
		}
		var res events.AppendResult
		res, err = s.appendOnce(ctx, stream, expected, evs, metas)
		if err == nil {
			s.appended()
			return res, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return events.AppendResult{}, cerr
		}
		if s.isClosed() {
			return events.AppendResult{}, events.ErrClosed
		}
		if !retryAppend(err) {
			return events.AppendResult{}, err
		}
		// Retrying is safe even when the failed attempt committed (its
		// acknowledgement lost): the retry finds its event IDs and answers
		// with the original result.
	}
	return events.AppendResult{}, fmt.Errorf("pgstore: append to %s: gave up after %d attempts: %w", stream, s.opts.attempts, err)
}

// retryAppend reports whether an append that failed with err should run
// again: the connection failed (the append may or may not have landed), or
// a concurrent writer that bypasses the store's lock got in first (the
// rerun sees what it wrote and decides again).
func retryAppend(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", codeOrder, codeChain: // unique_violation; the head moved under us
			return true
		}
	}
	return transient(err)
}

// encodeEvent checks what PostgreSQL cannot store as given and encodes the
// metadata as JSON. A type must be UTF-8 text without NUL (a text column);
// metadata strings must be UTF-8 (a json column); the payload may be any
// bytes (a bytea column).
func encodeEvent(stream string, e *events.EventData) ([]byte, error) {
	if !utf8.ValidString(e.Type) || strings.IndexByte(e.Type, 0) >= 0 {
		return nil, fmt.Errorf("%w: append to %s: event %s: its type is not UTF-8 text without NUL, which PostgreSQL stores; "+
			"name event types in printable text", events.ErrInvalidEvent, stream, e.ID)
	}
	m := &e.Metadata
	for _, f := range [...]struct{ name, v string }{
		{"actor", m.Actor}, {"organization", m.Organization}, {"on-behalf-of ID", m.OnBehalfOf.ID},
	} {
		if !utf8.ValidString(f.v) {
			return nil, fmt.Errorf("%w: append to %s: event %s: metadata %s is not UTF-8, which PostgreSQL stores; "+
				"pass UTF-8 text", events.ErrInvalidEvent, stream, e.ID, f.name)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: append to %s: event %s: metadata: %v", events.ErrInvalidEvent, stream, e.ID, err)
	}
	return b, nil
}

// head is a stream's last record, as the append reads it.
type head struct {
	exists   bool
	revision uint64
	hash     events.Hash
	sealed   bool
}

// stored is an earlier record with one of the append's event IDs.
type stored struct {
	stream   string
	revision uint64
	position events.Position
	rec      events.Record // type, schema version, data, metadata, hash: what SameContent compares
}

// appendOnce runs one attempt of an append in one transaction, in two
// round trips: BEGIN, the lock and the reads go in one pipeline; the
// inserts and COMMIT in another.
func (s *Store) appendOnce(ctx context.Context, stream string, expected events.ExpectedRevision, evs []events.EventData, metas [][]byte) (events.AppendResult, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return events.AppendResult{}, err
	}
	// A transaction that did not commit (a refusal, an idempotent answer,
	// a failure) is rolled back here; the pool drops a connection left
	// inside a transaction, so one that fails to roll back is never reused.
	defer conn.Release()
	inTx := false
	defer func() {
		if inTx && !conn.Conn().IsClosed() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
	}()
	inTx = true // BEGIN is the first statement lockAndRead sends
	h, found, err := s.lockAndRead(ctx, conn, stream, evs)
	if err != nil {
		return events.AppendResult{}, err
	}
	if res, done, err := idempotent(stream, h, evs, found); done {
		return res, err
	}
	if !s.opts.skipChecks {
		if h.exists && h.sealed {
			return events.AppendResult{}, &events.StreamSealedError{Stream: stream, SealedAt: h.revision}
		}
		if err := expected.Require(stream, h.revision, h.exists); err != nil {
			return events.AppendResult{}, err
		}
	}
	recs := s.chain(stream, h, evs)
	pos, err := s.insertAndCommit(ctx, conn, recs, metas)
	if err != nil {
		return events.AppendResult{}, s.insertError(stream, expected, err)
	}
	if err := s.commitAfterHook(ctx, conn); err != nil {
		return events.AppendResult{}, err
	}
	inTx = false
	last := &recs[len(recs)-1]
	s.remember(last)
	return events.AppendResult{Revision: last.Revision, Position: events.Position(pos), Hash: last.Hash}, nil
}

// lockAndRead opens the append's transaction, takes the stream's lock and
// reads the stream's head and the earlier records with evs' IDs, in one
// pipeline.
//
// The lock first, in a statement of its own: each later statement reads
// with a snapshot taken after the lock was granted, so it sees what the
// previous holder committed. The lock also assigns no transaction ID: the
// first insert does, after the previous holder committed, so this append's
// positions come after its predecessor's. READ COMMITTED whatever the
// server's default: a snapshot per statement is what makes the reads see
// past the lock.
func (s *Store) lockAndRead(ctx context.Context, conn *pgxpool.Conn, stream string, evs []events.EventData) (head, map[uuid.UUID]stored, error) {
	ids := make([]pgtype.UUID, len(evs)) // not uuid.UUID: pgx would send its text form
	for i := range evs {
		ids[i] = pgtype.UUID{Bytes: evs[i].ID, Valid: true}
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(s.sql.lock, stream, s.lockSeed)
	b.Queue(s.sql.head, stream)
	b.Queue(s.sql.ids, ids)
	br := conn.SendBatch(ctx, b)
	h, found, err := readDecisionInputs(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return h, found, err
}

// insertAndCommit inserts recs, with their encoded metadata, in one
// pipeline that ends with COMMIT unless a beforeCommit hook is set (then
// commitAfterHook commits). It returns the last row's position.
func (s *Store) insertAndCommit(ctx context.Context, conn *pgxpool.Conn, recs []events.Record, metas [][]byte) (int64, error) {
	b := &pgx.Batch{}
	for i := range recs {
		b.Queue(s.sql.insert, insertArgs(nil, &recs[i], metas[i])...)
	}
	if s.opts.beforeCommit == nil {
		b.Queue("COMMIT")
	}
	br := conn.SendBatch(ctx, b)
	var pos int64
	var err error
	for range recs {
		if err = br.QueryRow().Scan(&pos); err != nil {
			break
		}
	}
	if err == nil && s.opts.beforeCommit == nil {
		err = committed(br.Exec())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return pos, err
}

// commitAfterHook, when a beforeCommit hook is set, runs it between the
// inserts and the COMMIT, and then commits; without one, insertAndCommit
// has committed and it does nothing.
func (s *Store) commitAfterHook(ctx context.Context, conn *pgxpool.Conn) error {
	hook := s.opts.beforeCommit
	if hook == nil {
		return nil
	}
	hook(ctx)
	return committed(conn.Exec(ctx, "COMMIT"))
}

// chain computes the records evs become after the stream's head h, stamped
// with the store's clock.
func (s *Store) chain(stream string, h head, evs []events.EventData) []events.Record {
	now := s.opts.now().Truncate(time.Microsecond)
	var prev events.Hash
	next := uint64(0)
	if h.exists {
		prev, next = h.hash, h.revision+1
	}
	recs := make([]events.Record, len(evs))
	for i := range evs {
		recs[i] = events.NewRecord(stream, next+uint64(i), now, prev, evs[i])
		prev = recs[i].Hash
	}
	return recs
}

// insertArgs appends the parameters of r's row, in insertColumns' order.
// The metadata goes as text: in every query mode (even one that does not
// ask the server for parameter types first) pgx sends a string as is,
// where it would take bytes for bytea.
func insertArgs(args []any, r *events.Record, meta []byte) []any {
	return append(args, r.Stream, int64(r.Revision), pgtype.UUID{Bytes: r.ID, Valid: true}, r.Type,
		int32(r.SchemaVersion), r.RecordedAt, payload(r.Data), string(meta), r.PrevHash[:], r.Hash[:])
}

// committed checks COMMIT's outcome: a transaction that had failed ends
// with the tag ROLLBACK and no error.
func committed(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("pgstore: the transaction did not commit (%s)", tag)
	}
	return err
}

// readDecisionInputs reads the batch's BEGIN, lock, head and ID lookups.
func readDecisionInputs(br pgx.BatchResults) (head, map[uuid.UUID]stored, error) {
	var h head
	for range 2 { // BEGIN, the lock
		if _, err := br.Exec(); err != nil {
			return h, nil, err
		}
	}
	var (
		rev  int64
		typ  string
		hash []byte
	)
	switch err := br.QueryRow().Scan(&rev, &typ, &hash); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return h, nil, err
	default:
		h = head{exists: true, revision: uint64(rev), sealed: events.Seals(typ)}
		copy(h.hash[:], hash)
	}
	rows, err := br.Query()
	if err != nil {
		return h, nil, err
	}
	defer rows.Close()
	var found map[uuid.UUID]stored
	for rows.Next() {
		var (
			st   stored
			pos  int64
			ver  int32
			meta []byte
		)
		r := &st.rec
		var id pgtype.UUID
		if err := rows.Scan(&id, &st.stream, &rev, &pos, &r.Type, &ver, &r.Data, &meta, &hash); err != nil {
			return h, nil, err
		}
		r.ID = id.Bytes
		st.revision, st.position, r.SchemaVersion = uint64(rev), events.Position(pos), int(ver)
		copy(r.Hash[:], hash)
		if err := json.Unmarshal(meta, &r.Metadata); err != nil {
			return h, nil, &events.ChainError{Stream: st.stream, Revision: st.revision, Problem: "undecodable metadata", Err: err}
		}
		if found == nil {
			found = make(map[uuid.UUID]stored)
		}
		found[r.ID] = st
	}
	return h, found, rows.Err()
}

// idempotent decides an append some of whose event IDs were written
// before, as every Store does: done is false when none was. A retry of an
// earlier append (the same IDs, content, order and stream) returns the
// original result; any other reuse of an ID is ErrDuplicateEvent.
func idempotent(stream string, h head, evs []events.EventData, found map[uuid.UUID]stored) (events.AppendResult, bool, error) {
	if len(found) == 0 {
		return events.AppendResult{}, false, nil
	}
	first, seen := found[evs[0].ID]
	if !seen {
		for i := 1; i < len(evs); i++ {
			if _, dup := found[evs[i].ID]; dup {
				return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[i].ID, Reason: "the ID was already written"}
			}
		}
	}
	if first.stream != stream || !h.exists {
		return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[0].ID, Reason: "the ID was already written to another stream"}
	}
	for i := range evs {
		st, ok := found[evs[i].ID]
		rev := first.revision + uint64(i)
		if rev > h.revision {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[i].ID, Reason: "the append repeats earlier events and adds new ones"}
		}
		if !ok || st.stream != stream || st.revision != rev || !st.rec.SameContent(&evs[i]) {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[i].ID, Reason: "the ID was already written with other content"}
		}
		if i == len(evs)-1 {
			return events.AppendResult{Revision: rev, Position: st.position, Hash: st.rec.Hash}, true, nil
		}
	}
	panic("unreachable")
}

// insertError turns the insert guard's refusals into the store's typed
// errors. The store's own checks come first, so these reach a caller only
// when another client raced it without the store's lock, or in the tests
// that switch the store's checks off to show the database refuses alone.
func (s *Store) insertError(stream string, expected events.ExpectedRevision, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case codeSealed:
		at, _ := strconv.ParseUint(pe.Detail, 10, 64)
		return &events.StreamSealedError{Stream: stream, SealedAt: at}
	case codeGap:
		return &events.WrongExpectedRevisionError{Stream: stream, Expected: expected}
	case codeImmutable, codeOutOfSpace:
		return fmt.Errorf("pgstore: append to %s: %w", stream, err)
	}
	return err
}
