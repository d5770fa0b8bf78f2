package memstore

import (
	"hash/maphash"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/hashtab"
	"github.com/google/uuid"
)

// streamIndex finds a stream by name: internal/hashtab from the name's
// hash to the stream's number, the streams themselves in chunks (a stream
// never moves, so the Store keeps pointers to them). A lookup usually
// touches one slot and the stream itself; growing re-inserts from the
// streams' stored hashes without reading their names. It is guarded by the
// Store's lock.
type streamIndex struct {
	seed   maphash.Seed
	table  hashtab.Table
	chunks [][]stream // streams in the order they were created
	n      int
}

// streamBits sizes the chunks streams are allocated in.
const (
	streamBits  = 10
	streamChunk = 1 << streamBits
)

func newStreamIndex() streamIndex {
	ix := streamIndex{seed: maphash.MakeSeed()}
	ix.table.Reserve(512, ix.hashOf)
	return ix
}

func (ix *streamIndex) stream(at uint32) *stream {
	return &ix.chunks[at>>streamBits][at&(streamChunk-1)]
}

func (ix *streamIndex) hashOf(at uint32) uint64 { return ix.stream(at).h }

// find returns the named stream, or nil with the cursor where it would go
// and the name's hash, for add.
func (ix *streamIndex) find(name string) (*stream, hashtab.Cursor, uint64) {
	h := maphash.String(ix.seed, name)
	c := ix.table.Probe(h)
	for {
		at, ok := c.Next()
		if !ok {
			return nil, c, h
		}
		if st := ix.stream(at); st.name == name {
			return st, c, h
		}
	}
}

// add creates the stream name where find's cursor c stopped (with its hash
// h; nothing added in between).
func (ix *streamIndex) add(c hashtab.Cursor, h uint64, name string) *stream {
	at := uint32(ix.n)
	if ix.n&(streamChunk-1) == 0 {
		ix.chunks = append(ix.chunks, make([]stream, streamChunk))
	}
	st := ix.stream(at)
	st.name, st.h = name, h
	ix.n++
	ix.table.Insert(&c, at, ix.hashOf)
	return st
}

// idIndex maps event IDs to their positions, for idempotent appends:
// internal/hashtab from the ID's hash to its entry in ids. It is guarded
// by the Store's lock.
type idIndex struct {
	seed  maphash.Seed
	table hashtab.Table
	ids   []idEntry
}

type idEntry struct {
	id  uuid.UUID
	pos events.Position
}

func newIDIndex() idIndex {
	ix := idIndex{seed: maphash.MakeSeed()}
	ix.table.Reserve(512, ix.hashOf)
	return ix
}

func (ix *idIndex) hash(id *uuid.UUID) uint64 { return maphash.Bytes(ix.seed, id[:]) }

func (ix *idIndex) hashOf(at uint32) uint64 { return ix.hash(&ix.ids[at].id) }

// get returns the position of the event with this ID.
func (ix *idIndex) get(id uuid.UUID) (events.Position, bool) {
	_, pos, ok := ix.find(id)
	return pos, ok
}

// find probes for id: its position, or the cursor where it goes.
func (ix *idIndex) find(id uuid.UUID) (hashtab.Cursor, events.Position, bool) {
	c := ix.table.Probe(ix.hash(&id))
	for {
		at, ok := c.Next()
		if !ok {
			return c, 0, false
		}
		if e := &ix.ids[at]; e.id == id {
			return c, e.pos, true
		}
	}
}

// put adds an ID that is not in the index.
func (ix *idIndex) put(id uuid.UUID, pos events.Position) {
	c, _, _ := ix.find(id)
	ix.ids = append(ix.ids, idEntry{id, pos})
	ix.table.Insert(&c, uint32(len(ix.ids)-1), ix.hashOf)
}
