package storeflag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/google/uuid"
)

// TestOpenReadOnly: a file opens read-only (appends refused, the file
// unchanged), a missing file is an error and creates nothing, and other
// specs open as Open opens them.
func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.db")
	o, err := Open(path, time.Now, true)
	if err != nil {
		t.Fatal(err)
	}
	e := events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}
	if _, err := o.Store.Append(context.Background(), "s", events.NoStream, e); err != nil {
		t.Fatal(err)
	}
	o.Close()
	before, _ := os.ReadFile(path)
	ro, err := OpenReadOnly(path)
	if err != nil || ro.Kind != "file" {
		t.Fatalf("%v %+v", err, ro)
	}
	if _, err := ro.Store.Append(context.Background(), "s2", events.NoStream, e); !errors.Is(err, boltstore.ErrReadOnly) {
		t.Fatalf("append read-only: %v", err)
	}
	if rep, err := ro.Verify(); err != nil || rep.Records != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	ro.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a read-only open changed the file")
	}
	missing := filepath.Join(dir, "missing.db")
	if _, err := OpenReadOnly(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a read-only open created the file")
	}
	m, err := OpenReadOnly("memory")
	if err != nil || m.Kind != "memory" {
		t.Fatalf("memory: %v", err)
	}
	m.Close()
}
