package storetest_test

import (
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/events/storetest"
)

// A Factory hands each subtest a fresh store; a durable store would open a
// new file under t.TempDir() here.
func ExampleRun() {
	var newStore storetest.Factory = func(t testing.TB) events.Store {
		return memstore.New()
	}
	_ = newStore // in a test: storetest.Run(t, newStore)
}
