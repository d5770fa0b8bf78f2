package boltstore

import (
	"github.com/electionledger/ledger/internal/fastpath"
	bolt "go.etcd.io/bbolt"
)

// WithArrayFreelist keeps bbolt's free-page list as a sorted array (bbolt's
// own default) instead of the hash map the store uses by default, which
// finds runs of free pages faster in a large file. The file is the same
// either way (the list is written to disk in one format); the tests run
// the conformance suite with both, and ELECTIONLEDGER_FAST_PATHS=off makes
// the array the default.
func WithArrayFreelist() Option { return func(o *options) { o.freelist = bolt.FreelistArrayType } }

// defaultFreelist is the map, unless fast paths are off.
func defaultFreelist() bolt.FreelistType {
	if fastpath.Off() {
		return bolt.FreelistArrayType
	}
	return bolt.FreelistMapType
}
