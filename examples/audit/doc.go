// Command audit audits a ledger the way an auditor would, on the library's
// own verification: every hash chain, every event's binding to its stream,
// the Merkle tree, and the ledger's rules as replay applies them (a
// confirmation with no request, an event after a confirmation). It keeps a
// signed checkpoint, shows a participant's status as of past dates, and
// proves the participant's confirmation in the checkpoint. On its demo
// ledger it then forges three copies (a byte changed, a confirmation
// forged with no request, the confirmation deleted and the file made
// consistent again) and shows each caught.
//
//	go run ./examples/audit          # writes a demo ledger (development key), audits it, forges copies
//	ELECTIONLEDGER_KEY=... go run ./examples/audit -ledger season.db -participant 100000000 -asof 2025-02-01
//
// A ledger file is opened read-only. For the full tool, see cmd/ledger.
package main
