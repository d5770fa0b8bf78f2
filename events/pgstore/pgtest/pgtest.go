package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/electionledger/ledger/events/pgstore"
	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the server's URL.
const EnvURL = "ELECTIONLEDGER_PG_URL"

// EnvCI names the environment variable that marks a CI run: set to
// anything but "" or "0", a missing server is a failure, not a skip.
const EnvCI = "ELECTIONLEDGER_CI"

// InCI reports whether the CI marker is set.
func InCI() bool { v := os.Getenv(EnvCI); return v != "" && v != "0" }

// missing is the message for a test that finds no server.
func missing() string {
	return EnvURL + " is not set: no PostgreSQL server to test against. Start one and set it, e.g. " +
		EnvURL + "=postgres://postgres@127.0.0.1:5432/postgres (see the README's PostgreSQL section)"
}

// URL returns the server's URL. Without one it skips t, or fails it in CI.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if InCI() {
			t.Fatal(EnvCI + " is set and " + missing())
		}
		t.Skip(missing())
	}
	return u
}

// Main runs a test binary's tests (call it from TestMain) when a server is
// configured. Without one it skips the whole package with a message (its
// runnable examples need the server too), or in CI fails it.
func Main(m *testing.M) {
	if os.Getenv(EnvURL) == "" {
		if InCI() {
			fmt.Fprintln(os.Stderr, "FAIL: "+EnvCI+" is set and "+missing())
			os.Exit(1)
		}
		fmt.Println("SKIP: " + missing())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Schema returns the name of a new schema for t (created by the store's
// first Open) and drops it, with everything in it, when t ends.
func Schema(t testing.TB) string {
	t.Helper()
	url := URL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "pgtest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := Drop(url, name); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Drop drops a schema and everything in it.
func Drop(url, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

// Open opens a store on a new schema of t's, closed when t ends (before the
// schema is dropped).
func Open(t testing.TB, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	schema := Schema(t)
	s, err := pgstore.Open(context.Background(), URL(t), append([]pgstore.Option{pgstore.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
