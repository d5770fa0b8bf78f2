package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/electionledger/ledger/events"
)

// PageSize tells the suite how many records the store reads from its log
// at a time, so that the positions test takes its checkpoints at the
// store's own page boundaries (default 256, which also covers stores that
// read 512 at a time).
func PageSize(n int) Option { return func(c *config) { c.pageSize = max(n, 1) } }

// positionsRecords is the least number of records the positions test
// writes.
const positionsRecords = 2000

// testPositions writes a log of at least 2,000 records across 40 streams,
// in appends of one to seven events from four concurrent writers, then
// reads and follows it from checkpoints taken at every page boundary:
// after the last record of a page (Position+1, as a checkpoint is stored),
// and at the first record of the next (its own Position). Every read and
// subscription must continue exactly where the checkpoint says, across the
// store's further page boundaries, with no record skipped or repeated; a
// reader that stops at each page boundary and resumes from its checkpoint
// must see the log whole; and a subscription from after the last record
// must deliver the next append and nothing else.
func testPositions(t *testing.T, s events.Store) {
	page := cfgOf(s).pageSize
	if page <= 0 {
		page = 256
	}
	n := max(positionsRecords, 3*page+1)
	const streams = 40
	names := make([]string, streams)
	for i := range names {
		names[i] = stream(s, fmt.Sprintf("pos%02d", i))
	}
	writePositionsLog(t, s, names, n)
	if t.Failed() {
		return
	}
	recs := readAll(t, s, 0)
	if len(recs) != n {
		t.Fatalf("the log holds %d of the %d records written", len(recs), n)
	}
	checkLogOrder(t, recs, streams)
	checkReadResumingAtPages(t, s, recs, page)
	checkSubscribeResumingAtPages(t, s, recs, page)
	checkFromEachPageBoundary(t, s, recs, page)
	checkFollowFromEnd(t, s, recs[len(recs)-1].Position+1, names[0])
}

// positionsWriters is how many writers the positions test runs at once.
const positionsWriters = 4

// writePositionsLog appends n records across names from
// positionsWriters concurrent writers, each in its own share of the
// streams, in appends of one to seven events.
func writePositionsLog(t *testing.T, s events.Store, names []string, n int) {
	var wg sync.WaitGroup
	for w := range positionsWriters {
		quota := n / positionsWriters // each writer its share, in its own streams
		if w == 0 {
			quota += n % positionsWriters
		}
		wg.Go(func() { writeShare(t, s, names, w, quota) })
	}
	wg.Wait()
}

// writeShare is writer w's part of writePositionsLog: quota records, in
// appends of one to seven events, round the streams names[w],
// names[w+positionsWriters], ... It fails t and stops at the first failed
// append.
func writeShare(t *testing.T, s events.Store, names []string, w, quota int) {
	for k := 0; quota > 0; k++ {
		size := min(1+(k+w)%7, quota)
		quota -= size
		batch := make([]events.EventData, size)
		for i := range batch {
			batch[i] = ev(k*8 + i)
		}
		name := names[w+positionsWriters*(k%(len(names)/positionsWriters))]
		if _, err := s.Append(ctxFor(t), name, events.Any, batch...); err != nil {
			t.Errorf("append to %s: %v", name, err)
			return
		}
	}
}

// checkLogOrder fails t unless positions increase along recs, each
// stream's revisions run 0, 1, 2, ... in log order, and recs hold the
// given number of streams.
func checkLogOrder(t *testing.T, recs []events.Record, streams int) {
	next := map[string]uint64{}
	for i, r := range recs {
		if i > 0 && r.Position <= recs[i-1].Position {
			t.Fatalf("positions do not increase at record %d: %d then %d", i, recs[i-1].Position, r.Position)
		}
		if r.Revision != next[r.Stream] {
			t.Fatalf("record %d is %s@%d, want revision %d", i, r.Stream, r.Revision, next[r.Stream])
		}
		next[r.Stream]++
	}
	if len(next) != streams {
		t.Fatalf("the log holds %d streams, want %d", len(next), streams)
	}
}

