package storetest

import (
	"errors"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
)

// testHostilePayloads appends events whose payload, metadata and type hold
// what breaks careless storage: quotes, backslashes, NUL and other control
// bytes, bytes that are not UTF-8, SQL and JSON fragments, an empty and a
// nil payload. Every payload and every metadata string is stored and read
// back exactly (ReadStream and ReadAll), its hash verifying. An event type
// holding a control byte is either stored exactly or refused with
// ErrInvalidEvent, writing nothing: a store may keep types as text that
// cannot hold NUL (pgstore does).
func testHostilePayloads(t *testing.T, s events.Store) {
	name := stream(s, "payloads")
	sent := hostileEvents()
	mustAppend(t, s, name, events.NoStream, sent...)
	recs, err := readStream(t, s, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkReadBackAsSent(t, "ReadStream", recs, sent)
	checkReadBackAsSent(t, "ReadAll", readAll(t, s, 0), sent)
	if n, err := chain.VerifyStream(name, s.ReadStream(ctxFor(t), name, 0)); err != nil || n != len(sent) {
		t.Fatalf("verify: %d records, %v", n, err)
	}
	testControlByteTypes(t, s)
}

// hostileEvents returns one event per hostile payload, each with hostile
// metadata strings, and last an event whose type holds quotes and a
// backslash.
func hostileEvents() []events.EventData {
	payloads := map[string][]byte{
		"quotes":        []byte(`{"s":"it's \"quoted\""} ' " '' ""`),
		"backslashes":   []byte(`\ \\ \x00 \u0000 \' E'\\'`),
		"NUL":           {'{', 0, '}', 0, 0},
		"control bytes": {0x01, 0x07, 0x08, '\t', '\n', '\r', 0x1b, '[', '3', '1', 'm', 0x7f},
		"not UTF-8":     {0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0x80, 0x80},
		"SQL":           []byte(`'); DROP TABLE events; -- ; DELETE FROM events WHERE '1'='1`),
		"JSON breakers": []byte(`"}]}, {"injected": true`),
		"empty":         {},
		"nil":           nil,
		"every byte":    everyByte(),
	}
	metaStrings := []string{
		`O'Brien "the" \\ tester`,
		"nul\x00in the middle",
		"line\nbreak\tand\x1b[31m escape \x7f and \u0085",
		`'); DROP TABLE events; --`,
		"ünïcödé 名前 \U0001F5F3",
	}
	var sent []events.EventData
	i := 0
	for what, data := range payloads {
		e := ev(i)
		e.Data = data
		m := &e.Metadata
		m.Actor = metaStrings[i%len(metaStrings)] + " (" + what + ")"
		m.Organization = metaStrings[(i+1)%len(metaStrings)]
		m.OnBehalfOf = events.Participant{Kind: events.KindVirtualGroup, ID: metaStrings[(i+2)%len(metaStrings)]}
		sent = append(sent, e)
		i++
	}
	quoted := ev(i)
	quoted.Type = `test.'quoted'."type"\`
	return append(sent, quoted)
}

// everyByte returns the 256 byte values in order.
func everyByte() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// checkReadBackAsSent fails t unless recs, read by how, are the events
// sent, in order, exactly as appended.
func checkReadBackAsSent(t *testing.T, how string, recs []events.Record, sent []events.EventData) {
	t.Helper()
	if len(recs) != len(sent) {
		t.Fatalf("%s: %d records, want %d", how, len(recs), len(sent))
	}
	for i, r := range recs {
		if r.ID != sent[i].ID || r.Type != sent[i].Type || string(r.Data) != string(sent[i].Data) || !r.SameContent(&sent[i]) {
			t.Fatalf("%s: record %d does not read back as appended: data %q, metadata %+v", how, i, r.Data, r.Metadata)
		}
	}
}

// testControlByteTypes appends events whose types hold control bytes:
// each is stored exactly, or refused with ErrInvalidEvent and nothing
// written.
func testControlByteTypes(t *testing.T, s events.Store) {
	for _, typ := range []string{"test.nul\x00type", "test.\ttab\ntype\x1b"} {
		other := stream(s, "types")
		e := ev(0)
		e.Type = typ
		_, err := s.Append(ctxFor(t), other, events.NoStream, e)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidEvent) {
				t.Fatalf("type %q: %v, want success or ErrInvalidEvent", typ, err)
			}
			if _, err := readStream(t, s, other, 0); !errors.Is(err, events.ErrStreamNotFound) {
				t.Fatalf("type %q was refused but something was written: %v", typ, err)
			}
			continue
		}
		recs, err := readStream(t, s, other, 0)
		if err != nil || len(recs) != 1 || recs[0].Type != typ {
			t.Fatalf("type %q: read back %d records (%v)", typ, len(recs), err)
		}
	}
}
