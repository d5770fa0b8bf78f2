package esdbstore

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
)

// drain passes every event of a read to fn, then closes it.
func drain(rs *esdb.ReadStream, fn func(*esdb.ResolvedEvent) error) error {
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// collect gathers the events of a read, then closes it.
func collect(rs *esdb.ReadStream, err error) ([]*esdb.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	var evs []*esdb.RecordedEvent
	err = drain(rs, func(ev *esdb.ResolvedEvent) error {
		if ev.Event != nil {
			evs = append(evs, ev.Event)
		}
		return nil
	})
	return evs, err
}

// readRaw reads up to count events of a stream from a revision (or from
// the end, backwards). found is false when the stream does not exist (or
// was soft-deleted: the server reads it as not found); a tombstoned stream
// is a *StreamDeletedError.
func (s *Store) readRaw(ctx context.Context, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.RecordedEvent, bool, error) {
	opts.Deadline = s.deadline()
	evs, err := retryCall(s, ctx, "read", func(ctx context.Context, c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		return collect(c.ReadStream(ctx, stream, opts, count))
	})
	switch {
	case hasCode(err, esdb.ErrorCodeResourceNotFound):
		return nil, false, nil
	case hasCode(err, esdb.ErrorCodeStreamDeleted):
		return nil, false, &StreamDeletedError{Stream: stream, How: "tombstoned (hard-deleted)"}
	case err != nil:
		return nil, false, err
	}
	return evs, true, nil
}

// readEvents is readRaw converted to records: an event the ledger did not
// write ends the records with a *events.ChainError naming it.
func (s *Store) readEvents(ctx context.Context, stream string, opts esdb.ReadStreamOptions, count uint64) ([]events.Record, bool, error) {
	raw, found, err := s.readRaw(ctx, stream, opts, count)
	recs := make([]events.Record, 0, len(raw))
	for _, e := range raw {
		if err != nil {
			break
		}
		var r events.Record
		if r, err = streamRecord(stream, e); err == nil {
			recs = append(recs, r)
		}
	}
	return recs, found, err
}

// ReadStream implements events.Store. An event in the stream that the
// ledger did not write is a *events.ChainError naming it; a tombstoned
// stream is a *StreamDeletedError.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		next, first := from, true
		for {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, s.ctxErr(ctx))
				return
			}
			page, found, err := s.readEvents(ctx, stream, esdb.ReadStreamOptions{From: esdb.Revision(next)}, s.opts.page)
			if err == nil && !found {
				if first {
					err = &events.StreamNotFoundError{Stream: stream}
				} else {
					return
				}
			}
			first = false
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
				next = r.Revision + 1
			}
			if err != nil {
				yield(events.Record{}, err)
				return
			}
			if uint64(len(page)) < s.opts.page {
				return
			}
		}
	}
}

// page is one $all read: the ledger's records and findings in log order,
// and where the next page starts.
type page struct {
	items []item
	read  int    // events the server returned
	last  uint64 // the last event's log position
}

// item is one record, or one finding (err), of a $all read.
type item struct {
	rec events.Record
	err error
}

// readAllPage reads one page of $all, count events, from st. seen is
// updated only with the page's outcome, in the caller's goroutine.
func (s *Store) readAllPage(ctx context.Context, st start, seen map[string]bool, count uint64) (page, error) {
	evs, err := retryCall(s, ctx, "read", func(ctx context.Context, c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		return collect(c.ReadAll(ctx, esdb.ReadAllOptions{From: st.pos, Deadline: s.deadline()}, count))
	})
	if err != nil {
		if isInvalidPosition(err) {
			err = &PositionError{Position: startPosition(st), Err: err}
		}
		return page{}, err
	}
	p := page{read: len(evs)}
	for _, e := range evs {
		p.last = e.Position.Commit
		if st.after && e.Position.Commit == st.at {
			continue // the checkpoint's own record
		}
		if r, err, ok := s.classify(e, seen); ok {
			p.items = append(p.items, item{rec: r, err: err})
		}
	}
	return p, nil
}

func startPosition(st start) events.Position {
	p := LedgerPosition(st.at)
	if st.after {
		p++
	}
	return p
}

// classify sorts an event read from $all: a ledger record (ok, err nil),
// a finding about a ledger stream (ok, err set), or an event that is none
// of the ledger's business (not ok).
func (s *Store) classify(e *esdb.RecordedEvent, seen map[string]bool) (events.Record, error, bool) {
	if strings.HasPrefix(e.StreamID, "$") {
		if err := metadataFinding(e, seen); err != nil {
			return events.Record{}, err, true
		}
		return events.Record{}, nil, false
	}
	r, err := fromESDB(e)
	if errors.Is(err, errNotLedger) {
		if isLedgerStream(e.StreamID, seen) {
			return events.Record{}, foreignEvent(e), true
		}
		return events.Record{}, nil, false
	}
	seen[e.StreamID] = true
	return r, err, true
}

// ReadAll implements events.Store. Events the ledger did not write are
// skipped, except in the ledger's streams: there an event without the
// ledger's envelope, a tombstone, or metadata that deletes or truncates
// the stream is yielded as a *events.ChainError naming the stream, so that
// verification and rebuilds report what the server let another client do.
// Each page starts at the exact position of a record.
func (s *Store) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		st := startAt(from)
		seen := map[string]bool{}
		for {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, s.ctxErr(ctx))
				return
			}
			p, err := s.readAllPage(ctx, st, seen, s.opts.page)
			if err != nil {
				yield(events.Record{}, err)
				return
			}
			for _, it := range p.items {
				if it.err != nil {
					yield(it.rec, it.err)
					return
				}
				if !yield(it.rec, nil) {
					return
				}
			}
			if uint64(p.read) < s.opts.page {
				return
			}
			st = start{pos: esdb.Position{Commit: p.last, Prepare: p.last}, at: p.last, after: true}
		}
	}
}
