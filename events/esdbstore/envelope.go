package esdbstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// envelope is the ledger's event metadata as stored in EventStoreDB's
// custom metadata: readable JSON, holding everything the hash chain covers
// besides the payload.
type envelope struct {
	Ledger        int                `json:"ledger"` // format marker: 1
	SchemaVersion int                `json:"schemaVersion"`
	Revision      uint64             `json:"revision"`
	RecordedAt    time.Time          `json:"recordedAt"`
	PrevHash      events.Hash        `json:"prevHash"`
	Hash          events.Hash        `json:"hash"`
	Actor         string             `json:"actor,omitzero"`
	ActorRole     events.ActorRole   `json:"actorRole,omitzero"`
	Organization  string             `json:"organization,omitzero"`
	OnBehalfOf    events.Participant `json:"onBehalfOf,omitzero"`
	AttestedAt    time.Time          `json:"attestedAt,omitzero"`
	CommandID     uuid.UUID          `json:"commandId,omitzero"`
	CausationID   uuid.UUID          `json:"causationId,omitzero"`
	CorrelationID uuid.UUID          `json:"correlationId,omitzero"`
}

func toESDB(r *events.Record) (esdb.EventData, error) {
	m := &r.Metadata
	md, err := json.Marshal(envelope{Ledger: 1, SchemaVersion: r.SchemaVersion, Revision: r.Revision, RecordedAt: r.RecordedAt,
		PrevHash: r.PrevHash, Hash: r.Hash, Actor: m.Actor, ActorRole: m.ActorRole, Organization: m.Organization,
		OnBehalfOf: m.OnBehalfOf, AttestedAt: m.AttestedAt, CommandID: m.CommandID, CausationID: m.CausationID,
		CorrelationID: m.CorrelationID})
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{EventID: r.ID, EventType: r.Type, ContentType: esdb.ContentTypeJson, Data: r.Data, Metadata: md}, nil
}

// errNotLedger marks an event that the ledger did not write.
var errNotLedger = errors.New("not a ledger event")

// fromESDB converts an event the ledger wrote; an event without the
// ledger's envelope is errNotLedger, one whose envelope names another
// revision, or that is not at a single log position, a *ChainError.
func fromESDB(e *esdb.RecordedEvent) (events.Record, error) {
	var env envelope
	if err := json.Unmarshal(e.UserMetadata, &env); err != nil || env.Ledger != 1 {
		return events.Record{}, errNotLedger
	}
	r := events.Record{ID: e.EventID, Stream: e.StreamID, Revision: e.EventNumber, Position: LedgerPosition(e.Position.Commit),
		RecordedAt: env.RecordedAt.UTC(), Type: e.EventType, SchemaVersion: env.SchemaVersion, Data: e.Data,
		Metadata: events.Metadata{Actor: env.Actor, ActorRole: env.ActorRole, Organization: env.Organization,
			OnBehalfOf: env.OnBehalfOf, AttestedAt: env.AttestedAt, CommandID: env.CommandID, CausationID: env.CausationID,
			CorrelationID: env.CorrelationID},
		PrevHash: env.PrevHash, Hash: env.Hash}
	if !env.AttestedAt.IsZero() {
		r.Metadata.AttestedAt = env.AttestedAt.UTC()
	}
	if env.Revision != e.EventNumber {
		return r, &events.ChainError{Stream: e.StreamID, Revision: e.EventNumber, Problem: fmt.Sprintf("the envelope says revision %d", env.Revision)}
	}
	if e.Position.Commit != e.Position.Prepare {
		return r, &events.ChainError{Stream: e.StreamID, Revision: e.EventNumber,
			Problem: "written in an explicit transaction (commit and prepare positions differ); the ledger never writes so"}
	}
	return r, nil
}

// ledgerCategories are the stream categories the ledger owns: an event in
// one of them without the ledger's envelope was written by someone else.
var ledgerCategories = map[string]bool{
	events.CategoryElection: true, events.CategoryEligibility: true, events.CategoryScore: true,
	events.CategoryAPM: true, events.CategoryVirtualGroup: true,
}

// isLedgerStream reports whether a stream belongs to the ledger: one of its
// categories, or a stream in which ledger records were seen.
func isLedgerStream(stream string, seen map[string]bool) bool {
	return ledgerCategories[events.StreamCategory(stream)] || seen[stream]
}

// streamRecord converts an event read from a ledger stream: one the ledger
// did not write is a *ChainError naming it.
func streamRecord(stream string, e *esdb.RecordedEvent) (events.Record, error) {
	r, err := fromESDB(e)
	if errors.Is(err, errNotLedger) {
		return r, foreignEvent(e)
	}
	return r, err
}

// foreignEvent is the finding for an event in a ledger stream that the
// ledger did not write.
func foreignEvent(e *esdb.RecordedEvent) error {
	if e.EventType == "$streamDeleted" {
		return &events.ChainError{Stream: e.StreamID, Revision: e.EventNumber,
			Problem: "the stream was tombstoned (hard-deleted) by another client", Err: ErrStreamDeleted}
	}
	return &events.ChainError{Stream: e.StreamID, Revision: e.EventNumber,
		Problem: fmt.Sprintf("an event of type %q written without the ledger's envelope (not by the ledger)", e.EventType)}
}

// truncation returns how a stream's metadata deletes or truncates it, or
// "" when it does not: a $tb (a soft delete writes one), $maxCount or
// $maxAge. The server's reads hide what these cover, and a scavenge
// removes it.
func truncation(raw map[string]any) string {
	for _, k := range []string{"$tb", "$maxCount", "$maxAge"} {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		if k == "$tb" {
			if f, ok := v.(float64); ok && f >= 9.2e18 {
				return "soft-deleted ($tb = long.MaxValue)"
			}
		}
		return fmt.Sprintf("truncated by %s = %v in its metadata", k, v)
	}
	return ""
}

// metadataFinding checks an event of a metadata stream read from $all.
func metadataFinding(e *esdb.RecordedEvent, seen map[string]bool) error {
	stream, ok := strings.CutPrefix(e.StreamID, "$$")
	if !ok || e.EventType != "$metadata" || !isLedgerStream(stream, seen) {
		return nil
	}
	var raw map[string]any
	if err := json.Unmarshal(e.Data, &raw); err != nil {
		return nil
	}
	if how := truncation(raw); how != "" {
		return &events.ChainError{Stream: stream, Revision: 0, Problem: "the stream was " + how + " by another client",
			Err: &StreamDeletedError{Stream: stream, How: how}}
	}
	return nil
}
