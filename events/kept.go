package events

import (
	"hash/maphash"
	"reflect"
	"slices"
	"time"
)

// keptEvent is the decoded payload Registry.Encode hands a store along with
// the bytes it encoded: its own copy of the event (sharing nothing a caller
// can change) and a keyed hash of the bytes. A store keeps the event only
// if Data still hashes the same when it appends (take), so no reader is
// ever given a decoded value that the hashed bytes do not encode, whatever
// a caller does to the event or to the Data buffer after encoding.
type keptEvent struct {
	event Event
	seed  maphash.Seed
	sum   uint64
}

// take returns the kept event if data is the bytes it was encoded to.
func (k *keptEvent) take(data []byte) (Event, bool) {
	if k.event == nil || maphash.Bytes(k.seed, data) != k.sum {
		return nil, false
	}
	return k.event, true
}

// keepFunc copies an event so that the copy shares nothing mutable with it
// (slices, pointers); nil for types whose values cannot be copied so.
type keepFunc func(Event) Event

// same keeps an event whose type holds no reference: the interface already
// holds a copy.
func same(e Event) Event { return e }

// keepRequested copies an ElectionRequested's champions.
func keepRequested(e Event) Event {
	r := e.(ElectionRequested)
	if r.OfficeChampion != nil {
		c := *r.OfficeChampion
		r.OfficeChampion = &c
	}
	if r.ClinicalChampion != nil {
		c := *r.ClinicalChampion
		r.ClinicalChampion = &c
	}
	return r
}

// keepSnapshot copies an APM snapshot's entries.
func keepSnapshot(e Event) Event {
	s := e.(APMParticipationSnapshot)
	s.Entries = slices.Clone(s.Entries)
	return s
}

// keepMembership copies a virtual group's members.
func keepMembership(e Event) Event {
	m := e.(VirtualGroupMembership)
	m.Members = slices.Clone(m.Members)
	return m
}

// keeperFor returns how to keep values of a registered type: same for a
// type that holds no reference (nothing a caller could change after
// encoding), nil otherwise (its events are decoded from Data, until
// installKeepers gives the type a hand-written copier). With fast paths off
// nothing is kept: every read decodes the stored bytes.
func (r *Registry) keeperFor(t reflect.Type) keepFunc {
	if !r.noFast && flat(t) {
		return same
	}
	return nil
}

// keeper is a hand-written copier and the fields holding references it
// copies (each a pointer to, or slice of, values holding none).
type keeper struct {
	keep keepFunc
	refs []string
}

// installKeepers installs each hand-written copier whose type's fields
// holding references are still exactly the ones it copies: a field added
// later makes the type's events decode from Data until the copier learns
// it, never share memory with a caller.
func (r *Registry) installKeepers(ks map[string]keeper) {
	for name, k := range ks {
		if t, ok := r.types[name]; ok && slices.Equal(refFields(t.goType), k.refs) {
			t.keep = k.keep
		}
	}
}

// refFields lists the fields of struct t holding references, in order;
// a field whose reference leads to more references is listed as "!".
func refFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case flat(f.Type):
		case (f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice) && flat(f.Type.Elem()):
			out = append(out, f.Name)
		default:
			out = append(out, "!")
		}
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// flat reports whether values of t hold no reference a caller could
// change: no pointers, slices, maps, interfaces, channels or functions
// (a time.Time's location is immutable and allowed).
func flat(t reflect.Type) bool {
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return flat(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !flat(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
