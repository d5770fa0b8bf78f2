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

func TestConformanceWithoutGroupCommit(t *testing.T) {
	storetest.Run(t, func(t testing.TB) events.Store { return open(t, boltstore.WithoutGroupCommit()) })
}
