// Package fastpath says whether the library's fast paths are switched off
// for this process.
//
// Every fast path is a second implementation of something a general path
// already does: the per-type event codecs (events), the decoded events a
// store keeps beside the encoded ones (memstore, boltstore) and the
// election state cache (election). Each can be turned off in code (for
// example events.WithoutFastCodecs, election.Config.NoStateCache); setting
// the environment variable ELECTIONLEDGER_FAST_PATHS=off turns them all off
// at once, so the whole test suite can run a second time on the general
// paths alone (.ci/run does) and any difference fails a test.
package fastpath
