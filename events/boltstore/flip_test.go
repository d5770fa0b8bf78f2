package boltstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
)

// audited is what an auditor learns from a file: the damage or findings,
// or the log it reads.
type audited struct {
	refused  error // the file could not be checked or opened (a typed error)
	findings []string
	records  []events.Record
	root     chain.Hash
}

// auditFile runs what an auditor runs on a file it does not trust:
// CheckFile, and only if the structure is sound, a read-only open, Audit
// and chain.Verify.
func auditFile(t *testing.T, path string) audited {
	t.Helper()
	ctx := context.Background()
	var a audited
	fc, err := boltstore.CheckFile(ctx, path)
	if err != nil {
		a.refused = err
		return a
	}
	for _, d := range fc.Damage {
		a.findings = append(a.findings, d.Error())
	}
	if !fc.OK() {
		return a
	}
	s, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		a.refused = err
		return a
	}
	defer s.Close()
	rep, err := s.Audit(ctx, nil)
	if err != nil {
		a.findings = append(a.findings, "audit: "+err.Error())
	} else {
		for _, f := range rep.Findings {
			a.findings = append(a.findings, f.Error())
		}
	}
	vr, err := chain.Verify(ctx, s, chain.VerifyOptions{})
	if err != nil {
		a.findings = append(a.findings, "verify: "+err.Error())
		return a
	}
	for _, f := range vr.Findings {
		a.findings = append(a.findings, f.Error())
	}
	a.root = vr.Root
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			a.findings = append(a.findings, "read: "+err.Error())
			break
		}
		a.records = append(a.records, r)
	}
	return a
}

// TestEveryPageFlip flips bits across every page of a ledger file (the
// page header, the element array and the data) and audits each damaged
// copy as an untrusted file. The audit must never crash or hang, and each
// flip must either be reported (naming a page, or a record or structure of
// the ledger) or change nothing the ledger holds: the same records, the
// same tree.
func TestEveryPageFlip(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	s, err := boltstore.Open(orig, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := events.NewRegistry()
	py := events.PY(events.MIPS, 2024)
	for i := range 700 {
		e := events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1,
			Data: fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, strings.Repeat("z", i*7%500))}
		if i%9 == 8 { // each stream ends with its confirmation, which seals it
			p := events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 100+i)))
			e, err = reg.Encode(uuid.New(), events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: events.ChoiceOptIn,
				Pathway: events.PathwayTraditional, RequestRevision: 7}, events.Metadata{Actor: "rep"})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Append(ctx, fmt.Sprintf("election-mips-2024-s%d", i/9), events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	big := events.EventData{ID: uuid.New(), Type: "t.big", SchemaVersion: 1, Data: fmt.Appendf(nil, `{"pad":%q}`, strings.Repeat("b", 9000))}
	if _, err := s.Append(ctx, "big", events.Any, big); err != nil { // overflow pages
		t.Fatal(err)
	}
	s.Close()
	flipEveryPage(t, orig)
}

// TestEveryPageFlipFormat2: the same over the format 2 fixture, read as it
// is (the stream heads and the tree in buckets of their own).
func TestEveryPageFlipFormat2(t *testing.T) {
	flipEveryPage(t, copyFixture(t, fixture2))
}

// flipEveryPage flips bits across every page of the ledger file orig, a
// copy at a time, and audits each damaged copy as an untrusted file (see
// TestEveryPageFlip).
func flipEveryPage(t *testing.T, orig string) {
	t.Helper()
	dir := t.TempDir()
	want := auditFile(t, orig)
	if want.refused != nil || len(want.findings) > 0 {
		t.Fatalf("the undamaged file: %v %v", want.refused, want.findings)
	}
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	// Every page up to the high-water mark: bbolt grows the file ahead of
	// use, and nothing reads the pages beyond.
	le := binary.LittleEndian
	ps := int(le.Uint32(data[16+8:]))
	meta := func(p int) (txid uint64, hwm int) {
		m := data[p*ps+16:]
		return le.Uint64(m[48:]), int(le.Uint64(m[40:]))
	}
	tx0, pages := meta(0)
	if tx1, hwm1 := meta(1); tx1 > tx0 {
		pages = hwm1
	}
	flips := 12
	if testing.Short() || raceDetector {
		flips = 2 // the page header's own number and count, then random bytes: see below
	}
	rng := rand.New(rand.NewPCG(7, 11))
	copyPath := filepath.Join(dir, "flipped.db")
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(copyPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var reported, harmless, refused int
	for p := range pages {
		for k := range flips {
			var off int
			switch k {
			case 0:
				off = 0 // the page's own number
			case 1:
				off = 8 // flags
			case 2:
				off = 10 // element count
			case 3:
				off = 12 // overflow count
			case 4, 5, 6:
				off = 16 + rng.IntN(96) // the element array
			default:
				off = rng.IntN(ps)
			}
			bit := byte(1) << rng.IntN(8)
			at := int64(p*ps + off)
			if _, err := f.WriteAt([]byte{data[at] ^ bit}, at); err != nil {
				t.Fatal(err)
			}
			got := auditFile(t, copyPath)
			if _, err := f.WriteAt(data[at:at+1], at); err != nil { // restore
				t.Fatal(err)
			}
			where := fmt.Sprintf("page %d byte %d bit %#x", p, off, bit)
			switch {
			case got.refused != nil:
				if !errors.Is(got.refused, boltstore.ErrNotLedger) && !errors.Is(got.refused, boltstore.ErrTruncated) &&
					!errors.Is(got.refused, boltstore.ErrCorrupt) && !errors.Is(got.refused, boltstore.ErrNewerFormat) {
					t.Fatalf("%s: refused with an untyped error: %v", where, got.refused)
				}
				refused++
			case len(got.findings) > 0:
				reported++
			default:
				if !sameLedger(got, want) {
					t.Fatalf("%s: the ledger changed and nothing was reported", where)
				}
				harmless++
			}
		}
	}
	t.Logf("%d pages, %d flips: %d reported, %d refused with a typed error, %d harmless (unused bytes)", pages, pages*flips, reported, refused, harmless)
	if reported == 0 {
		t.Fatal("no flip was reported")
	}
}

func sameLedger(a, b audited) bool {
	if a.root != b.root || len(a.records) != len(b.records) {
		return false
	}
	for i := range a.records {
		x, y := &a.records[i], &b.records[i]
		if x.Hash != y.Hash || x.ComputeHash() != x.Hash || x.Stream != y.Stream || x.Revision != y.Revision ||
			x.Position != y.Position || string(x.Data) != string(y.Data) {
			return false
		}
	}
	return true
}
