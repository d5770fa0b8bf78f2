package storeflag

import (
	"errors"
)

// ErrNoESDB: this build has no EventStoreDB store yet.
var ErrNoESDB = errors.New("EventStoreDB connection strings need the events/esdbstore package, which has not landed yet; use -store memory or a file path")

func openESDB(spec string) (*Opened, error) { return nil, ErrNoESDB }
