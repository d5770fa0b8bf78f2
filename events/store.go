package events

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Store is an append-only log of streams: the contract every backend
// (memstore, boltstore, esdbstore, or a caller's own) meets, and which
// storetest checks.
//
// Semantics every Store guarantees:
//   - Append writes all of its events or none, at consecutive revisions of
//     one stream, if and only if the expected revision holds.
//   - Idempotency: an append whose events were all written before, with the
//     same IDs and the same content, in the same order and stream, writes
//     nothing and returns the original AppendResult. An event ID already
//     written with other content, or in another stream, or repeated within
//     one append, is ErrDuplicateEvent (in another stream: unless the store
//     says, through IDScope, that its IDs are unique per stream only). Idempotency is checked before the
//     expected revision and before sealing, so a retried append succeeds
//     even though the stream has moved on (or was sealed by it).
//   - Sealing: after an event whose type Seals (ElectionConfirmed), every
//     append to the stream fails with ErrStreamSealed.
//   - Every record carries its hash-chain link, computed on append.
//   - Reads and subscriptions never hold a lock while the caller's loop body
//     runs: the body may append to the same store.
//   - Every call honours ctx; after Close every call fails with ErrClosed.
type Store interface {
	// Append appends events to stream if expected holds.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)
	// ReadStream yields the stream's records from revision from, forwards.
	// A stream with no records yields one ErrStreamNotFound.
	ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[Record, error]
	// ReadAll yields every record at a global position >= from, in log order,
	// up to the end of the log when the call began or later; then it ends.
	ReadAll(ctx context.Context, from Position) iter.Seq2[Record, error]
	// Subscribe yields the records at positions >= from that the filter
	// accepts, in log order: first those already written (catch-up), then
	// new ones as they are appended (live), each exactly once. It ends when
	// the loop breaks, yielding ctx.Err() when ctx ends and ErrClosed when
	// the store closes.
	Subscribe(ctx context.Context, from Position, filter Filter) iter.Seq2[Record, error]
	// Close releases the store. Further calls fail with ErrClosed.
	Close() error
}

// BatchReader is implemented by stores that can read their log straight
// into a caller's buffer (memstore and boltstore do). Readers of a large
// log use it, when present, instead of ReadAll: it skips the per-record
// copies an iterator makes.
type BatchReader interface {
	// ReadBatch appends to buf the records at positions >= from, in log
	// order, some but not necessarily all of those up to the end of the log,
	// and returns the position to read next. It appends none only when from
	// is at the end of the log. The records are as ReadAll yields them.
	ReadBatch(ctx context.Context, buf []Record, from Position) ([]Record, Position, error)
}

// IDScope is implemented by a Store whose event IDs are unique per stream
// only: an ID written in one stream may be written again in another, where
// Store's contract refuses it (EventStoreDB checks IDs per stream, and
// esdbstore says so). A Store that does not implement IDScope, or whose
// IDsPerStream returns false, refuses an ID written anywhere in its log.
// Callers that rely on a cross-stream refusal (the election service's
// command IDs) take another path on such a store. A Store that wraps
// another must forward IDScope: nothing else looks through a wrapper.
type IDScope interface {
	// IDsPerStream reports whether event IDs are unique per stream only.
	IDsPerStream() bool
}

// EventIDsPerStream reports whether s says its event IDs are unique per
// stream only (IDScope).
func EventIDsPerStream(s Store) bool {
	sc, ok := s.(IDScope)
	return ok && sc.IDsPerStream()
}

// AppendResult says where an append landed: the revision and global
// position of its last event, and that event's hash (for an
// ElectionConfirmed: the election's receipt).
type AppendResult struct {
	Revision uint64
	Position Position
	Hash     Hash
}

// Filter selects records for a subscription. The zero Filter accepts all.
type Filter struct {
	// StreamPrefixes accepts records whose stream name starts with any of
	// them, e.g. "election-" for every election. Empty: accept every stream.
	StreamPrefixes []string
}

// Accepts reports whether the filter accepts a stream.
func (f Filter) Accepts(stream string) bool {
	if len(f.StreamPrefixes) == 0 {
		return true
	}
	for _, p := range f.StreamPrefixes {
		if strings.HasPrefix(stream, p) {
			return true
		}
	}
	return false
}

// ExpectedRevision is the optimistic-concurrency condition of an append:
// Any, NoStream, StreamExists, or Exact(n) (the stream's last revision is n).
type ExpectedRevision int64

// Expected-revision conditions other than Exact.
const (
	Any          ExpectedRevision = -1 // append whatever the stream's state
	NoStream     ExpectedRevision = -2 // the stream must have no events
	StreamExists ExpectedRevision = -3 // the stream must have at least one event
)

// Exact expects the stream's last revision to be n. A revision beyond the
// int64 range gives an invalid condition that every Store refuses, never
// Any.
func Exact(n uint64) ExpectedRevision {
	if n > math.MaxInt64 {
		return math.MinInt64
	}
	return ExpectedRevision(n)
}

// Check reports whether the condition holds for a stream whose last
// revision is last (exists false when the stream has no events).
func (e ExpectedRevision) Check(last uint64, exists bool) bool {
	switch e {
	case Any:
		return true
	case NoStream:
		return !exists
	case StreamExists:
		return exists
	}
	return e >= 0 && exists && uint64(e) == last
}

// Require is Check for stream, returning nil when the condition holds and
// otherwise the *WrongExpectedRevisionError every Store refuses with.
func (e ExpectedRevision) Require(stream string, last uint64, exists bool) error {
	if e.Check(last, exists) {
		return nil
	}
	actual := NoRevision
	if exists {
		actual = int64(last)
	}
	return &WrongExpectedRevisionError{Stream: stream, Expected: e, Actual: actual, ActualKnown: true}
}

