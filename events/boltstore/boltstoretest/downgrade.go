package boltstoretest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrFormat: Downgrade was given a format it does not write, or a file
// that is not of the current format.
var ErrFormat = errors.New("boltstoretest: cannot downgrade")

// currentFormat is the format Downgrade reads: boltstore.FormatVersion
// when this package was written (a test of this package checks that they
// agree).
const currentFormat = 3

// Downgrade rewrites the ledger file at path, of the current format and
// open in no process, as the given earlier format (1 or 2), in one
// transaction: the same records at the same positions, each stream's head
// in the heads bucket (its last revision and hash, sealed when its last
// record seals it), and for format 2 the tree's stored hashes in the tree
// bucket with the tree size in the meta bucket.
func Downgrade(path string, format int) error {
	if format != 1 && format != 2 {
		return fmt.Errorf("%w: to format %d; it writes formats 1 and 2", ErrFormat, format)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("boltstoretest: downgrade %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		var f []byte
		if meta != nil {
			f = meta.Get([]byte("format"))
		}
		if len(f) != 4 || binary.BigEndian.Uint32(f) != currentFormat {
			return fmt.Errorf("%w: %s is not a ledger file of format %d", ErrFormat, path, currentFormat)
		}
		records, tree, err := splitLog(tx)
		if err != nil {
			return err
		}
		if err := writeHeads(tx); err != nil {
			return err
		}
		if format == 2 {
			if err := writeTree(tx, records, tree); err != nil {
				return err
			}
		}
		return meta.Put([]byte("format"), binary.BigEndian.AppendUint32(nil, uint32(format)))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boltstoretest: downgrade %s: %w", path, err)
	}
	return nil
}

// splitLog rewrites the log with each record alone, and returns how many
// records it holds and the stored tree hashes that followed them, in
// tlog's order.
func splitLog(tx *bolt.Tx) (int, [][]byte, error) {
	var keys, recs, tree [][]byte
	err := tx.Bucket([]byte("log")).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("%w: a malformed log key %x", ErrFormat, k)
		}
		p := int64(binary.BigEndian.Uint64(k))
		n := int(tlog.StoredHashIndex(0, p+1) - tlog.StoredHashIndex(0, p))
		if len(v) < 32*(n+1) {
			return fmt.Errorf("%w: the log entry at position %d is too short", ErrFormat, p)
		}
		at := len(v) - 32*n
		keys, recs = append(keys, bytes.Clone(k)), append(recs, bytes.Clone(v[:at]))
		for ; at < len(v); at += 32 {
			tree = append(tree, bytes.Clone(v[at:at+32]))
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	if err := tx.DeleteBucket([]byte("log")); err != nil {
		return 0, nil, err
	}
	log, err := tx.CreateBucket([]byte("log"))
	if err != nil {
		return 0, nil, err
	}
	for i := range keys {
		if err := log.Put(keys[i], recs[i]); err != nil {
			return 0, nil, err
		}
	}
	return len(keys), tree, nil
}

// writeHeads writes each stream's head, from its last stream-index entry
// and the record it names.
func writeHeads(tx *bolt.Tx) error {
	heads, err := tx.CreateBucket([]byte("heads"))
	if err != nil {
		return err
	}
	log := tx.Bucket([]byte("log"))
	last := map[string][]byte{} // stream → position of its last record
	if err := tx.Bucket([]byte("index")).ForEach(func(k, v []byte) error {
		if len(k) < 9 || k[len(k)-9] != 0 {
			return fmt.Errorf("%w: a malformed stream-index key %q", ErrFormat, k)
		}
		last[string(k[:len(k)-9])] = bytes.Clone(v)
		return nil
	}); err != nil {
		return err
	}
	for stream, pos := range last {
		var r events.Record
		if err := r.UnmarshalBinary(log.Get(pos)); err != nil {
			return fmt.Errorf("the last record of %s: %w", stream, err)
		}
		v := binary.BigEndian.AppendUint64(nil, r.Revision)
		if events.Seals(r.Type) {
			v = append(v, 1)
		} else {
			v = append(v, 0)
		}
		if err := heads.Put([]byte(stream), append(v, r.Hash[:]...)); err != nil {
			return err
		}
	}
	return nil
}

// writeTree writes format 2's tree bucket and tree size (the records it
// covers).
func writeTree(tx *bolt.Tx, records int, tree [][]byte) error {
	b, err := tx.CreateBucket([]byte("tree"))
	if err != nil {
		return err
	}
	for i, h := range tree {
		if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), h); err != nil {
			return err
		}
	}
	return tx.Bucket([]byte("meta")).Put([]byte("tree"), binary.BigEndian.AppendUint64(nil, uint64(records)))
}
