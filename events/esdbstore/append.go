package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/storekit"
)

// Appending, and why it is shaped so.
//
// The server's idempotency is a retry check, not a constraint
// (src/KurrentDB.Core/Services/Storage/ReaderIndex/IndexWriter.cs:163-325,
// CheckCommit, at the commit esdbfake's doc.go names): with an exact
// expected revision equal to the stream's last it checks no event ID at all
// (:323-324); with an earlier one it looks for the IDs at the following
// revisions (:257-317); with Any it consults only an 8 MiB cache of recent
// IDs (:198-255; src/KurrentDB.Core/Settings/ESConsts.cs:13). So the store does not lean on it. Each attempt:
//
//  1. reads the stream backwards from its end: with Any or StreamExists
//     until it finds the first event's ID or reaches the start (one round
//     trip per 512 events); with an exact expected revision or NoStream
//     its last 64 events, and, when the stream has moved past that
//     revision, the events just after it, where an earlier copy of the
//     append would be, however deep; alongside, it reads the stream's metadata when the
//     append expects no stream or any, or seals (the metadata tells a new
//     stream from a deleted one, and a seal rewrites it);
//  2. answers from the stored records if the events are there, at any
//     depth (idempotency, before the seal and the expected revision, as
//     the contract says);
//  3. refuses a deleted, truncated or sealed stream (a seal anywhere in
//     it, not only at its head), or a wrong expected revision;
//  4. chains the events to the head it read and appends them expecting
//     exactly that head, so two writers never fork a chain and an append
//     lands at most once;
//  5. on the server's acknowledgement, reads the written records back and
//     answers from them: the acknowledgement cannot tell a fresh write from
//     the server's idempotent answer to an earlier attempt (or to another
//     process running the same command), whose records were stamped at
//     another time and so hash differently. The receipt is always the
//     stored record's hash.
//
// Any other outcome of the write (a timeout, a lost reply, a dropped
// connection, a wrong expected revision) is ambiguous or a lost race, and
// the next attempt's read resolves it. A sealing append then records the
// seal in the stream's metadata (seal.go), alongside the read-back.

// loaded is what an attempt knows of a stream before it writes. The
// events are kept as read; only those needed (the head, an earlier copy of
// the append) are decoded.
type loaded struct {
	stream   string
	found    bool                  // the server found the stream (it may read as empty)
	exists   bool                  // it holds readable events
	raw      []*esdb.RecordedEvent // the stream's tail, oldest first, ending at its head
	complete bool                  // raw reaches the first readable event
	meta     meta                  // when haveMeta
	haveMeta bool
}

// record decodes the i-th event read.
func (l *loaded) record(i int) (events.Record, error) { return streamRecord(l.stream, l.raw[i]) }

// find returns the index in raw of the event with evs[0]'s ID, or -1.
func (l *loaded) find(evs []events.EventData) int {
	for i := len(l.raw) - 1; i >= 0; i-- {
		if l.raw[i].EventID == evs[0].ID {
			return i
		}
	}
	return -1
}

// load reads the stream back from its end until evs[0]'s ID is found or
// the start is reached. With wantMeta it reads the stream's metadata
// alongside (one round trip for both); a stream that reads as empty or not
// found always has its metadata read, to tell a new stream from a deleted
// one.
func (s *Store) load(ctx context.Context, stream string, evs []events.EventData, expected events.ExpectedRevision, wantMeta bool) (*loaded, error) {
	l := &loaded{stream: stream, meta: meta{rev: -1}}
	var metaErr error
	metaDone := make(chan struct{})
	if wantMeta {
		l.haveMeta = true
		go func() {
			defer close(metaDone)
			l.meta, metaErr = s.readMeta(ctx, stream)
		}()
	} else {
		close(metaDone)
	}
	err := s.scan(ctx, l, evs, expected)
	<-metaDone
	if err == nil {
		err = metaErr
	}
	if err == nil && !l.exists && !l.haveMeta {
		l.meta, err = s.readMeta(ctx, stream)
		l.haveMeta = true
	}
	if err == nil && l.found && !l.exists && truncation(l.meta.raw) == "" {
		err = &StreamDeletedError{Stream: stream, How: "truncated: none of its events is readable"}
	}
	return l, err
}

