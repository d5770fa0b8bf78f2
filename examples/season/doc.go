// Command season simulates a whole MIPS program year on the ledger: a
// population of practices and clinicians with volumes around the low-volume
// threshold, eligibility from two segments and APM snapshots, elections by
// practice representatives, clinicians, registries in bulk and virtual
// groups (invalid and concurrent commands among them), scores, then a full
// rebuild of every projection and a hash-chain audit. It prints a summary a
// program analyst would read; progress goes to stderr.
//
//	go run ./examples/season                       # a temporary ledger file
//	go run ./examples/season -store memory -clinicians 100000 -seed 7
//	go run ./examples/season -store ledger.db      # keep the ledger file
//
// The same seed and size give the same summary (all but the performance
// section, which times this machine).
package main
