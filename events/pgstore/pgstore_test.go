package pgstore_test

import (
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/electionledger/ledger/events/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestConformance runs the whole storetest suite against the server, each
// subtest on a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) events.Store { return pgtest.Open(t) })
}
