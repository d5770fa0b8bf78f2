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
// the two to identical output.

// fastEncode appends e's payload to b, or declines.
func fastEncode(b []byte, e Event) ([]byte, bool) {
	w := emit{b: b, ok: true}
	switch e := e.(type) {
	case ElectionRequested:
		if e.OfficeChampion != nil || e.ClinicalChampion != nil {
			return b, false
		}
		w.head(e.Participant, e.ProgramYear)
		w.choicePathway(e.Choice, e.Pathway)
		w.time(`,"requestedAt":`, e.RequestedAt)
		w.optString(`,"batchId":`, e.BatchID)
		w.optString(`,"virtualGroupId":`, e.VirtualGroupID)
	case ElectionConfirmed:
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
	case ElectionRequestWithdrawn:
		w.head(e.Participant, e.ProgramYear)
		w.time(`,"withdrawnAt":`, e.WithdrawnAt)
		w.optString(`,"reason":`, e.Reason)
		w.optString(`,"batchId":`, e.BatchID)
	default:
		return b, false
	}
	w.b = append(w.b, '}')
	if !w.ok {
		return b, false
	}
	return w.b, true
}

// emit appends JSON; ok turns false at the first value it cannot write
// exactly as the general encoder would.
type emit struct {
	b  []byte
	ok bool
}

// head opens the object with the participant and program year members.
func (w *emit) head(p Participant, py ProgramYear) {
	w.b = append(w.b, `{"participant":{"kind":"`...)
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
	w.b = append(w.b, `},"programYear":{"program":`...)
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