// exactPage is how many events an append with an exact expected revision
// reads from the stream's end: its head, and a window in which a reused
// event ID is still recognised.
const exactPage = 64

// scan reads the stream backwards into l: a page from its end, and then,
// for an append with Any or StreamExists, page after page until evs[0]'s
// ID is found or the start is reached. An append with an exact expected
// revision (or NoStream) has its events, if they were written before,
// exactly after that revision: when the stream has moved past it, scan
// reads them there, however deep.
func (s *Store) scan(ctx context.Context, l *loaded, evs []events.EventData, expected events.ExpectedRevision) error {
	opts := esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}
	full := expected == events.Any || expected == events.StreamExists
	count := s.opts.page
	if !full {
		count = min(count, exactPage)
	}
	for {
		page, found, err := s.readRaw(ctx, l.stream, opts, count)
		if err != nil {
			return err
		}
		l.found = l.found || found
		if len(page) == 0 {
			l.complete = true
			return nil
		}
		l.exists = true
		slices.Reverse(page)
		l.raw = append(page, l.raw...)
		if l.find(evs) >= 0 {
			return nil
		}
		if uint64(len(page)) < count || page[0].EventNumber == 0 {
			l.complete = true
			return nil
		}
		if !full {
			return s.scanAt(ctx, l, evs, expected)
		}
		opts.From = esdb.Revision(page[0].EventNumber - 1)
	}
}

// scanAt reads the events after an exact expected revision that lies
// before what scan read, and keeps them in l if they are evs.
func (s *Store) scanAt(ctx context.Context, l *loaded, evs []events.EventData, expected events.ExpectedRevision) error {
	at := uint64(0) // NoStream: the events would be at revision 0
	if expected >= 0 {
		at = uint64(expected) + 1
	}
	if at >= l.raw[0].EventNumber {
		return nil // within what was read
	}
	deep, _, err := s.readRaw(ctx, l.stream, esdb.ReadStreamOptions{From: esdb.Revision(at)}, uint64(len(evs)))
	if err == nil && len(deep) > 0 && deep[0].EventID == evs[0].ID {
		l.raw = deep
	}
	return err
}

// Append implements events.Store; see the comment above for how.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if err := storekit.ValidateAppend(stream, expected, evs); err != nil {
		return events.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return events.AppendResult{}, err
	}
	if s.isClosed() {
		return events.AppendResult{}, events.ErrClosed
	}
	var lastErr error
	failures, conflicts := 0, 0
	for {
		if failures >= s.opts.attempts {
			return events.AppendResult{}, &ConnectionError{Op: "append to " + stream, Attempts: failures, Err: lastErr}
		}
		res, err, retry := s.appendOnce(ctx, stream, expected, evs)
		if !retry {
			return res, err
		}
		if errors.Is(err, events.ErrWrongExpectedRevision) {
			// The head moved between the read and the write: read again,
			// after a short random pause so that racing writers spread out.
			if conflicts++; conflicts > 100 {
				return events.AppendResult{}, err
			}
			if err := s.pause(ctx, time.Duration(rand.Int64N(int64(s.opts.backoff/10)+1))); err != nil {
				return events.AppendResult{}, err
			}
			continue
		}
		failures++
		lastErr = err
		if failures < s.opts.attempts {
			if err := s.wait(ctx, failures); err != nil {
				return events.AppendResult{}, err
			}
		}
	}
}

