package events

import (
	"strconv"
	"time"
)

// The fast encoders write, without reflection, the election events a
// command appends, byte for byte as the general encoder (go-json-experiment,
// deterministic) writes them. They decline (ok false) on anything whose
// exact form they do not reproduce: strings needing escapes, times outside
// UTC or years 0-9999, unknown enum values, champions. The registry then
// encodes with the general encoder. An equivalence test and a fuzzer hold
// the two to identical output, and each codec is installed only while its
// type still has the shape it was written for (fastcodec.go), so a field
// added to the type is never dropped.

// encodeElectionRequested appends an ElectionRequested payload to b, or
// declines.
func encodeElectionRequested(b []byte, ev Event) ([]byte, bool) {
	e, ok := ev.(ElectionRequested)
	if !ok || e.OfficeChampion != nil || e.ClinicalChampion != nil {
		return b, false
	}
	w := emit{b: b, ok: true}
	w.head(e.Participant, e.ProgramYear)
	w.choicePathway(e.Choice, e.Pathway)
	w.time(`,"requestedAt":`, e.RequestedAt)
	w.optString(`,"batchId":`, e.BatchID)
	w.optString(`,"virtualGroupId":`, e.VirtualGroupID)
	return w.end(b)
}

// encodeElectionConfirmed appends an ElectionConfirmed payload to b, or
// declines.
func encodeElectionConfirmed(b []byte, ev Event) ([]byte, bool) {
	e, ok := ev.(ElectionConfirmed)
	if !ok {
		return b, false
	}
	w := emit{b: b, ok: true}
	w.head(e.Participant, e.ProgramYear)
	w.choicePathway(e.Choice, e.Pathway)
	w.time(`,"confirmedAt":`, e.ConfirmedAt)
	w.b = append(w.b, `,"requestRevision":`...)
	w.b = strconv.AppendUint(w.b, e.RequestRevision, 10)
	w.optString(`,"batchId":`, e.BatchID)
	w.optString(`,"virtualGroupId":`, e.VirtualGroupID)
	if e.Imported {
		w.b = append(w.b, `,"imported":true`...)
	}
	return w.end(b)
}

// encodeElectionRequestWithdrawn appends an ElectionRequestWithdrawn
// payload to b, or declines.
func encodeElectionRequestWithdrawn(b []byte, ev Event) ([]byte, bool) {
	e, ok := ev.(ElectionRequestWithdrawn)
	if !ok {
		return b, false
	}
	w := emit{b: b, ok: true}
	w.head(e.Participant, e.ProgramYear)
	w.time(`,"withdrawnAt":`, e.WithdrawnAt)
	w.optString(`,"reason":`, e.Reason)
	w.optString(`,"batchId":`, e.BatchID)
	return w.end(b)
}

// encodeCommandRecorded appends a CommandRecorded payload to b, or
// declines: one is written for every command.
func encodeCommandRecorded(b []byte, ev Event) ([]byte, bool) {
	e, ok := ev.(CommandRecorded)
	if !ok {
		return b, false
	}
	w := emit{b: b, ok: true}
	w.b = append(w.b, `{"commandId":"`...)
	var id [36]byte
	w.b = append(w.b, appendUUID(id[:0], e.CommandID)...)
	w.b = append(w.b, `","kind":`...)
	w.string(e.Kind)
	w.b = append(w.b, `,"fingerprint":"`...)
	w.b, _ = e.Fingerprint.AppendText(w.b)
	w.b = append(w.b, '"')
	if !e.Participant.IsZero() {
		w.participant(`,"participant":`, e.Participant)
	}
	w.programYear(`,"programYear":`, e.ProgramYear)
	w.time(`,"recordedAt":`, e.RecordedAt)
	return w.end(b)
}

// emit appends JSON; ok turns false at the first value it cannot write
// exactly as the general encoder would.
type emit struct {
	b  []byte
	ok bool
}

// end closes the object and returns the payload, or b as it was given if
// anything declined.
func (w *emit) end(b []byte) ([]byte, bool) {
	w.b = append(w.b, '}')
	if !w.ok {
		return b, false
	}
	return w.b, true
}

// head opens the object with the participant and program year members.
func (w *emit) head(p Participant, py ProgramYear) {
	w.participant(`{"participant":`, p)
	w.programYear(`,"programYear":`, py)
}

// participant writes a member holding a participant.
func (w *emit) participant(member string, p Participant) {
	w.b = append(w.b, member...)
	w.b = append(w.b, `{"kind":"`...)
	var err error
	if w.b, err = p.Kind.AppendText(w.b); err != nil {
		w.ok = false
	}
	w.b = append(w.b, '"')
	if !p.TIN.IsZero() {
		w.b = append(w.b, `,"tin":"`...)
		w.b = p.TIN.appendDigits(w.b)
		w.b = append(w.b, '"')
	}
	if !p.NPI.IsZero() {
		w.b = append(w.b, `,"npi":"`...)
		w.b, _ = p.NPI.AppendText(w.b)
		w.b = append(w.b, '"')
	}
	w.optString(`,"id":`, p.ID)
	w.b = append(w.b, '}')
}

// programYear writes a member holding a program year.
func (w *emit) programYear(member string, py ProgramYear) {
	w.b = append(w.b, member...)
	w.b = append(w.b, `{"program":`...)
	w.string(string(py.Program))
	w.b = append(w.b, `,"year":`...)
	w.b = strconv.AppendInt(w.b, int64(py.Year), 10)
	w.b = append(w.b, '}')
}

func (w *emit) choicePathway(c Choice, p Pathway) {
	var err1, err2 error
	w.b = append(w.b, `,"choice":"`...)
	w.b, err1 = c.AppendText(w.b)
	w.b = append(w.b, `","pathway":"`...)
	w.b, err2 = p.AppendText(w.b)
	w.b = append(w.b, '"')
	if err1 != nil || err2 != nil {
		w.ok = false
	}
}

// string writes a string that needs no escaping: printable ASCII other
// than the quote, the backslash and the characters an encoder may escape
// for HTML. Anything else declines.
func (w *emit) string(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			w.ok = false
			return
		}
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

func (w *emit) optString(member, s string) {
	if s != "" {
		w.b = append(w.b, member...)
		w.string(s)
	}
}

// time writes a UTC time in RFC 3339 with the fractional seconds trimmed.
func (w *emit) time(member string, t time.Time) {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		w.ok = false
		return
	}
	w.b = append(w.b, member...)
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// appendUUID appends a UUID's canonical text form (as uuid.UUID's
// MarshalText writes it) without allocating.
func appendUUID(b []byte, u [16]byte) []byte {
	const hexdigits = "0123456789abcdef"
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexdigits[x>>4], hexdigits[x&15])
	}
	return b
}
