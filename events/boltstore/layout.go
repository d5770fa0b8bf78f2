package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// FormatVersion is the on-disk format this library writes; it reads every
// format up to it. Format 2 added the Merkle tree's stored hashes (a tree
// bucket of their own). Format 3 keeps each record's stored hashes beside
// it, in its log value, and no stream heads: a stream's head is read from
// the stream index and the log. A file of format 1 or 2 opened for writing
// is upgraded in place (see upgrade); opened read-only it is read as it
// is.
const FormatVersion = 3

const magic = "electionledger"

// Bucket names.
const (
	bMeta  = "meta"  // magic, format; format 2 also the tree size
	bLog   = "log"   // position (8, big-endian) → record (events.Record binary form); format 3: then its stored tree hashes
	bIndex = "index" // stream 0x00 revision (8) → position (8)
	bIDs   = "ids"   // event ID (16) → position (8)
	bHeads = "heads" // formats 1 and 2: stream → last revision (8), sealed (1), last hash (32)
	bTree  = "tree"  // format 2: stored-hash index (8, tlog's layout) → hash (32)
	// bUpgrade holds the format 3 log while an upgrade builds it; no
	// reader of any format looks at it.
	bUpgrade = "upgrade"
)

// Meta keys.
const (
	kMagic  = "magic"
	kFormat = "format"
	kTree   = "tree" // format 2: how many records the tree covers (8)
)

// bucketsOf lists the buckets a file of the given format must have,
// besides meta.
func bucketsOf(format uint32) []string {
	switch format {
	case 1:
		return []string{bLog, bIndex, bHeads, bIDs}
	case 2:
		return []string{bLog, bIndex, bHeads, bIDs, bTree}
	default:
		return []string{bLog, bIndex, bIDs}
	}
}

// A layout reads what the formats keep differently: a record within its
// log value, a stream's head, and the Merkle tree's stored hashes. Every
// read of them goes through the layout of the file's format (layoutOf);
// the store writes format 3 only (a file of an older format opened for
// writing is upgraded first).
type layout interface {
	// record returns the record's stored form (events.Record binary form)
	// within v, the log's value at position p; false when v is too short
	// to hold one.
	record(p uint64, v []byte) ([]byte, bool)
	// head returns stream's head as the file has it: its last revision
	// and hash, and whether it is sealed.
	head(tx *bolt.Tx, stream string) (head, error)
	// storedHeads returns how many stream heads the file stores, false
	// when it stores none (format 3 reads them from the index).
	storedHeads(tx *bolt.Tx) (int, bool)
	// treeSize returns how many records the stored tree covers, in a file
	// whose log holds logLen records.
	treeSize(tx *bolt.Tx, logLen int64) (int64, error)
	// treeHashes returns a reader of the stored hashes in tx: the hash at
	// index i (tlog's layout), i below tlog.StoredHashCount(treeSize).
	// Consecutive indexes are read fastest.
	treeHashes(tx *bolt.Tx) func(i int64) (chain.Hash, error)
}

// layoutOf returns the layout of a file of the given format.
func layoutOf(format uint32) layout {
	if format >= 3 {
		return layout3{}
	}
	return layoutLegacy{tree: format == 2}
}

// head is a stream's head: what an append needs to chain on and to refuse
// an append after a seal.
type head struct {
	last   uint64
	exists bool
	sealed bool
	hash   events.Hash
}

// layout3 is format 3: the log's value for position p is the record then
// the tree's stored hashes that record p adds (storedCount(p) of them:
// tlog.StoredHashIndex(0, p) up to StoredHashIndex(0, p+1)), and a
// stream's head is its last stream-index entry and the record it names.
type layout3 struct{}

func (layout3) record(p uint64, v []byte) ([]byte, bool) {
	n := hashSize * storedCount(p)
	if len(v) < n+hashSize+2 { // the hashes, a record's hash and at least its version and stream
		return nil, false
	}
	return v[:len(v)-n], true
}

func (layout3) head(tx *bolt.Tx, stream string) (head, error) {
	return head3(tx.Bucket([]byte(bIndex)), tx.Bucket([]byte(bLog)), stream)
}

