package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/electionledger/ledger/events"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SchemaVersion is the version of the database schema this package writes
// and reads. Open migrates an older schema up to it and refuses a newer one.
const SchemaVersion = 1

// DefaultSchema is the PostgreSQL schema the store lives in unless
// WithSchema names another.
const DefaultSchema = "electionledger"

// positionShift is how many low bits of a global position hold an event's
// index within its transaction; the bits above hold the transaction ID.
// 2^20 events per transaction, 2^43 transactions before the 63-bit
// position space runs out (about 28 years at 10,000 transactions/s).
const positionShift = 20

// The SQLSTATE codes the schema's triggers raise. PostgreSQL lets a
// function raise any five-character code; class EL is the ledger's.
const (
	codeOutOfSpace = "EL000" // the transaction ID or the index within it left the position space
	codeSealed     = "EL001" // an insert after a sealing event
	codeGap        = "EL002" // an insert whose previous revision is not there
	codeChain      = "EL003" // an insert whose previous hash is not its predecessor's hash
	codeOrder      = "EL004" // an insert whose position is not after its predecessor's (retry)
	codeImmutable  = "EL005" // an update, delete or truncate of recorded events
)

// migration is one step of the schema, applied in one transaction.
type migration struct {
	version     int
	description string
	sql         string // {{schema}} is the quoted schema name
}

// migrations are the schema's steps, in order. A released step is never
// edited: a change is a new step.
var migrations = [...]migration{{
	version:     1,
	description: "the events table, its position and chain guard, and immutability",
	sql: `
CREATE TABLE {{schema}}.events (
	position       bigint      NOT NULL,
	stream         text        NOT NULL,
	revision       bigint      NOT NULL,
	event_id       uuid        NOT NULL,
	type           text        NOT NULL,
	schema_version integer     NOT NULL,
	recorded_at    timestamptz NOT NULL,
	data           bytea       NOT NULL,
	metadata       json        NOT NULL,
	prev_hash      bytea       NOT NULL,
	hash           bytea       NOT NULL,
	CONSTRAINT events_stream_revision PRIMARY KEY (stream, revision),
	CONSTRAINT events_position UNIQUE (position),
	CONSTRAINT events_event_id UNIQUE (event_id),
	CONSTRAINT events_revision_check CHECK (revision >= 0),
	CONSTRAINT events_stream_check CHECK (octet_length(stream) BETWEEN 1 AND ` + strconv.Itoa(events.MaxStreamNameLen) + `),
	CONSTRAINT events_type_check CHECK (type <> ''),
	CONSTRAINT events_schema_version_check CHECK (schema_version BETWEEN 1 AND 65535),
	CONSTRAINT events_hash_check CHECK (octet_length(prev_hash) = 32 AND octet_length(hash) = 32)
);

COMMENT ON TABLE {{schema}}.events IS
	'electionledger: the append-only log. Rows are inserted by pgstore; triggers refuse an insert that would fork or extend a sealed stream, and every update, delete and truncate.';
COMMENT ON COLUMN {{schema}}.events.position IS
	'global position: (inserting transaction ID << 20) | index within the transaction; readers read only below the oldest running transaction, so none ever skips a committed row';
COMMENT ON COLUMN {{schema}}.events.data IS 'the payload exactly as appended (JSON for the ledger''s own events); the hash covers these bytes';
COMMENT ON COLUMN {{schema}}.events.metadata IS 'who acted, for whom, the attestation and the command, correlation and causation IDs (JSON); the hash covers its fields';
COMMENT ON COLUMN {{schema}}.events.hash IS 'SHA-256 over the record''s canonical encoding (events.Record.AppendCanonical), linking to prev_hash';

CREATE FUNCTION {{schema}}.events_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
	xid  bigint := pg_current_xact_id()::text::bigint;
	base bigint;
	top  bigint;
	prev record;
BEGIN
	IF xid >= (1::bigint << (63 - {{shift}})) THEN
		RAISE EXCEPTION 'transaction ID % is beyond the ledger''s position space', xid USING ERRCODE = '{{outOfSpace}}';
	END IF;
	-- The position is the transaction's, whatever the insert says.
	base := xid << {{shift}};
	SELECT max(e.position) INTO top FROM {{schema}}.events e
	 WHERE e.position >= base AND e.position < base + (1::bigint << {{shift}});
	NEW.position := coalesce(top + 1, base);
	IF NEW.position >= base + (1::bigint << {{shift}}) THEN
		RAISE EXCEPTION 'more than % events in one transaction', 1::bigint << {{shift}} USING ERRCODE = '{{outOfSpace}}';
	END IF;
	IF NEW.revision = 0 THEN
		IF NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
			RAISE EXCEPTION 'revision 0 must have a zero previous hash' USING ERRCODE = '{{chain}}';
		END IF;
		RETURN NEW;
	END IF;
	SELECT e.position, e.type, e.hash INTO prev FROM {{schema}}.events e
	 WHERE e.stream = NEW.stream AND e.revision = NEW.revision - 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'revision % needs revision % of its stream first', NEW.revision, NEW.revision - 1
			USING ERRCODE = '{{gap}}';
	END IF;
	IF prev.type IN ({{sealing}}) THEN
		RAISE EXCEPTION 'stream sealed by the event at revision %; nothing may follow a confirmed election', NEW.revision - 1
			USING ERRCODE = '{{sealed}}', DETAIL = (NEW.revision - 1)::text;
	END IF;
	IF prev.hash <> NEW.prev_hash THEN
		RAISE EXCEPTION 'previous hash of revision % is not the hash of revision %', NEW.revision, NEW.revision - 1
			USING ERRCODE = '{{chain}}';
	END IF;
	IF prev.position >= NEW.position THEN
		RAISE EXCEPTION 'revision % would precede revision % in the log; retry the transaction', NEW.revision, NEW.revision - 1
			USING ERRCODE = '{{order}}';
	END IF;
	RETURN NEW;
END
$fn$;

CREATE FUNCTION {{schema}}.events_immutable() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	RAISE EXCEPTION 'recorded events are immutable: % refused', TG_OP
		USING ERRCODE = '{{immutable}}', HINT = 'append a new event instead';
END
$fn$;

CREATE TRIGGER events_insert_guard BEFORE INSERT ON {{schema}}.events
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.events_insert_guard();
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON {{schema}}.events
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.events_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {{schema}}.events
	FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.events_immutable();
`,
}}

