package storeflag

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/google/uuid"
)

// TestRedacted: the location printed for a PostgreSQL store never shows
// its password.
func TestRedacted(t *testing.T) {
	w := redacted("postgres://ledger:s3cret-pw@db.example:5432/ledger?ledger_schema=x")
	if strings.Contains(w, "s3cret-pw") || !strings.Contains(w, "ledger:xxxxx@db.example") {
		t.Fatalf("redacted: %s", w)
	}
	if w := redacted("postgres://[bad"); strings.Contains(w, "bad") {
		t.Fatalf("an unparsable URL printed: %s", w)
	}
}

// TestOpenPostgres: a postgres:// -store opens the PostgreSQL store in the
// schema its ledger_schema parameter names; a fresh run refuses a schema
// that already holds a ledger; the printed location has no password.
func TestOpenPostgres(t *testing.T) {
	for spec, want := range map[string]bool{"postgres://h/db": true, "postgresql://u@h:5432/db?sslmode=disable": true,
		"postgres.db": false, "postgresql-ledger.db": false} {
		if IsServerURL(spec) != want {
			t.Errorf("IsServerURL(%q) = %v", spec, !want)
		}
	}
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Scheme == "" {
		t.Skip("the server's connection string is not a URL")
	}
	q := u.Query()
	q.Set(pgstore.SchemaParam, pgtest.Schema(t))
	u.RawQuery = q.Encode()
	spec := u.String()
	o, err := Open(spec, time.Now, true)
	if err != nil {
		t.Fatal(err)
	}
	if o.Kind != "postgres" {
		t.Fatalf("opened as %s", o.Kind)
	}
	if strings.Contains(o.Where, "@") && o.Where != redacted(spec) {
		t.Fatalf("Where is %s, want the redacted URL", o.Where)
	}
	e := events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}
	if _, err := o.Store.Append(context.Background(), "s", events.NoStream, e); err != nil {
		t.Fatal(err)
	}
	if rep, err := o.Verify(); err != nil || rep.Records != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	o.Close()
	if _, err := Open(spec, time.Now, true); !errors.Is(err, ErrExists) {
		t.Fatalf("a fresh run on a used schema: %v, want ErrExists", err)
	}
	o, err = Open(spec, time.Now, false)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if rep, err := o.Verify(); err != nil || rep.Records != 1 {
		t.Fatalf("reopened: %+v %v", rep, err)
	}
}
