package esdbstore

import (
	"context"
	"errors"
	"iter"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
)

// Subscribe implements events.Store: a catch-up subscription to $all,
// filtered by the server on the stream prefixes (or on stream names not
// starting with "$", so system streams stay out), that resubscribes by
// itself after a drop from the last record it delivered, so that no record
// is missed or repeated. A subscription from a record's own Position first
// reads that record, then subscribes from it (the server delivers what
// follows a position); from Position+1 it subscribes from the record; from
// 0 from the start. A position that names no record ends it with a
// *PositionError. After the store's attempts at reconnecting fail in a row,
// it ends with a *ConnectionError. Findings in the ledger's streams (an
// event the ledger did not write, a tombstone) end it with a
// *events.ChainError, as in ReadAll.
func (s *Store) Subscribe(ctx context.Context, from events.Position, f events.Filter) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(events.Record{}, s.ctxErr(ctx))
			return
		}
		if s.isClosed() {
			yield(events.Record{}, events.ErrClosed)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(s.life, cancel)
		defer stop()
		seen := map[string]bool{}
		st := startAt(from)
		if !st.zero && !st.after {
			// From a record's own position: read it, then go on after it.
			p, err := s.readAllPage(ctx, st, seen, 1)
			if err != nil {
				yield(events.Record{}, s.endErr(ctx, err))
				return
			}
			for _, it := range p.items {
				if it.err != nil {
					yield(it.rec, it.err)
					return
				}
				if f.Accepts(it.rec.Stream) && !yield(it.rec, nil) {
					return
				}
			}
			if p.read > 0 {
				st = start{pos: esdb.Position{Commit: p.last, Prepare: p.last}, at: p.last, after: true}
			} else {
				st.after = true // at the end of the log: what comes after
			}
		}
		failures := 0
		var lastErr error
		for {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, s.ctxErr(ctx))
				return
			}
			if failures >= s.opts.attempts {
				yield(events.Record{}, &ConnectionError{Op: "subscribe", Attempts: failures, Err: lastErr})
				return
			}
			if failures > 0 {
				if err := s.wait(ctx, failures); err != nil {
					yield(events.Record{}, s.ctxErr(ctx))
					return
				}
			}
			delivered, err, done := s.subscribeOnce(ctx, st, f, seen, yield)
			if done {
				return
			}
			if ctx.Err() != nil || s.life.Err() != nil {
				yield(events.Record{}, s.ctxErr(ctx))
				return
			}
			if delivered.ok {
				st = start{pos: esdb.Position{Commit: delivered.at, Prepare: delivered.at}, at: delivered.at, after: true}
			}
			if delivered.confirmed {
				failures = 0 // the server was there: count failures to reach it afresh
			}
			switch {
			case isInvalidPosition(err):
				yield(events.Record{}, &PositionError{Position: startPosition(st), Err: err})
				return
			case err != nil && !transient(err):
				yield(events.Record{}, err)
				return
			}
			failures++
			lastErr = err
		}
	}
}

// endErr is the error that ends an iterator: ErrClosed once the store
// closed, ctx's once it ended, else err.
func (s *Store) endErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, events.ErrClosed) {
		return s.ctxErr(ctx)
	}
	return err
}

// lastDelivered is the position of the last event a subscription handled,
// and whether the server confirmed the subscription at all.
type lastDelivered struct {
	at        uint64
	ok        bool
	confirmed bool
}

// subMsg is what the receiving goroutine passes on.
type subMsg struct {
	ev  *esdb.ResolvedEvent
	err error // the drop's cause
}

// subscribeOnce runs one server subscription from st until it drops (err),
// the caller breaks the loop or an error is yielded (done).
func (s *Store) subscribeOnce(ctx context.Context, st start, f events.Filter, seen map[string]bool,
	yield func(events.Record, error) bool) (last lastDelivered, err error, done bool) {
	opts := esdb.SubscribeToAllOptions{From: st.pos, Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: "^[^$]"}}
	if len(f.StreamPrefixes) > 0 {
		opts.Filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: f.StreamPrefixes}
	}
	msgs := make(chan subMsg, 64)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan error, 1)
	finished := make(chan struct{})
	var endErr error
	go func() {
		defer close(finished)
		_, endErr = callOn(s, sctx, false, func(ctx context.Context, c *esdb.Client) (struct{}, error) {
			sub, err := c.SubscribeToAll(ctx, opts)
			started <- err
			if err != nil {
				return struct{}{}, err
			}
			defer sub.Close()
			for {
				m := sub.Recv()
				var out subMsg
				switch {
				case m.SubscriptionDropped != nil:
					out.err = m.SubscriptionDropped.Error
					if out.err == nil {
						out.err = errors.New("subscription dropped")
					}
				case m.EventAppeared != nil:
					out.ev = m.EventAppeared
				default:
					continue // caught up, checkpoints
				}
				select {
				case msgs <- out:
				case <-ctx.Done():
					return struct{}{}, ctx.Err()
				}
				if out.err != nil {
					return struct{}{}, out.err
				}
			}
		})
	}()
	select {
	case err := <-started:
		if err != nil {
			<-finished
			return last, err, false
		}
		last.confirmed = true
	case <-finished:
		return last, endErr, false
	}
	next := func() (subMsg, bool) {
		select {
		case m := <-msgs:
			return m, true
		case <-finished:
			select { // what was sent before the end
			case m := <-msgs:
				return m, true
			default:
				return subMsg{err: endErr}, endErr != nil
			}
		}
	}
	for {
		m, ok := next()
		if !ok {
			return last, ctx.Err(), false
		}
		if m.err != nil {
			return last, m.err, false
		}
		e := m.ev.Event
		if e == nil {
			continue
		}
		last.at, last.ok = e.Position.Commit, true
		if st.after && e.Position.Commit <= st.at {
			continue
		}
		r, ferr, ok := s.classify(e, seen)
		if !ok {
			continue
		}
		if ferr != nil {
			yield(r, ferr)
			return last, nil, true
		}
		if !f.Accepts(r.Stream) {
			continue
		}
		if !yield(r, nil) {
			return last, nil, true
		}
	}
}
