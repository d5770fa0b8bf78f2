// Package boltstore is the embedded durable events.Store: the whole ledger
// in one bbolt file. It is the default store of the main job, the store
// audit tools replay, and the store of services that run on one machine.
//
// Appends are group-committed: one writer goroutine takes every append
// waiting at that moment and commits them in one transaction with one fsync.
// Each append is judged on its own (idempotency, seal, expected revision),
// so a refused append never fails the others in its group (an append that
// reads a damaged record, its stream's last or the one its event ID names,
// is refused alone, with ErrCorrupt); only a failure of the file itself
// (a write, a commit) fails the group. An append with no group to join (none
// waiting, no commit running, the last commit a lone append) is committed at
// once in its caller's goroutine, the same commit as a group of one, so a
// lone writer pays nothing for group commit; appends arriving during that
// commit wait for the writer goroutine, which commits them together after
// it. Readers and subscribers use short read
// transactions of at most 512 records and never wait on a commit's fsync.
//
// The file layout (format 3, FormatVersion): a meta bucket with the
// ledger's magic and format version; the log (global position → the
// record in events' canonical binary form, hash included, then the Merkle
// tree's stored hashes its append computed: its leaf and the root of each
// subtree it completes, tlog's layout, so the stored tree is written in
// the same transaction as the records and always covers the log:
// chain.TreeStore, a record's position its log index); the stream index
// (stream, revision → position), whose last entry for a stream and the
// record it names are the stream's head (its last revision and hash,
// sealed when that record's type seals it, events.Seals); and the
// event-ID index for idempotent appends. An append thus rewrites three
// leaves (the log's last, one of the stream index's and one of the ID
// index's) and their branches, where format 2, with the heads and the
// tree in buckets of their own, rewrote five. A file of format 1 (no
// tree) or 2 opened read-only is read as it is; opened for writing it is
// upgraded in place: the new log is built beside the old one, in batches,
// then one transaction switches the file over, so a crash leaves one
// format or the other, never a mix. Open refuses a file of a newer format,
// a truncated file, an empty file, a directory and any file that is not a
// ledger, and reports a file another process holds with ErrInUse after a
// timeout. A new file is built beside its name and linked in whole, so a
// crash never leaves one that does not open.
//
// # Auditing a file
//
// ReadOnly opens a ledger without writing anything, under a shared lock.
// CheckFile reads a file's structure page by page without trusting it (no
// memory map), so a damaged page is reported by number instead of crashing
// the reader; Audit checks the file's own indexes (the stream heads as
// appends read them to chain and seal; the event-ID and stream indexes;
// the stored tree) against its log. Reads fault into ErrCorrupt rather than
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
// every append handed to the writer goroutine): 2,800-3,140 appends/s with
// one writer, 8,700-10,100 with 8 and 27,100-35,000 with 64, as the shared
// disk's flush time moved; a lone writer commits 1.01-1.12 times as fast
// as when handed off. A lone writer's append writes 10.7 pages (43.7 KB,
// counted with fsync off) on a new file and 12.3 (50.2 KB) on a file of
// 20,000 records, and runs at 1.07 times the speed of a plain bbolt
// transaction writing the same record (median of twenty runs, 0.98-1.17). ReadAll replays 1.2-2.2
// million decoded records per second from the file (600-820 ns of CPU a
// record). See BENCHMARKS.md in the repository for the comparisons.
package boltstore
