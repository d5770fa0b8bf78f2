package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/storekit"
	"github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"
)

// Batch sizes: how many records one query returns.
const (
	streamBatch    = 512  // ReadStream
	followBatch    = 512  // ReadAll and Subscribe
	bulkBatch      = 4096 // ReadBatch (rebuilds)
	filteredWindow = 4096 // rows a filtered subscription inspects per query
)

// statements are the store's SQL, with the schema quoted in. Every value
// is a parameter.
type statements struct {
	lock, head, ids, insert string
	stream, exists          string
	fill, fillFiltered      string
	beyond, between, last   string
	fastInsert              [maxFastEvents + 1]string // [n]: n rows
}

// columns are the columns a record is read from, in decoder.record's order.
const columns = `position, stream, revision, event_id, type, schema_version, recorded_at, data, metadata, prev_hash, hash`

// below is the upper bound of what a reader may read: the position of the
// oldest transaction still running in this database (or, when none is, of
// the next transaction to start). Every transaction of this database
// below it has ended, so no row can ever appear below it; rows at or above
// it wait for a later read. One statement, one snapshot: the bound and the
// rows agree.
//
// The snapshot lists the transactions running in the whole cluster. A
// transaction of another database can never insert into this table, so
// those that pg_stat_activity or pg_prepared_xacts show running in another
// database are left out: a long transaction elsewhere on the server does
// not stall this ledger's readers. (Without the privilege to see other
// sessions' transaction IDs, pg_read_all_stats, none is left out: readers
// then wait for the oldest transaction of the cluster, never less.)
var below = `(SELECT least(pg_snapshot_xmax(s.snap)::text::bigint, (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s.snap) AS x
	WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = xid(x) AND a.datname <> current_database())
	  AND NOT EXISTS (SELECT 1 FROM pg_prepared_xacts p WHERE p.transaction = xid(x) AND p.database <> current_database())))
	<< ` + strconv.Itoa(positionShift) + ` FROM (SELECT pg_current_snapshot() AS snap) s)`

