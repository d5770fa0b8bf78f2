// Package memstore is the in-memory events.Store: for test harnesses,
// examples, and services whose log fits in memory and need not survive a
// restart.
//
// Appends take one write lock and do no I/O; each stream keeps an index of
// its records' positions, so reading a stream never scans the global log.
// Records live in fixed chunks, so the log grows without copying what it
// holds, and payloads are copied one after another into 256 KB blocks, so
// an append allocates nothing of its own and a replay reads them in order.
// The stream index and the event-ID index are open-addressing tables. Readers copy a batch of records under a read lock and release it
// before yielding, so a loop body may append to the same store.
// Subscribers wait on a channel that the next append closes, and read by
// position, so under concurrent appends they neither miss nor repeat a
// record.
//
// The store keeps the Merkle tree over its log (chain.TreeStore): each
// append adds its record's leaf and the subtree roots it completes, about
// two hashes per record, so checkpoints and proofs need no pass over the
// log; a record's position is its log index. It keeps each event's decoded
// value for readers only when it is the copy Registry.Encode took of the
// bytes it encoded, and copies every payload a caller passes.
package memstore
