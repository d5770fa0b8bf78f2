package events

import (
	"fmt"
	"log/slog"
	"strconv"
)

// The record and event-data envelopes print without their payload: a
// payload names its participant in full (the TIN may be an SSN), so fmt
// and slog show where a record is and what it is, never what it says.

// String describes the record: "stream@revision #position type hash".
func (r Record) String() string {
	return r.Stream + "@" + strconv.FormatUint(r.Revision, 10) + " #" + strconv.FormatUint(uint64(r.Position), 10) +
		" " + r.Type + "/v" + strconv.Itoa(r.SchemaVersion) + " " + r.Hash.String()
}

// Format prints String under every verb (%v, %+v, %#v, %s, %q ...), so no
// verb shows the payload.
func (r Record) Format(f fmt.State, verb rune) { formatMasked(f, verb, "events.Record", r.String()) }

// LogValue logs the record's envelope: place, type, time, hash and actor,
// never the payload.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("stream", r.Stream),
		slog.Uint64("revision", r.Revision),
		slog.Uint64("position", uint64(r.Position)),
		slog.String("type", r.Type),
		slog.Int("schemaVersion", r.SchemaVersion),
		slog.Time("recordedAt", r.RecordedAt),
		slog.String("hash", r.Hash.String()),
		slog.String("actor", r.Metadata.Actor),
		slog.Any("onBehalfOf", r.Metadata.OnBehalfOf),
	)
}

// String describes the event data: "type/vN id (n bytes)".
func (e EventData) String() string {
	return e.Type + "/v" + strconv.Itoa(e.SchemaVersion) + " " + e.ID.String() + " (" + strconv.Itoa(len(e.Data)) + " bytes)"
}

// Format prints String under every verb, so no verb shows the payload.
func (e EventData) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, "events.EventData", e.String())
}

// LogValue logs the event data's type, ID and size, never the payload.
func (e EventData) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", e.Type),
		slog.Int("schemaVersion", e.SchemaVersion),
		slog.String("id", e.ID.String()),
		slog.Int("bytes", len(e.Data)),
		slog.String("actor", e.Metadata.Actor),
		slog.Any("onBehalfOf", e.Metadata.OnBehalfOf),
	)
}
