package events

import (
	"encoding"
	"reflect"
	"strings"
)

// fastCodec is a type's hand-written codec pair: an encoder that writes the
// general encoder's exact bytes or declines, and a decoder of that
// canonical form that declines on anything else. Either may be nil.
//
// A hand-written codec knows the fields of its type as they were when it
// was written. shape records them (shapeOf's form); the registry installs
// the codec only while the type still has that shape, so a field added,
// removed, renamed or retyped later makes the type go the general way until
// the codec is updated, instead of being silently dropped or misread.
// TestFastCodecsInstalled fails in that case and prints the new shape.
type fastCodec struct {
	shape  string
	encode func(b []byte, e Event) ([]byte, bool)
	decode func(data []byte) (Event, bool)
}

// fastCodecs are the hand-written codecs of the built-in types, by wire
// name, each with the shape of the type it was written for.
func fastCodecs() map[string]fastCodec {
	const (
		participant = `participant:events.Participant{kind:events.ParticipantKind,tin,omitzero:events.TIN,npi,omitzero:events.NPI,id,omitzero:string}`
		programYear = `programYear:events.ProgramYear{program:events.Program,year:int}`
	)
	return map[string]fastCodec{
		TypeEligibilityDetermined: {
			shape: `events.EligibilityDetermined{` + participant + `,` + programYear +
				`,status:events.EligibilityStatus,exclusion,omitzero:events.ExclusionReason,exceeded,omitzero:events.Criteria` +
				`,volumes:events.Volumes{allowedChargesCents:int64,partBPatients:int,coveredServices:int}` +
				`,source:events.Source,sourceDate:time.Time,determinedAt:time.Time,clinicianType,omitzero:string` +
				`,qp,omitzero:bool,mipsApm,omitzero:bool,portalRegistered,omitzero:bool,run,omitzero:int` +
				`,newlyEstablished,omitzero:bool,eligibleClinicians,omitzero:int,individuallyAssessed,omitzero:bool,qpStatus,omitzero:string}`,
			decode: fastEligibilityDetermined,
		},
		TypeElectionRequested: {
			shape: `events.ElectionRequested{` + participant + `,` + programYear +
				`,choice:events.Choice,pathway:events.Pathway,requestedAt:time.Time,batchId,omitzero:string,virtualGroupId,omitzero:string` +
				`,officeChampion,omitzero:*events.Champion{name:string,role:string,npi,omitzero:events.NPI}` +
				`,clinicalChampion,omitzero:*events.Champion{name:string,role:string,npi,omitzero:events.NPI}}`,
			encode: encodeElectionRequested,
		},
		TypeElectionConfirmed: {
			shape: `events.ElectionConfirmed{` + participant + `,` + programYear +
				`,choice:events.Choice,pathway:events.Pathway,confirmedAt:time.Time,requestRevision:uint64` +
				`,batchId,omitzero:string,virtualGroupId,omitzero:string,imported,omitzero:bool}`,
			encode: encodeElectionConfirmed,
		},
		TypeElectionRequestWithdrawn: {
			shape: `events.ElectionRequestWithdrawn{` + participant + `,` + programYear +
				`,withdrawnAt:time.Time,reason,omitzero:string,batchId,omitzero:string}`,
			encode: encodeElectionRequestWithdrawn,
		},
		TypeCommandRecorded: {
			shape: `events.CommandRecorded{commandId:uuid.UUID,kind:string,fingerprint:events.Hash,participant,omitzero:events.Participant{kind:events.ParticipantKind,tin,omitzero:events.TIN,npi,omitzero:events.NPI,id,omitzero:string}` +
				`,programYear:events.ProgramYear{program:events.Program,year:int},recordedAt:time.Time}`,
			encode: encodeCommandRecorded,
		},
		TypeScoreReported: {
			shape: `events.ScoreReported{` + participant + `,` + programYear +
				`,pathway:events.Pathway,score:float64,scoredCategories:int,reportedAt:time.Time}`,
			decode: fastScoreReported,
		},
	}
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// shapeOf describes a type as the JSON codec sees it: for a struct, each
// exported field's JSON name and options and the shape of its type, in
// order; for a pointer or slice, its element's shape; for a type with a
// text form (identifiers, enumerations, times), its name alone.
func shapeOf(t reflect.Type) string {
	var b strings.Builder
	writeShape(&b, t)
	return b.String()
}

func writeShape(b *strings.Builder, t reflect.Type) {
	switch {
	case t.Implements(textMarshaler):
		b.WriteString(t.String())
	case t.Kind() == reflect.Pointer:
		b.WriteByte('*')
		writeShape(b, t.Elem())
	case t.Kind() == reflect.Slice:
		b.WriteString("[]")
		writeShape(b, t.Elem())
	case t.Kind() == reflect.Struct:
		b.WriteString(t.String())
		b.WriteByte('{')
		first := true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			name := f.Tag.Get("json")
			if name == "" {
				name = f.Name
			}
			b.WriteString(name)
			b.WriteByte(':')
			writeShape(b, f.Type)
		}
		b.WriteByte('}')
	default:
		b.WriteString(t.String())
	}
}
