package memstore_test

import (
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/events/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(testing.TB) events.Store { return memstore.New() })
}
