package chain

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"iter"
	"runtime"
	"strconv"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/hashtab"
)

// StreamVerifier verifies the hash chains of many streams from records read
// in log order (ReadAll, say), keeping each stream's last hash: a record's
// revision is the one its stream expects next, its content matches its
// hash, its previous-hash link matches the stream's last record, and
// nothing follows a sealing event. The zero value is ready to use; it is
// not safe for concurrent use (a parallel verifier gives each goroutine its
// own and every record of a stream to the same one).
type StreamVerifier struct {
	// streams finds a stream's tip in tips by the hash of its name
	// (internal/hashtab: the tags screen out other streams before their
	// names are compared).
	streams hashtab.Table
	seed    maphash.Seed
	seeded  bool
	tips    []streamTip
	buf     []byte   // canonical encoding scratch
	hs      []uint64 // CheckBatch's stream hashes
}

// streamTip is what a stream's next record is checked against.
type streamTip struct {
	stream string
	h      uint64 // the hash of the name (the table grows from it)
	next   uint64 // the revision expected next
	hash   events.Hash
	sealed bool
}

// NewStreamVerifier returns a verifier sized for about streams streams, so
// that verifying a large log does not keep regrowing its table.
func NewStreamVerifier(streams int) *StreamVerifier {
	v := &StreamVerifier{}
	v.init()
	v.tips = make([]streamTip, 0, max(streams, 0))
	v.streams.Reserve(streams, v.hashOf)
	return v
}

func (v *StreamVerifier) init() {
	if !v.seeded {
		v.seed, v.seeded = maphash.MakeSeed(), true
	}
}

func (v *StreamVerifier) hashOf(at uint32) uint64 { return v.tips[at].h }

// find returns the stream's tip, or nil and the cursor where it goes.
func (v *StreamVerifier) find(stream string, h uint64) (*streamTip, hashtab.Cursor) {
	c := v.streams.Probe(h)
	for {
		at, ok := c.Next()
		if !ok {
			return nil, c
		}
		if t := &v.tips[at]; t.stream == stream {
			return t, c
		}
	}
}

// Check verifies r against its stream's previous record. A record after a
// sealing event is a violation even when its hash links correctly.
func (v *StreamVerifier) Check(r *events.Record) error {
	v.init()
	return v.check(r, maphash.String(v.seed, r.Stream))
}

// CheckBatch checks records as Check does, in order, setting errs[i] for
// each record i it checks; mine selects the records that are this
// verifier's (nil: all of them). It first walks the batch reading what each
// check will need (the stream's slot in the table, the payload), so that
// the cache misses of a large log overlap instead of coming one at a time.
func (v *StreamVerifier) CheckBatch(recs []events.Record, errs []error, mine func(i int) bool) {
	v.init()
	v.hs = v.hs[:0]
	var warm byte
	for i := range recs {
		var h uint64
		if mine == nil || mine(i) {
			r := &recs[i]
			h = maphash.String(v.seed, r.Stream)
			for j := 0; j < len(r.Data); j += 64 { // each cache line of the payload
				warm += r.Data[j]
			}
		}
		v.hs = append(v.hs, h)
	}
	runtime.KeepAlive(warm) // the reads are the point
	v.streams.Prefetch(v.hs)
	for i := range recs {
		if mine == nil || mine(i) {
			errs[i] = v.check(&recs[i], v.hs[i])
		}
	}
}

// check is Check given the stream name's hash.
func (v *StreamVerifier) check(r *events.Record, h uint64) error {
	tip, c := v.find(r.Stream, h)
	at := streamTip{} // a new stream: revision 0 comes first, after a zero hash
	if tip != nil {
		at = *tip
	}
	if r.Revision != at.next {
		return &events.ChainError{Stream: r.Stream, Revision: r.Revision, Problem: fmt.Sprintf("revision out of order: want %d", at.next)}
	}
	if at.sealed {
		return &events.ChainError{Stream: r.Stream, Revision: r.Revision, Problem: "event after the stream was sealed", Err: events.ErrStreamSealed}
	}
	if err := v.verifyLink(r, at.hash); err != nil {
		return err
	}
	v.advance(tip, &c, r, h)
	return nil
}

