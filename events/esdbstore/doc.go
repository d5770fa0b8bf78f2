// Package esdbstore is the events.Store on EventStoreDB (22.6 or later) or
// KurrentDB (github.com/EventStore/EventStore-Client-Go/v4, package esdb,
// v4.2.0): the backend for services that outgrow one machine.
//
// Events are stored as JSON, readable in the server's UI: the payload as
// data, and the ledger's envelope (schema version, revision, recorded time,
// who acted, for whom, the attestation, command and correlation IDs, and the
// hash chain) as custom metadata. Event IDs are the ledger's.
//
// # Positions
//
// The server's log positions are byte offsets, and it refuses a read that
// starts inside a record. A record's Position here is twice its server
// position, and Position+1 (a checkpoint) means "just after it", so every
// read, page and subscription starts at a record's exact server position:
// see ServerPosition and LedgerPosition. A position that names no record
// is a *PositionError.
//
// # Appends
//
// The server's own idempotency is a retry check, not a constraint: with an
// exact expected revision equal to the stream's last it checks no event ID,
// and with Any it consults only a bounded cache. So an append reads the
// stream first, answers a repeat from the stored records, chains the
// events to the head it read and writes them expecting exactly that head,
// so that an append lands at most once and two writers never fork a chain.
// An ambiguous outcome (a timeout, a lost reply, a dropped connection) is
// resolved by the next attempt's read; an acknowledged write is read back,
// and the result (a confirmation's receipt) is always the stored record's.
// An append costs 3 round trips (a batch as much as one event, a sealing
// append too) and 3 to 5 requests; see docs/stores.md for the measured
// figures. An append with Any or StreamExists reads the stream back to the
// start when its events are new (one round trip per 512 events); one with
// an exact expected revision or NoStream reads the last 64 events and,
// when the stream has moved on, the place that revision names: an event ID
// reused more than 64 events deep with an exact expected revision is not
// recognised. Event IDs are unique per stream, not across streams: the
// store says so (IDsPerStream, events.IDScope), so that the conformance
// suite expects it and the election service binds a command's ID before it
// appends the command's events (the server would not refuse the ID reused
// in another stream).
//
// # Seals
//
// The store refuses any append after a sealing event, and records the seal
// in the stream's metadata (SealedProperty): read, changed and written back
// at the revision read, so nothing else in it is lost. When the connection
// string carries credentials, the seal also narrows the stream's ACL: only
// the ledger's writer role (WithWriterRole; by default the connection's
// user) may write the stream or its metadata, and only admins may delete
// it. A seal that cannot be recorded is a *SealError. Whatever the server
// still lets through (an admin, an --insecure server), ReadAll, Subscribe
// and Verify report as a *events.ChainError: an event in one of the
// ledger's streams that the ledger did not write, an event after a seal, a
// tombstoned, soft-deleted or truncated stream. Appends refuse such
// streams (*StreamDeletedError).
//
// # Connections
//
// Open connects and refuses a server older than MinServerVersion
// (*UnsupportedServerError); WithLazyConnect defers that to the first
// call. The client (v4.2.0) strands every other goroutine inside a client
// whose discovery fails, and panics when such a client is closed under
// them; so no two goroutines are ever inside one client: each call checks
// a connected client out of a small pool (WithMaxConnections) and uses it
// alone, a client left rediscovering or dead is closed rather than reused,
// and every call runs on a goroutine of its own so that its caller returns
// when its context ends or the store closes. Transient failures are
// retried with backoff (WithRetries); calls that still fail end with a
// *ConnectionError (ErrUnavailable). Close may be called from anywhere, a
// subscription's loop body included. Subscriptions, which the client does
// not resume, resubscribe from the last record they delivered, each on a
// connection of its own.
//
// Run the conformance suite against a real server by setting
// ELECTIONLEDGER_ESDB_URL, e.g. esdb://localhost:2113?tls=false; see the
// README.
package esdbstore
