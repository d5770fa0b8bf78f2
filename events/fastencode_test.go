package events

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// fastEncode encodes e with its type's hand-written encoder, or declines.
func fastEncode(b []byte, e Event) ([]byte, bool) {
	c, ok := fastCodecs()[e.EventType()]
	if !ok || c.encode == nil {
		return b, false
	}
	return c.encode(b, e)
}

func randomText(r *rand.Rand) string {
	return []string{"", "B-2025-0001", "VG-2024-000001", "changed our mind", `quote " inside`, "tab\there",
		"<html>&", "naïve", "back\\slash", "\x7f", "ok"}[r.IntN(11)]
}

func randomElectionEvent(r *rand.Rand) Event {
	p, py := randomParticipant(r), PY([]Program{MIPS, QIPS, "M\"IPS"}[r.IntN(3)], []int{2017, 2024, -1, 10000}[r.IntN(4)])
	if r.IntN(10) == 0 {
		p.Kind = ParticipantKind(r.IntN(8))
	}
	switch r.IntN(3) {
	case 0:
		e := ElectionRequested{Participant: p, ProgramYear: py, Choice: Choice(r.IntN(5)), Pathway: Pathway(r.IntN(5)),
			RequestedAt: randomTime(r), BatchID: randomText(r), VirtualGroupID: randomText(r)}
		if r.IntN(8) == 0 {
			e.OfficeChampion = &Champion{Name: "A", Role: "administrator"}
		}
		return e
	case 1:
		return ElectionConfirmed{Participant: p, ProgramYear: py, Choice: Choice(r.IntN(5)), Pathway: Pathway(r.IntN(5)),
			ConfirmedAt: randomTime(r), RequestRevision: r.Uint64() >> uint(r.IntN(64)), BatchID: randomText(r),
			VirtualGroupID: randomText(r), Imported: r.IntN(2) == 0}
	}
	return ElectionRequestWithdrawn{Participant: p, ProgramYear: py, WithdrawnAt: randomTime(r), Reason: randomText(r), BatchID: randomText(r)}
}

// TestFastEncodeAgrees: for thousands of random election events, whatever
// the fast encoder writes is byte for byte what the general encoder
// writes, and it takes the common, plain events.
func TestFastEncodeAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	took := 0
	for range 20_000 {
		e := randomElectionEvent(r)
		want, werr := json.Marshal(e, json.Deterministic(true))
		got, ok := fastEncode([]byte("prefix"), e)
		if !ok {
			if string(got) != "prefix" {
				t.Fatalf("a declining encoder changed the buffer: %q", got)
			}
			continue
		}
		took++
		if werr != nil {
			t.Fatalf("fast encoder wrote %s for %#v, which the general encoder refuses: %v", got, e, werr)
		}
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("fast encoding of %#v:\n got %s\nwant %s", e, got[len("prefix"):], want)
		}
	}
	if took < 1000 {
		t.Fatalf("the fast encoder took only %d of 20,000 events", took)
	}
	// The plain events a command writes all go the fast way.
	plain := []Event{
		ElectionRequested{Participant: randomParticipant(r), ProgramYear: PY(MIPS, 2024), Choice: ChoiceOptIn, Pathway: PathwayTraditional, RequestedAt: randomTime(r).UTC()},
		ElectionConfirmed{Participant: randomParticipant(r), ProgramYear: PY(MIPS, 2024), Choice: ChoiceVoluntary, Pathway: PathwayMVP, ConfirmedAt: randomTime(r).UTC()},
		ElectionRequestWithdrawn{Participant: randomParticipant(r), ProgramYear: PY(MIPS, 2024), WithdrawnAt: randomTime(r).UTC(), Reason: "changed our mind"},
	}
	for _, e := range plain {
		if _, ok := fastEncode(nil, e); !ok {
			t.Fatalf("fast encoder declined %#v", e)
		}
	}
	if _, ok := fastEncode(nil, ScoreReported{}); ok {
		t.Fatal("fast encoder took a type it does not know")
	}
}

// FuzzFastEncode drives the encoders with arbitrary strings, numbers and
// times: they must agree with the general encoder or decline.
func FuzzFastEncode(f *testing.F) {
	f.Add(uint8(0), uint8(1), uint32(123456789), "B-1", "VG-1", int64(1e18), 2024, uint64(7), true)
	f.Add(uint8(2), uint8(9), uint32(0), "x\"y", "\u2028", int64(-5e18), -3, uint64(0), false)
	f.Fuzz(func(t *testing.T, which, kind uint8, tin uint32, s1, s2 string, ns int64, year int, rev uint64, flag bool) {
		p := Participant{Kind: ParticipantKind(kind % 6), ID: s2}
		if tin%1_000_000_000 != 0 {
			p.TIN = TIN{v: tin%1_000_000_000 | tinSet}
		}
		py := PY(Program(s1), year)
		at := timeFromNanos(ns)
		var e Event
		switch which % 3 {
		case 0:
			e = ElectionRequested{Participant: p, ProgramYear: py, Choice: Choice(kind % 5), Pathway: Pathway(which % 5), RequestedAt: at, BatchID: s1, VirtualGroupID: s2}
		case 1:
			e = ElectionConfirmed{Participant: p, ProgramYear: py, Choice: Choice(kind % 5), ConfirmedAt: at, RequestRevision: rev, BatchID: s2, Imported: flag}
		default:
			e = ElectionRequestWithdrawn{Participant: p, ProgramYear: py, WithdrawnAt: at, Reason: s1, BatchID: s2}
		}
		got, ok := fastEncode(nil, e)
		if !ok {
			return
		}
		want, err := json.Marshal(e, json.Deterministic(true))
		if err != nil {
			t.Fatalf("fast encoder wrote %s; the general encoder refuses: %v", got, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// timeFromNanos makes a UTC time, or the zero time for 0, from fuzz input.
func timeFromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
