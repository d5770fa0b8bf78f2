package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/electionledger/ledger/events"
	"strings"
)

// PageError is damage CheckFile found in a ledger file's structure, at a
// page. It matches ErrCorrupt.
type PageError struct {
	Page    uint64
	Bucket  string // the bucket the page belongs to ("" when unknown)
	Problem string
}

// Error implements error.
func (e *PageError) Error() string {
	s := "boltstore: page " + fmt.Sprint(e.Page)
	if e.Bucket != "" {
		s += " (" + printableBucket(e.Bucket) + ")"
	}
	return s + ": " + e.Problem
}

// printableBucket is a bucket path as a message may show it: quoted when
// it holds anything but printable ASCII (a damaged page's key may be any
// bytes, never to reach a terminal raw), and with runs of digits withheld
// (such bytes may come from a payload, which may hold a TIN).
func printableBucket(b string) string {
	for i := 0; i < len(b); i++ {
		if b[i] < 0x20 || b[i] > 0x7e {
			b = strconv.QuoteToASCII(b)
			break
		}
	}
	return events.RedactDigits(b)
}

// Is matches ErrCorrupt.
func (e *PageError) Is(target error) bool { return target == ErrCorrupt }

// FileCheck is what CheckFile found.
type FileCheck struct {
	PageSize  int
	Pages     uint64 // the file's high-water mark, in pages
	Reachable uint64 // pages reached from the root (the tree and its values)
	Damage    []*PageError
	Omitted   int // damage beyond the first 1,000
}

// OK reports whether the structure is sound.
func (c *FileCheck) OK() bool { return len(c.Damage) == 0 && c.Omitted == 0 }

// CheckFile reads a ledger file's structure without trusting any of it and
// reports all the damage it finds, page by page: both header pages, every
// page of every bucket's B+tree (type, self-identification, element
// bounds, key order, child and overflow pages within the file, no page
// reached twice), inline buckets, the freelist (a page it lists must not be
// in use), and the ledger's own header (the buckets and the meta bucket's
// values). It reads the file with ordinary reads, never through a memory
// map, and follows nothing it has not bounds-checked, so no damage can make
// it fault, loop or run out of memory.
//
// bbolt trusts its file: a damaged page can send it reading outside the
// map, into a loop, or into a panic. An auditor of a file it does not
// trust runs CheckFile first and opens the file (ReadOnly) only when it is
// sound. The error is for a file that cannot be checked at all: missing, a
// directory or not a bbolt file (ErrNotLedger), shorter than its header
// says (ErrTruncated), or open for writing by a process (ErrInUse: check a
// copy), whose pages could change under the check.
func CheckFile(ctx context.Context, path string) (*FileCheck, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("boltstore: check %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("boltstore: check %s: %w", path, err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%w: %s is a directory; name a ledger file, such as %s", ErrNotLedger, path, filepath.Join(path, "ledger.db"))
	}
	if err := lockShared(f); err != nil {
		if errors.Is(err, ErrInUse) {
			return nil, fmt.Errorf("%w: %s is open for writing; check a copy, or stop the writer", ErrInUse, path)
		}
		return nil, fmt.Errorf("boltstore: check %s: %w", path, err)
	}
	c := &checker{ctx: ctx, f: f, size: info.Size(), rep: &FileCheck{},
		rootBuckets: map[string]bool{}, metaValues: map[string][]byte{}}
	if err := c.header(path); err != nil {
		return nil, err
	}
	c.visited = make([]uint64, (c.hwm+63)/64)
	c.mark(0, 0)
	c.mark(1, 0)
	c.walk(c.meta.root, 0, "", nil, nil)
	c.freelist()
	c.ledgerHeader()
	if c.err != nil {
		return nil, c.err
	}
	for i := range c.visited {
		for w := c.visited[i]; w != 0; w &= w - 1 {
			c.rep.Reachable++
		}
	}
	return c.rep, nil
}

// bbolt's file format (go.etcd.io/bbolt, format version 2).
const (
	pageHeaderSize  = 16
	elementSize     = 16
	branchPageFlag  = 0x01
	leafPageFlag    = 0x02
	metaPageFlag    = 0x04
	freelistFlag    = 0x10
	bucketLeafFlag  = 0x01
	bucketHeaderLen = 16
	noFreelist      = ^uint64(0)
	maxDepth        = 64
	maxDamage       = 1000
)

type fullMeta struct {
	pageSize       uint32
	root, freelist uint64
	pgid, txid     uint64
}

type checker struct {
	ctx     context.Context
	f       *os.File
	size    int64
	rep     *FileCheck
	meta    fullMeta
	ps      uint64 // page size
	hwm     uint64
	visited []uint64
	pages   int
	err     error // ctx's, or a read error: stops the walk

	rootBuckets map[string]bool
	metaValues  map[string][]byte
}

