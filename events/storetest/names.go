package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/electionledger/ledger/events"
)

// testHostileStreamNames appends under names a careless or hostile caller
// could pass. Names every Store refuses (too long, NUL, other control
// bytes, invalid UTF-8) are refused alone, with ErrInvalidStreamName,
// writing nothing, even when they race good appends that may share a
// commit with them. Names every Store takes (quotes, backslashes, SQL and
// pattern characters, spaces, non-ASCII letters) are stored and read back
// exactly, apart from streams whose names differ only after such a
// character.
func testHostileStreamNames(t *testing.T, s events.Store) {
	base := stream(s, "names")
	refused := map[string]string{
		"too long":         base + strings.Repeat("x", events.MaxStreamNameLen),
		"32 KiB":           base + strings.Repeat("y", 32<<10),
		"NUL":              base + "\x00hidden",
		"newline":          base + "\nsecond line",
		"escape":           base + "\x1b[31m",
		"DEL":              base + "\x7f",
		"C1 control":       base + "\u0085",
		"invalid UTF-8":    base + "\xff\xfe",
		"truncated UTF-8":  base + "\xe2\x82",
		"empty after trim": "",
	}
	good := []string{
		base + `-'quote'`,
		base + `-"double"`,
		base + `-back\slash`,
		base + `-'); DROP TABLE events; --`,
		base + `-100%_like`,
		base + `-space and tab-less`,
		base + `-ünïcödé-名前`,
		base + `-\uFFFD-literal`,
		base + "-\uFFFD",
		base + `-'quote'-2`, // differs from the first only after the quote
	}

	// Every refused name races the good appends, so a store that batches
	// commits (boltstore's group commit) must refuse it without failing
	// the batch it would have joined.
	var wg sync.WaitGroup
	errs := make(chan error, len(refused)+len(good))
	for what, name := range refused {
		wg.Go(func() {
			_, err := s.Append(ctxFor(t), name, events.Any, ev(0))
			var ie *events.InvalidStreamNameError
			switch {
			case !errors.Is(err, events.ErrInvalidStreamName) || !errors.Is(err, events.ErrInvalidEvent):
				errs <- errors.New(what + ": want ErrInvalidStreamName (and ErrInvalidEvent), got " + errString(err))
			case !errors.As(err, &ie):
				errs <- errors.New(what + ": want an *events.InvalidStreamNameError, got " + errString(err))
			case len(name) > 0 && strings.Contains(err.Error(), name):
				errs <- errors.New(what + ": the error quotes the name it refuses")
			}
		})
	}
	for i, name := range good {
		wg.Go(func() {
			if _, err := s.Append(ctxFor(t), name, events.NoStream, ev(i), ev(100+i)); err != nil {
				errs <- errors.New("a good name next to refused ones failed: " + err.Error())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for i, name := range good {
		recs, err := readStream(t, s, name, 0)
		if err != nil {
			t.Fatalf("read %q: %v", name, err)
		}
		if len(recs) != 2 || recs[0].Stream != name || recs[1].Stream != name {
			t.Fatalf("stream %q read back %d records %v", name, len(recs), streamsOf(recs))
		}
		if string(recs[0].Data) != string(ev(i).Data) {
			t.Fatalf("stream %q holds %s, want %s", name, recs[0].Data, ev(i).Data)
		}
	}
	all := readAll(t, s, 0)
	if len(all) != 2*len(good) {
		t.Fatalf("the log holds %d of the subtest's records, want %d (refused names wrote something)", len(all), 2*len(good))
	}
	for _, r := range all {
		if err := events.ValidateStreamName(r.Stream); err != nil {
			t.Fatalf("the log holds a record under a name it should have refused: %v", err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func streamsOf(recs []events.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Stream
	}
	return out
}
