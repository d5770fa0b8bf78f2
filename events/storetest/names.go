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
	refused := refusedStreamNames(base)
	good := goodStreamNames(base)
	raceHostileStreamNames(t, s, refused, good)
	checkGoodStreamNamesReadBack(t, s, good)
}

// refusedStreamNames are names every Store refuses, by what is wrong with
// them, each starting with base (but the empty one).
func refusedStreamNames(base string) map[string]string {
	return map[string]string{
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
}

// goodStreamNames are names every Store takes although they hold
// what breaks careless storage, each starting with base.
func goodStreamNames(base string) []string {
	return []string{
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
}

// raceHostileStreamNames appends under every refused name and every good
// one at once, and fails t unless each refused name is refused alone with
// an *events.InvalidStreamNameError that does not quote it, and each good
// one is taken. A store that batches commits (boltstore's group commit)
// must refuse a name without failing the batch it would have joined.
func raceHostileStreamNames(t *testing.T, s events.Store, refused map[string]string, good []string) {
	var wg sync.WaitGroup
	errs := make(chan error, len(refused)+len(good))
	for what, name := range refused {
		wg.Go(func() {
			_, err := s.Append(ctxFor(t), name, events.Any, ev(0))
			if err := refusedNameError(what, name, err); err != nil {
				errs <- err
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
}

// refusedNameError says what is wrong with err, the error an append under
// a refused name returned (what says why the name is refused), or returns
// nil if nothing is.
func refusedNameError(what, name string, err error) error {
	var ie *events.InvalidStreamNameError
	switch {
	case !errors.Is(err, events.ErrInvalidStreamName) || !errors.Is(err, events.ErrInvalidEvent):
		return errors.New(what + ": want ErrInvalidStreamName (and ErrInvalidEvent), got " + errString(err))
	case !errors.As(err, &ie):
		return errors.New(what + ": want an *events.InvalidStreamNameError, got " + errString(err))
	case len(name) > 0 && strings.Contains(err.Error(), name):
		return errors.New(what + ": the error quotes the name it refuses")
	}
	return nil
}

// checkGoodStreamNamesReadBack fails t unless every good stream reads back
// the two records appended to it, under its exact name, and the log holds
// those records and nothing under a name a Store refuses.
func checkGoodStreamNamesReadBack(t *testing.T, s events.Store, good []string) {
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