// sealingTypes are the event types that seal their stream, as events.Seals
// decides; the insert guard refuses anything after one. A test checks the
// two agree on every type the registry knows.
var sealingTypes = []string{events.TypeElectionConfirmed}

// render fills a migration's placeholders. Every value is either the
// schema name, quoted as an identifier, or a constant of this package
// quoted as a literal: nothing a caller passes reaches the DDL unquoted.
func (m migration) render(quotedSchema string) string {
	lits := make([]string, len(sealingTypes))
	for i, t := range sealingTypes {
		lits[i] = quoteLiteral(t)
	}
	return strings.NewReplacer(
		"{{schema}}", quotedSchema,
		"{{shift}}", strconv.Itoa(positionShift),
		"{{sealing}}", strings.Join(lits, ", "),
		"{{outOfSpace}}", codeOutOfSpace, "{{sealed}}", codeSealed, "{{gap}}", codeGap,
		"{{chain}}", codeChain, "{{order}}", codeOrder, "{{immutable}}", codeImmutable,
	).Replace(m.sql)
}

// quoteLiteral quotes s as a standard SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ErrSchemaTooNew is returned by Open when the database holds a schema
// written by a newer version of this package.
var ErrSchemaTooNew = errors.New("pgstore: the database schema is newer than this version of pgstore")

// ErrEncoding is returned by Open for a database whose encoding is not
// UTF8.
var ErrEncoding = errors.New("pgstore: the database is not UTF8")

// ErrInvalidSchemaName is returned by Open for a schema name PostgreSQL
// cannot hold.
var ErrInvalidSchemaName = errors.New("pgstore: invalid schema name")