// verifyLink checks r's previous-hash link and its content against its
// hash, as events.Record.Verify does, encoding into the verifier's
// scratch buffer.
func (v *StreamVerifier) verifyLink(r *events.Record, prev events.Hash) error {
	if r.PrevHash != prev {
		return &events.ChainError{Stream: r.Stream, Revision: r.Revision, Problem: "previous-hash link does not match the previous record"}
	}
	v.buf = r.AppendCanonical(v.buf[:0])
	if sha256.Sum256(v.buf) != r.Hash {
		return &events.ChainError{Stream: r.Stream, Revision: r.Revision, Problem: "content does not match its hash"}
	}
	return nil
}

// advance makes r its stream's tip: in place, or a new entry where the
// cursor stopped.
func (v *StreamVerifier) advance(tip *streamTip, c *hashtab.Cursor, r *events.Record, h uint64) {
	next := streamTip{stream: r.Stream, h: h, next: r.Revision + 1, hash: r.Hash, sealed: events.Seals(r.Type)}
	if tip != nil {
		*tip = next
		return
	}
	v.tips = append(v.tips, next)
	v.streams.Insert(c, uint32(len(v.tips)-1), v.hashOf)
}

// Resume takes r as its stream's last verified record without checking it:
// a verifier that trusts a log's prefix (a rebuild from a verified
// checkpoint) seeds with it the streams that continue past the prefix.
func (v *StreamVerifier) Resume(r *events.Record) {
	v.init()
	h := maphash.String(v.seed, r.Stream)
	tip, c := v.find(r.Stream, h)
	v.advance(tip, &c, r, h)
}

// Next returns the revision the verifier expects next in stream, and
// whether it has seen the stream at all.
func (v *StreamVerifier) Next(stream string) (uint64, bool) {
	if !v.seeded {
		return 0, false
	}
	tip, _ := v.find(stream, maphash.String(v.seed, stream))
	if tip == nil {
		return 0, false
	}
	return tip.next, true
}

// Streams returns how many streams the verifier has seen.
func (v *StreamVerifier) Streams() int { return len(v.tips) }

// VerifyStream verifies one stream read in order: revisions run 0, 1, 2...,
// every record names the stream, every hash matches its content and links
// to its predecessor, and nothing follows a sealing event. It stops at the
// first failure, returned as an *events.ChainError (or the read error).
func VerifyStream(stream string, records iter.Seq2[events.Record, error]) (n int, err error) {
	var v StreamVerifier
	for r, err := range records {
		if err != nil {
			return n, err
		}
		if r.Stream != stream {
			return n, &events.ChainError{Stream: stream, Revision: uint64(n), Problem: "record names stream " + strconv.Quote(r.Stream)}
		}
		if err := v.Check(&r); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ChainsReport summarizes a log whose hash chains verified.
type ChainsReport struct {
	Records int // records verified
	Streams int // streams seen
}

// VerifyChains reads a store's whole log in order and verifies every
// stream's hash chain, and that nothing follows a sealing event. It stops
// at the first violation, an *events.ChainError naming the stream and
// revision. Verify checks all the rest (bindings, the tree, checkpoints).
func VerifyChains(ctx context.Context, s events.Store) (ChainsReport, error) {
	var v StreamVerifier
	var rep ChainsReport
	for r, err := range s.ReadAll(ctx, 0) {
		if err == nil {
			err = v.Check(&r)
		}
		if err != nil {
			rep.Streams = v.Streams()
			return rep, err
		}
		rep.Records++
	}
	rep.Streams = v.Streams()
	return rep, nil
}
