package chain

import (
	"context"
	"errors"
	"iter"

	"github.com/electionledger/ledger/events"
)

// sliceStore is a read-only log held in a slice: the least a Store can be.
type sliceStore []events.Record

func (s sliceStore) Append(context.Context, string, events.ExpectedRevision, ...events.EventData) (events.AppendResult, error) {
	return events.AppendResult{}, errors.New("read-only")
}

func (s sliceStore) ReadStream(_ context.Context, stream string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		found := false
		for _, r := range s {
			if r.Stream == stream {
				found = true
				if r.Revision >= from && !yield(r, nil) {
					return
				}
			}
		}
		if !found {
			yield(events.Record{}, &events.StreamNotFoundError{Stream: stream})
		}
	}
}

func (s sliceStore) ReadAll(_ context.Context, from events.Position) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		for _, r := range s {
			if r.Position >= from && !yield(r, nil) {
				return
			}
		}
	}
}

func (s sliceStore) Subscribe(ctx context.Context, from events.Position, _ events.Filter) iter.Seq2[events.Record, error] {
	return s.ReadAll(ctx, from)
}

func (s sliceStore) Close() error { return nil }
