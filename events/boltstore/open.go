package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors of Open. Each is matched with errors.Is; the message names the file
// and what would make it open.
var (
	// ErrInUse: another process holds the ledger file open.
	ErrInUse = errors.New("boltstore: ledger file in use by another process")
	// ErrNotLedger: the file is not an electionledger file (another bbolt
	// database, an empty file, or not a database at all).
	ErrNotLedger = errors.New("boltstore: not a ledger file")
	// ErrNewerFormat: the file was written by a newer, incompatible version
	// of this library.
	ErrNewerFormat = errors.New("boltstore: ledger file format is newer than this library")
	// ErrTruncated: the file is shorter than its own header says.
	ErrTruncated = errors.New("boltstore: ledger file truncated")
	// ErrCorrupt: the file's structure is damaged.
	ErrCorrupt = errors.New("boltstore: ledger file corrupt")
)

// FormatVersion is the on-disk format this library writes and reads.
const FormatVersion = 1

const magic = "electionledger"

// Bucket names.
const (
	bMeta  = "meta"  // magic, format
	bLog   = "log"   // position (8, big-endian) → record (events.Record binary form)
	bIndex = "index" // stream 0x00 revision (8) → position (8)
	bHeads = "heads" // stream → last revision (8), sealed (1)
	bIDs   = "ids"   // event ID (16) → position (8)
)

// precheck refuses files bbolt must not map: empty files, files that are not
// bbolt databases, and files shorter than their high-water mark (bbolt would
// fault reading pages past the end).
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new ledger
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	if size == 0 {
		return fmt.Errorf("%w: %s is empty; remove it to start a new ledger", ErrNotLedger, path)
	}
	var hdr [4096]byte
	n, err := io.ReadFull(f, hdr[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	m0, ok0 := parseMeta(hdr[:n])
	if !ok0 {
		return fmt.Errorf("%w: %s is not a bbolt database (no valid header)", ErrNotLedger, path)
	}
	metas := []boltMeta{m0}
	// The second meta page sits one page in.
	if m0.pageSize >= 1024 && m0.pageSize <= 1<<16 && size >= int64(2*m0.pageSize) {
		page := make([]byte, 128)
		if _, err := f.ReadAt(page, int64(m0.pageSize)); err == nil {
			if m1, ok := parseMeta(page); ok {
				metas = append(metas, m1)
			}
		}
	}
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	if need := int64(best.pgid) * int64(best.pageSize); size < need {
		return fmt.Errorf("%w: %s has %d bytes, its header needs %d; restore it from a backup", ErrTruncated, path, size, need)
	}
	return nil
}

type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high-water mark in pages
	txid     uint64
}

// parseMeta reads a bbolt meta page: a 16-byte page header, then magic,
// version, page size, flags, root bucket (16), freelist, pgid, txid and an
// FNV-64a checksum of everything before it.
func parseMeta(p []byte) (boltMeta, bool) {
	const off = 16
	if len(p) < off+64 {
		return boltMeta{}, false
	}
	m := p[off:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != 0xED0CDAED || le.Uint32(m[4:]) != 2 {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// openDB opens the bbolt file and checks or writes the ledger header.
func openDB(path string, o *options) (*bolt.DB, error) {
	if err := precheck(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         o.lockTimeout,
		NoSync:          o.noSync,
		InitialMmapSize: o.mmapSize,
		FreelistType:    bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s stayed locked for %v; stop the other process or open a copy", ErrInUse, path, o.lockTimeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%w: %s: %v", ErrNotLedger, path, err)
	case err != nil:
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := initLedger(db, path); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func initLedger(db *bolt.DB, path string) (err error) {
	defer recoverCorrupt(&err)
	fresh := false
	if err := db.View(func(tx *bolt.Tx) error {
		first, _ := tx.Cursor().First()
		fresh = first == nil
		return nil
	}); err != nil {
		return err
	}
	if fresh {
		return db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucket([]byte(bMeta))
			if err != nil {
				return err
			}
			if err := meta.Put([]byte("magic"), []byte(magic)); err != nil {
				return err
			}
			if err := meta.Put([]byte("format"), binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
				return err
			}
			for _, b := range []string{bLog, bIndex, bHeads, bIDs} {
				if _, err := tx.CreateBucket([]byte(b)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(bMeta))
		if meta == nil || string(meta.Get([]byte("magic"))) != magic {
			return fmt.Errorf("%w: %s is a bbolt database without a ledger header", ErrNotLedger, path)
		}
		f := meta.Get([]byte("format"))
		if len(f) != 4 {
			return fmt.Errorf("%w: %s has no format version", ErrCorrupt, path)
		}
		if v := binary.BigEndian.Uint32(f); v > FormatVersion {
			return fmt.Errorf("%w: %s is format %d, this library reads up to %d; upgrade electionledger", ErrNewerFormat, path, v, FormatVersion)
		}
		for _, b := range []string{bLog, bIndex, bHeads, bIDs} {
			if tx.Bucket([]byte(b)) == nil {
				return fmt.Errorf("%w: %s lacks the %s bucket", ErrCorrupt, path, b)
			}
		}
		return nil
	})
}

// recoverCorrupt turns a bbolt panic on a damaged page into ErrCorrupt.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
	}
}
