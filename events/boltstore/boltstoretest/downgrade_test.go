package boltstoretest_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/boltstore/boltstoretest"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
)

// TestDowngrade: a ledger downgraded to format 1 or 2 holds the same
// records and audits clean read-only, with the heads an append trusts (a
// sealed stream refuses appends once the file is upgraded); format 2 keeps
// the same tree; a file not of the current format, or a format Downgrade
// does not write, is ErrFormat.
func TestDowngrade(t *testing.T) {
	ctx := context.Background()
	reg := events.NewRegistry()
	for _, format := range []int{1, 2} {
		t.Run(fmt.Sprint("format", format), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			s, err := boltstore.Open(path, boltstore.WithNoSync())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				e := events.EventData{ID: uuid.New(), Type: "note", SchemaVersion: 1, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
				stream := fmt.Sprint("notes-", i%5)
				if i == 39 {
					p := events.Group(events.MustParseTIN("000000901"))
					e, _ = reg.Encode(uuid.New(), events.ElectionConfirmed{Participant: p, ProgramYear: events.PY(events.MIPS, 2025),
						Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}, events.Metadata{})
					stream = "election"
				}
				if _, err := s.Append(ctx, stream, events.Any, e); err != nil {
					t.Fatal(err)
				}
			}
			want, err := chain.Build(ctx, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := boltstoretest.Downgrade(path, format); err != nil {
				t.Fatal(err)
			}
			if err := boltstoretest.Downgrade(path, format); !errors.Is(err, boltstoretest.ErrFormat) {
				t.Fatalf("a second downgrade: %v", err)
			}
			ro, err := boltstore.Open(path, boltstore.ReadOnly())
			if err != nil {
				t.Fatal(err)
			}
			rep, err := ro.Audit(ctx, nil)
			if err != nil || len(rep.Findings) > 0 || rep.Records != 40 || rep.Streams != 6 {
				t.Fatalf("audit of format %d: %v %+v", format, err, rep)
			}
			if n, _ := ro.TreeSize(ctx); n != int64(40*(format-1)) {
				t.Fatalf("format %d read-only: a stored tree of %d", format, n)
			}
			ro.Close()
			w, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if fs, err := chain.CompareStored(ctx, w, want); err != nil || len(fs) > 0 {
				t.Fatalf("upgraded tree: %v %v", err, fs)
			}
			if _, err := w.Append(ctx, "election", events.Any, events.EventData{ID: uuid.New(), Type: "note", SchemaVersion: 1, Data: []byte(`{}`)}); !errors.Is(err, events.ErrStreamSealed) {
				t.Fatalf("append after the confirmation: %v", err)
			}
		})
	}
	if err := boltstoretest.Downgrade(filepath.Join(t.TempDir(), "x.db"), 3); !errors.Is(err, boltstoretest.ErrFormat) {
		t.Fatalf("to format 3: %v", err)
	}
}

// TestCurrentFormat: Downgrade reads the format boltstore writes, even a
// ledger with no records, which boltstore then upgrades and appends to.
func TestCurrentFormat(t *testing.T) {
	ctx := context.Background()
	for _, format := range []int{1, 2} {
		path := filepath.Join(t.TempDir(), "ledger.db")
		s, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := boltstoretest.Downgrade(path, format); err != nil {
			t.Fatalf("boltstore writes format %d, which Downgrade does not read: %v", boltstore.FormatVersion, err)
		}
		s, err = boltstore.Open(path)
		if err != nil {
			t.Fatalf("an empty format %d ledger: %v", format, err)
		}
		if _, err := s.Append(ctx, "first", events.NoStream, events.EventData{ID: uuid.New(), Type: "note", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.Audit(ctx, nil); err != nil || len(rep.Findings) > 0 || rep.Records != 1 {
			t.Fatalf("an empty format %d ledger upgraded, one append: %v %+v", format, err, rep)
		}
		s.Close()
	}
}
