// Package storekit is for the authors of an events.Store, apart from what
// the library's users import, as database/sql/driver sits apart from
// database/sql. A user of the ledger needs none of it.
//
// What every store shares:
//
//   - ValidateAppend: the arguments every Store refuses before it looks at
//     its data (a bad stream name, no events, an invalid event, an event
//     after a sealing one in the same append, an event ID repeated), each
//     with the typed error the contract names;
//   - PollAll, PollSubscribe and FillBatch: ReadAll, Subscribe and
//     events.BatchReader built from one function that reads a batch of the
//     log (Fill), so a store writes the read once and yields with no lock
//     held;
//   - DecodeStored: a record read back from its binary form
//     (events.Record.MarshalBinary), refused as a chain violation when it
//     does not decode or names another place.
//
// A record is built with events.NewRecord, which computes its hash and
// takes over the decoded payload events.Registry.Encode prepared (a store
// that keeps decoded payloads keeps it; the others let it go). The
// conformance suite every store must pass is events/storetest.
package storekit
