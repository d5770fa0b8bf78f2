// Command ledger is the electionledger auditor's tool. It verifies a
// ledger (every hash chain, every event's binding to its stream, the Merkle
// tree over the log, the store's own indexes, the ledger's rules, and
// consistency with a checkpoint the auditor kept), signs checkpoints, finds
// an election by its confirmation number and proves it is in the log (a
// receipt proof anyone can check offline), shows a participant's status as
// of any instant, and exports a program year's decisions.
//
//	ledger keygen -origin example.org/ledger -o ledger.key      # once, by the operator
//	ledger checkpoint -store season.db -sign-key ledger.key -o cp-2025-03.txt
//	ledger verify -store season.db -checkpoint cp-2025-03.txt -pubkey ledger.key.pub
//	ledger receipt -store season.db -confirmation 3f5a... -checkpoint cp.txt -pubkey ledger.key.pub -o receipt.json
//	ledger receipt -check receipt.json -pubkey ledger.key.pub  # anywhere, offline
//	ledger status -store season.db -participant 000456789 -year MIPS-2024 -asof 2025-02-01
//	ledger export -store season.db -year MIPS-2024 -format csv -o decisions.csv
//
// A ledger file is opened read-only (so a copy on read-only media will do)
// and, before anything maps it, its structure is checked page by page: a
// damaged file is reported with the damaged pages, never trusted to the
// database library. The tool works on every store the library has: a file,
// memory, an EventStoreDB/KurrentDB server (esdb:// ...) or a PostgreSQL
// database (postgres://...?ledger_schema=S).
//
// The ledger key, which derives every stream's name and so binds each event
// to its stream, is read from -key-file or the ELECTIONLEDGER_KEY
// environment variable; the tool has no key of its own. Checkpoints are
// signed with an Ed25519 key in the signed-note format (-sign-key or
// ELECTIONLEDGER_SIGNING_KEY) and verified with its public key (-pubkey).
//
// Exit status: 0 when everything verifies, 1 when something does not (each
// finding is printed on a line starting FINDING), 2 when the store cannot
// be opened or reached or the command line is wrong. -h prints a command's
// flags and exits 0. Long runs report progress on standard error.
package main
