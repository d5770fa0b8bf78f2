package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

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
	// ErrReadOnly: an append to a store opened with ReadOnly.
	ErrReadOnly = errors.New("boltstore: ledger opened read-only")
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
	if info.IsDir() {
		return fmt.Errorf("%w: %s is a directory; name a ledger file, such as %s", ErrNotLedger, path, filepath.Join(path, "ledger.db"))
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

// create makes a new ledger file at path, if there is none, so that no
// crash can leave a file there that does not open: the ledger is built in a
// temporary file beside it (bbolt's header, then the ledger's buckets,
// synced) and only then linked in under its name. A crash before the link
// leaves no file at path (only a stray ".<name>.new-*" beside it, which
// nothing reads); after it, a complete ledger. Two processes creating the
// same ledger at once both succeed: the second finds the first's file.
func create(path string, o *options) error {
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		return nil // exists (or cannot be looked at: Open will say why)
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+name+".new-*")
	if err != nil {
		return fmt.Errorf("boltstore: create %s: %w", path, err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	if err := o.stage("temporary file created"); err != nil {
		return err
	}
	defer os.Remove(tmpPath)
	db, err := bolt.Open(tmpPath, 0o600, &bolt.Options{Timeout: o.lockTimeout, NoSync: o.noSync, FreelistType: o.freelist})
	if err != nil {
		return fmt.Errorf("boltstore: create %s: %w", path, err)
	}
	if err := o.stage("bbolt header written"); err != nil {
		db.Close()
		return err
	}
	if err := db.Update(newLedger); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("boltstore: create %s: %w", path, err)
	}
	if err := o.stage("ledger initialized"); err != nil {
		return err
	}
	if err := os.Link(tmpPath, path); err != nil && !errors.Is(err, os.ErrExist) {
		// A file system without hard links: rename, unless the ledger
		// appeared meanwhile.
		if _, serr := os.Lstat(path); !errors.Is(serr, os.ErrNotExist) {
			return nil
		}
		if err := os.Rename(tmpPath, path); err != nil {
			return fmt.Errorf("boltstore: create %s: %w", path, err)
		}
	}
	if err := o.stage("linked"); err != nil {
		return err
	}
	if !o.noSync {
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync() // the new name is durable
			d.Close()
		}
	}
	return nil
}

// openDB opens the bbolt file and checks (or, opened for writing, writes or
// upgrades) the ledger header. It returns the file's format: FormatVersion
// when opened for writing.
func openDB(path string, o *options) (*bolt.DB, uint32, error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := precheck(path); err != nil {
		return nil, 0, err
	}
	var db *bolt.DB
	err := func() (err error) {
		defer recoverCorrupt(&err)
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:         o.lockTimeout,
			NoSync:          o.noSync,
			InitialMmapSize: o.mmapSize,
			FreelistType:    o.freelist,
			ReadOnly:        o.readOnly,
		})
		return err
	}()
	switch {
	case errors.Is(err, ErrCorrupt):
		return nil, 0, fmt.Errorf("boltstore: open %s: %w", path, err)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, 0, fmt.Errorf("%w: %s is locked by another process (waited up to %v); stop the other process or open a copy", ErrInUse, path, o.lockTimeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, 0, fmt.Errorf("%w: %s: %v", ErrNotLedger, path, err)
	case err != nil:
		return nil, 0, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	format, err := initLedger(db, path, o)
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, format, nil
}

// initLedger writes the ledger header into a bbolt file that has none yet
// (unless readOnly), checks the header, and upgrades a file of an older
// format to FormatVersion (unless readOnly). It returns the file's format.
func initLedger(db *bolt.DB, path string, o *options) (format uint32, err error) {
	defer recoverCorrupt(&err)
	fresh := false
	if err := db.View(func(tx *bolt.Tx) error {
		first, _ := tx.Cursor().First()
		fresh = first == nil
		return nil
	}); err != nil {
		return 0, err
	}
	if fresh && o.readOnly {
		return 0, fmt.Errorf("%w: %s holds no ledger (and was opened read-only)", ErrNotLedger, path)
	}
	if fresh {
		if err := db.Update(newLedger); err != nil {
			return 0, err
		}
	}
	if err := db.View(func(tx *bolt.Tx) error {
		format, err = checkHeader(tx, path)
		return err
	}); err != nil || format == FormatVersion || o.readOnly {
		return format, err
	}
	if err := upgrade(db, path, format, o); err != nil {
		return format, err
	}
	return FormatVersion, nil
}

// newLedger writes a new ledger's header and buckets.
func newLedger(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket([]byte(bMeta))
	if err != nil {
		return err
	}
	if err := meta.Put([]byte(kMagic), []byte(magic)); err != nil {
		return err
	}
	if err := meta.Put([]byte(kFormat), binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
		return err
	}
	for _, b := range bucketsOf(FormatVersion) {
		if _, err := tx.CreateBucket([]byte(b)); err != nil {
			return err
		}
	}
	return nil
}

// checkHeader checks a ledger's header (magic, a format this library
// reads) and that the file has the buckets of its format, and returns the
// format.
func checkHeader(tx *bolt.Tx, path string) (uint32, error) {
	meta := tx.Bucket([]byte(bMeta))
	if meta == nil || string(meta.Get([]byte(kMagic))) != magic {
		return 0, fmt.Errorf("%w: %s is a bbolt database without a ledger header", ErrNotLedger, path)
	}
	f := meta.Get([]byte(kFormat))
	if len(f) != 4 {
		return 0, fmt.Errorf("%w: %s has no format version", ErrCorrupt, path)
	}
	format := binary.BigEndian.Uint32(f)
	if format == 0 {
		return 0, fmt.Errorf("%w: %s says format 0, which no version of this library writes: its header is damaged", ErrCorrupt, path)
	}
	if format > FormatVersion {
		return 0, fmt.Errorf("%w: %s is format %d, this library reads 1 to %d; upgrade electionledger", ErrNewerFormat, path, format, FormatVersion)
	}
	if format == 2 && len(meta.Get([]byte(kTree))) != 8 {
		return 0, fmt.Errorf("%w: %s has no tree size", ErrCorrupt, path)
	}
	for _, b := range bucketsOf(format) {
		if tx.Bucket([]byte(b)) == nil {
			return 0, fmt.Errorf("%w: %s lacks the %s bucket", ErrCorrupt, path, b)
		}
	}
	return format, nil
}

// recoverCorrupt turns a bbolt panic on a damaged page, or a memory fault
// reading the mapped file (see guard), into ErrCorrupt.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
	}
}