// appendOnce is one attempt; retry says whether another may follow.
func (s *Store) appendOnce(ctx context.Context, stream string, expected events.ExpectedRevision, evs []events.EventData) (events.AppendResult, error, bool) {
	sealing := events.Seals(evs[len(evs)-1].Type)
	l, err := s.load(ctx, stream, evs, expected, sealing || expected == events.NoStream || expected == events.Any)
	if err != nil {
		return events.AppendResult{}, err, transient(err)
	}
	if res, done, err := idempotent(l, evs); done {
		if err == nil && sealing {
			err = s.seal(ctx, stream, res.Revision, l.meta) // the first attempt's may not have finished
		}
		return res, err, false
	}
	last, prev, err := writableHead(l)
	if err != nil {
		return events.AppendResult{}, err, false
	}
	if err := expected.Require(stream, last, l.exists); err != nil {
		return events.AppendResult{}, err, false
	}
	first := uint64(0)
	if l.exists {
		first = last + 1
	}
	data, err := chainedEvents(stream, first, s.opts.now(), prev, evs)
	if err != nil {
		return events.AppendResult{}, err, false
	}
	if retry, err := s.writeAfterHead(ctx, l, last, expected, data); err != nil {
		return events.AppendResult{}, err, retry
	}
	res, err := s.readBackAndSeal(ctx, l, first, evs, prev, sealing)
	return res, err, false
}

// writableHead refuses a stream the append may not write to: deleted,
// truncated, sealed (a seal anywhere in what was read, not only at its
// head), or with a head the ledger did not write. Otherwise it returns the
// head's revision and hash, which the append chains after (zero for a
// stream with no events).
func writableHead(l *loaded) (last uint64, prev events.Hash, err error) {
	if how := truncation(l.meta.raw); how != "" {
		return 0, events.Hash{}, &StreamDeletedError{Stream: l.stream, How: how}
	}
	if l.complete && l.exists && l.raw[0].EventNumber != 0 {
		// The read reached the start of what the server lets be read, and
		// that is not revision 0: a $tb or $maxCount hides the rest.
		return 0, events.Hash{}, &StreamDeletedError{Stream: l.stream,
			How: fmt.Sprintf("truncated (its first readable event is revision %d)", l.raw[0].EventNumber)}
	}
	if l.exists {
		head, err := l.record(len(l.raw) - 1)
		if err != nil {
			return 0, events.Hash{}, err // the ledger cannot chain after an event it did not write
		}
		last, prev = head.Revision, head.Hash
	}
	if err := refuseSealed(l); err != nil {
		return 0, events.Hash{}, err
	}
	return last, prev, nil
}

// refuseSealed returns a *events.StreamSealedError for the first seal
// among the events read, at the head or before it (another client appended
// after it), once the seal decodes as a ledger record.
func refuseSealed(l *loaded) error {
	for i, e := range l.raw {
		if !events.Seals(e.EventType) {
			continue
		}
		if _, err := l.record(i); err != nil {
			return err
		}
		return &events.StreamSealedError{Stream: l.stream, SealedAt: e.EventNumber}
	}
	return nil
}

