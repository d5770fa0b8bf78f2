package storeflag

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
)

// openESDB connects to an EventStoreDB or KurrentDB server (refusing one
// older than esdbstore.MinServerVersion), stamping records with now (so "as
// of" questions work on a simulated clock). The log there is shared: an
// audit walks all of it and reports every finding in the ledger's streams
// (esdbstore.Store.Verify), not only the first.
func openESDB(spec string, now func() time.Time) (*Opened, error) {
	s, err := esdbstore.Open(spec, esdbstore.WithClock(now))
	if err != nil {
		return nil, err
	}
	return &Opened{Store: s, Kind: "eventstoredb", Where: redact(spec), Close: s.Close,
		Verify: func() (chain.ChainsReport, error) { return s.Verify(context.Background()) }}, nil
}

// redact hides a connection string's password, so that printing where the
// ledger lives shows no secret.
func redact(spec string) string {
	scheme, rest, ok := strings.Cut(spec, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return spec
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	return scheme + "://" + url.PathEscape(user) + ":***@" + rest[at+1:]
}
