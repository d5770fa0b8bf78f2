package storeflag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/google/uuid"
)

// TestOpenEachKind opens every kind of store the flag names and appends.
func TestOpenEachKind(t *testing.T) {
	srv := esdbfake.Run(t)
	dir := t.TempDir()
	for spec, kind := range map[string]string{
		"memory": "memory", "": "file", filepath.Join(dir, "x.db"): "file", srv.ConnectionString(): "eventstoredb",
	} {
		o, err := Open(spec, time.Now, true)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if o.Kind != kind {
			t.Errorf("%q opened as %s, want %s", spec, o.Kind, kind)
		}
		e := events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}
		if _, err := o.Store.Append(context.Background(), "s-"+uuid.NewString(), events.NoStream, e); err != nil {
			t.Errorf("%q: append: %v", spec, err)
		}
		if rep, err := o.Verify(); err != nil || rep.Records < 1 {
			t.Errorf("%q: verify: %+v %v", spec, rep, err)
		}
		where := o.Where
		if err := o.Close(); err != nil {
			t.Error(err)
		}
		if spec == "" {
			if _, err := os.Stat(where); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the temporary ledger %s outlived Close", where)
			}
		}
	}
	for spec, want := range map[string]bool{"esdb://h:2113": true, "kurrent+discover://a,b": true, "esdb.db": false,
		"kurrentdb-ledger.db": false, "http://x": false} {
		if IsServerURL(spec) != want {
			t.Errorf("IsServerURL(%q) = %v", spec, !want)
		}
	}
	if _, err := Open(filepath.Join(dir, "x.db"), time.Now, true); !errors.Is(err, ErrExists) {
		t.Errorf("a used ledger file opened fresh: %v", err)
	}
}