func (layout3) storedHeads(*bolt.Tx) (int, bool) { return 0, false }

func (layout3) treeSize(_ *bolt.Tx, logLen int64) (int64, error) { return logLen, nil }

// treeHashes reads each hash from the log value that keeps it, walking
// the log with a cursor: consecutive indexes are kept by the same record or
// the next (hashHome).
func (layout3) treeHashes(tx *bolt.Tx) func(i int64) (chain.Hash, error) {
	c := tx.Bucket([]byte(bLog)).Cursor()
	var key [8]byte
	last, v := int64(-1), []byte(nil)
	return func(i int64) (chain.Hash, error) {
		p, level := hashHome(i)
		if p != last {
			var k []byte
			if p == last+1 && last >= 0 {
				k, v = c.Next()
			} else {
				binary.BigEndian.PutUint64(key[:], uint64(p))
				k, v = c.Seek(key[:])
			}
			if len(k) != 8 || binary.BigEndian.Uint64(k) != uint64(p) {
				last = -1
				return chain.Hash{}, fmt.Errorf("%w: the log lacks the record at position %d that keeps stored hash %d", ErrCorrupt, p, i)
			}
			last = p
		}
		return hashIn(v, p, level, i)
	}
}

// hashSize is the size of a stored tree hash (and of a record's hash).
const hashSize = len(chain.Hash{})

// storedCount is how many stored hashes record p adds to the tree: its
// leaf, and the root of each subtree it completes (one per trailing one
// bit of p).
func storedCount(p uint64) int { return 1 + bits.TrailingZeros64(^p) }

// hashHome returns where format 3 keeps stored hash i: in the log value of
// the record p whose append completed it (the last leaf under it), as the
// level-th of that record's stored hashes. tlog's index i names the node
// at (level, n), which covers the leaves n·2^level to (n+1)·2^level - 1.
func hashHome(i int64) (p int64, level int) {
	level, n := tlog.SplitStoredHashIndex(i)
	return (n+1)<<level - 1, level
}

// storedHash3 reads stored hash i from the log value that keeps it.
func storedHash3(log *bolt.Bucket, i int64) (chain.Hash, error) {
	p, level := hashHome(i)
	return hashIn(log.Get(posKey(events.Position(p))), p, level, i)
}

// hashIn returns stored hash i, the level-th of those kept in v, record
// p's log value.
func hashIn(v []byte, p int64, level int, i int64) (chain.Hash, error) {
	var h chain.Hash
	n := storedCount(uint64(p))
	if len(v) < (n+1)*hashSize {
		return h, fmt.Errorf("%w: the log lacks the record at position %d that keeps stored hash %d", ErrCorrupt, p, i)
	}
	at := len(v) - (n-level)*hashSize
	copy(h[:], v[at:at+hashSize])
	return h, nil
}

// head3 reads stream's head from the stream index and the log: the
// stream's last index entry names its last revision and the position of
// its last record, whose stored form holds its hash and type (a sealing
// type seals the stream: it can only be a stream's last record). A damaged
// head is ErrCorrupt, not a storageError: an append reads it before it
// writes anything, so it refuses that append alone, not its group.
func head3(index, log *bolt.Bucket, stream string) (head, error) {
	// The stream's entries are its name, 0x00 and a revision: its last one
	// is the key before its name and 0x01 (a stream name holds no control
	// character, so no other stream's key lies between).
	end := make([]byte, len(stream)+1)
	copy(end, stream)
	end[len(stream)] = 1
	c := index.Cursor()
	k, v := c.Seek(end)
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if len(k) != len(end)+8 || k[len(stream)] != 0 || !bytes.Equal(k[:len(stream)], end[:len(stream)]) {
		return head{}, nil
	}
	rev := binary.BigEndian.Uint64(k[len(end):])
	if len(v) != 8 {
		return head{}, fmt.Errorf("%w: the stream index entry of %s@%d is malformed", ErrCorrupt, stream, rev)
	}
	p := binary.BigEndian.Uint64(v)
	val := log.Get(v)
	rec, ok := layout3{}.record(p, val)
	s, r, typ, ok2 := recordKey(rec)
	if !ok || !ok2 || string(s) != stream || r != rev {
		return head{}, fmt.Errorf("%w: the stream index names position %d as %s@%d, which the log does not hold there", ErrCorrupt, p, stream, rev)
	}
	h := head{last: rev, exists: true, sealed: events.Seals(string(typ))}
	copy(h.hash[:], rec[len(rec)-hashSize:])
	// The record's first stored hash is its leaf: bytes added to its log
	// value or cut from it would have the next append chain on other bytes
	// than its hash.
	if leaf := chain.LeafHash(h.hash); !bytes.Equal(leaf[:], val[len(rec):len(rec)+hashSize]) {
		return head{}, fmt.Errorf("%w: the log value of %s@%d (position %d) is damaged: its record's hash is not the one its stored leaf covers", ErrCorrupt, stream, rev, p)
	}
	return h, nil
}