// chainedEvents stamps evs as records at revisions first.., recorded at
// now and chained after prev, and encodes them for the server.
func chainedEvents(stream string, first uint64, now time.Time, prev events.Hash, evs []events.EventData) ([]esdb.EventData, error) {
	data := make([]esdb.EventData, len(evs))
	for i := range evs {
		rec := events.NewRecord(stream, first+uint64(i), now, prev, evs[i])
		prev = rec.Hash
		var err error
		if data[i], err = toESDB(&rec); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// writeAfterHead appends data expecting exactly the head the attempt read
// (no stream, when it read none). retry says whether the error leaves the
// outcome to the next attempt's read: a lost race or a transient failure.
func (s *Store) writeAfterHead(ctx context.Context, l *loaded, last uint64, expected events.ExpectedRevision, data []esdb.EventData) (retry bool, err error) {
	var atHead esdb.ExpectedRevision = esdb.NoStream{}
	if l.exists {
		atHead = esdb.Revision(last)
	}
	err = s.do(ctx, func(ctx context.Context, c *esdb.Client) error {
		_, err := c.AppendToStream(ctx, l.stream, esdb.AppendToStreamOptions{ExpectedRevision: atHead, Deadline: s.deadline()}, data...)
		return err
	})
	switch {
	case err == nil:
		return false, nil
	case hasCode(err, esdb.ErrorCodeWrongExpectedVersion):
		return true, &events.WrongExpectedRevisionError{Stream: l.stream, Expected: expected}
	case hasCode(err, esdb.ErrorCodeStreamDeleted):
		return false, &StreamDeletedError{Stream: l.stream, How: "tombstoned (hard-deleted)"}
	case errors.Is(err, events.ErrClosed), ctx.Err() != nil:
		return false, s.ctxErr(ctx)
	case transient(err):
		return true, err
	default:
		return false, fmt.Errorf("esdbstore: append to %s: %w", l.stream, err)
	}
}

// readBackAndSeal answers a written append from the stored records (see
// readBack) and, for a sealing append, records the seal in the stream's
// metadata alongside.
func (s *Store) readBackAndSeal(ctx context.Context, l *loaded, first uint64, evs []events.EventData, prev events.Hash, sealing bool) (events.AppendResult, error) {
	var sealErr error
	sealDone := make(chan struct{})
	if sealing {
		go func() {
			defer close(sealDone)
			sealErr = s.seal(ctx, l.stream, first+uint64(len(evs))-1, l.meta)
		}()
	} else {
		close(sealDone)
	}
	res, err := s.readBack(ctx, l.stream, first, evs, prev)
	<-sealDone
	if err == nil {
		err = sealErr
	}
	return res, err
}

// readBack reads the records an acknowledged append left at revisions
// first.. and answers from them.
func (s *Store) readBack(ctx context.Context, stream string, first uint64, evs []events.EventData, prev events.Hash) (events.AppendResult, error) {
	stored, found, err := s.readEvents(ctx, stream, esdb.ReadStreamOptions{From: esdb.Revision(first)}, uint64(len(evs)))
	if err == nil && (!found || len(stored) != len(evs)) {
		err = fmt.Errorf("the server acknowledged the append but %d of its %d events read back", len(stored), len(evs))
	}
	if err != nil {
		return events.AppendResult{}, fmt.Errorf("esdbstore: append to %s: acknowledged, but reading it back failed "+
			"(retry it: the retry answers from the stored records and writes nothing twice): %w", stream, err)
	}
	for i := range evs {
		if stored[i].ID != evs[i].ID || !stored[i].SameContent(&evs[i]) {
			return events.AppendResult{}, &events.DuplicateEventError{Stream: stream, ID: evs[i].ID,
				Reason: "the server took the append as a retry of events already written with these IDs and other content"}
		}
		if err := stored[i].Verify(prev); err != nil {
			return events.AppendResult{}, err
		}
		prev = stored[i].Hash
	}
	r := &stored[len(stored)-1]
	return events.AppendResult{Revision: r.Revision, Position: r.Position, Hash: r.Hash}, nil
}

// idempotent recognises an append whose events the stream already holds,
// at any depth: the same IDs, in order, with the same content, answered
// from the stored records. An ID written with other content, or an old ID
// mixed with new ones, is a *events.DuplicateEventError.
func idempotent(l *loaded, evs []events.EventData) (events.AppendResult, bool, error) {
	stream := l.stream
	at := l.find(evs)
	if at < 0 {
		// The read went back to the stream's start (load reads until it
		// finds evs[0]), so any other ID would be among these.
		for _, e := range l.raw {
			for k := 1; k < len(evs); k++ {
				if e.EventID == evs[k].ID {
					return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[k].ID, Reason: "the ID was already written"}
				}
			}
		}
		return events.AppendResult{}, false, nil
	}
	var r events.Record
	for k := range evs {
		i := at + k
		if i >= len(l.raw) {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[k].ID, Reason: "the append repeats earlier events and adds new ones"}
		}
		var err error
		if r, err = l.record(i); err != nil {
			return events.AppendResult{}, true, err
		}
		if r.ID != evs[k].ID || !r.SameContent(&evs[k]) {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[k].ID, Reason: "the ID was already written with other content"}
		}
	}
	return events.AppendResult{Revision: r.Revision, Position: r.Position, Hash: r.Hash}, true, nil
}