// checkReadResumingAtPages: a reader that stops at every page boundary
// and resumes from its checkpoint sees the whole log, recs, once.
func checkReadResumingAtPages(t *testing.T, s events.Store, recs []events.Record, page int) {
	n := len(recs)
	var chained []events.Record
	for from := events.Position(0); len(chained) < n; {
		before := len(chained)
		chained = append(chained, readN(t, s, from, page)...)
		if len(chained) == before {
			t.Fatalf("read all from checkpoint %d yields nothing after %d of %d records", from, before, n)
		}
		from = chained[len(chained)-1].Position + 1
	}
	same(t, "a reader resuming at every page boundary", chained, recs)
}

// checkSubscribeResumingAtPages: a subscriber that stops at every page
// boundary and resumes from its checkpoint sees the whole log, recs, once.
func checkSubscribeResumingAtPages(t *testing.T, s events.Store, recs []events.Record, page int) {
	n := len(recs)
	var followed []events.Record
	for from := events.Position(0); len(followed) < n; {
		want := min(page, n-len(followed))
		got := collect(t, s.Subscribe(ctxFor(t), from, ownStreams(s)), want)
		followed = append(followed, got...)
		from = got[len(got)-1].Position + 1
	}
	same(t, "a subscriber resuming at every page boundary", followed, recs)
}

// checkFromEachPageBoundary reads and subscribes from each page boundary
// of recs, by checkpoint and by exact position, reading on across the
// store's next page boundaries.
func checkFromEachPageBoundary(t *testing.T, s events.Store, recs []events.Record, page int) {
	n := len(recs)
	for b := page; b < n; b += page {
		span := min(2*page+1, n-b)
		checkpoint := recs[b-1].Position + 1
		same(t, fmt.Sprintf("read all from the checkpoint after record %d", b-1), readN(t, s, checkpoint, span), recs[b:b+span])
		same(t, fmt.Sprintf("read all from record %d's position", b), readN(t, s, recs[b].Position, 1), recs[b:b+1])
		follow := min(page+1, n-b)
		same(t, fmt.Sprintf("subscribe from the checkpoint after record %d", b-1),
			collect(t, s.Subscribe(ctxFor(t), checkpoint, ownStreams(s)), follow), recs[b:b+follow])
		same(t, fmt.Sprintf("subscribe from record %d's position", b),
			collect(t, s.Subscribe(ctxFor(t), recs[b].Position, ownStreams(s)), 1), recs[b:b+1])
	}
}

// checkFollowFromEnd: from end, just after the last record, there is
// nothing to read, and a follower sees the next append (to stream), then
// nothing more.
func checkFollowFromEnd(t *testing.T, s events.Store, end events.Position, stream string) {
	if rest := readAll(t, s, end); len(rest) != 0 {
		t.Fatalf("read all from after the last record: %d records, want none", len(rest))
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	got := make(chan events.Record, 4)
	go func() {
		defer close(got)
		for r, err := range s.Subscribe(ctx, end, ownStreams(s)) {
			if err != nil {
				return
			}
			got <- r
		}
	}()
	extra := ev(-2)
	res := mustAppend(t, s, stream, events.Any, extra)
	select {
	case r := <-got:
		if r.ID != extra.ID || r.Position != res.Position {
			t.Fatalf("the subscription from after the last record delivered %s@%d, want the new record %s@%d", r.Stream, r.Revision, stream, res.Revision)
		}
	case <-ctx.Done():
		t.Fatal("the subscription from after the last record did not deliver the next append")
	}
	cancel()
	for r := range got {
		t.Fatalf("the subscription delivered %s@%d after the new record", r.Stream, r.Revision)
	}
}

// readN reads the subtest's first n records from position from.
func readN(t *testing.T, s events.Store, from events.Position, n int) []events.Record {
	t.Helper()
	var out []events.Record
	for r, err := range s.ReadAll(ctxFor(t), from) {
		if err != nil {
			t.Fatalf("read all from %d: %v", from, err)
		}
		if ownStreams(s).Accepts(r.Stream) {
			if out = append(out, r); len(out) == n {
				break
			}
		}
	}
	return out
}

// same fails unless got and want are the same records in the same order.
func same(t *testing.T, what string, got, want []events.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Position != want[i].Position || got[i].Hash != want[i].Hash {
			t.Fatalf("%s: record %d is %s@%d (position %d), want %s@%d (position %d)", what, i,
				got[i].Stream, got[i].Revision, got[i].Position, want[i].Stream, want[i].Revision, want[i].Position)
		}
	}
}
