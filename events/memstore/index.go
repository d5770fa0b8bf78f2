package memstore

import (
	"hash/maphash"
	"math/bits"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// streamIndex finds a stream's index by name: an open-addressing table
// (linear probing, at most half full) of 8-byte slots holding a tag (low
// bits of the name's hash, never zero) and where the stream lies in
// chunks. A lookup usually touches one slot and the stream itself; growing
// re-inserts from the streams' stored hashes without reading their names.
// It is guarded by the Store's lock.
type streamIndex struct {
	seed   maphash.Seed
	slots  []indexSlot
	shift  uint8
	chunks [][]stream // streams in the order they were created
	n      int
}

type indexSlot struct {
	tag uint32 // 0: empty
	at  uint32 // the stream's number: chunks[at>>streamBits][at&(streamChunk-1)]
}

// streamBits sizes the chunks stream indexes are allocated in.
const (
	streamBits  = 10
	streamChunk = 1 << streamBits
)

func newStreamIndex() streamIndex {
	ix := streamIndex{seed: maphash.MakeSeed()}
	ix.resize(1024)
	return ix
}

func (ix *streamIndex) stream(at uint32) *stream {
	return &ix.chunks[at>>streamBits][at&(streamChunk-1)]
}

// find returns the named stream, or nil with the empty slot where it
// would go and the name's hash, for add.
func (ix *streamIndex) find(name string) (*stream, *indexSlot, uint64) {
	h := maphash.String(ix.seed, name)
	tag := uint32(h) | 1
	mask := uint64(len(ix.slots) - 1)
	for i := h >> ix.shift; ; i = (i + 1) & mask {
		s := &ix.slots[i]
		if s.tag == 0 {
			return nil, s, h
		}
		if s.tag == tag {
			if st := ix.stream(s.at); st.name == name {
				return st, nil, h
			}
		}
	}
}

// add creates the stream name at the empty slot s that find returned
// (with its hash h; nothing added in between).
func (ix *streamIndex) add(s *indexSlot, h uint64, name string) *stream {
	at := uint32(ix.n)
	if ix.n&(streamChunk-1) == 0 {
		ix.chunks = append(ix.chunks, make([]stream, streamChunk))
	}
	st := ix.stream(at)
	st.name, st.h = name, h
	*s = indexSlot{tag: uint32(h) | 1, at: at}
	ix.n++
	if 2*ix.n > len(ix.slots) {
		ix.resize(2 * len(ix.slots))
	}
	return st
}

func (ix *streamIndex) resize(size int) {
	ix.slots = make([]indexSlot, size)
	ix.shift = uint8(64 - bits.Len(uint(size-1)))
	mask := uint64(size - 1)
	for at := range ix.n {
		h := ix.stream(uint32(at)).h
		i := h >> ix.shift
		for ix.slots[i].tag != 0 {
			i = (i + 1) & mask
		}
		ix.slots[i] = indexSlot{tag: uint32(h) | 1, at: uint32(at)}
	}
}

// idIndex maps event IDs to their positions, for idempotent appends: an
// open-addressing table (linear probing, at most half full) keyed by the
// ID itself, with the nil ID (which no event has) marking an empty slot.
// It is guarded by the Store's lock.
type idIndex struct {
	seed  maphash.Seed
	slots []idSlot
	shift uint8
	n     int
}

type idSlot struct {
	id  uuid.UUID
	pos events.Position
}

func newIDIndex() idIndex {
	ix := idIndex{seed: maphash.MakeSeed()}
	ix.resize(1024)
	return ix
}

func (ix *idIndex) home(id *uuid.UUID) uint64 {
	return maphash.Bytes(ix.seed, id[:]) >> ix.shift
}

// get returns the position of the event with this ID.
func (ix *idIndex) get(id uuid.UUID) (events.Position, bool) {
	mask := uint64(len(ix.slots) - 1)
	for i := ix.home(&id); ; i = (i + 1) & mask {
		s := &ix.slots[i]
		if s.id == id {
			return s.pos, true
		}
		if s.id == uuid.Nil {
			return 0, false
		}
	}
}

// put adds an ID that is not in the index.
func (ix *idIndex) put(id uuid.UUID, pos events.Position) {
	if 2*(ix.n+1) > len(ix.slots) {
		ix.resize(2 * len(ix.slots))
	}
	mask := uint64(len(ix.slots) - 1)
	i := ix.home(&id)
	for ix.slots[i].id != uuid.Nil {
		i = (i + 1) & mask
	}
	ix.slots[i] = idSlot{id, pos}
	ix.n++
}

func (ix *idIndex) resize(size int) {
	old := ix.slots
	ix.slots = make([]idSlot, size)
	ix.shift = uint8(64 - bits.Len(uint(size-1)))
	ix.n = 0
	for _, s := range old {
		if s.id != uuid.Nil {
			ix.put(s.id, s.pos)
		}
	}
}
