// Package hashtab is the library's one open-addressing hash table, used
// wherever a hot path looks keys up millions of times: the in-memory
// store's stream and event-ID indexes, the hash-chain verifier's stream
// tips and the read models' participant catalog.
//
// # Design
//
// A Table maps 64-bit hashes to 32-bit indexes into a slice the caller
// keeps (its streams, its chain tips, its participants): the table holds no
// keys. A slot is 8 bytes, a tag (the low 32 bits of the key's hash, never
// zero) and the index, so eight slots share a cache line, and a lookup
// usually reads one slot and then the caller's entry. The slot a hash
// starts at is its top bits (Fibonacci-style: the caller's hash must mix
// its key well, as hash/maphash does); collisions go to the next slot
// (linear probing), and the table doubles before it is half full, so
// probes stay short. Entries are never removed.
//
// The caller walks the probe with a Cursor and compares its own keys: the
// table calls nothing back on a lookup, so the loop inlines and no key is
// copied. Only growth needs the hashes of the entries already in the
// table, and asks for them with a function.
//
// Prefetch reads the starting slots of many hashes in a loop of its own,
// before the lookups that need them, so their cache misses overlap instead
// of coming one lookup at a time (the replay of a large log spends most of
// its time waiting on such misses).
//
// A Go map would serve every use (the tests hold the table to one); it is
// slower here because it hashes the key itself on every lookup, keeps
// whole keys in its slots and cannot be warmed ahead of a batch.
package hashtab
