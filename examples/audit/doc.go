// Command audit replays a ledger file the way an auditor would: it verifies
// every hash chain, shows a participant's status as of past dates, and then
// flips one byte of a stored event in a copy of the file to show that the
// tampering is caught, with the stream and revision where it happened.
//
//	go run ./examples/audit                        # audits a demo ledger it writes first
//	go run ./examples/audit -ledger season.db -participant 100000000 -asof 2025-02-01
package main
