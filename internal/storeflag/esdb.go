package storeflag

import (
	"context"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/esdbstore"
)

// openESDB connects to an EventStoreDB or KurrentDB server. The log there
// is shared: an audit walks all of it.
func openESDB(spec string) (*Opened, error) {
	s, err := esdbstore.Open(spec)
	if err != nil {
		return nil, err
	}
	return &Opened{Store: s, Kind: "eventstoredb", Where: spec, Close: s.Close,
		Verify: func() (events.VerifyReport, error) { return events.VerifyLog(context.Background(), s) }}, nil
}