func (c *checker) damage(page uint64, bucket, format string, args ...any) {
	if len(c.rep.Damage) < maxDamage {
		c.rep.Damage = append(c.rep.Damage, &PageError{Page: page, Bucket: bucket, Problem: fmt.Sprintf(format, args...)})
		return
	}
	c.rep.Omitted++
}

// readMeta parses a header page at off, checked as bbolt checks it (magic,
// version, checksum) plus its page header.
func (c *checker) readMeta(off int64, id uint64) (fullMeta, bool) {
	var b [pageHeaderSize + 64]byte
	if _, err := c.f.ReadAt(b[:], off); err != nil {
		return fullMeta{}, false
	}
	le := binary.LittleEndian
	if le.Uint64(b[0:]) != id || le.Uint16(b[8:]) != metaPageFlag {
		return fullMeta{}, false
	}
	m := b[pageHeaderSize:]
	if le.Uint32(m[0:]) != 0xED0CDAED || le.Uint32(m[4:]) != 2 {
		return fullMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return fullMeta{}, false
	}
	return fullMeta{pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]),
		pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// header picks the header page bbolt would read (the valid one with the
// later transaction) and reports the other if it does not verify.
func (c *checker) header(path string) error {
	m0, ok0 := c.readMeta(0, 0)
	var m1 fullMeta
	ok1 := false
	sizes := []uint32{4096, 1024, 2048, 8192, 16384, 32768, 65536}
	if ok0 {
		sizes = []uint32{m0.pageSize}
	}
	for _, ps := range sizes {
		if ps < 1024 || ps > 65536 || ps&(ps-1) != 0 {
			continue
		}
		if m, ok := c.readMeta(int64(ps), 1); ok && m.pageSize == ps {
			m1, ok1 = m, true
			break
		}
	}
	switch {
	case !ok0 && !ok1:
		return fmt.Errorf("%w: %s is not a bbolt file, or both of its header pages are damaged", ErrNotLedger, path)
	case ok0 && ok1 && m1.txid > m0.txid, !ok0:
		c.meta = m1
		if !ok0 {
			c.damage(0, "", "the first header page does not verify (damaged, or torn by a crash); the file is read as of the second's transaction %d", m1.txid)
		}
	default:
		c.meta = m0
		if !ok1 {
			c.damage(1, "", "the second header page does not verify (damaged, or torn by a crash); the file is read as of the first's transaction %d", m0.txid)
		}
	}
	c.ps = uint64(c.meta.pageSize)
	c.hwm = c.meta.pgid
	c.rep.PageSize, c.rep.Pages = int(c.ps), c.hwm
	if c.ps < 1024 || c.ps > 65536 || c.ps&(c.ps-1) != 0 {
		return fmt.Errorf("%w: %s: a page size of %d", ErrNotLedger, path, c.ps)
	}
	if c.hwm < 3 || c.hwm > uint64(c.size)/c.ps+1 || c.hwm*c.ps > uint64(c.size) {
		return fmt.Errorf("%w: %s has %d bytes, its header counts %d pages of %d bytes; restore it from a backup", ErrTruncated, path, c.size, c.hwm, c.ps)
	}
	return nil
}

// mark records that the pages [id, id+overflow] are in use; false if one
// already was (a cycle, or a page shared by two parents).
func (c *checker) mark(id, overflow uint64) bool {
	ok := true
	for p := id; p <= id+overflow; p++ {
		if c.visited[p/64]&(1<<(p%64)) != 0 {
			ok = false
		}
		c.visited[p/64] |= 1 << (p % 64)
	}
	return ok
}

// readPage reads page id and its overflow pages, after checking they lie
// within the file; nil when they do not (reported).
func (c *checker) readPage(id uint64, bucket string) []byte {
	if c.err != nil {
		return nil
	}
	c.pages++
	if c.pages%1024 == 0 {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			return nil
		}
	}
	if id < 2 || id >= c.hwm {
		c.damage(id, bucket, "a page number outside the file's %d pages", c.hwm)
		return nil
	}
	var hdr [pageHeaderSize]byte
	if _, err := c.f.ReadAt(hdr[:], int64(id*c.ps)); err != nil {
		c.err = fmt.Errorf("boltstore: check: read page %d: %w", id, err)
		return nil
	}
	overflow := uint64(binary.LittleEndian.Uint32(hdr[12:]))
	if overflow >= c.hwm-id {
		c.damage(id, bucket, "its %d overflow pages run past the file's end", overflow)
		return nil
	}
	if !c.mark(id, overflow) {
		c.damage(id, bucket, "the page is reached twice (a loop, or two parents): a damaged page number")
		return nil
	}
	buf := make([]byte, (1+overflow)*c.ps)
	if _, err := c.f.ReadAt(buf, int64(id*c.ps)); err != nil && !errors.Is(err, io.EOF) {
		c.err = fmt.Errorf("boltstore: check: read page %d: %w", id, err)
		return nil
	}
	if got := binary.LittleEndian.Uint64(buf); got != id {
		c.damage(id, bucket, "the page says it is page %d", got)
		return nil
	}
	return buf
}