func newStatements(schema string) statements {
	t := schema + ".events"
	st := statements{
		// The lock's key is a 64-bit hash of the stream's name, seeded with
		// the schema's ($2), so ledgers in other schemas do not share it;
		// two streams sharing a key only take turns.
		lock:   `SELECT pg_advisory_xact_lock(hashtextextended($1, $2))`,
		head:   `SELECT revision, type, hash FROM ` + t + ` WHERE stream = $1 ORDER BY revision DESC LIMIT 1`,
		ids:    `SELECT event_id, stream, revision, position, type, schema_version, data, metadata, hash FROM ` + t + ` WHERE event_id = ANY($1)`,
		insert: `INSERT INTO ` + t + ` ` + insertColumns + ` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING position`,
		stream: `SELECT ` + columns + ` FROM ` + t + ` WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
		exists: `SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE stream = $1)`,
		fill:   `SELECT ` + columns + ` FROM ` + t + ` WHERE position >= $1 AND position < ` + below + ` ORDER BY position LIMIT $2`,
		// A filtered read returns every row it inspects, so the reader
		// moves past those the filter refuses, but only the position of
		// those.
		fillFiltered: `SELECT position, ` + filteredColumns() + ` FROM (SELECT *, stream ^@ ANY($3::text[]) AS wanted FROM ` + t +
			` WHERE position >= $1 AND position < ` + below + ` ORDER BY position LIMIT $2) e ORDER BY position`,
		beyond:  `SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE position >= $1)`,
		between: `SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE position >= $1 AND position <= $2)`,
		last:    `SELECT coalesce(max(position), -1) FROM ` + t,
	}
	for n := 1; n <= maxFastEvents; n++ {
		st.fastInsert[n] = fastInsert(t, n)
	}
	return st
}

func filteredColumns() string {
	cols := strings.Split(columns, ", ")[1:]
	for i, c := range cols {
		cols[i] = "CASE WHEN wanted THEN " + c + " END"
	}
	return strings.Join(cols, ", ")
}

// binaryResults asks for every result column in binary form, which
// decoder.record reads.
var binaryResults = pgx.QueryResultFormats{pgx.BinaryFormatCode}

// binaryRows checks that a query's columns came in binary form, as asked.
func binaryRows(rows pgx.Rows) error {
	for _, fd := range rows.FieldDescriptions() {
		if fd.Format != pgx.BinaryFormatCode {
			return fmt.Errorf("pgstore: column %s came in text form; the store needs the extended protocol", fd.Name)
		}
	}
	return nil
}

// ReadStream implements events.Store. A name no Store takes
// (events.ValidateStreamName) names no stream: it yields ErrStreamNotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(events.Record{}, err)
			return
		}
		if err := s.checkOpen(); err != nil {
			yield(events.Record{}, err)
			return
		}
		if events.ValidateStreamName(stream) != nil {
			yield(events.Record{}, &events.StreamNotFoundError{Stream: stream})
			return
		}
		var (
			buf  []events.Record
			dec  decoder
			next = from
		)
		for first := true; ; first = false {
			var err error
			buf, err = s.query(ctx, buf[:0], &dec, s.sql.stream, stream, int64(min(next, 1<<63-1)), streamBatch)
			if err != nil {
				yield(events.Record{}, err)
				return
			}
			if len(buf) == 0 {
				if err := s.emptyReadErr(ctx, stream, from, first); err != nil {
					yield(events.Record{}, err)
				}
				return
			}
			next = buf[len(buf)-1].Revision + 1
			if len(buf) < streamBatch {
				s.remember(&buf[len(buf)-1])
			}
			for i := range buf { // no connection held: the body may append
				if !yield(buf[i], nil) {
					return
				}
			}
			if len(buf) < streamBatch {
				return
			}
		}
	}
}

// emptyReadErr is what ReadStream yields when a query of stream returns
// no record: nothing after the first query (the stream ended); on the
// first, a *events.StreamNotFoundError when the stream holds no record at
// all (every stream has a revision 0, so a read from 0 needs no second
// query), nothing when it holds records only before from.
func (s *Store) emptyReadErr(ctx context.Context, stream string, from uint64, first bool) error {
	if !first {
		return nil
	}
	if from == 0 {
		return &events.StreamNotFoundError{Stream: stream}
	}
	exists, err := s.streamExists(ctx, stream)
	if err != nil {
		return err
	}
	if !exists {
		return &events.StreamNotFoundError{Stream: stream}
	}
	return nil
}

// streamExists reports whether the stream holds any record.
func (s *Store) streamExists(ctx context.Context, stream string) (bool, error) {
	var exists bool
	err := s.retry(ctx, s.opts.attempts, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, s.sql.exists, stream).Scan(&exists)
	})
	return exists, err
}

// retry runs a read until it succeeds, fails for good, or attempts run out
// (attempts < 1: until ctx ends or the store closes). Reads write nothing,
// so any transient failure may be retried. A failure Close caused is
// ErrClosed.
func (s *Store) retry(ctx context.Context, attempts int, op func(ctx context.Context) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	lctx, cancel := s.withLife(ctx) // ends at Close too
	defer cancel()
	var err error
	for n := 0; attempts < 1 || n < attempts; n++ {
		if n > 0 {
			if serr := s.sleep(lctx, n-1); serr != nil {
				return s.lifeErr(ctx, serr)
			}
		}
		if err = op(lctx); err == nil {
			return nil
		}
		if lctx.Err() != nil || s.isClosed() {
			return s.lifeErr(ctx, err)
		}
		if !transient(err) {
			return err
		}
	}
	return fmt.Errorf("pgstore: gave up after %d attempts: %w", attempts, err)
}

// query runs a read of whole records and appends them to buf.
func (s *Store) query(ctx context.Context, buf []events.Record, dec *decoder, sql string, args ...any) ([]events.Record, error) {
	return s.queryAttempts(ctx, s.opts.attempts, buf, dec, sql, args...)
}

func (s *Store) queryAttempts(ctx context.Context, attempts int, buf []events.Record, dec *decoder, sql string, args ...any) ([]events.Record, error) {
	n := len(buf)
	err := s.retry(ctx, attempts, func(ctx context.Context) error {
		buf = buf[:n]
		rows, err := s.pool.Query(ctx, sql, append([]any{binaryResults}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := binaryRows(rows); err != nil {
			return err
		}
		for rows.Next() {
			r, err := dec.record(rows.RawValues())
			if err != nil {
				return err
			}
			buf = append(buf, r)
		}
		return rows.Err()
	})
	return buf, err
}

// ReadAll implements events.Store. It reads up to the last event
// committed when it began: if transactions older than that event are still
// running, it waits for them to end (their events, if any, come before it
// in the log), reading again within milliseconds.
func (s *Store) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	var (
		dec     decoder
		end     int64 = -2 // the last committed position when the read began; -2: not asked yet
		blocked int
	)
	return storekit.PollAll(ctx, from, func(buf []events.Record, next events.Position, _ events.Filter, _ bool) ([]events.Record, events.Position, <-chan struct{}, error) {
		if end == -2 {
			if err := s.retry(ctx, s.opts.attempts, func(ctx context.Context) error {
				return s.pool.QueryRow(ctx, s.sql.last).Scan(&end)
			}); err != nil {
				return buf, next, nil, err
			}
		}
		for {
			n := len(buf)
			var err error
			buf, next, err = s.fill(ctx, s.opts.attempts, &dec, buf, next, events.Filter{}, followBatch)
			if err != nil || len(buf) > n || next > events.Position(end) {
				return buf, next, nil, err
			}
			// Nothing readable at next, which is not past the end yet: done
			// unless committed events wait behind a running transaction.
			var waiting bool
			if err := s.retry(ctx, s.opts.attempts, func(ctx context.Context) error {
				return s.pool.QueryRow(ctx, s.sql.between, int64(next), end).Scan(&waiting)
			}); err != nil || !waiting {
				return buf, next, nil, err
			}
			if err := s.pause(ctx, &blocked); err != nil {
				return buf, next, nil, err
			}
		}
	})
}

// ReadBatch implements events.BatchReader: up to 4,096 records per call.
// It returns none only when no event is committed at from or after; if
// the events there wait behind a running transaction, it waits for it.
func (s *Store) ReadBatch(ctx context.Context, buf []events.Record, from events.Position) ([]events.Record, events.Position, error) {
	if err := ctx.Err(); err != nil {
		return buf, from, err
	}
	var dec decoder
	for blocked := 0; ; {
		n := len(buf)
		buf, next, err := s.fill(ctx, s.opts.attempts, &dec, buf, from, events.Filter{}, bulkBatch)
		if err != nil || len(buf) > n || next > 1<<63-1 {
			return buf, next, err
		}
		var waiting bool
		if err := s.retry(ctx, s.opts.attempts, func(ctx context.Context) error {
			return s.pool.QueryRow(ctx, s.sql.beyond, int64(from)).Scan(&waiting)
		}); err != nil || !waiting {
			return buf, next, err
		}
		if err := s.pause(ctx, &blocked); err != nil {
			return buf, next, err
		}
	}
}

// pause waits before reading again for events that wait behind a running
// transaction: 1ms, doubling up to the poll interval.
func (s *Store) pause(ctx context.Context, blocked *int) error {
	*blocked++
	select {
	case <-s.after(min(time.Millisecond<<min(*blocked-1, 10), s.opts.poll)):
		return s.checkOpen()
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ events.BatchReader = (*Store)(nil)

// Subscribe implements events.Store. A live subscription waits for this
// process's appends, for other processes' notifications (LISTEN), and at
// the latest for the poll interval. A failed query (a dropped connection,
// a restarted server) is retried, with backoff, from the last position
// delivered, so the subscriber sees no gap and no repeat; it ends only when
// ctx ends (ctx's error), the store closes (ErrClosed) or a read fails for
// a reason no retry cures.
func (s *Store) Subscribe(ctx context.Context, from events.Position, f events.Filter) iter.Seq2[events.Record, error] {
	var (
		dec     decoder
		blocked int // consecutive reads that found rows beyond the readable end
	)
	return storekit.PollSubscribe(ctx, from, f, func(buf []events.Record, next events.Position, f events.Filter, _ bool) ([]events.Record, events.Position, <-chan struct{}, error) {
		if err := s.listen(); err != nil {
			return buf, next, nil, err
		}
		// Taken before reading, so an append that lands after the read
		// has already closed it.
		wake := s.wake.wait()
		start := next
		buf, next, err := s.fill(ctx, 0, &dec, buf, next, f, followBatch)
		if err != nil || len(buf) > 0 || next != start {
			blocked = 0
			return buf, next, nil, err
		}
		// Nothing readable. If committed rows wait beyond the readable
		// end (an older transaction is still running), read again soon
		// rather than wait for a notification that transaction may never
		// send.
		var beyond bool
		if err := s.retry(ctx, 0, func(ctx context.Context) error {
			return s.pool.QueryRow(ctx, s.sql.beyond, int64(min(next, 1<<63-1))).Scan(&beyond)
		}); err != nil {
			return buf, next, nil, err
		}
		if beyond {
			blocked++
			return buf, next, s.after(min(time.Millisecond<<min(blocked, 10), s.opts.poll)), nil
		}
		blocked = 0
		return buf, next, wake, nil
	})
}

// fill reads the records at positions >= next, below the oldest running
// transaction, that f accepts: up to limit of them, or limit inspected. It
// returns them with the position to read next.
func (s *Store) fill(ctx context.Context, attempts int, dec *decoder, buf []events.Record, next events.Position, f events.Filter, limit int) ([]events.Record, events.Position, error) {
	if next > 1<<63-1 {
		return buf, next, s.checkOpen()
	}
	n := len(buf)
	if len(f.StreamPrefixes) == 0 || !serverFilterable(f) {
		var err error
		if buf, err = s.queryAttempts(ctx, attempts, buf, dec, s.sql.fill, int64(next), limit); err != nil || len(buf) == n {
			return buf, next, err
		}
		next = buf[len(buf)-1].Position + 1
		if len(f.StreamPrefixes) > 0 { // a filter the server cannot apply exactly
			kept := buf[:n]
			for _, r := range buf[n:] {
				if f.Accepts(r.Stream) {
					kept = append(kept, r)
				}
			}
			buf = kept
		}
		return buf, next, nil
	}
	err := s.retry(ctx, attempts, func(ctx context.Context) error {
		buf = buf[:n]
		last := next
		rows, err := s.pool.Query(ctx, s.sql.fillFiltered, binaryResults, int64(next), min(limit, filteredWindow), f.StreamPrefixes)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := binaryRows(rows); err != nil {
			return err
		}
		for rows.Next() {
			raw := rows.RawValues()
			if len(raw) > 1 && raw[1] == nil { // a row the filter refused: only its position
				p, err := int8Value(raw[0])
				if err != nil {
					return err
				}
				last = events.Position(p) + 1
				continue
			}
			r, err := dec.record(raw)
			if err != nil {
				return err
			}
			buf = append(buf, r)
			last = r.Position + 1
		}
		if err := rows.Err(); err != nil {
			return err
		}
		next = last
		return nil
	})
	return buf, next, err
}

// serverFilterable reports whether PostgreSQL can apply the filter exactly:
// its prefixes are UTF-8 text without NUL, as every stream name is. Any
// other prefix (say, the first byte of a two-byte character) is applied by
// the client.
func serverFilterable(f events.Filter) bool {
	for _, p := range f.StreamPrefixes {
		if !utf8.ValidString(p) || strings.IndexByte(p, 0) >= 0 {
			return false
		}
	}
	return true
}

// decoder turns rows in binary form into records. Payloads are copied
// into blocks of its own, one allocation per block rather than per record,
// each payload's capacity capped at its length.
type decoder struct {
	arena  []byte
	stream string // the last stream name, reused while rows share it
}

// pgEpochMicros is where PostgreSQL's timestamps count from
// (2000-01-01 UTC), in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

func (d *decoder) keep(b []byte) []byte {
	const block = 64 << 10
	if len(b) > block/4 {
		return append([]byte(nil), b...)
	}
	if cap(d.arena)-len(d.arena) < len(b) {
		d.arena = make([]byte, 0, block)
	}
	off := len(d.arena)
	d.arena = append(d.arena, b...)
	return d.arena[off:len(d.arena):len(d.arena)]
}

// record decodes one row of the columns listed in columns. A row that
// does not decode is a *events.ChainError for its stream and revision
// where they are known.
func (d *decoder) record(raw [][]byte) (events.Record, error) {
	var r events.Record
	if len(raw) != 11 {
		return r, fmt.Errorf("pgstore: a record row has %d columns, want 11", len(raw))
	}
	for i, v := range raw {
		if v == nil {
			return r, fmt.Errorf("pgstore: a record row has a NULL in column %d", i)
		}
	}
	bad := func(what string, err error) (events.Record, error) {
		return events.Record{}, &events.ChainError{Stream: r.Stream, Revision: r.Revision, Problem: "undecodable " + what, Err: err}
	}
	if string(raw[1]) != d.stream {
		d.stream = string(raw[1])
	}
	r.Stream = d.stream
	pos, err1 := int8Value(raw[0])
	rev, err2 := int8Value(raw[2])
	if err := firstErr(err1, err2); err != nil {
		return bad("position or revision", err)
	}
	r.Position, r.Revision = events.Position(pos), uint64(rev)
	if len(raw[3]) != 16 || len(raw[5]) != 4 || len(raw[6]) != 8 || len(raw[9]) != 32 || len(raw[10]) != 32 {
		return bad("column", fmt.Errorf("a fixed-size column has the wrong size"))
	}
	copy(r.ID[:], raw[3])
	r.Type = string(raw[4])
	r.SchemaVersion = int(int32(binary.BigEndian.Uint32(raw[5])))
	r.RecordedAt = time.UnixMicro(int64(binary.BigEndian.Uint64(raw[6])) + pgEpochMicros).UTC()
	r.Data = d.keep(raw[7])
	if err := json.Unmarshal(raw[8], &r.Metadata); err != nil {
		return bad("metadata", err)
	}
	if !r.Metadata.AttestedAt.IsZero() {
		r.Metadata.AttestedAt = r.Metadata.AttestedAt.UTC()
	}
	copy(r.PrevHash[:], raw[9])
	copy(r.Hash[:], raw[10])
	return r, nil
}

func int8Value(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("pgstore: a bigint of %d bytes", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
