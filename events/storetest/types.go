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
				v := reflect.New(ti.GoType)
				if err := eventfill.Fill(v.Interface(), style); err != nil {
					t.Fatal(err)
				}
				e := v.Elem().Interface().(events.Event)
				var md events.Metadata
				if err := eventfill.Fill(&md, style); err != nil {
					t.Fatal(err)
				}
				data, err := reg.Encode(uuid.New(), e, md)
				if err != nil {
					t.Fatalf("%s, %s: encode: %v", ti.Name, codecs, err)
				}
				name := stream(s, "types")
				mustAppend(t, s, name, events.NoStream, data)
				recs, err := readStream(t, s, name, 0)
				if err != nil || len(recs) != 1 {
					t.Fatalf("%s: read back %d records: %v", ti.Name, len(recs), err)
				}
				rec := recs[0]
				where := ti.Name + " (" + codecs + ", " + style.String() + ")"
				if string(rec.Data) != string(data.Data) {
					t.Errorf("%s: stored payload\n%s\nwant\n%s", where, rec.Data, data.Data)
				}
				if !reflect.DeepEqual(rec.Metadata, md) {
					t.Errorf("%s: metadata came back as\n%+v\nwant\n%+v", where, rec.Metadata, md)
				}
				for other, r := range regs {
					fromBytes, err := r.DecodeData(rec.Type, rec.SchemaVersion, rec.Data)
					if err != nil {
						t.Fatalf("%s: decode with %s: %v", where, other, err)
					}
					if !reflect.DeepEqual(fromBytes, e) {
						t.Errorf("%s: the stored bytes decode (%s) to\n%#v\nwant\n%#v", where, other, fromBytes, e)
					}
					handed, err := r.Decode(&rec)
					if err != nil || !reflect.DeepEqual(handed, e) {
						t.Errorf("%s: the record decodes (%s) to\n%#v (%v)\nwant\n%#v", where, other, handed, err, e)
					}
				}
			}
		}
	}
}
