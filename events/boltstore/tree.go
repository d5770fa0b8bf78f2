package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime/debug"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// The Merkle tree over the log lives beside it, in the tree bucket: every
// stored hash of tlog's layout (the record's leaf and the roots of the
// subtrees it completes, about two per record), written in the same
// transaction as the records, so the stored tree always covers exactly the
// committed log. A record's log index is its position.

var _ chain.TreeStore = (*Store)(nil)

// TreeSize implements chain.TreeStore: the records the stored tree covers,
// the whole log except in a format 1 file opened read-only (none).
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

// ReadTreeHashes implements chain.TreeStore.
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
		b := tx.Bucket([]byte(bTree))
		for k, i := range indexes {
			if i < 0 || i >= count || b == nil {
				return fmt.Errorf("boltstore: stored hash %d of a tree of %d records: %w", i, size, chain.ErrTruncated)
			}
			v := b.Get(treeKey(i))
			if len(v) != len(out[k]) {
				return fmt.Errorf("%w: %s: stored hash %d is missing or not a hash", ErrCorrupt, s.path, i)
			}
			copy(out[k][:], v)
		}
		return nil
	})
	return out, err
}

// catchUpBatch is how many records one catch-up transaction adds to the
// tree.
const catchUpBatch = 50_000

// catchUpTree computes the stored tree for the records it does not cover
// yet: every record of a file upgraded from format 1, or those an older
// writer appended. It reads each record's hash (the last 32 bytes of its
// stored form) in position order.
func (s *Store) catchUpTree() error {
	for s.tree < int64(s.next) {
		from := s.tree
		var to int64
		err := s.update(func(tx *bolt.Tx) error {
			w := newTxWriter(tx)
			c := w.log.Cursor()
			n := from
			for k, v := c.Seek(posKey(events.Position(from))); k != nil && n < from+catchUpBatch; k, v = c.Next() {
				if len(k) != 8 || binary.BigEndian.Uint64(k) != uint64(n) {
					return fmt.Errorf("%w: %s: the log has no record at position %d; verify the file", ErrCorrupt, s.path, n)
				}
				var h events.Hash
				if len(v) < len(h) {
					return fmt.Errorf("%w: %s: the record at position %d is too short", ErrCorrupt, s.path, n)
				}
				copy(h[:], v[len(v)-len(h):])
				if err := w.grow(events.Position(n), h); err != nil {
					return err
				}
				n++
			}
			to = n
			return w.setTreeSize(events.Position(n))
		})
		if err != nil {
			return err
		}
		if to == from {
			return fmt.Errorf("%w: %s: the log ends at %d, its last key says %d", ErrCorrupt, s.path, from, s.next)
		}
		s.tree = to
	}
	return nil
}

// update runs a write transaction, turning a bbolt panic on a damaged page,
// or a memory fault in the mapped file, into ErrCorrupt.
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.Update(fn)
}
