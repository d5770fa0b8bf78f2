package events

import (
	"reflect"
	"testing"

	"github.com/electionledger/ledger/internal/fastpath"
)

// TestFastCodecsInstalled: every hand-written codec was written for its
// type as the type is now. When a field is added to one of these types,
// this test fails until the codec learns the field (and the shape below is
// updated); meanwhile the registry does not install the stale codec, so
// the type goes the general way and loses nothing.
// With ELECTIONLEDGER_FAST_PATHS=off no registry installs any.
func TestFastCodecsInstalled(t *testing.T) {
	r, off := NewRegistry(), fastpath.Off()
	for name, c := range fastCodecs() {
		typ := r.types[name].goType
		if got := shapeOf(typ); got != c.shape {
			t.Errorf("%s changed since its fast codec was written: teach the codec the change, then set its shape to\n%s", name, got)
			continue
		}
		got := r.types[name].fast
		installed := (got.encode == nil) == (c.encode == nil) && (got.decode == nil) == (c.decode == nil)
		switch {
		case off && (got.encode != nil || got.decode != nil):
			t.Errorf("%s: fast codec installed although %s=off", name, fastpath.EnvVar)
		case !off && !installed:
			t.Errorf("%s: fast codec not installed", name)
		}
	}
	for name, tp := range NewRegistry(WithoutFastCodecs()).types {
		if tp.fast.encode != nil || tp.fast.decode != nil {
			t.Errorf("WithoutFastCodecs: %s still has a fast codec", name)
		}
	}
}

// TestStaleFastCodecDeclines: a codec written for another shape of its
// type is not installed.
func TestStaleFastCodecDeclines(t *testing.T) {
	r := NewRegistry(WithoutFastCodecs())
	c := fastCodecs()[TypeElectionRequested]
	c.shape = shapeOf(reflect.TypeFor[ElectionRequested]()) + "x" // as if a field had been added since
	r.installFast(map[string]fastCodec{TypeElectionRequested: c})
	if r.types[TypeElectionRequested].fast.encode != nil {
		t.Fatal("a codec written for another shape was installed")
	}
	c.shape = shapeOf(reflect.TypeFor[ElectionRequested]())
	r.installFast(map[string]fastCodec{TypeElectionRequested: c})
	if r.types[TypeElectionRequested].fast.encode == nil {
		t.Fatal("a codec written for this shape was not installed")
	}
}

// TestShapeSeesEveryChange: the shape changes with a field's name, JSON
// name, options, type or order, and ignores unexported fields.
func TestShapeSeesEveryChange(t *testing.T) {
	type base struct {
		A int    `json:"a"`
		B string `json:"b,omitzero"`
		c bool
	}
	type renamedJSON struct {
		A int    `json:"a2"`
		B string `json:"b,omitzero"`
	}
	type options struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	type retyped struct {
		A int64  `json:"a"`
		B string `json:"b,omitzero"`
	}
	type reordered struct {
		B string `json:"b,omitzero"`
		A int    `json:"a"`
	}
	type added struct {
		A int    `json:"a"`
		B string `json:"b,omitzero"`
		C bool   `json:"c"`
	}
	strip := func(s string) string { // drop the Go type name, which differs
		for i := range s {
			if s[i] == '{' {
				return s[i:]
			}
		}
		return s
	}
	b := strip(shapeOf(reflect.TypeFor[base]()))
	if b != "{a:int,b,omitzero:string}" {
		t.Fatalf("shape of base: %s", b)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[renamedJSON](), reflect.TypeFor[options](),
		reflect.TypeFor[retyped](), reflect.TypeFor[reordered](), reflect.TypeFor[added]()} {
		if strip(shapeOf(typ)) == b {
			t.Errorf("%v has the same shape as base", typ)
		}
	}
	_ = base{c: true}
}
