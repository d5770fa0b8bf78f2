package boltstore

import (
	"encoding/binary"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// upgradeBatch is how many records one upgrade transaction copies, so that
// upgrading a large file needs memory for a batch, not for the whole log.
const upgradeBatch = 50_000

// upgrade rewrites a file of format 1 or 2, opened for writing, as format
// 3, in place, so that a crash at any moment leaves a file of the old
// format or of the new one, never a mix:
//
//   - the format 3 log is built beside the old one, in a bucket no reader
//     of either format looks at (upgrade/log), a batch of records per
//     transaction: each record's stored form as it is, then its stored
//     tree hashes, a format 2 file's own (from its tree bucket) for the
//     records its tree covers and computed from the log for the others;
//   - one transaction then switches the file over: it removes the old log,
//     the stream heads (format 3 reads them from the stream index and the
//     log) and the tree bucket, moves the new log in the old one's place,
//     and writes format 3.
//
// A file of at most a batch is thus upgraded in two transactions, the
// second the switch. A crash before the switch leaves the old format and a
// partly built staging bucket, which the next upgrade removes and builds
// again. The upgrade refuses (ErrCorrupt, the file left in its format) a
// log with a gap, a record too short to hold its hash, a format 2 tree
// that lacks a hash its tree size covers, and a format 2 tree that covers
// more records than the log holds. The process holds the file's
// lock throughout, so nothing appends meanwhile.
func upgrade(db *bolt.DB, path string, format uint32, o *options) error {
	old := layoutOf(format)
	from := int64(0) // records copied
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			stage, err := stagingLog(tx, from == 0)
			if err != nil {
				return err
			}
			n, err := copyBatch(tx, stage, old, from, int64(o.upgradeBatch))
			done = n < from+int64(o.upgradeBatch)
			from = n
			return err
		})
		if err == nil {
			err = o.stage("upgrade: records copied")
		}
		if err != nil {
			return fmt.Errorf("boltstore: upgrade %s from format %d to %d: %w", path, format, FormatVersion, err)
		}
	}
	err := db.Update(func(tx *bolt.Tx) error {
		if err := switchFormat(tx, format, from); err != nil {
			return err
		}
		return o.stage("upgrade: switched") // before the commit: a test stops here
	})
	if err != nil {
		return fmt.Errorf("boltstore: upgrade %s from format %d to %d: %w", path, format, FormatVersion, err)
	}
	return nil
}

// stagingLog returns the bucket the format 3 log is built in; fresh: a new
// one, removing what an interrupted upgrade left.
func stagingLog(tx *bolt.Tx, fresh bool) (*bolt.Bucket, error) {
	if !fresh {
		return tx.Bucket([]byte(bUpgrade)).Bucket([]byte(bLog)), nil
	}
	if tx.Bucket([]byte(bUpgrade)) != nil {
		if err := tx.DeleteBucket([]byte(bUpgrade)); err != nil {
			return nil, err
		}
	}
	up, err := tx.CreateBucket([]byte(bUpgrade))
	if err != nil {
		return nil, err
	}
	return up.CreateBucket([]byte(bLog))
}

// copyBatch copies up to max records of the old log, from position from
// on, into stage in format 3, and returns the position after the last one
// copied.
func copyBatch(tx *bolt.Tx, stage *bolt.Bucket, old layout, from, max int64) (int64, error) {
	stage.FillPercent = 1.0 // appended in key order: full pages
	tree, err := old.treeSize(tx, 0)
	if err != nil {
		return from, err
	}
	var hashes []chain.Hash
	stored := old.treeHashes(tx)
	c := tx.Bucket([]byte(bLog)).Cursor()
	n := from
	for k, v := c.Seek(posKey(events.Position(from))); k != nil && n < from+max; k, v = c.Next() {
		if len(k) != 8 || binary.BigEndian.Uint64(k) != uint64(n) {
			return n, fmt.Errorf("%w: the log has no record at position %d; verify the file", ErrCorrupt, n)
		}
		rec, ok := old.record(uint64(n), v)
		if !ok {
			return n, fmt.Errorf("%w: the record at position %d is too short", ErrCorrupt, n)
		}
		if n < tree {
			hashes, err = oldHashes(stored, n, hashes[:0])
		} else {
			var h events.Hash
			copy(h[:], rec[len(rec)-hashSize:])
			hashes, err = chain.AppendStored(hashes[:0], n, chain.LeafHash(h), func(i int64) (chain.Hash, error) { return storedHash3(stage, i) })
		}
		if err != nil {
			return n, err
		}
		b := append(make([]byte, 0, len(rec)+hashSize*len(hashes)), rec...)
		for i := range hashes {
			b = append(b, hashes[i][:]...)
		}
		if err := stage.Put(posKey(events.Position(n)), b); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// oldHashes appends the stored hashes of record p as a format 2 file keeps
// them, in its tree bucket (read by stored).
func oldHashes(stored func(int64) (chain.Hash, error), p int64, dst []chain.Hash) ([]chain.Hash, error) {
	first := tlog.StoredHashIndex(0, p)
	for i := range int64(storedCount(uint64(p))) {
		h, err := stored(first + i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, h)
	}
	return dst, nil
}

// switchFormat makes a file whose format 3 log of records records is built
// (upgrade/log) a format 3 file, in one transaction. It refuses a format 2
// file whose tree covers more records than its log holds: records were
// removed from the log's end, which format 3, keeping no tree size, could
// no longer tell.
func switchFormat(tx *bolt.Tx, format uint32, records int64) error {
	up := tx.Bucket([]byte(bUpgrade))
	if up == nil || up.Bucket([]byte(bLog)) == nil {
		return fmt.Errorf("%w: the upgrade's new log is missing", ErrCorrupt)
	}
	tree, err := layoutOf(format).treeSize(tx, records)
	if err != nil {
		return err
	}
	if tree > records {
		return fmt.Errorf("%w: the stored tree covers %d records, the log holds %d: records were removed from the log; verify the file (read-only)", ErrCorrupt, tree, records)
	}
	for _, b := range bucketsOf(format) {
		if b == bLog || b == bHeads || b == bTree {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
	}
	if err := tx.MoveBucket([]byte(bLog), up, nil); err != nil {
		return err
	}
	if err := tx.DeleteBucket([]byte(bUpgrade)); err != nil {
		return err
	}
	meta := tx.Bucket([]byte(bMeta))
	if err := meta.Delete([]byte(kTree)); err != nil {
		return err
	}
	return meta.Put([]byte(kFormat), binary.BigEndian.AppendUint32(nil, FormatVersion))
}
