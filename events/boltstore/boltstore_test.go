package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/storetest"
	"github.com/google/uuid"
)

func open(t testing.TB, opts ...boltstore.Option) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "ledger.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) events.Store { return open(t) })
}

// TestConformanceArrayFreelist: the suite again with bbolt's array
// free-page list (the default keeps a map).
func TestConformanceArrayFreelist(t *testing.T) {
	storetest.Run(t, func(t testing.TB) events.Store { return open(t, boltstore.WithArrayFreelist()) })
}

// TestConformanceHandOff runs the suite with every append handed to the
// writer goroutine, as a group of however many are waiting: the default
// store commits an append with no group to join in its caller's goroutine,
// which the suite's mostly sequential appends would always take.
func TestConformanceHandOff(t *testing.T) {
	storetest.Run(t, func(t testing.TB) events.Store { return open(t, boltstore.WithHandOff()) })
}

func TestConformanceWithoutGroupCommit(t *testing.T) {
	storetest.Run(t, func(t testing.TB) events.Store { return open(t, boltstore.WithoutGroupCommit()) })
}

// TestFreelistTypesShareTheFile: a ledger written with one free-page list
// opens, reads and grows with the other, back and forth, and audits clean.
func TestFreelistTypesShareTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	reg := events.NewRegistry()
	py := events.PY(events.MIPS, 2024)
	written := 0
	for round, opts := range [][]boltstore.Option{nil, {boltstore.WithArrayFreelist()}, nil, {boltstore.WithArrayFreelist()}} {
		s, err := boltstore.Open(path, opts...)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		n := 0
		for _, err := range s.ReadAll(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != written {
			t.Fatalf("round %d: read %d records, wrote %d", round, n, written)
		}
		for i := range 300 { // enough to free and reuse pages
			p := events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 100_000_000+round*1000+i)))
			d, _ := reg.Encode(uuid.New(), events.ElectionRequested{Participant: p, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}, events.Metadata{})
			if _, err := s.Append(context.Background(), fmt.Sprintf("s-%d", i%7), events.Any, d); err != nil {
				t.Fatal(err)
			}
			written++
		}
		if rep, err := s.Audit(context.Background(), nil); err != nil || len(rep.Findings) > 0 || rep.Records != written {
			t.Fatalf("round %d: audit: %v %+v", round, err, rep)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
