// Package esdbstore is the events.Store on EventStoreDB or KurrentDB
// (github.com/EventStore/EventStore-Client-Go/v4, package esdb): the backend
// for services that outgrow one machine.
//
// Events are stored as JSON, readable in the server's UI: the payload as
// data, and the ledger's envelope (schema version, revision, recorded time,
// who acted, for whom, the attestation, command and correlation IDs, and the
// hash chain) as custom metadata. Event IDs are the ledger's, so the server's
// own idempotent-append check applies too.
//
// How the client's sharp edges are handled:
//   - Every call carries a deadline (WithCallTimeout); subscriptions, which
//     are long-lived, are resumed after a drop instead.
//   - A client whose first connection failed, or whose rediscovery gave up,
//     is dead for good: the store builds a new one and retries.
//   - Transient failures are retried with backoff. Appends are retried
//     safely: the store appends at the exact revision whose hash it
//     computed, and on any doubt re-reads the stream's tail, where an append
//     that landed (its acknowledgement lost) is recognised by its event IDs
//     and answered with the original result: nothing is written twice.
//   - A wrong expected version arrives as an *esdb.Error with message text
//     only; the store reads the head instead and reports the actual revision.
//   - The client's default logger is replaced by a silent one (WithLogger).
//
// Sealing: the store refuses any append after a sealing event (it checks the
// stream's last event), and records the seal in the stream's metadata
// (SealedProperty) for operators and other clients.
//
// Event IDs are unique per stream in EventStoreDB: the same ID in another
// stream is not detected, so storetest runs with
// storetest.PerStreamIdempotency for this store. The ledger derives event
// IDs from command IDs, so only a reused command ID could reach that case.
//
// Run the conformance suite against a real server by setting
// ELECTIONLEDGER_ESDB_URL, e.g. esdb://localhost:2113?tls=false; see the
// README for starting KurrentDB.
package esdbstore
