package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/storetest"
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
