package storekit

import (
	"context"
	"iter"

	"github.com/electionledger/ledger/events"
)

// Fill is how a store reads its log in batches, for PollAll and
// PollSubscribe: it appends to buf the records at positions >= next that f
// accepts, and returns them with the position to read next. When it has
// nothing new and wait is set, it returns a channel that is closed when
// more records arrive. It must hold no lock when it returns. With an error
// it may return the records it read before it: they are yielded first, then
// the error.
type Fill func(buf []events.Record, next events.Position, f events.Filter, wait bool) ([]events.Record, events.Position, <-chan struct{}, error)

// PollAll builds a Store's ReadAll from its Fill: records from position
// from to the end of the log, yielded with no lock held.
func PollAll(ctx context.Context, from events.Position, fill Fill) iter.Seq2[events.Record, error] {
	return poll(ctx, from, events.Filter{}, fill, false)
}

// PollSubscribe builds a Store's Subscribe from its Fill: catch up, then
// wait for each append, until ctx ends (yielding its error) or the store
// closes (Fill's error).
func PollSubscribe(ctx context.Context, from events.Position, f events.Filter, fill Fill) iter.Seq2[events.Record, error] {
	return poll(ctx, from, f, fill, true)
}

// poll reads the log through fill from position from, yielding each record
// f accepts with no lock held; at the end of the log it returns, or with
// follow waits for the next append.
func poll(ctx context.Context, from events.Position, f events.Filter, fill Fill, follow bool) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		next := from
		var buf []events.Record
		for {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, err)
				return
			}
			var wait <-chan struct{}
			var err error
			buf, next, wait, err = fill(buf[:0], next, f, follow)
			if err != nil {
				if yieldEach(yield, buf) {
					yield(events.Record{}, err)
				}
				return
			}
			if !follow && len(buf) == 0 {
				return
			}
			if !yieldEach(yield, buf) {
				return
			}
			if wait != nil && len(buf) == 0 {
				select {
				case <-ctx.Done():
					yield(events.Record{}, ctx.Err())
					return
				case <-wait:
				}
			}
		}
	}
}

// yieldEach yields each record of buf, and says whether the caller wants
// more.
func yieldEach(yield func(events.Record, error) bool, buf []events.Record) bool {
	for i := range buf {
		if !yield(buf[i], nil) {
			return false
		}
	}
	return true
}

// FillBatch builds a Store's events.BatchReader ReadBatch from its Fill: one
// Fill of the whole log (no filter, no waiting) into buf.
func FillBatch(ctx context.Context, buf []events.Record, from events.Position, fill Fill) ([]events.Record, events.Position, error) {
	if err := ctx.Err(); err != nil {
		return buf, from, err
	}
	buf, next, _, err := fill(buf, from, events.Filter{}, false)
	return buf, next, err
}
