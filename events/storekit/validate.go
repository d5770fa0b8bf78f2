package storekit

import (
	"fmt"

	"github.com/electionledger/ledger/events"
)

// ValidateAppend checks the arguments of an Append that every Store
// refuses: a stream name events.ValidateStreamName refuses, no events,
// invalid events, an invalid expected revision, an event after a sealing
// one in the same append, and an event ID repeated within the append.
func ValidateAppend(stream string, expected events.ExpectedRevision, evs []events.EventData) error {
	if err := events.ValidateStreamName(stream); err != nil {
		return err
	}
	if expected < events.StreamExists {
		return fmt.Errorf("%w: expected revision %d; use Any, NoStream, StreamExists or Exact(n)", events.ErrInvalidEvent, int64(expected))
	}
	if len(evs) == 0 {
		return fmt.Errorf("%w: append to %s with no events", events.ErrInvalidEvent, stream)
	}
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			return err
		}
		if i > 0 && events.Seals(evs[i-1].Type) {
			return fmt.Errorf("%w: append to %s puts event %s after the sealing %s in the same append", events.ErrStreamSealed, stream, evs[i].ID, evs[i-1].Type)
		}
		for j := 0; j < i; j++ {
			if evs[j].ID == evs[i].ID {
				return &events.DuplicateEventError{Stream: stream, ID: evs[i].ID, Reason: "the ID repeats within one append"}
			}
		}
	}
	return nil
}

// DecodeStored decodes a record a store read from the given stream and
// revision (its binary form, Record.MarshalBinary); a record that cannot be
// decoded, or that claims another place, is an *events.ChainError for that
// stream and revision.
func DecodeStored(stream string, revision uint64, b []byte) (events.Record, error) {
	var r events.Record
	if err := r.UnmarshalBinary(b); err != nil {
		return events.Record{}, &events.ChainError{Stream: stream, Revision: revision, Problem: "undecodable record", Err: err}
	}
	if r.Stream != stream || r.Revision != revision {
		return events.Record{}, &events.ChainError{Stream: stream, Revision: revision, Problem: "record names another place"}
	}
	return r, nil
}
