package storetest

import (
	"reflect"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/eventfill"
	"github.com/google/uuid"
)

// testEveryEventTypeRoundTrips fills every exported field of every event
// type the ledger registers, and of the metadata, with a non-zero value (by
// reflection: a field added later is covered without editing this test),
// appends it, and reads it back: the stored payload is the encoded one, and
// decoding it (from the bytes, and as the store hands it over) gives back
// every field. It runs with the hand-written fast codecs and without them,
// with plain strings (which the fast codecs take), hostile ones (which they
// decline), and with optional pointers left nil (so every other field goes
// through a fast codec that declines on them).
func testEveryEventTypeRoundTrips(t *testing.T, s events.Store) {
	regs := map[string]*events.Registry{
		"fast codecs":    events.NewRegistry(),
		"general codecs": events.NewRegistry(events.WithoutFastCodecs()),
	}
	for _, style := range eventfill.Styles() {
		for codecs, reg := range regs {
			for _, ti := range reg.Types() {
				where := ti.Name + " (" + codecs + ", " + style.String() + ")"
				e, md := filledEvent(t, ti, style)
				data, err := reg.Encode(uuid.New(), e, md)
				if err != nil {
					t.Fatalf("%s, %s: encode: %v", ti.Name, codecs, err)
				}
				rec := appendAndReadBack(t, s, ti.Name, data)
				if string(rec.Data) != string(data.Data) {
					t.Errorf("%s: stored payload\n%s\nwant\n%s", where, rec.Data, data.Data)
				}
				if !reflect.DeepEqual(rec.Metadata, md) {
					t.Errorf("%s: metadata came back as\n%+v\nwant\n%+v", where, rec.Metadata, md)
				}
				checkDecodesWithEvery(t, where, regs, &rec, e)
			}
		}
	}
}

// filledEvent returns an event of the registered type ti and metadata,
// every exported field filled in style.
func filledEvent(t *testing.T, ti events.TypeInfo, style eventfill.Style) (events.Event, events.Metadata) {
	t.Helper()
	v := reflect.New(ti.GoType)
	if err := eventfill.Fill(v.Interface(), style); err != nil {
		t.Fatal(err)
	}
	var md events.Metadata
	if err := eventfill.Fill(&md, style); err != nil {
		t.Fatal(err)
	}
	return v.Elem().Interface().(events.Event), md
}

// appendAndReadBack appends data alone to a new stream and returns the
// one record the stream reads back; typ names the event type in a
// failure.
func appendAndReadBack(t *testing.T, s events.Store, typ string, data events.EventData) events.Record {
	t.Helper()
	name := stream(s, "types")
	mustAppend(t, s, name, events.NoStream, data)
	recs, err := readStream(t, s, name, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("%s: read back %d records: %v", typ, len(recs), err)
	}
	return recs[0]
}

// checkDecodesWithEvery fails t unless rec decodes to e with every
// registry of regs, both from its stored bytes and as the store handed it
// over.
func checkDecodesWithEvery(t *testing.T, where string, regs map[string]*events.Registry, rec *events.Record, e events.Event) {
	t.Helper()
	for other, r := range regs {
		fromBytes, err := r.DecodeData(rec.Type, rec.SchemaVersion, rec.Data)
		if err != nil {
			t.Fatalf("%s: decode with %s: %v", where, other, err)
		}
		if !reflect.DeepEqual(fromBytes, e) {
			t.Errorf("%s: the stored bytes decode (%s) to\n%#v\nwant\n%#v", where, other, fromBytes, e)
		}
		handed, err := r.Decode(rec)
		if err != nil || !reflect.DeepEqual(handed, e) {
			t.Errorf("%s: the record decodes (%s) to\n%#v (%v)\nwant\n%#v", where, other, handed, err, e)
		}
	}
}
