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
		st, done := s.deliverStartRecord(ctx, startAt(from), f, seen, yield)
		if done {
			return
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

// deliverStartRecord, for a subscription from a record's own position,
// reads that record and yields it (if f accepts it), and returns where the
// server subscription starts: after the record, or after the position when
// it is the end of the log. Any other start is returned as it is. done
// says the iterator has ended (the caller broke the loop, or an error was
// yielded).
func (s *Store) deliverStartRecord(ctx context.Context, st start, f events.Filter, seen map[string]bool,
	yield func(events.Record, error) bool) (next start, done bool) {
	if st.zero || st.after {
		return st, false
	}
	p, err := s.readAllPage(ctx, st, seen, 1)
	if err != nil {
		yield(events.Record{}, s.endErr(ctx, err))
		return st, true
	}
	for _, it := range p.items {
		if it.err != nil {
			yield(it.rec, it.err)
			return st, true
		}
		if f.Accepts(it.rec.Stream) && !yield(it.rec, nil) {
			return st, true
		}
	}
	if p.read > 0 {
		return start{pos: esdb.Position{Commit: p.last, Prepare: p.last}, at: p.last, after: true}, false
	}
	st.after = true // at the end of the log: what comes after
	return st, false
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
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := s.startServerSub(sctx, subscribeOptions(st, f))
	select {
	case err := <-sub.started:
		if err != nil {
			<-sub.finished
			return last, err, false
		}
		last.confirmed = true
	case <-sub.finished:
		return last, sub.endErr, false
	}
	for {
		m, ok := sub.next()
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

// subscribeOptions subscribes to $all from st, filtered by the server on
// f's stream prefixes, or, with none, on stream names not starting with
// "$", so system streams stay out.
func subscribeOptions(st start, f events.Filter) esdb.SubscribeToAllOptions {
	opts := esdb.SubscribeToAllOptions{From: st.pos, Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: "^[^$]"}}
	if len(f.StreamPrefixes) > 0 {
		opts.Filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: f.StreamPrefixes}
	}
	return opts
}

// serverSub is one server subscription, received in a goroutine of its
// own and passed on message by message.
type serverSub struct {
	msgs     chan subMsg   // events and the drop, in the order received
	started  chan error    // the answer to the subscribe call, sent once
	finished chan struct{} // closed when the goroutine ends
	endErr   error         // why it ended; written before finished closes
}

// startServerSub subscribes on a connection of the store's and receives
// in a goroutine until the subscription drops or ctx ends.
func (s *Store) startServerSub(ctx context.Context, opts esdb.SubscribeToAllOptions) *serverSub {
	sub := &serverSub{msgs: make(chan subMsg, 64), started: make(chan error, 1), finished: make(chan struct{})}
	go func() {
		defer close(sub.finished)
		_, sub.endErr = callOn(s, ctx, false, func(ctx context.Context, c *esdb.Client) (struct{}, error) {
			return struct{}{}, sub.receive(ctx, c, opts)
		})
	}()
	return sub
}

// receive subscribes on c, reports the answer on started, and passes on
// the events and the drop the server sends until the drop or ctx's end,
// whose cause it returns.
func (sub *serverSub) receive(ctx context.Context, c *esdb.Client, opts esdb.SubscribeToAllOptions) error {
	es, err := c.SubscribeToAll(ctx, opts)
	sub.started <- err
	if err != nil {
		return err
	}
	defer es.Close()
	for {
		out, ok := toSubMsg(es.Recv())
		if !ok {
			continue // caught up, checkpoints
		}
		select {
		case sub.msgs <- out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if out.err != nil {
			return out.err
		}
	}
}

// toSubMsg turns what the server sent into a message to pass on: an event
// or a drop (with a cause, always); ok is false for anything else.
func toSubMsg(m *esdb.SubscriptionEvent) (out subMsg, ok bool) {
	switch {
	case m.SubscriptionDropped != nil:
		out.err = m.SubscriptionDropped.Error
		if out.err == nil {
			out.err = errors.New("subscription dropped")
		}
		return out, true
	case m.EventAppeared != nil:
		out.ev = m.EventAppeared
		return out, true
	}
	return out, false
}

// next returns the next message, and after the goroutine's end what it
// sent before it, then its end as a message; false once it ended without
// an error.
func (sub *serverSub) next() (subMsg, bool) {
	select {
	case m := <-sub.msgs:
		return m, true
	case <-sub.finished:
		select { // what was sent before the end
		case m := <-sub.msgs:
			return m, true
		default:
			return subMsg{err: sub.endErr}, sub.endErr != nil
		}
	}
}