// recordKey reads a record's stream, revision and type from its stored
// form without decoding the rest: the version byte, the uvarint-prefixed
// stream, the revision (8), the event ID (16), the uvarint-prefixed type.
func recordKey(v []byte) (stream []byte, rev uint64, typ []byte, ok bool) {
	if len(v) < 2 {
		return nil, 0, nil, false
	}
	l, n := binary.Uvarint(v[1:])
	at := 1 + n
	if n <= 0 || l > uint64(len(v)-at) || len(v)-at-int(l) < 8+16+1 {
		return nil, 0, nil, false
	}
	stream, at = v[at:at+int(l)], at+int(l)
	rev, at = binary.BigEndian.Uint64(v[at:]), at+8+16
	tl, tn := binary.Uvarint(v[at:])
	if tn <= 0 || tl > uint64(len(v)-at-tn) {
		return nil, 0, nil, false
	}
	return stream, rev, v[at+tn : at+tn+int(tl)], true
}

// layoutLegacy is formats 1 and 2: the log's value is the record alone;
// the heads bucket keeps each stream's head; format 2 keeps the tree's
// stored hashes in the tree bucket and the records they cover in meta.
type layoutLegacy struct{ tree bool }

func (layoutLegacy) record(_ uint64, v []byte) ([]byte, bool) { return v, len(v) >= hashSize+2 }

func (layoutLegacy) head(tx *bolt.Tx, stream string) (head, error) {
	v := tx.Bucket([]byte(bHeads)).Get([]byte(stream))
	if v == nil {
		return head{}, nil
	}
	if len(v) != 8+1+hashSize {
		return head{}, &storageError{fmt.Errorf("%w: head of %s has %d bytes", ErrCorrupt, stream, len(v))}
	}
	h := head{last: binary.BigEndian.Uint64(v), exists: true, sealed: v[8] == 1}
	copy(h.hash[:], v[9:])
	return h, nil
}

func (layoutLegacy) storedHeads(tx *bolt.Tx) (int, bool) {
	return tx.Bucket([]byte(bHeads)).Stats().KeyN, true
}

func (l layoutLegacy) treeSize(tx *bolt.Tx, _ int64) (int64, error) {
	if !l.tree {
		return 0, nil // format 1 keeps no tree
	}
	v := tx.Bucket([]byte(bMeta)).Get([]byte(kTree))
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: no tree size", ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// treeHashes reads format 2's tree bucket, keyed by the index.
func (l layoutLegacy) treeHashes(tx *bolt.Tx) func(i int64) (chain.Hash, error) {
	var b *bolt.Bucket
	if l.tree {
		b = tx.Bucket([]byte(bTree))
	}
	var key [8]byte
	return func(i int64) (chain.Hash, error) {
		var h chain.Hash
		var v []byte
		if b != nil {
			binary.BigEndian.PutUint64(key[:], uint64(i))
			v = b.Get(key[:])
		}
		if len(v) != hashSize {
			return h, fmt.Errorf("%w: stored hash %d is missing or not a hash", ErrCorrupt, i)
		}
		copy(h[:], v)
		return h, nil
	}
}

func posKey(p events.Position) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(p))
}

func indexKey(stream string, rev uint64) []byte {
	k := make([]byte, 0, len(stream)+9)
	k = append(k, stream...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, rev)
}