// walk checks the B+tree page id of a bucket (path names it) and what hangs
// from it: every key must lie in [lo, hi) (hi nil: no bound).
func (c *checker) walk(id uint64, depth int, path string, lo, hi []byte) {
	if depth > maxDepth {
		c.damage(id, path, "the tree is deeper than %d levels", maxDepth)
		return
	}
	page := c.readPage(id, path)
	if page == nil {
		return
	}
	c.node(page, id, depth, path, lo, hi, false)
}

// node checks one branch or leaf page (or an inline bucket's page, which
// has no page number of its own): its header, then each element in turn,
// stopping at the first damaged one. A branch element's child is walked
// with the keys bounding it; a leaf element may be a bucket (leafValue).
func (c *checker) node(page []byte, id uint64, depth int, path string, lo, hi []byte, inline bool) {
	flags, count, ok := c.nodeHeader(page, id, path, inline)
	if !ok {
		return
	}
	elems := pageHeaderSize + count*elementSize
	var prev []byte
	for i := range count {
		var e element
		if flags == branchPageFlag {
			e, ok = c.branchElement(page, id, path, i, elems)
		} else {
			e, ok = c.leafElement(page, id, path, i, elems)
		}
		if !ok || !c.keyInPlace(e.key, prev, lo, hi, id, path, i) {
			return
		}
		prev = e.key
		if flags == branchPageFlag {
			c.walk(e.child, depth+1, path, e.key, childBound(page, i, count, elems, hi))
			continue
		}
		c.leafValue(e, id, depth, path)
	}
}

// element is one element of a branch or leaf page, its bounds checked:
// its key, and a branch's child page or a leaf's value and flags.
type element struct {
	key, val []byte
	child    uint64
	flags    uint32
}

// nodeHeader checks a branch or leaf page's header (an inline bucket's
// page must be a leaf) and returns its flags and element count; false
// when the page is damaged (reported).
func (c *checker) nodeHeader(page []byte, id uint64, path string, inline bool) (flags uint16, count int, ok bool) {
	le := binary.LittleEndian
	flags = le.Uint16(page[8:])
	count = int(le.Uint16(page[10:]))
	if flags != branchPageFlag && flags != leafPageFlag || inline && flags != leafPageFlag {
		c.damage(id, path, "not a branch or leaf page (flags %#x)", flags)
		return 0, 0, false
	}
	if pageHeaderSize+count*elementSize > len(page) {
		c.damage(id, path, "%d elements do not fit the page", count)
		return 0, 0, false
	}
	if flags == branchPageFlag && count == 0 {
		c.damage(id, path, "a branch page with no children")
		return 0, 0, false
	}
	return flags, count, true
}

// branchElement reads element i of a branch page whose element headers
// end at elems: its key must lie after the headers and within the page.
func (c *checker) branchElement(page []byte, id uint64, path string, i, elems int) (element, bool) {
	le := binary.LittleEndian
	at := pageHeaderSize + i*elementSize
	e := page[at:]
	pos, ksize := le.Uint32(e[0:]), le.Uint32(e[4:])
	start, end := uint64(at)+uint64(pos), uint64(at)+uint64(pos)+uint64(ksize)
	if start < uint64(elems) || end > uint64(len(page)) {
		c.damage(id, path, "element %d's key lies outside the page", i)
		return element{}, false
	}
	return element{key: page[start:end], child: le.Uint64(e[8:])}, true
}

// leafElement reads element i of a leaf page whose element headers end
// at elems: its key and value must lie after the headers and within the
// page, and its flags be known.
func (c *checker) leafElement(page []byte, id uint64, path string, i, elems int) (element, bool) {
	le := binary.LittleEndian
	at := pageHeaderSize + i*elementSize
	e := page[at:]
	flags := le.Uint32(e[0:])
	pos, ksize, vsize := le.Uint32(e[4:]), le.Uint32(e[8:]), le.Uint32(e[12:])
	start := uint64(at) + uint64(pos)
	mid, end := start+uint64(ksize), start+uint64(ksize)+uint64(vsize)
	if start < uint64(elems) || end > uint64(len(page)) {
		c.damage(id, path, "element %d's key or value lies outside the page", i)
		return element{}, false
	}
	if flags&^bucketLeafFlag != 0 {
		c.damage(id, path, "element %d has unknown flags %#x", i, flags)
		return element{}, false
	}
	return element{key: page[start:mid], val: page[mid:end], flags: flags}, true
}

