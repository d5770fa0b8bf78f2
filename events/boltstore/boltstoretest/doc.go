// Package boltstoretest writes ledger files as earlier versions of
// boltstore wrote them, for the tests of code that must keep reading such
// files: boltstore reads a file of an older format as it is when opened
// read-only, and upgrades it in place when opened for writing.
//
// Downgrade turns a ledger file of the current format into format 1 (the
// log, the stream index, the stream heads and the event-ID index) or
// format 2 (format 1 and the Merkle tree's stored hashes in a bucket of
// their own), holding the same records. It is test support: it loads the
// whole log into memory.
package boltstoretest
