package pgtest_test

import (
	"context"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestSchemaDroppedAfter: a test's schema holds its store's records while
// it runs and is gone when it ends.
func TestSchemaDroppedAfter(t *testing.T) {
	url := pgtest.URL(t)
	var schema string
	t.Run("inner", func(t *testing.T) {
		s := pgtest.Open(t)
		schema = s.Schema()
		e := events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}
		if _, err := s.Append(context.Background(), "s", events.NoStream, e); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if schema == "" || n != 0 {
		t.Fatalf("schema %q still exists after its test", schema)
	}
}
