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
//
// bbolt reads through a memory map it marks for random access, so a cold
// file would come in one small page read at a time. A read from the start
// of the log (a rebuild, an audit, a subscription from 0) therefore first
// starts reading the whole file ahead, sequentially, on its own goroutine,
// filling the page cache at the disk's sequential speed; Close stops it.
//
// # Measured
//
// On the 2-core reference machine (go test ./events/boltstore -run '^$'
// -bench . -benchtime 3000x for the appends, -benchtime 5x for ReadAll),
// fsync on, single-event appends to distinct streams:
//
//	writers   group commit    one transaction per append
//	1          1,470/s         1,850/s
//	8          4,890/s         1,600/s
//	64        22,800/s         1,700/s   (13x)
//
// A lone writer gains nothing (each append still waits for its fsync);
// the gain grows with the writers waiting at once. ReadAll replays 1.7
// million decoded records per second from the file.
package boltstore
