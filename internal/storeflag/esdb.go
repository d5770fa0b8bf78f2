package storeflag

import (
	"context"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/esdbstore"
)

// openESDB connects to an EventStoreDB or KurrentDB server, stamping
// records with now (so "as of" questions work on a simulated clock). The log
// there is shared: an audit walks all of it.
func openESDB(spec string, now func() time.Time) (*Opened, error) {
	s, err := esdbstore.Open(spec, esdbstore.WithClock(now))
	if err != nil {
		return nil, err
	}
	return &Opened{Store: s, Kind: "eventstoredb", Where: spec, Close: s.Close,
		Verify: func() (events.VerifyReport, error) { return events.VerifyLog(context.Background(), s) }}, nil
}
