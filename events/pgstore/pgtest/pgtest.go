package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	neturl "net/url"
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
		EnvURL + "=postgres://postgres@127.0.0.1:5432/postgres (see the README: PostgreSQL, locally)"
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

// envOwnDatabase marks a server URL that Main already pointed at the test
// binary's own database (its child processes inherit both).
const envOwnDatabase = "ELECTIONLEDGER_PG_TEST_DATABASE"

// Main runs a test binary's tests (call it from TestMain) when a server is
// configured, in a database of the binary's own, created first and dropped
// after, so that other test binaries' transactions on the same server do
// not hold up its readers (pgstore's readers wait only for transactions of
// their own database). Without a server it skips the whole package with a
// message (its runnable examples need the server too), or in CI fails it.
// Where no database can be created (no URL form, no CREATEDB right) the
// tests run in the URL's database.
func Main(m *testing.M) {
	url := os.Getenv(EnvURL)
	if url == "" {
		if InCI() {
			fmt.Fprintln(os.Stderr, "FAIL: "+EnvCI+" is set and "+missing())
			os.Exit(1)
		}
		fmt.Println("SKIP: " + missing())
		os.Exit(0)
	}
	if os.Getenv(envOwnDatabase) != "" {
		os.Exit(m.Run())
	}
	own, drop, err := createDatabase(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: running in the server URL's database: "+err.Error())
		os.Exit(m.Run())
	}
	os.Setenv(EnvURL, own)
	os.Setenv(envOwnDatabase, "1")
	code := m.Run()
	if err := drop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: "+err.Error())
	}
	os.Exit(code)
}

// Database returns the URL of a new database on the server, dropped when
// t ends.
func Database(t testing.TB) string {
	t.Helper()
	own, drop, err := createDatabase(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return own
}

// createDatabase creates a database named pgtest_<random> and returns its
// URL and a function that drops it.
func createDatabase(server string) (string, func() error, error) {
	u, err := neturl.Parse(server)
	if err != nil || u.Scheme == "" {
		return "", nil, errors.New("the server's connection string is not a URL")
	}
	name := "pgtest_" + randomHex()
	if err := exec(server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" ENCODING 'UTF8' TEMPLATE template0"); err != nil {
		return "", nil, fmt.Errorf("create a test database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() error {
		return exec(server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}, nil
}

// exec runs one statement on its own connection.
func exec(url, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Schema returns the name of a new schema for t (created by the store's
// first Open) and drops it, with everything in it, when t ends.
func Schema(t testing.TB) string {
	t.Helper()
	url := URL(t)
	name := "pgtest_" + randomHex()
	t.Cleanup(func() {
		if err := Drop(url, name); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Drop drops a schema and everything in it.
func Drop(url, schema string) error {
	return exec(url, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
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
