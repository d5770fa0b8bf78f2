package eventfill

import (
	"fmt"
	"reflect"
	"time"

	"github.com/electionledger/ledger/events"
)

// Style chooses the strings Fill writes.
type Style int

// Styles.
const (
	// Plain strings are short ASCII letters and digits: what the fast
	// codecs take, so they are exercised.
	Plain Style = iota
	// Hostile strings hold quotes, a backslash, HTML characters, control
	// characters and non-ASCII letters: the fast codecs decline them, so
	// the general codec is exercised.
	Hostile
	// PlainNilPointers is Plain, but pointers are left nil: optional
	// sub-objects (a QIPS champion) make some fast codecs decline, so
	// without them every other field goes through the fast codec.
	PlainNilPointers
)

// Styles lists every style.
func Styles() []Style { return []Style{Plain, Hostile, PlainNilPointers} }

// String names the style.
func (s Style) String() string {
	return [...]string{"plain", "hostile", "plain without pointers"}[s]
}

// Fill sets every exported field reachable from v (a pointer) to a
// non-zero value: strings, numbers and booleans directly, structs field by
// field, one element for slices and maps, a new value for nil pointers
// (except in style PlainNilPointers).
// Identifier types whose fields are unexported get a valid example (TIN,
// NPI, time.Time). Enumerations (small unsigned integers with a text form)
// get 1, their first named value. It returns an error naming the first
// field it cannot fill (an interface, a channel, a function).
func Fill(v any, style Style) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("eventfill: want a non-nil pointer, got %T", v)
	}
	return fill(rv.Elem(), rv.Elem().Type().String(), style)
}

var (
	tinType  = reflect.TypeFor[events.TIN]()
	npiType  = reflect.TypeFor[events.NPI]()
	timeType = reflect.TypeFor[time.Time]()
)

func fill(v reflect.Value, path string, style Style) error {
	switch v.Type() {
	case tinType:
		v.Set(reflect.ValueOf(events.MustParseTIN("123456789")))
		return nil
	case npiType:
		v.Set(reflect.ValueOf(events.MustParseNPI("1234567893")))
		return nil
	case timeType:
		v.Set(reflect.ValueOf(time.Date(2025, time.February, 3, 15, 4, 5, 123456789, time.UTC)))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		s := "Fill" + fmt.Sprint(len(path))
		if style == Hostile {
			s = "q\"uote\\ <&> \t ünï " + fmt.Sprint(len(path))
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint8:
		v.SetUint(1) // an enumeration's first named value, or a bit set's first bit
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(12.5)
	case reflect.Array:
		for i := range v.Len() {
			if err := fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i), style); err != nil {
				return err
			}
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			for i := range v.Len() {
				v.Index(i).SetUint(uint64(i + 1)) // a UUID or hash: distinct bytes
			}
		}
	case reflect.Pointer:
		if style == PlainNilPointers {
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return fill(v.Elem(), path, style)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		return fill(v.Index(0), path+"[0]", style)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		if err := fill(k, path+"{key}", style); err != nil {
			return err
		}
		if err := fill(e, path+"{value}", style); err != nil {
			return err
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if err := fill(v.Field(i), path+"."+f.Name, style); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("eventfill: %s is a %s: no value to fill it with", path, v.Kind())
	}
	return nil
}