// String returns "any", "no stream", "stream exists" or the revision.
func (e ExpectedRevision) String() string {
	switch e {
	case Any:
		return "any"
	case NoStream:
		return "no stream"
	case StreamExists:
		return "stream exists"
	}
	if e < 0 {
		return "invalid(" + strconv.FormatInt(int64(e), 10) + ")"
	}
	return "revision " + strconv.FormatInt(int64(e), 10)
}

// Store errors. Each is a sentinel for errors.Is; the typed errors below
// carry the details.
var (
	ErrWrongExpectedRevision = errors.New("events: wrong expected revision")
	ErrStreamNotFound        = errors.New("events: stream not found")
	ErrStreamSealed          = errors.New("events: stream sealed")
	ErrDuplicateEvent        = errors.New("events: duplicate event ID with other content")
	ErrClosed                = errors.New("events: store closed")
)

// NoRevision is the Actual of a WrongExpectedRevisionError for a stream with
// no events.
const NoRevision int64 = -1

// WrongExpectedRevisionError is an append refused because expected did not
// hold. Actual is the stream's last revision, NoRevision for no stream, and
// is meaningful only when ActualKnown.
type WrongExpectedRevisionError struct {
	Stream      string
	Expected    ExpectedRevision
	Actual      int64
	ActualKnown bool
}

// Error implements error.
func (e *WrongExpectedRevisionError) Error() string {
	actual := "unknown"
	if e.ActualKnown {
		actual = "no stream"
		if e.Actual >= 0 {
			actual = "revision " + strconv.FormatInt(e.Actual, 10)
		}
	}
	return fmt.Sprintf("events: append to %s: expected %v, stream is at %s", e.Stream, e.Expected, actual)
}

// Is matches ErrWrongExpectedRevision.
func (e *WrongExpectedRevisionError) Is(target error) bool { return target == ErrWrongExpectedRevision }

// StreamSealedError is an append refused because the stream was sealed by
// the event at SealedAt.
type StreamSealedError struct {
	Stream   string
	SealedAt uint64
}

// Error implements error.
func (e *StreamSealedError) Error() string {
	return fmt.Sprintf("events: append to %s: stream sealed by the event at revision %d; nothing may follow a confirmed election", e.Stream, e.SealedAt)
}

// Is matches ErrStreamSealed.
func (e *StreamSealedError) Is(target error) bool { return target == ErrStreamSealed }

// DuplicateEventError is an append refused because an event ID was already
// written with other content or to another stream, or repeats in the append.
type DuplicateEventError struct {
	Stream string
	ID     uuid.UUID
	Reason string
}

// Error implements error.
func (e *DuplicateEventError) Error() string {
	return fmt.Sprintf("events: append to %s: event %s: %s; give a new event a new ID", e.Stream, e.ID, e.Reason)
}

// Is matches ErrDuplicateEvent.
func (e *DuplicateEventError) Is(target error) bool { return target == ErrDuplicateEvent }

// StreamNotFoundError is a read of a stream that has no events.
type StreamNotFoundError struct{ Stream string }

// Error implements error.
func (e *StreamNotFoundError) Error() string { return "events: stream " + e.Stream + " not found" }

// Is matches ErrStreamNotFound.
func (e *StreamNotFoundError) Is(target error) bool { return target == ErrStreamNotFound }

// MaxStreamNameLen is the longest stream name, in bytes, that every Store
// takes. The ledger's own names are under 100 bytes; the limit keeps one
// caller's oversized name from failing a batch it shares with others (a
// bbolt key holds at most 32 KiB) and fits every backend's index.
const MaxStreamNameLen = 255

// ErrInvalidStreamName matches an InvalidStreamNameError. It also matches
// ErrInvalidEvent: a refused name is a refused append.
var ErrInvalidStreamName = errors.New("events: invalid stream name")

// InvalidStreamNameError is a stream name every Store refuses: empty,
// longer than MaxStreamNameLen, not UTF-8, or holding a control character
// (NUL included), which some backends would cut the name at. It never
// quotes the name, which may hold anything a caller passed.
type InvalidStreamNameError struct {
	Len    int // the name's length in bytes
	Offset int // the byte offset of the first bad character (-1: none)
	Reason string
}

// Error implements error.
func (e *InvalidStreamNameError) Error() string {
	s := fmt.Sprintf("events: invalid stream name (%d bytes): %s", e.Len, e.Reason)
	if e.Offset >= 0 {
		s += " at byte " + strconv.Itoa(e.Offset)
	}
	return s
}

// Is matches ErrInvalidStreamName and ErrInvalidEvent.
func (e *InvalidStreamNameError) Is(target error) bool {
	return target == ErrInvalidStreamName || target == ErrInvalidEvent
}

// ValidateStreamName checks a stream name against what every Store takes:
// 1 to MaxStreamNameLen bytes of UTF-8 with no control characters (C0, DEL
// or C1). Quotes, backslashes, spaces and other printable characters are
// allowed; each Store must store them exactly.
func ValidateStreamName(name string) error {
	bad := func(off int, reason string) error {
		return &InvalidStreamNameError{Len: len(name), Offset: off, Reason: reason}
	}
	switch {
	case name == "":
		return bad(-1, "empty; name the stream")
	case len(name) > MaxStreamNameLen:
		return bad(-1, "longer than "+strconv.Itoa(MaxStreamNameLen)+" bytes; use a shorter name")
	}
	for i, r := range name {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(name[i:]); n <= 1 {
				return bad(i, "not UTF-8")
			}
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return bad(i, "a control character; use printable characters only")
		}
	}
	return nil
}
