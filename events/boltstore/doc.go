// Package boltstore is the embedded durable events.Store: the whole ledger
// in one bbolt file. It is the default store of the main job, the store
// audit tools replay, and the store of services that run on one machine.
//
// Appends are group-committed: one writer goroutine takes every append
// waiting at that moment and commits them in one transaction with one fsync.
// Each append is judged on its own (idempotency, seal, expected revision),
// so a refused append never fails the others in its group; only a failure
// of the file itself fails the group. Readers and subscribers use short read
// transactions of at most 512 records and never wait on a commit's fsync.
//
// The file layout: a meta bucket with the ledger's magic and format version;
// the log (global position → record in events' canonical binary form, hash
// included); the stream index (stream, revision → position); stream heads
// (last revision, sealed flag, last hash); and the event-ID index for
// idempotent appends. Open refuses a file of a newer format, a truncated
// file, an empty file and any file that is not a ledger, and reports a file
// another process holds with ErrInUse after a timeout.
package boltstore
