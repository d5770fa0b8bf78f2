package pgstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
)

// TestReadStreamPastTheEnd: a read from a revision past the start tells a
// stream with no records (one ErrStreamNotFound, as a read from 0 does)
// from a stream whose records all lie before that revision (nothing, no
// error). The first query finds no row either way; the store has to ask
// whether the stream exists.
func TestReadStreamPastTheEnd(t *testing.T) {
	s := pgtest.Open(t)
	mustAppend(t, s, "held", events.NoStream, event(0), event(1))
	for _, c := range []struct {
		stream   string
		from     uint64
		notFound bool
	}{
		{"missing", 0, true},
		{"missing", 5, true},
		{"held", 2, false},
		{"held", 5, false},
	} {
		var yielded []error
		for _, err := range s.ReadStream(context.Background(), c.stream, c.from) {
			yielded = append(yielded, err)
		}
		switch {
		case c.notFound && (len(yielded) != 1 || !errors.Is(yielded[0], events.ErrStreamNotFound)):
			t.Errorf("%s from %d yielded %v, want one ErrStreamNotFound", c.stream, c.from, yielded)
		case !c.notFound && len(yielded) != 0:
			t.Errorf("%s from %d yielded %v, want nothing", c.stream, c.from, yielded)
		}
	}
}
