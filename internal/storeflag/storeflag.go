package storeflag

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
)

// Opened is an open store and what it is.
type Opened struct {
	Store events.Store
	Kind  string // "memory", "file", "eventstoredb" or "postgres"
	Where string // the file path or connection string
	// Verify audits the whole store: boltstore's index walk for files, the
	// log walk otherwise.
	Verify func() (chain.ChainsReport, error)
	// Close closes the store and removes a temporary file.
	Close func() error
}

// IsServerURL reports whether spec is an EventStoreDB/KurrentDB connection
// string or a PostgreSQL URL rather than a file path.
func IsServerURL(spec string) bool {
	if isPostgresURL(spec) {
		return true
	}
	scheme, _, ok := strings.Cut(spec, "://")
	if !ok {
		return false
	}
	switch strings.TrimSuffix(scheme, "+discover") {
	case "esdb", "kurrent", "kurrentdb":
		return true
	}
	return false
}

// ErrExists: a fresh-ledger run was pointed at a file that already holds a
// ledger.
var ErrExists = errors.New("the ledger file already exists")

// Open opens spec. An empty spec is a new temporary file, removed on Close.
// With fresh set, a file path must not already hold a ledger.
func Open(spec string, now func() time.Time, fresh bool) (*Opened, error) {
	switch {
	case spec == "memory":
		s := memstore.New(memstore.WithClock(now))
		return &Opened{Store: s, Kind: "memory", Where: "memory", Close: s.Close,
			Verify: func() (chain.ChainsReport, error) { return chain.VerifyChains(context.Background(), s) }}, nil
	case isPostgresURL(spec):
		return openPostgres(spec, now, fresh)
	case IsServerURL(spec):
		return openESDB(spec, now)
	}
	temp := spec == ""
	path := spec
	if temp {
		dir, err := os.MkdirTemp("", "electionledger-")
		if err != nil {
			return nil, err
		}
		path = dir + "/ledger.db"
	} else if fresh {
		if info, err := os.Stat(path); err == nil && info.Size() > 0 {
			return nil, fmt.Errorf("%w: %s; remove it or name another file", ErrExists, path)
		}
	}
	s, err := boltstore.Open(path, boltstore.WithClock(now))
	if err != nil {
		return nil, err
	}
	o := &Opened{Store: s, Kind: "file", Where: path}
	o.Verify = func() (chain.ChainsReport, error) { return s.Verify(context.Background()) }
	o.Close = func() error {
		err := s.Close()
		if temp {
			os.RemoveAll(strings.TrimSuffix(path, "/ledger.db"))
		}
		return err
	}
	return o, nil
}

// OpenReadOnly opens spec for an auditor: a file path read-only (the file
// must exist; it is never written, see boltstore.ReadOnly), anything else
// (memory, a server's connection string) as Open does, for reading.
func OpenReadOnly(spec string) (*Opened, error) {
	if spec == "" || spec == "memory" || strings.Contains(spec, "://") {
		return Open(spec, time.Now, false)
	}
	s, err := boltstore.Open(spec, boltstore.ReadOnly())
	if err != nil {
		return nil, err
	}
	return &Opened{Store: s, Kind: "file", Where: spec, Close: s.Close,
		Verify: func() (chain.ChainsReport, error) { return s.Verify(context.Background()) }}, nil
}
