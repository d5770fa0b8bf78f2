package memstore_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// readBack appends e to a new store and returns the record read back and
// what a reader's Registry.Decode gives for it.
func readBack(t *testing.T, reg *events.Registry, e events.EventData, after func()) (events.Record, events.Event) {
	t.Helper()
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	if _, err := s.Append(context.Background(), "election-mips-2024-x", events.Any, e); err != nil {
		t.Fatal(err)
	}
	if after != nil {
		after()
	}
	for r, err := range s.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		got, err := reg.Decode(&r)
		if err != nil {
			t.Fatal(err)
		}
		return r, got
	}
	t.Fatal("nothing read back")
	return events.Record{}, nil
}

// decodedFromBytes is what the record's hashed bytes decode to.
func decodedFromBytes(t *testing.T, reg *events.Registry, r events.Record) events.Event {
	t.Helper()
	e, err := reg.DecodeData(r.Type, r.SchemaVersion, r.Data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestKeptEventIsWhatTheBytesSay: memstore keeps decoded events so that
// readers skip decoding, but no reader is ever given a decoded value the
// hashed bytes do not produce: not a stale value after the bytes were
// changed before the append, not a caller's slice changed after it. (A
// forged value put beside honest bytes cannot be: EventData has no field
// a caller could put one in.)
func TestKeptEventIsWhatTheBytesSay(t *testing.T) {
	reg := events.NewRegistry()
	p := events.Group(events.MustParseTIN("000456789"))
	py := events.PY(events.MIPS, 2024)
	at := time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
	honest := events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional, ConfirmedAt: at}

	t.Run("bytes changed after encoding", func(t *testing.T) {
		e, _ := reg.Encode(uuid.New(), honest, events.Metadata{})
		i := bytes.Index(e.Data, []byte(`"voluntary"`))
		copy(e.Data[i:], `"opt-in"   `) // the same length, other content
		r, got := readBack(t, reg, e, nil)
		if !reflect.DeepEqual(got, decodedFromBytes(t, reg, r)) || got.(events.ElectionConfirmed).Choice != events.ChoiceOptIn {
			t.Fatalf("a reader was given %+v, the bytes say opt-in", got)
		}
	})
	t.Run("a caller's slices changed after the append", func(t *testing.T) {
		members := []events.TIN{events.MustParseTIN("000000001"), events.MustParseTIN("000000002")}
		vg, _ := events.NewVirtualGroup("vg-1")
		e, _ := reg.Encode(uuid.New(), events.VirtualGroupMembership{VirtualGroup: vg, ProgramYear: py, Members: members, EffectiveAt: at}, events.Metadata{})
		buf := e.Data
		r, got := readBack(t, reg, e, func() {
			members[0] = events.MustParseTIN("999999999")
			for i := range buf {
				buf[i] = 'x'
			}
		})
		if !reflect.DeepEqual(got, decodedFromBytes(t, reg, r)) || got.(events.VirtualGroupMembership).Members[0] != events.MustParseTIN("000000001") {
			t.Fatalf("replay changed with the caller's slices: %+v", got)
		}
		// A reader changing what it was given changes nothing for the next.
		got.(events.VirtualGroupMembership).Members[1] = events.MustParseTIN("888888888")
		again, _ := reg.Decode(&r)
		if again.(events.VirtualGroupMembership).Members[1] != events.MustParseTIN("000000002") {
			t.Fatal("a reader's change reached the store")
		}
	})
	t.Run("a hand-made value is never kept", func(t *testing.T) {
		e, _ := reg.Encode(uuid.New(), honest, events.Metadata{})
		hand := events.EventData{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data}
		r, got := readBack(t, reg, hand, nil)
		if !reflect.DeepEqual(got, decodedFromBytes(t, reg, r)) {
			t.Fatalf("a hand-made event reads back as %+v", got)
		}
	})
}
