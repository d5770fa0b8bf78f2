// Package chain makes a ledger's log verifiable by anyone: a Merkle tree
// over every record in log order (RFC 6962 hashing, from
// golang.org/x/mod/sumdb/tlog), signed checkpoints of the tree (the
// transparency-log checkpoint format in a signed note, Ed25519 keys, from
// golang.org/x/mod/sumdb/note), inclusion proofs for any record, consistency
// proofs between any two checkpoints, receipt proofs an elector checks
// offline, and a verifier that checks a whole log against all of it. This
// is the structure of Certificate Transparency, the Go checksum database
// and Sigstore's Rekor.
//
// # What each piece answers
//
// The per-stream hash chains (events.Record.Hash) catch a changed byte in a
// record. They cannot catch a record removed from the end of a stream, a
// stream removed whole, records reordered, or a record rewritten with every
// hash after it recomputed: the store stays consistent with itself. The
// tree can: its root commits to every record and to their order, so an
// auditor who keeps one signed checkpoint (Open, then Verify with
// VerifyOptions.Checkpoints, or a ConsistencyProof from the operator)
// detects any change to the history it covers. A record's leaf is LeafHash
// of its hash, which covers everything the record holds.
//
// A confirmation's receipt carries its log index (election.Receipt), so
// the elector can later get a ReceiptProof against any newer checkpoint and
// anyone can check it with the log's public key alone.
//
// # Stores
//
// memstore and boltstore keep the tree beside the log, updated by each
// append (TreeStore): checkpoints and proofs need no pass over the log.
// The tree of any other Store is computed from ReadAll (Build, TreeOf).
// Verify recomputes the tree from the records and compares it, hash by
// hash, with a TreeStore's stored one.
package chain
