package boltstore

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// The Merkle tree over the log lives in it: every stored hash of tlog's
// layout (the record's leaf and the roots of the subtrees it completes,
// about two per record) is kept in the log value of the record whose
// append computed it, written in the same transaction as the record, so
// the stored tree always covers exactly the committed log. A record's log
// index is its position.

var _ chain.TreeStore = (*Store)(nil)

// TreeSize implements chain.TreeStore: the records the stored tree covers,
// the whole log except in a file of an older format opened read-only (a
// format 1 file keeps no tree; a format 2 file the records its tree
// covered).
func (s *Store) TreeSize(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, events.ErrClosed
	}
	return s.tree, nil
}

// ReadTreeHashes implements chain.TreeStore. Format 3 keeps stored hash i
// in the log value of the record whose append completed it (hashHome).
func (s *Store) ReadTreeHashes(ctx context.Context, indexes []int64) ([]chain.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	size, closed := s.tree, s.closed
	s.mu.Unlock()
	if closed {
		return nil, events.ErrClosed
	}
	count := tlog.StoredHashCount(size)
	out := make([]chain.Hash, len(indexes))
	err := s.view(func(tx *bolt.Tx) error {
		read := s.layout.treeHashes(tx)
		for k, i := range indexes {
			if i < 0 || i >= count {
				return fmt.Errorf("boltstore: stored hash %d of a tree of %d records: %w", i, size, chain.ErrTruncated)
			}
			var err error
			if out[k], err = read(i); err != nil {
				return fmt.Errorf("%s: %w", s.path, err)
			}
		}
		return nil
	})
	return out, err
}

// update runs a write transaction, turning a bbolt panic on a damaged page,
// or a memory fault in the mapped file, into ErrCorrupt.
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.Update(fn)
}
