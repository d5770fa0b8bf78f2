package esdbstore

import (
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
)

// Errors of this store, besides the events package's. Each is a sentinel
// for errors.Is; the typed errors carry the details.
var (
	// ErrUnavailable matches a *ConnectionError: the server could not be
	// reached, or kept failing, within the store's attempts.
	ErrUnavailable = errors.New("esdbstore: server unavailable")
	// ErrUnsupportedServer matches an *UnsupportedServerError.
	ErrUnsupportedServer = errors.New("esdbstore: unsupported server version")
	// ErrInvalidPosition matches a *PositionError.
	ErrInvalidPosition = errors.New("esdbstore: position names no record")
	// ErrStreamDeleted matches a *StreamDeletedError.
	ErrStreamDeleted = errors.New("esdbstore: stream deleted")
	// ErrSealNotRecorded matches a *SealError.
	ErrSealNotRecorded = errors.New("esdbstore: seal not recorded in the stream's metadata")
)

// ConnectionError is a call that could not reach the server, or that
// failed for a transient reason on every attempt. An append that ends with
// it may or may not have been written: retry it with the same event IDs,
// and it is written at most once.
type ConnectionError struct {
	Op       string // "append", "read", "subscribe", "connect"
	Attempts int
	Err      error // the last failure
}

// Error implements error.
func (e *ConnectionError) Error() string {
	attempts := "1 attempt"
	if e.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.Attempts)
	}
	return fmt.Sprintf("esdbstore: %s: server unavailable after %s: %v", e.Op, attempts, e.Err)
}

// Unwrap returns ErrUnavailable and the last failure.
func (e *ConnectionError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// MinServerVersion is the oldest server the store accepts: 22.6 is the
// first whose stream reads carry $all positions (KurrentDB's CHANGELOG.md:624,
// EventStoreDB 22.6.0: "Populate $all position for stream
// reads/subscriptions/persistent subscriptions"), which the store needs to
// name where each record is.
var MinServerVersion = esdb.ServerVersion{Major: 22, Minor: 6}

// UnsupportedServerError is a server older than MinServerVersion.
type UnsupportedServerError struct {
	Version esdb.ServerVersion // zero when the server does not say (before 21.10)
}

// Error implements error.
func (e *UnsupportedServerError) Error() string {
	v := "a version before 21.10 (it has no ServerFeatures service)"
	if e.Version != (esdb.ServerVersion{}) {
		v = fmt.Sprintf("version %d.%d.%d", e.Version.Major, e.Version.Minor, e.Version.Patch)
	}
	return fmt.Sprintf("esdbstore: the server runs %s; the store needs EventStoreDB %d.%d or later, or any KurrentDB, "+
		"whose stream reads carry $all positions: upgrade the server", v, MinServerVersion.Major, MinServerVersion.Minor)
}

// Is matches ErrUnsupportedServer.
func (e *UnsupportedServerError) Is(target error) bool { return target == ErrUnsupportedServer }

func versionOK(v esdb.ServerVersion) bool {
	if v.Major != MinServerVersion.Major {
		return v.Major > MinServerVersion.Major
	}
	return v.Minor >= MinServerVersion.Minor
}

// PositionError is a read or subscription from a position that names no
// record of this store's log: neither a record's Position nor a
// checkpoint just after one (Position+1), nor 0.
type PositionError struct {
	Position events.Position // the position asked for
	Err      error           // the server's refusal
}

// Error implements error.
func (e *PositionError) Error() string {
	commit, after := ServerPosition(e.Position)
	where := "the record at"
	if after {
		where = "just after the record at"
	}
	return fmt.Sprintf("esdbstore: position %d (%s log position %d) names no record; read from 0, a record's Position "+
		"or a checkpoint of Position+1 taken from this store: %v", e.Position, where, commit, e.Err)
}

// Is matches ErrInvalidPosition.
func (e *PositionError) Is(target error) bool { return target == ErrInvalidPosition }

// Unwrap returns the server's refusal.
func (e *PositionError) Unwrap() error { return e.Err }

// StreamDeletedError is a stream that another client deleted (a tombstone,
// or a soft delete) or truncated (a $tb, $maxCount or $maxAge in its
// metadata). The ledger never deletes; it refuses to write to such a
// stream, and verification reports it.
type StreamDeletedError struct {
	Stream string
	How    string // "tombstoned", "soft-deleted" or "truncated by $tb"...
}

// Error implements error.
func (e *StreamDeletedError) Error() string {
	return fmt.Sprintf("esdbstore: stream %s was %s by another client; the ledger never deletes and will not write to it: "+
		"restore it from a backup or investigate who deleted it", e.Stream, e.How)
}

// Is matches ErrStreamDeleted.
func (e *StreamDeletedError) Is(target error) bool { return target == ErrStreamDeleted }

// SealError is a sealing append whose event is in the stream but whose
// seal could not be recorded in the stream's metadata (and, with
// credentials, its ACL). The store still refuses every later append;
// retry the same append to finish recording the seal: the retry writes no
// event twice.
type SealError struct {
	Stream   string
	Revision uint64 // the sealing event's
	Err      error
}

// Error implements error.
func (e *SealError) Error() string {
	return fmt.Sprintf("esdbstore: %s: the sealing event at revision %d is written, but recording the seal in the stream's "+
		"metadata failed (retry the append to finish it): %v", e.Stream, e.Revision, e.Err)
}

// Unwrap returns ErrSealNotRecorded and the cause.
func (e *SealError) Unwrap() []error { return []error{ErrSealNotRecorded, e.Err} }
