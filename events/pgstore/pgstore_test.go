package pgstore_test

import (
	"context"
	"fmt"
	"github.com/google/uuid"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/electionledger/ledger/events/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// paths are the store's two append paths: the fast one (the default) and
// the general one alone. Tests of appends run on both.
var paths = map[string][]pgstore.Option{"fast": nil, "general": {pgstore.WithoutFastAppend()}}

// TestConformance runs the whole storetest suite against the server, each
// subtest on a schema of its own, with and without the fast append.
func TestConformance(t *testing.T) {
	for name, opts := range paths {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t testing.TB) events.Store { return pgtest.Open(t, opts...) })
		})
	}
}

// event returns a test event with a fresh ID.
func event(n int) events.EventData {
	return events.EventData{ID: uuid.New(), Type: "test.event", SchemaVersion: 1, Data: []byte(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: events.Metadata{Actor: "tester", ActorRole: events.RoleSystem, CommandID: uuid.New()}}
}

func mustAppend(t *testing.T, s events.Store, stream string, exp events.ExpectedRevision, evs ...events.EventData) events.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func readAll(t *testing.T, s events.Store) []events.Record {
	t.Helper()
	var out []events.Record
	for r, err := range s.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