// keyInPlace checks that element i's key follows the page's previous key
// (prev, nil for the first) and lies in the range [lo, hi) the parent gives
// the page (nil: no bound); false when it does not (reported).
func (c *checker) keyInPlace(key, prev, lo, hi []byte, id uint64, path string, i int) bool {
	if prev != nil && bytes.Compare(prev, key) >= 0 {
		c.damage(id, path, "element %d's key is out of order", i)
		return false
	}
	if lo != nil && bytes.Compare(key, lo) < 0 || hi != nil && bytes.Compare(key, hi) >= 0 {
		c.damage(id, path, "element %d's key lies outside the range its parent gives the page", i)
		return false
	}
	return true
}

// childBound is the upper bound of the keys under branch element i's
// child: the next element's key when it lies within the page (the next
// element reports it otherwise), else the page's own bound hi.
func childBound(page []byte, i, count, elems int, hi []byte) []byte {
	if i+1 >= count {
		return hi
	}
	le := binary.LittleEndian
	ne := page[pageHeaderSize+(i+1)*elementSize:]
	npos, nk := le.Uint32(ne[0:]), le.Uint32(ne[4:])
	nat := uint64(pageHeaderSize+(i+1)*elementSize) + uint64(npos)
	if nat+uint64(nk) <= uint64(len(page)) && nat >= uint64(elems) {
		return page[nat : nat+uint64(nk)]
	}
	return hi
}

// leafValue takes in a leaf element of the bucket at path on page id: a
// value of the meta bucket is kept for ledgerHeader; a nested bucket is
// checked, inline (its page within the value) or by walking its root.
func (c *checker) leafValue(e element, id uint64, depth int, path string) {
	if path == "meta" && e.flags == 0 {
		c.metaValues[string(e.key)] = bytes.Clone(e.val)
	}
	if e.flags&bucketLeafFlag == 0 {
		return
	}
	sub := string(e.key)
	if path != "" {
		sub = path + "/" + sub
	} else {
		c.rootBuckets[sub] = true
	}
	if len(e.val) < bucketHeaderLen {
		c.damage(id, path, "bucket %q's header is cut short", sub)
		return
	}
	root := binary.LittleEndian.Uint64(e.val)
	if root != 0 {
		c.walk(root, depth+1, sub, nil, nil)
		return
	}
	in := e.val[bucketHeaderLen:]
	if len(in) < pageHeaderSize {
		c.damage(id, sub, "an inline bucket's page is cut short")
		return
	}
	c.node(in, id, depth+1, sub, nil, nil, true)
}

// freelist checks the freelist page: it must list only pages within the
// file that nothing uses (a writer reuses what it lists).
func (c *checker) freelist() {
	id := c.meta.freelist
	if id == noFreelist || c.err != nil {
		return
	}
	page := c.readPage(id, "freelist")
	if page == nil {
		return
	}
	le := binary.LittleEndian
	if le.Uint16(page[8:]) != freelistFlag {
		c.damage(id, "freelist", "not a freelist page (flags %#x)", le.Uint16(page[8:]))
		return
	}
	count, at := uint64(le.Uint16(page[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF {
		count, at = le.Uint64(page[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > (uint64(len(page))-at)/8 {
		c.damage(id, "freelist", "%d free pages do not fit the page", count)
		return
	}
	for i := uint64(0); i < count; i++ {
		p := le.Uint64(page[at+8*i:])
		switch {
		case p < 2 || p >= c.hwm:
			c.damage(id, "freelist", "it lists page %d, outside the file", p)
		case c.visited[p/64]&(1<<(p%64)) != 0:
			c.damage(id, "freelist", "it lists page %d as free, which holds data: a writer would overwrite it", p)
		}
	}
}

// ledgerHeader checks the ledger's buckets and the meta bucket's values.
func (c *checker) ledgerHeader() {
	if c.err != nil {
		return
	}
	root := c.meta.root
	if !c.rootBuckets[bMeta] || string(c.metaValues[kMagic]) != magic {
		c.damage(root, "", "no ledger header (the meta bucket or its magic is missing or damaged)")
		return
	}
	f := c.metaValues[kFormat]
	if len(f) != 4 {
		c.damage(root, bMeta, "the format version is damaged")
		return
	}
	format := binary.BigEndian.Uint32(f)
	if format == 0 || format > FormatVersion {
		c.damage(root, bMeta, "format %d: damaged, or written by a newer library", format)
		return
	}
	if format == 2 && len(c.metaValues[kTree]) != 8 {
		c.damage(root, bMeta, "the tree size is damaged")
	}
	var missing []string
	for _, b := range bucketsOf(format) {
		if !c.rootBuckets[b] {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		c.damage(root, "", "the ledger lacks the %s bucket(s)", strings.Join(missing, ", "))
	}
}
