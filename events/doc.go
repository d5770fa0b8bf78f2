// Package events is the ledger's vocabulary and log: participant identifiers
// (TIN, NPI, groups, individuals, virtual groups, APM Entities, program
// years), the event types with their stable wire names and schema versions,
// a per-instance type registry with upcasting, the record envelope with its
// SHA-256 hash chain, and the Store contract every backend meets.
//
// # Identifiers and PII
//
// A TIN may be a Social Security Number. TIN and Participant print masked
// ("*****6789") under every fmt verb, in errors and in slog; only
// TIN.Digits, Participant.QPPEntity and the JSON payload carry the full
// value. Stream names are derived with HMAC-SHA256 under a ledger key the
// caller supplies (StreamNamer), so no stream name holds a TIN.
//
// # The hash chain
//
// Each record's hash is SHA-256 over a canonical, length-prefixed encoding
// of its stream, revision, event ID, type, schema version, recorded time,
// payload bytes as stored, metadata and the previous record's hash (see
// Record.AppendCanonical). It is computed on append by the store and checked
// on read by Record.Verify, VerifyStream and ChainVerifier. The hash covers
// the payload bytes as stored, never a re-encoding, so a codec change cannot
// break verification. The design also covers the event ID and the recorded
// time: an auditor can then prove when something was decided, not only what.
//
// # Finality
//
// ElectionConfirmed seals its stream (Seals). Every Store refuses any later
// append with ErrStreamSealed, and ChainVerifier reports any record after a
// sealing one as a violation. No event type revokes or amends an election.
package events
