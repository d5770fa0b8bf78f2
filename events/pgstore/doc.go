// Package pgstore is the events.Store in PostgreSQL (13 or later; tested
// on 15), through github.com/jackc/pgx/v5: a ledger that many processes
// share, on a server most organisations already run and back up.
//
//	s, err := pgstore.Open(ctx, "postgres://ledger@db.example/ledger?ledger_schema=mips2024")
//
// Open creates the schema (default "electionledger"; WithSchema or the
// URL's ledger_schema parameter name another) and migrates it to
// SchemaVersion, one migrator at a time across processes; it refuses a
// schema a newer pgstore wrote (ErrSchemaTooNew). The schema holds one
// table, events: position, stream, revision, event ID, type, schema
// version, recorded time, the payload (bytea, exactly as appended), the
// metadata (json), and the previous and own hash. Anyone with SQL can read
// it; the hash chain is the events package's, so chain.VerifyChains and the
// auditor's tool verify it like any other store's.
//
// # Global positions that no reader can skip
//
// The classic design, positions from a sequence, loses events: a writer
// takes position 1,000, another takes 1,001 and commits first, a reader
// reads 1,001 and moves its checkpoint past 1,000, which commits a moment
// later and is never read. With 16 writers that design missed about a third
// of 10,000 events in this package's test (TestGapSafePositions, whose
// comment keeps the reproduction).
//
// Here a record's position is its inserting transaction's ID shifted left
// 20 bits, plus its index within the transaction: a trigger assigns it,
// whatever an insert asks for. Transaction IDs are also handed out in an
// order commits do not follow, so a reader reads only below the oldest
// transaction still running in its database, taken from the snapshot of
// the very statement that reads the rows: every transaction of the database
// below it has ended, so no row can ever appear below it later, and the
// rows below it are final. (Transactions that pg_stat_activity shows in
// other databases are left out of the bound: they cannot insert here. A
// role that cannot see other sessions' transaction IDs, without
// pg_read_all_stats, leaves none out and waits for the oldest transaction
// of the cluster.) Every reader and every subscriber therefore sees every
// committed event exactly once, all in one order, the same for all. The
// price is waiting: nothing can be read past a running transaction of the
// database. ReadAll reads up to the last event
// committed when it began, waiting (within milliseconds of their end) for
// older transactions still running; ReadBatch returns no records only when
// none is committed at its position or after; a subscriber delivers an
// event once every older transaction has ended. Appends are short, but a
// forgotten "idle in transaction" session that took a transaction ID stalls
// readers until it ends (set idle_in_transaction_session_timeout); it never
// costs them an event. Positions are large and sparse (a transaction ID
// times 2^20, plus an index); a checkpoint is still "the last position
// handled, plus one".
//
// Within a stream, positions must follow revisions. An append's
// transaction gets its ID only when it inserts, after it has seen the
// stream's previous event committed, so after that event's transaction
// took its own; the insert guard checks it for any client.
//
// # The database enforces the ledger
//
// A trigger on every insert refuses a row that would follow a sealing event
// (SQLSTATE EL001), skip a revision (EL002), not link to its predecessor's
// hash (EL003) or precede its predecessor in the log (EL004, retried); the
// primary key (stream, revision) refuses a fork and the event ID's unique
// index a repeated ID. Triggers refuse every UPDATE, DELETE and TRUNCATE
// (EL005). So a client with plain SQL and insert rights cannot append
// after a confirmation, fork or rewrite a chain, or change a record; what
// it inserts with a wrong hash, chain.VerifyChains reports. The store's own
// checks come first and its errors are the typed ones every Store returns
// (ErrStreamSealed, ErrWrongExpectedRevision, ErrDuplicateEvent); a
// refusal that only the database made (a client bypassing the store raced
// it) comes back typed too. Run services as a role with only the grants
// GrantSQL lists (USAGE, SELECT, INSERT: no UPDATE or DELETE, and not the
// table's owner, so it cannot drop or disable the triggers); the schema's
// owner, or a superuser, can still do anything.
//
// # Appends
//
// The general path is one transaction in two round trips: BEGIN, the
// stream's advisory lock, its head and any records with the append's event
// IDs in one pipeline; then the inserts and COMMIT. Idempotency, the seal
// and the expected revision are decided as in every Store, in that order.
//
// The fast path skips the reads when the store can tell the stream's head:
// NoStream (no head), Any on a stream it knows nothing of (a ledger's Any
// appends mostly start streams), or the head of a stream it appended to or
// read to the end recently. It sends the inserts, chained from that head,
// as one statement committed on its own: one round trip, no lock. The
// database checks exactly what the reads would have (the revision free,
// the event IDs new, the previous hash the predecessor's, the predecessor
// not sealing); a wrong guess fails the statement whole, writing nothing,
// and the append takes the general path, which gives the answer every
// Store gives. WithoutFastAppend turns it off; the tests run the suite,
// the gap test and the lost-acknowledgement test both ways.
//
// A transient failure (a dropped connection, a server restarting, a
// conflict with a client that bypassed the lock) is retried with backoff;
// a retry of an append whose commit landed but whose answer was lost
// finds its event IDs and returns the original result
// (TestLostCommitAcknowledgement drops the answer on purpose). Concurrent
// appends share PostgreSQL's own group commit of the WAL. Records are
// stamped with the store's clock (WithClock) truncated to the microsecond,
// PostgreSQL's precision, before they are hashed.
//
// Payloads are bytea: any bytes are stored exactly (quotes, NUL, control
// bytes, bytes that are not UTF-8). Types and metadata strings are text:
// an event type holding NUL, or metadata text that is not UTF-8, is refused
// with ErrInvalidEvent before anything is sent. Every value travels as a
// query parameter; the only names spliced into SQL are the schema's,
// quoted as an identifier.
//
// # Subscriptions
//
// A subscriber catches up in batches of 512 and then waits. It wakes at
// once for an append by its own store; for another process's append
// through LISTEN on a channel named after the schema; and at the latest
// after the poll interval (WithPollInterval, default 1s), which covers a
// lost notification and rows inserted by other clients. The NOTIFY is sent
// after the append commits, in a statement of its own shared by the
// appends of 5ms, asking for no WAL flush: inside the appending
// transaction it would make PostgreSQL serialize every such commit, fsync
// included, on its notification lock, and alone it still gets a
// transaction ID and a commit record of its own.
// When committed rows wait behind an older running transaction the
// subscriber reads again within milliseconds rather than waiting for a
// notification. A failed read (a dropped connection, a restarted server)
// is retried from the last delivered position, so nothing is skipped or
// repeated; the listener reconnects by itself. The subscription ends only
// when ctx ends, the store closes, or a read fails in a way no retry
// cures.
//
// # Connections
//
// The store reads rows in binary, so it needs a query mode in which pgx
// asks for them: the default (cache_statement), cache_describe, or, behind
// a transaction-pooling proxy such as PgBouncer, describe_exec; Open
// refuses simple_protocol and exec (ErrQueryMode) and a database not in
// UTF8 (ErrEncoding). Through a transaction-pooling proxy LISTEN does not
// reach the listener: subscribers then wake by polling alone. The pool
// holds 4 connections per processor, at least 16 (WithMaxConns, or the
// URL's pool_max_conns); a subscribing store opens one more, for LISTEN.
//
// # Testing
//
// The tests run against the server ELECTIONLEDGER_PG_URL names, each on a
// schema of its own (package pgtest), so packages may run at once. Without
// the variable they are skipped with a message, except in CI
// (ELECTIONLEDGER_CI set, as .ci/run sets it and starts a throwaway
// cluster), where a missing server fails them.
//
// # Measured
//
// On the 2-core reference machine, PostgreSQL 15 on the same machine, fsync
// and synchronous_commit on, single-event appends to new streams (go test
// ./events/pgstore -run '^$' -bench AppendWriters -benchtime 3000x), while
// other work loaded the machine: 510-1,430 appends/s with one writer (bound
// by each commit's flush), 1,480-4,940/s with 16 and 1,970-4,670/s with 64
// (bound by the two cores the server and the client share); the general
// path alone, 295-650, 1,990-2,600 and 2,020-2,460/s. Reading the log back
// through events.BatchReader: 82,000-149,000 records/s. BENCHMARKS.md has the
// registry batch, replay and full-year figures.
package pgstore
