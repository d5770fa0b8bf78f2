package events_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/eventfill"
	"github.com/google/uuid"
)

// TestFastAndGeneralCodecsAgreeOnEveryField fills every field of every
// registered type (eventfill) and encodes it with and without the fast
// codecs: the payloads are byte for byte the same, and each decodes back to
// the filled value with either registry. (events/storetest does the same
// through every store.)
func TestFastAndGeneralCodecsAgreeOnEveryField(t *testing.T) {
	fast, general := events.NewRegistry(), events.NewRegistry(events.WithoutFastCodecs())
	for _, style := range eventfill.Styles() {
		for _, ti := range fast.Types() {
			v := reflect.New(ti.GoType)
			if err := eventfill.Fill(v.Interface(), style); err != nil {
				t.Fatal(err)
			}
			e := v.Elem().Interface().(events.Event)
			a, err1 := fast.Encode(uuid.Nil, e, events.Metadata{})
			b, err2 := general.Encode(uuid.Nil, e, events.Metadata{})
			if err1 != nil || err2 != nil {
				t.Fatalf("%s (%v): encode: %v, %v", ti.Name, style, err1, err2)
			}
			if !bytes.Equal(a.Data, b.Data) {
				t.Errorf("%s (%v): fast codec wrote\n%s\ngeneral codec wrote\n%s", ti.Name, style, a.Data, b.Data)
			}
			for _, r := range []*events.Registry{fast, general} {
				got, err := r.DecodeData(ti.Name, ti.Version, a.Data)
				if err != nil || !reflect.DeepEqual(got, e) {
					t.Errorf("%s (%v): decoded\n%#v (%v)\nwant\n%#v", ti.Name, style, got, err, e)
				}
			}
		}
	}
}
