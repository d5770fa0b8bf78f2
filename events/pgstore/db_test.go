package pgstore_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connect opens a plain SQL connection: what a client with no use for the
// store, or a hostile one, would have.
func connect(t testing.TB, connString string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// sqlState returns err's SQLSTATE, or "" if it has none.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// rawInsert inserts a well-formed row with plain SQL: the record r would
// be, hashed correctly, at the revision and after the hash it names.
func rawInsert(ctx context.Context, c *pgx.Conn, schema string, r events.Record) (int64, error) {
	meta, err := json.Marshal(r.Metadata)
	if err != nil {
		return 0, err
	}
	var pos int64
	err = c.QueryRow(ctx, `INSERT INTO `+pgx.Identifier{schema, "events"}.Sanitize()+
		` (position, stream, revision, event_id, type, schema_version, recorded_at, data, metadata, prev_hash, hash)
		 VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING position`,
		r.Stream, int64(r.Revision), r.ID, r.Type, r.SchemaVersion, r.RecordedAt, r.Data, meta, r.PrevHash[:], r.Hash[:]).Scan(&pos)
	return pos, err
}

// TestDatabaseRefusesWhatTheStoreWould: a client with plain SQL access
// cannot append after a seal, fork or skip a revision, break a chain link,
// choose its own position, or change or remove a recorded event; the
// store's records are unchanged afterwards and still verify.
func TestDatabaseRefusesWhatTheStoreWould(t *testing.T) {
	s := pgtest.Open(t)
	ctx := context.Background()
	c := connect(t, pgtest.URL(t))
	table := pgx.Identifier{s.Schema(), "events"}.Sanitize()

	sealedStream := "election-mips-2024-sealed"
	first := mustAppend(t, s, sealedStream, events.NoStream, event(0))
	seal := event(1)
	seal.Type = events.TypeElectionConfirmed
	sealed := mustAppend(t, s, sealedStream, events.Exact(0), seal)
	open := "election-mips-2024-open"
	opened := mustAppend(t, s, open, events.NoStream, event(0))
	before := readAll(t, s)

	now := time.Now().UTC().Truncate(time.Microsecond)
	after := func(stream string, rev uint64, prev events.Hash) events.Record {
		return events.NewRecord(stream, rev, now, prev, event(9))
	}
	cases := []struct {
		what string
		rec  events.Record
		code string
	}{
		{"an event after the seal", after(sealedStream, 2, sealed.Hash), "EL001"},
		{"a second sealing event", func() events.Record {
			r := after(sealedStream, 2, sealed.Hash)
			r.Type = events.TypeElectionConfirmed
			return r
		}(), "EL001"},
		{"an event past the seal, skipping a revision", after(sealedStream, 3, sealed.Hash), "EL002"},
		{"a fork of revision 1 of the sealed stream", after(sealedStream, 1, first.Hash), "23505"},
		{"a revision gap", after(open, 2, opened.Hash), "EL002"},
		{"a broken chain link", after(open, 1, sealed.Hash), "EL003"},
		{"revision 0 with a previous hash", after("election-new", 0, sealed.Hash), "EL003"},
	}
	for _, tc := range cases {
		if _, err := rawInsert(ctx, c, s.Schema(), tc.rec); sqlState(err) != tc.code {
			t.Errorf("%s: plain SQL insert: %v, want SQLSTATE %s", tc.what, err, tc.code)
		}
	}
	for what, q := range map[string]string{
		"update a payload":       `UPDATE ` + table + ` SET data = '\x7b7d'`,
		"update nothing at all":  `UPDATE ` + table + ` SET data = data`,
		"delete the seal":        `DELETE FROM ` + table + ` WHERE type = 'election.confirmed'`,
		"delete everything":      `DELETE FROM ` + table,
		"truncate":               `TRUNCATE ` + table,
		"upsert over a record":   `INSERT INTO ` + table + ` SELECT * FROM ` + table + ` ON CONFLICT (stream, revision) DO UPDATE SET data = 'x'`,
		"move a record's stream": `UPDATE ` + table + ` SET stream = 'elsewhere'`,
	} {
		if _, err := c.Exec(ctx, q); sqlState(err) != "EL005" {
			t.Errorf("%s: %v, want SQLSTATE EL005", what, err)
		}
	}

	// A plain insert that is allowed gets the position of its own
	// transaction, whatever it asked for.
	good := after(open, 1, opened.Hash)
	pos, err := rawInsert(ctx, c, s.Schema(), good)
	if err != nil {
		t.Fatalf("a well-formed plain insert: %v", err)
	}
	if pos == 1 || events.Position(pos) <= before[len(before)-1].Position {
		t.Fatalf("a plain insert asking for position 1 got %d, after the log's last %d", pos, before[len(before)-1].Position)
	}

	got := readAll(t, s)
	if len(got) != len(before)+1 {
		t.Fatalf("the log holds %d records, want %d", len(got), len(before)+1)
	}
	for i := range before {
		if got[i].Hash != before[i].Hash || string(got[i].Data) != string(before[i].Data) {
			t.Fatalf("record %d changed", i)
		}
	}
	if _, err := chain.VerifyChains(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// TestDatabaseSealComesBackTyped: with the store's own seal and revision
// checks switched off, the database alone refuses an append after a
// seal, and the store still returns the typed error.
func TestDatabaseSealComesBackTyped(t *testing.T) {
	s := pgtest.Open(t, pgstore.WithoutStoreChecks())
	stream := "election-mips-2024-x"
	mustAppend(t, s, stream, events.NoStream, event(0))
	seal := event(1)
	seal.Type = events.TypeElectionConfirmed
	mustAppend(t, s, stream, events.Exact(0), seal)
	_, err := s.Append(context.Background(), stream, events.Any, event(2))
	var se *events.StreamSealedError
	if !errors.Is(err, events.ErrStreamSealed) || !errors.As(err, &se) || se.SealedAt != 1 || se.Stream != stream {
		t.Fatalf("append after the seal with the store's checks off: %v, want *StreamSealedError sealed at 1", err)
	}
	if n := len(readAll(t, s)); n != 2 {
		t.Fatalf("the log holds %d records, want 2", n)
	}
}

// TestSealingTypesAgree: the insert guard seals after exactly the types
// events.Seals names.
func TestSealingTypesAgree(t *testing.T) {
	known := []string{events.TypeEligibilityDetermined, events.TypeElectionRequested, events.TypeElectionRequestWithdrawn,
		events.TypeElectionConfirmed, events.TypeAPMParticipationSnapshot, events.TypeVirtualGroupMembership,
		events.TypeScoreReported, "election.confirmed ", "Election.Confirmed", ""}
	for _, typ := range known {
		inGuard := false
		for _, s := range pgstore.SealingTypes {
			inGuard = inGuard || s == typ
		}
		if inGuard != events.Seals(typ) {
			t.Errorf("type %q: the insert guard seals %v, events.Seals says %v", typ, inGuard, events.Seals(typ))
		}
	}
}

// TestSchemaCreatedAndVersioned: the first Open creates the schema at
// SchemaVersion; later and concurrent Opens find it and change nothing; a
// schema from a newer pgstore is refused.
func TestSchemaCreatedAndVersioned(t *testing.T) {
	url, schema := pgtest.URL(t), pgtest.Schema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			s, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema))
			if err == nil {
				_, err = s.Append(ctx, "s-"+uuid.NewString(), events.NoStream, event(0))
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent first opens: %v", err)
		}
	}
	c := connect(t, url)
	versions := pgx.Identifier{schema, "ledger_schema"}.Sanitize()
	var n, v int
	if err := c.QueryRow(ctx, `SELECT count(*), max(version) FROM `+versions).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != pgstore.SchemaVersion || v != pgstore.SchemaVersion {
		t.Fatalf("the schema records %d steps up to version %d, want %d", n, v, pgstore.SchemaVersion)
	}
	if _, err := c.Exec(ctx, `INSERT INTO `+versions+` (version, description) VALUES ($1, 'from the future')`, pgstore.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema)); !errors.Is(err, pgstore.ErrSchemaTooNew) {
		t.Fatalf("open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestSchemaNames: any name PostgreSQL can hold works, quoted; others are
// refused before anything is sent.
func TestSchemaNames(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	for _, name := range []string{`Mixed Case "quoted"; DROP SCHEMA public; --`, "ünïcödé"} {
		t.Cleanup(func() { _ = pgtest.Drop(url, name) })
		s, err := pgstore.Open(ctx, url, pgstore.WithSchema(name))
		if err != nil {
			t.Fatalf("schema %q: %v", name, err)
		}
		mustAppend(t, s, "x", events.NoStream, event(0))
		if n := len(readAll(t, s)); n != 1 {
			t.Fatalf("schema %q holds %d records", name, n)
		}
		s.Close()
	}
	for _, name := range []string{"", strings.Repeat("x", 64), "a\x00b", "\xff"} {
		if _, err := pgstore.Open(ctx, url, pgstore.WithSchema(name)); !errors.Is(err, pgstore.ErrInvalidSchemaName) {
			t.Errorf("schema %q: %v, want ErrInvalidSchemaName", name, err)
		}
	}
}

// TestLeastPrivilegeRole: a role with only the grants GrantSQL gives
// appends, reads and subscribes, and can neither change the log nor its
// guard, nor create a schema of its own.
func TestLeastPrivilegeRole(t *testing.T) {
	owner := pgtest.Open(t)
	ctx := context.Background()
	admin := connect(t, pgtest.URL(t))
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Scheme == "" {
		t.Skip("the server's connection string is not a URL; this test builds another role's URL from it")
	}
	role := "pgtest_ledger_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := admin.Exec(ctx, `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN PASSWORD 'pgtest'`); err != nil {
		t.Fatalf("create a role (the test needs a server role that may): %v", err)
	}
	t.Cleanup(func() {
		for _, q := range []string{`DROP OWNED BY `, `DROP ROLE `} {
			if _, err := admin.Exec(ctx, q+pgx.Identifier{role}.Sanitize()); err != nil {
				t.Errorf("drop the role: %v", err)
			}
		}
	})
	for _, q := range pgstore.GrantSQL(owner.Schema(), role) {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	u.User = url.UserPassword(role, "pgtest")
	asRole := u.String()

	s, err := pgstore.Open(ctx, asRole, pgstore.WithSchema(owner.Schema()))
	if err != nil {
		t.Fatalf("open as the least-privilege role: %v", err)
	}
	defer s.Close()
	stream := "election-mips-2024-role"
	mustAppend(t, s, stream, events.NoStream, event(0))
	seal := event(1)
	seal.Type = events.TypeElectionConfirmed
	mustAppend(t, s, stream, events.Exact(0), seal)
	if _, err := s.Append(ctx, stream, events.Any, event(2)); !errors.Is(err, events.ErrStreamSealed) {
		t.Fatalf("append after the seal as the role: %v", err)
	}
	for r, err := range s.Subscribe(ctx, 0, events.Filter{}) {
		if err != nil || r.Stream != stream {
			t.Fatalf("subscribe as the role: %v %v", r.Stream, err)
		}
		break
	}
	c := connect(t, asRole)
	table := pgx.Identifier{owner.Schema(), "events"}.Sanitize()
	for what, q := range map[string]string{
		"update":          `UPDATE ` + table + ` SET data = data`,
		"delete":          `DELETE FROM ` + table,
		"truncate":        `TRUNCATE ` + table,
		"disable a guard": `ALTER TABLE ` + table + ` DISABLE TRIGGER events_insert_guard`,
		"drop the table":  `DROP TABLE ` + table,
	} {
		_, err := c.Exec(ctx, q)
		if code := sqlState(err); code != "42501" {
			t.Errorf("%s as the role: %v, want permission denied (42501)", what, err)
		}
	}
	if _, err := pgstore.Open(ctx, asRole, pgstore.WithSchema("pgtest_role_cannot_create")); err == nil || sqlState(err) != "42501" {
		t.Fatalf("create a schema as the role: %v, want permission denied", err)
	}
}

// TestREADMEShowsTheGrants: the least-privilege role the README shows is
// the one GrantSQL gives (and the test above checks).
func TestREADMEShowsTheGrants(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range pgstore.GrantSQL(pgstore.DefaultSchema, "ledger") {
		if !strings.Contains(string(readme), q+";") {
			t.Errorf("the README does not show %q", q)
		}
	}
}

// TestRefusesWhatTextCannotHold: an event type with NUL, or metadata text
// that is not UTF-8, cannot be kept exactly in text and json columns; the
// append is refused whole with ErrInvalidEvent, naming the event, and
// writes nothing. (Payload bytes are never refused: see storetest's
// HostilePayloads.)
func TestRefusesWhatTextCannotHold(t *testing.T) {
	s := pgtest.Open(t)
	ctx := context.Background()
	nulType := event(0)
	nulType.Type = "test\x00type"
	badType := event(0)
	badType.Type = "test\xfftype"
	badActor := event(0)
	badActor.Metadata.Actor = "\xff\xfe"
	badOrg := event(0)
	badOrg.Metadata.Organization = "org\xc3"
	badID := event(0)
	badID.Metadata.OnBehalfOf = events.Participant{Kind: events.KindAPMEntity, ID: "\xe2\x82"}
	for what, e := range map[string]events.EventData{"NUL in the type": nulType, "type not UTF-8": badType,
		"actor not UTF-8": badActor, "organization not UTF-8": badOrg, "on-behalf-of ID not UTF-8": badID} {
		_, err := s.Append(ctx, "refused", events.Any, event(1), e)
		if !errors.Is(err, events.ErrInvalidEvent) || !strings.Contains(err.Error(), e.ID.String()) {
			t.Errorf("%s: %v, want ErrInvalidEvent naming the event", what, err)
		}
	}
	if n := len(readAll(t, s)); n != 0 {
		t.Fatalf("refused appends wrote %d records", n)
	}
}

// TestFastPathWrongGuesses: a store whose guess of a stream's head is
// wrong (another store appended since, or the stream exists) writes
// nothing on the fast path and gives the general path's answer: the typed
// refusal, the append at the true head, or the original result of a retry.
func TestFastPathWrongGuesses(t *testing.T) {
	a := pgtest.Open(t)
	b, err := pgstore.Open(context.Background(), pgtest.URL(t), pgstore.WithSchema(a.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	stream := "election-mips-2024-guess"
	first := event(0)
	b0 := mustAppend(t, b, stream, events.NoStream, first) // b remembers revision 0
	mustAppend(t, a, stream, events.Exact(0), event(1))    // a moves the stream on

	var w *events.WrongExpectedRevisionError
	for _, n := range []int{1, 3} {
		evs := make([]events.EventData, n)
		for i := range evs {
			evs[i] = event(10 + i)
		}
		if _, err := b.Append(ctx, stream, events.NoStream, evs...); !errors.As(err, &w) || w.Actual != 1 {
			t.Fatalf("%d events at NoStream on an existing stream: %v, want wrong expected revision, actual 1", n, err)
		}
		if _, err := b.Append(ctx, stream, events.Exact(0), evs...); !errors.As(err, &w) || w.Actual != 1 {
			t.Fatalf("%d events at b's stale Exact(0): %v, want wrong expected revision, actual 1", n, err)
		}
	}
	if res := mustAppend(t, b, "another-"+stream, events.Any, event(5)); res.Revision != 0 {
		t.Fatalf("Any on a new stream landed at %d", res.Revision)
	}
	b.Close()
	b, err = pgstore.Open(ctx, pgtest.URL(t), pgstore.WithSchema(a.Schema())) // knows nothing
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if res := mustAppend(t, b, stream, events.Any, event(2), event(3)); res.Revision != 3 {
		t.Fatalf("Any guessed as a new stream landed at %d, want 3", res.Revision)
	}
	if again := mustAppend(t, b, stream, events.Any, first); again != b0 {
		t.Fatalf("a retry of the first append: %+v, want the original %+v", again, b0)
	}
	recs := readAll(t, a)
	if len(recs) != 5 {
		t.Fatalf("the log holds %d records, want 5", len(recs))
	}
	if _, err := chain.VerifyChains(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// TestRefusesNonUTF8Database: a database in another encoding could not
// hold every stream name and metadata string exactly; Open refuses it.
func TestRefusesNonUTF8Database(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Scheme == "" {
		t.Skip("the server's connection string is not a URL")
	}
	admin := connect(t, pgtest.URL(t))
	ctx := context.Background()
	db := "pgtest_latin1_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+db+` ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatalf("create a LATIN1 database (the test needs a role that may): %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(ctx, `DROP DATABASE `+db+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	u.Path = "/" + db
	if _, err := pgstore.Open(ctx, u.String()); !errors.Is(err, pgstore.ErrEncoding) {
		t.Fatalf("open on a LATIN1 database: %v, want ErrEncoding", err)
	}
}

// TestQueryModes: the store reads rows in binary, which pgx gives only in
// the extended-protocol modes that describe a statement first; a URL asking
// for another mode is refused at Open, and describe_exec (the mode for a
// transaction-pooling proxy) works.
func TestQueryModes(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Scheme == "" {
		t.Skip("the server's connection string is not a URL")
	}
	q := u.Query()
	for _, mode := range []string{"simple_protocol", "exec"} {
		q.Set("default_query_exec_mode", mode)
		u.RawQuery = q.Encode()
		if _, err := pgstore.Open(context.Background(), u.String()); !errors.Is(err, pgstore.ErrQueryMode) {
			t.Fatalf("open with %s: %v, want ErrQueryMode", mode, err)
		}
	}
	for _, mode := range []string{"describe_exec", "cache_describe"} {
		q.Set("default_query_exec_mode", mode)
		u.RawQuery = q.Encode()
		for _, opts := range paths {
			s, err := pgstore.Open(context.Background(), u.String(), append(opts, pgstore.WithSchema(pgtest.Schema(t)))...)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, "x", events.NoStream, event(0), event(1))
			mustAppend(t, s, "x", events.Exact(1), event(2))
			if n := len(readAll(t, s)); n != 3 {
				t.Fatalf("read %d records in %s mode, want 3", n, mode)
			}
			if _, err := chain.VerifyChains(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
}
