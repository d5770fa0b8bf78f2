// Package boltstore is the embedded durable events.Store: the whole ledger
// in one bbolt file. It is the default store of the main job, the store
// audit tools replay, and the store of services that run on one machine.
//
// Appends are group-committed: one writer goroutine takes every append
// waiting at that moment and commits them in one transaction with one fsync.
// Each append is judged on its own (idempotency, seal, expected revision),
// so a refused append never fails the others in its group; only a failure
// of the file itself fails the group. An append with no group to join (none
// waiting, no commit running, the last commit a lone append) is committed at
// once in its caller's goroutine, the same commit as a group of one, so a
// lone writer pays nothing for group commit; appends arriving during that
// commit wait for the writer goroutine, which commits them together after
// it. Readers and subscribers use short read
// transactions of at most 512 records and never wait on a commit's fsync.
//
// The file layout (format 2): a meta bucket with the ledger's magic, format
// version and how many records the tree covers; the log (global position →
// record in events' canonical binary form, hash included); the stream index
// (stream, revision → position); stream heads (last revision, sealed flag,
// last hash); the event-ID index for idempotent appends; and the Merkle
// tree's stored hashes (tlog's layout), written in the same transaction as
// the records (chain.TreeStore; a record's position is its log index). A
// format 1 file is upgraded in place when opened for writing, its tree
// computed from its log. Open refuses a file of a newer format, a truncated
// file, an empty file, a directory and any file that is not a ledger, and
// reports a file another process holds with ErrInUse after a timeout. A new
// file is built beside its name and linked in whole, so a crash never
// leaves one that does not open.
//
// # Auditing a file
//
// ReadOnly opens a ledger without writing anything, under a shared lock.
// CheckFile reads a file's structure page by page without trusting it (no
// memory map), so a damaged page is reported by number instead of crashing
// the reader; Audit checks the file's own indexes (stream heads, which
// appends trust to chain and seal; the event-ID and stream indexes; the
// stored tree) against its log. Reads fault into ErrCorrupt rather than
// killing the process (debug.SetPanicOnFault).
//
// bbolt reads through a memory map it marks for random access, so a cold
// file would come in one small page read at a time. A read from the start
// of the log (a rebuild, an audit, a subscription from 0) therefore first
// starts reading the whole file ahead, sequentially, on its own goroutine,
// filling the page cache at the disk's sequential speed; Close stops it.
//
// # Measured
//
// On the 2-core reference machine, fsync on, single-event appends to new
// streams (go test ./events/boltstore -run '^$' -bench
// AppendWritersAlternating -benchtime 15x, which alternates this store with
// every append handed to the writer goroutine): 1,590-2,350 appends/s with
// one writer, 4,800-7,900 with 8 and 12,800-23,900 with 64, as the shared
// disk's flush time moved; a lone writer commits 1.02-1.07 times as fast
// as when handed off, as fast as one transaction per append. ReadAll
// replays 1.7 million decoded records per second from the file. See
// BENCHMARKS.md in the repository for the comparisons.
package boltstore