// validateSchemaName checks a schema name: 1 to 63 bytes of UTF-8 with no
// NUL. Any other character is allowed; the name is always quoted.
func validateSchemaName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty; name a schema or leave the default %q", ErrInvalidSchemaName, DefaultSchema)
	case len(name) > 63:
		return fmt.Errorf("%w: %d bytes; PostgreSQL names hold at most 63", ErrInvalidSchemaName, len(name))
	case !utf8.ValidString(name) || strings.ContainsRune(name, 0):
		return fmt.Errorf("%w: not UTF-8 text without NUL", ErrInvalidSchemaName)
	}
	return nil
}

// migrateLockClass is the first key of the advisory lock that serializes
// migrations of one schema across processes ("EL" in ASCII).
const migrateLockClass = 0x454c

// migrate brings the schema up to SchemaVersion. When it already is there
// it only reads the version, so a role with no right to create anything
// (see the README's least-privilege role) opens a migrated schema.
func (s *Store) migrate(ctx context.Context) error {
	var enc string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('server_encoding')`).Scan(&enc); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if enc != "UTF8" {
		return fmt.Errorf("%w: the database's encoding is %s; stream names, types and metadata are UTF-8 text "+
			"(create the database with ENCODING 'UTF8')", ErrEncoding, enc)
	}
	v, err := s.schemaVersion(ctx, s.pool)
	if err == nil && v == SchemaVersion {
		return nil
	}
	if err == nil && v > SchemaVersion {
		return fmt.Errorf("%w: schema %s is at version %d, this pgstore knows up to %d; upgrade the program",
			ErrSchemaTooNew, s.schemaQuoted, v, SchemaVersion)
	}
	if err != nil && !isMissingSchema(err) {
		return fmt.Errorf("pgstore: read the schema version of %s: %w", s.schemaQuoted, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate %s: %w", s.schemaQuoted, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// One migrator at a time per schema; the others wait here and then
	// find the work done.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrateLockClass, s.schema); err != nil {
		return fmt.Errorf("pgstore: migrate %s: %w", s.schemaQuoted, err)
	}
	stmts := []string{
		`CREATE SCHEMA IF NOT EXISTS ` + s.schemaQuoted,
		`CREATE TABLE IF NOT EXISTS ` + s.schemaQuoted + `.ledger_schema (
			version     integer     PRIMARY KEY,
			description text        NOT NULL,
			applied_at  timestamptz NOT NULL DEFAULT now())`,
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return migrateError(s.schemaQuoted, err)
		}
	}
	if v, err = s.schemaVersion(ctx, tx); err != nil {
		return migrateError(s.schemaQuoted, err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: schema %s is at version %d, this pgstore knows up to %d; upgrade the program",
			ErrSchemaTooNew, s.schemaQuoted, v, SchemaVersion)
	}
	for _, m := range migrations {
		if m.version <= v {
			continue
		}
		if _, err := tx.Exec(ctx, m.render(s.schemaQuoted)); err != nil {
			return migrateError(s.schemaQuoted, fmt.Errorf("step %d: %w", m.version, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.schemaQuoted+`.ledger_schema (version, description) VALUES ($1, $2)`,
			m.version, m.description); err != nil {
			return migrateError(s.schemaQuoted, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return migrateError(s.schemaQuoted, err)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion reads the highest applied version (0: none yet).
func (s *Store) schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+s.schemaQuoted+`.ledger_schema`).Scan(&v)
	return v, err
}

// isMissingSchema reports whether err says the schema or its version table
// does not exist yet.
func isMissingSchema(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") // undefined_table, invalid_schema_name
}

func migrateError(schema string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		return fmt.Errorf("pgstore: the role may not create or migrate schema %s (run Open once as the schema's owner; "+
			"the ledger's own role needs only USAGE, SELECT and INSERT, see the README): %w", schema, err)
	}
	return fmt.Errorf("pgstore: migrate schema %s: %w", schema, err)
}
