// Package events is the ledger's vocabulary and log: participant identifiers
// (TIN, NPI, groups, individuals, virtual groups, APM Entities, program
// years), the event types with their stable wire names and schema versions,
// a per-instance type registry with upcasting, the record envelope with its
// SHA-256 hash chain, and the Store contract every backend meets.
//
// # Identifiers and PII
//
// A TIN may be a Social Security Number. TIN and Participant print masked
// ("*****6789") under every fmt verb, in errors and in slog, and a TIN's
// text form (what encoding/json, slog's handlers and any generic encoder
// use, in a []TIN or a map keyed by TIN too) is masked; only TIN.Digits,
// Participant.QPPEntity and the payload codec carry the full value.
// Records and event data print without their payload. Errors that must
// describe a refused input withhold any run of digits that could be a TIN
// (RedactDigits). Stream names are derived with HMAC-SHA256 under a ledger
// key the caller supplies (StreamNamer), so no stream name holds a TIN.
//
// # Events bound to their streams
//
// An event of the ledger's own types is about one participant in one
// program year (Subject), and belongs in the stream the namer derives from
// them. StreamNamer.Bind checks that a record's payload, as its stored
// bytes decode, derives to the name of the stream it sits in;
// CheckStreamShape checks what needs no key (category, program, year).
// Replay (projection) and verification (chain) refuse an unbound record as
// a violation. A store that keeps decoded events beside their bytes
// (memstore) keeps only the copy Registry.Encode made of what it encoded,
// and only while the bytes are unchanged, so no reader is given a decoded
// value the hashed bytes do not produce.
//
// # The hash chain
//
// Each record's hash is SHA-256 over a canonical, length-prefixed encoding
// of its stream, revision, event ID, type, schema version, recorded time,
// payload bytes as stored, metadata and the previous record's hash (see
// Record.AppendCanonical). It is computed on append by the store and checked
// on read by Record.Verify and by package chain (StreamVerifier, VerifyStream,
// VerifyChains). The hash covers
// the payload bytes as stored, never a re-encoding, so a codec change cannot
// break verification. The design also covers the event ID and the recorded
// time: an auditor can then prove when something was decided, not only what.
//
// The per-stream chains catch a changed byte, but not a record removed from
// a stream's end, a stream removed whole or history rewritten with every
// hash recomputed: package chain adds the Merkle tree over the whole log,
// signed checkpoints and proofs that catch those.
//
// # Finality
//
// ElectionConfirmed seals its stream (Seals). Every Store refuses any later
// append with ErrStreamSealed, and chain.StreamVerifier reports any record after a
// sealing one as a violation. No event type revokes or amends an election.
package events
