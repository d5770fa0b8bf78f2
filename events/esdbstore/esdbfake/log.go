package esdbfake

import (
	"encoding/json"
	"math"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// This file is the double's transaction log and index: what the server
// keeps on disk and in its in-memory caches. Every rule cites the KurrentDB
// source it comes from (at the commit doc.go names, paths under
// src/KurrentDB.Core/).

// deletedStream is EventNumber.DeletedStream (long.MaxValue): the event
// number of a tombstone, and the $tb a soft delete writes
// (Data/EventNumber.cs:7; Services/Storage/StorageWriterService.cs:549,588,
// WriteDelete).
const deletedStream = math.MaxInt64

// record is one prepare in the transaction log. Events written by an append
// are "implicit transactions" (PrepareFlags.IsCommitted), so each event's
// commit and prepare positions are both its own log position
// (Services/Storage/StorageWriterService.cs:375-398, WritePrepares: one
// prepare per event, flags Data|IsCommitted;
// Services/Storage/ReaderIndex/AllReader.cs:114-121,
// ReadAllEventsForwardInternal: TFPos(prepare.LogPosition,
// prepare.LogPosition), and the event's position is its prepare's).
type record struct {
	id      uuid.UUID
	stream  string
	number  int64 // event number in its stream; a tombstone's is deletedStream
	typ     string
	json    bool
	created int64 // .NET ticks since the Unix epoch (the "created" metadata)
	data    []byte
	custom  []byte // the user's metadata
	pos     int64  // log position: the byte offset of the record
	size    int64  // bytes the record takes in the log
	gone    bool   // removed by a scavenge
}

// end returns the record's post-position: where the next record starts.
func (r *record) end() int64 { return r.pos + r.size }

// recordSize approximates a LogV2 prepare record's length on disk: the
// length prefix and suffix, the fixed header (flags, positions, IDs,
// expected version, timestamp) and the variable parts
// (TransactionLog/LogRecords/PrepareLogRecord.cs:99-127,
// ComputeSizeOnDisk). Only
// its order of magnitude matters: a record is many bytes long, so the
// position one past a record's start is inside it.
func recordSize(stream, typ string, data, custom []byte) int64 {
	return 8 + 2 + 1 + 8 + 8 + 4 + 16 + 16 + 8 + 8 + int64(len(stream)+len(typ)+len(data)+len(custom)) + 12
}

// stream is one stream's index entry: its events by number, as the index
// writer sees them (prepared) and as readers see them (committed).
type stream struct {
	name string
	recs []*record // by event number; a tombstone is kept apart
	tomb *record
}

// last returns the last event number written, -1 for none.
func (s *stream) last() int64 { return int64(len(s.recs)) - 1 }

// streamMeta is the part of a stream's metadata the double acts on
// (Data/StreamMetadata.cs:17-49, StreamMetadata): $tb, $maxCount and $acl.
type streamMeta struct {
	truncateBefore int64 // -1: none
	maxCount       int64 // -1: none
	acl            acl
	raw            map[string]json.RawMessage
}

// acl is a stream's access control list; a nil slice means "not set: the
// default applies" (Authorization/LegacyStreamPermissionAssertion.cs:172-182,
// RolesFor: Stream ?? System ?? Default).
type acl struct {
	read, write, delete, metaRead, metaWrite []string
}

// parseMetadata reads the parts of a stream's metadata the double acts
// on; metadata that is not a JSON object has none of them.
func parseMetadata(b []byte) streamMeta {
	m := streamMeta{truncateBefore: -1, maxCount: -1}
	if len(b) == 0 || json.Unmarshal(b, &m.raw) != nil {
		return m
	}
	m.truncateBefore, m.maxCount = metadataNumber(m.raw, "$tb"), metadataNumber(m.raw, "$maxCount")
	if v, ok := m.raw["$acl"]; ok {
		var byKey map[string]json.RawMessage
		if json.Unmarshal(v, &byKey) == nil {
			m.acl = acl{read: aclRoles(byKey, "$r"), write: aclRoles(byKey, "$w"), delete: aclRoles(byKey, "$d"),
				metaRead: aclRoles(byKey, "$mr"), metaWrite: aclRoles(byKey, "$mw")}
		}
	}
	return m
}

// metadataNumber returns the number the metadata holds under key: -1 when
// it holds none (or not a number), deletedStream for a value past int64,
// as a soft delete's.
func metadataNumber(raw map[string]json.RawMessage, key string) int64 {
	var n json.Number
	v, ok := raw[key]
	if !ok || json.Unmarshal(v, &n) != nil {
		return -1
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	return deletedStream
}

// aclRoles returns the roles an ACL names under key, given as one string
// or a list of them; nil when the key is absent or holds neither (the
// default applies), an empty list for an explicit null list.
func aclRoles(byKey map[string]json.RawMessage, key string) []string {
	raw, ok := byKey[key]
	if !ok {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return nil
	}
	if many == nil {
		many = []string{}
	}
	return many
}

// isMeta reports whether name is a metadata stream ("$$" + the stream's
// name; Services/SystemNames.cs:70, SystemStreams.IsMetastream).
func isMeta(name string) bool { return strings.HasPrefix(name, "$$") }

// isSystem reports whether name is a system stream.
func isSystem(name string) bool { return strings.HasPrefix(name, "$") }

// eventInfo is an entry of the index writer's committed-events cache.
type eventInfo struct {
	stream string
	number int64
}

// idCache is IndexWriter._committedEvents, a BoundedCache<Guid, EventInfo>:
// a FIFO of event IDs bounded by the bytes it holds, 8 MiB by default
// (Settings/ESConsts.cs:13, CommittedEventsMemCacheLimit), each entry
// costing 16 + 4 + IntPtr.Size + the stream ID's size
// (Services/Storage/ReaderIndex/IndexWriter.cs:75,91, constructor;
// Services/Storage/ReaderIndex/BoundedCache.cs:45-56,74-76, PutRecord and
// IsFull). The stream ID's size is MemSizer.SizeOf(string): 20 + 2 per
// char + 1, rounded up to 8 (Caching/MemSizer.cs:19-23); entrySize
// approximates it as 24 + 2 per char, up to 4 bytes off. It is in memory
// only: a restart empties it.
type idCache struct {
	limit int64
	size  int64
	m     map[uuid.UUID]eventInfo
	queue []uuid.UUID
}

func newIDCache(limit int64) *idCache {
	return &idCache{limit: limit, m: map[uuid.UUID]eventInfo{}}
}

func entrySize(stream string) int64 { return 16 + 4 + 8 + 2*int64(len(stream)) + 24 }

func (c *idCache) get(id uuid.UUID) (eventInfo, bool) {
	e, ok := c.m[id]
	return e, ok
}

// put evicts the oldest entries while the cache is over its limit, then
// adds id; an ID already present keeps its first entry (PutRecord with
// throwOnDuplicate false: BoundedCache.cs:53-54, called so from
// IndexWriter.cs:380, PreCommit).
func (c *idCache) put(id uuid.UUID, e eventInfo) {
	for len(c.queue) > 0 && c.size > c.limit {
		old := c.queue[0]
		c.queue = c.queue[1:]
		if v, ok := c.m[old]; ok {
			c.size -= entrySize(v.stream)
			delete(c.m, old)
		}
	}
	c.size += entrySize(e.stream)
	c.queue = append(c.queue, id)
	if _, ok := c.m[id]; !ok {
		c.m[id] = e
	}
}

// db is the double's whole state: the log, the index, the caches.
type db struct {
	log       []*record // in log order
	next      int64     // the writer checkpoint: where the next record goes
	committed int       // log[:committed] is committed (indexed, readable)
	scavenged int64     // positions below it were scavenged: reads start at the closest record forward
	streams   map[string]*stream
	ids       *idCache
}

// firstPosition is where the double's first record starts: a real log
// starts with the chunk's epoch and system records.
const firstPosition = 256

func newDB(cacheBytes int64) *db {
	return &db{next: firstPosition, streams: map[string]*stream{}, ids: newIDCache(cacheBytes)}
}

func (d *db) stream(name string) *stream {
	s := d.streams[name]
	if s == nil {
		s = &stream{name: name}
		d.streams[name] = s
	}
	return s
}

// write appends a record to the log (prepared, not yet committed).
func (d *db) write(r *record) {
	r.pos = d.next
	r.size = recordSize(r.stream, r.typ, r.data, r.custom)
	d.next += r.size
	d.log = append(d.log, r)
	s := d.stream(r.stream)
	if r.number == deletedStream {
		s.tomb = r
		return
	}
	s.recs = append(s.recs, r)
}

// isCommitted reports whether r is readable.
func (d *db) isCommitted(r *record) bool {
	return d.committed > 0 && r.pos <= d.log[d.committed-1].pos
}

// committedEnd is the position after the last committed record: the
// index's LastIndexedPosition.
func (d *db) committedEnd() int64 {
	if d.committed == 0 {
		return firstPosition
	}
	return d.log[d.committed-1].end()
}

// meta returns the stream's metadata: the latest event of its metadata
// stream. committedOnly picks the readers' view; the writer sees what it has
// prepared (IndexWriter._streamRawMetas keeps "sticky non-flushed stuff":
// IndexWriter.cs:77, filled by PreCommit at :400-403).
func (d *db) meta(name string, committedOnly bool) streamMeta {
	ms := d.streams["$$"+name]
	if ms == nil {
		return parseMetadata(nil)
	}
	for i := len(ms.recs) - 1; i >= 0; i-- {
		if !committedOnly || d.isCommitted(ms.recs[i]) {
			return parseMetadata(ms.recs[i].data)
		}
	}
	return parseMetadata(nil)
}

// lastNumber is the index writer's view of a stream's last event number:
// deletedStream once tombstoned, -1 for none
// (IndexWriter.cs:519-523, GetStreamLastEventNumber).
func (d *db) lastNumber(name string) int64 {
	s := d.streams[name]
	switch {
	case s == nil:
		return -1
	case s.tomb != nil:
		return deletedStream
	}
	return s.last()
}

// softDeleted reports whether the stream's metadata truncates it whole
// ($tb = long.MaxValue; IndexWriter.cs:515-517, IsSoftDeleted).
func (d *db) softDeleted(name string) bool {
	return d.meta(name, false).truncateBefore == deletedStream
}

// visible returns a stream's readable events in order and whether the
// stream exists for readers. Metadata streams keep only their latest event
// ($maxCount 1: Settings/ESConsts.cs:17, MetaStreamMaxCount, made the
// metastreams' metadata at Services/Storage/ReaderIndex/ReadIndex.cs:85 and
// returned for them by IndexReader.cs:915-918, GetStreamMetadataCached); a
// $tb or $maxCount in the metadata hides earlier events, and a $tb of
// long.MaxValue hides the stream (Services/Storage/ReaderIndex/
// IndexReader.cs:222-236, ReadStreamEventsForwardInternal:
// "lastEventNumber == NoStream || metadata.TruncateBefore ==
// DeletedStream").
func (d *db) visible(name string) (recs []*record, exists bool, tomb bool) {
	s := d.streams[name]
	if s == nil {
		return nil, false, false
	}
	if s.tomb != nil && d.isCommitted(s.tomb) {
		return nil, true, true
	}
	n := 0
	for n < len(s.recs) && d.isCommitted(s.recs[n]) {
		n++
	}
	if n == 0 {
		return nil, false, false
	}
	all := s.recs[:n]
	min := int64(0)
	if isMeta(name) {
		min = int64(n) - 1
	} else {
		m := d.meta(name, true)
		if m.truncateBefore == deletedStream {
			return nil, false, false
		}
		if m.truncateBefore > min {
			min = m.truncateBefore
		}
		if m.maxCount >= 0 && int64(n)-m.maxCount > min {
			min = int64(n) - m.maxCount
		}
	}
	if min > int64(n) {
		min = int64(n)
	}
	out := make([]*record, 0, int64(n)-min)
	for _, r := range all[min:] {
		if !r.gone {
			out = append(out, r)
		}
	}
	return out, true, false
}

// at returns the index of the committed record starting exactly at pos,
// or -1.
func (d *db) at(pos int64) int {
	i := sort.Search(d.committed, func(i int) bool { return d.log[i].pos >= pos })
	if i < d.committed && d.log[i].pos == pos {
		return i
	}
	return -1
}

// closest returns the index of the first committed record at or after pos.
func (d *db) closest(pos int64) int {
	return sort.Search(d.committed, func(i int) bool { return d.log[i].pos >= pos })
}
