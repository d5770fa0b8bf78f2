package eventfill

import (
	"reflect"
	"testing"

	"github.com/electionledger/ledger/events"
)

// zeroFields lists the exported fields under v that are still zero.
func zeroFields(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == tinType || v.Type() == npiType || v.Type() == timeType {
			if v.IsZero() {
				*out = append(*out, path)
			}
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				zeroFields(v.Field(i), path+"."+f.Name, out)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		zeroFields(v.Elem(), path, out)
	case reflect.Slice:
		if v.Len() == 0 {
			*out = append(*out, path)
			return
		}
		zeroFields(v.Index(0), path+"[0]", out)
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}

// TestFillLeavesNoZeroField: every exported field of every registered event
// type, and of the metadata, is non-zero after Fill (pointers stay nil only
// in PlainNilPointers).
func TestFillLeavesNoZeroField(t *testing.T) {
	types := []reflect.Type{reflect.TypeFor[events.Metadata]()}
	for _, ti := range events.NewRegistry().Types() {
		types = append(types, ti.GoType)
	}
	for _, style := range []Style{Plain, Hostile} {
		for _, typ := range types {
			v := reflect.New(typ)
			if err := Fill(v.Interface(), style); err != nil {
				t.Fatal(err)
			}
			var zero []string
			zeroFields(v.Elem(), typ.String(), &zero)
			if len(zero) > 0 {
				t.Errorf("%v: still zero: %v", style, zero)
			}
		}
	}
	var r events.ElectionRequested
	if err := Fill(&r, PlainNilPointers); err != nil || r.OfficeChampion != nil || r.BatchID == "" {
		t.Fatalf("PlainNilPointers: %+v, %v", r, err)
	}
}

// TestFillRefusesWhatItCannotFill names the field.
func TestFillRefusesWhatItCannotFill(t *testing.T) {
	var v struct{ F func() }
	if err := Fill(&v, Plain); err == nil {
		t.Fatal("filled a func field")
	}
	if err := Fill(v, Plain); err == nil {
		t.Fatal("filled a value that is not a pointer")
	}
}
