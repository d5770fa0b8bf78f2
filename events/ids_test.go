package events_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fullTIN = "987654321"

func TestParseTIN(t *testing.T) {
	tin, err := events.ParseTIN("000456789")
	require.NoError(t, err)
	assert.Equal(t, "000456789", tin.Digits())
	assert.Equal(t, "6789", tin.Last4())
	assert.False(t, tin.IsZero())

	cases := []struct {
		in   string
		rule error
	}{
		{"", events.ErrLength},
		{"12345678", events.ErrLength},
		{"1234567890", events.ErrLength},
		{"12345678a", events.ErrNonDigit},
		{"12-345678", events.ErrNonDigit},
		{" 12345678", events.ErrNonDigit},
		{"１23456789", events.ErrLength}, // a full-width digit is 3 bytes
		{"12345678\x00", events.ErrNonDigit},
	}
	for _, c := range cases {
		_, err := events.ParseTIN(c.in)
		require.Errorf(t, err, "ParseTIN(%q)", c.in)
		assert.ErrorIs(t, err, events.ErrInvalidIdentifier, c.in)
		assert.ErrorIs(t, err, c.rule, c.in)
		var ie *events.IdentifierError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, "TIN", ie.Kind)
		assert.NotEmpty(t, ie.Want, "the error says what would pass")
		if len(c.in) >= 4 {
			assert.NotContains(t, err.Error(), c.in, "a TIN error never echoes the input")
		}
	}
}

func TestParseNPI(t *testing.T) {
	for _, s := range []string{"1234567893", "1558598797", "1295723567"} {
		n, err := events.ParseNPI(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, n.String())
	}
	assert.Equal(t, byte('3'), events.NPICheckDigit("123456789"), "docs/rules.md's worked example")

	cases := []struct {
		in   string
		rule error
	}{
		{"123456789", events.ErrLength},
		{"12345678933", events.ErrLength},
		{"123456789x", events.ErrNonDigit},
		{"3234567893", events.ErrNPIFirstDigit},
		{"0234567893", events.ErrNPIFirstDigit},
		{"9234567893", events.ErrNPIFirstDigit},
		{"1234567890", events.ErrNPICheckDigit},
		{"1234567894", events.ErrNPICheckDigit},
		{"1558598798", events.ErrNPICheckDigit},
	}
	for _, c := range cases {
		_, err := events.ParseNPI(c.in)
		assert.ErrorIs(t, err, c.rule, c.in)
		assert.ErrorIs(t, err, events.ErrInvalidIdentifier, c.in)
	}

	// Exactly one check digit completes each base.
	for _, base := range []string{"100000000", "123456789", "299999999", "155859879"} {
		valid := 0
		for d := '0'; d <= '9'; d++ {
			if _, err := events.ParseNPI(base + string(d)); err == nil {
				valid++
			}
		}
		assert.Equal(t, 1, valid, base)
	}
}

func TestParseParticipant(t *testing.T) {
	p, err := events.ParseParticipant("000456789|1234567893")
	require.NoError(t, err)
	assert.Equal(t, events.KindIndividual, p.Kind)
	assert.Equal(t, "000456789|1234567893", p.QPPEntity())
	require.NoError(t, p.Validate())

	g, err := events.ParseParticipant("000987654")
	require.NoError(t, err)
	assert.Equal(t, events.Group(events.MustParseTIN("000987654")), g)

	vg, err := events.ParseParticipant("vg:VG-2024-17")
	require.NoError(t, err)
	assert.Equal(t, events.KindVirtualGroup, vg.Kind)
	apm, err := events.ParseParticipant("apm:A1234")
	require.NoError(t, err)
	assert.Equal(t, "APM Entity A1234", apm.String())

	for in, rule := range map[string]error{
		"000456789|1234567890":           events.ErrNPICheckDigit,
		"00045678|1234567893":            events.ErrLength,
		"vg:":                            events.ErrLength,
		"apm:A 1":                        events.ErrFormat,
		"apm:" + strings.Repeat("A", 65): events.ErrLength,
	} {
		_, err := events.ParseParticipant(in)
		assert.ErrorIs(t, err, rule, in)
	}

	assert.Error(t, events.Participant{Kind: events.KindGroup}.Validate(), "a group without a TIN")
	assert.Error(t, events.Participant{Kind: events.KindIndividual, TIN: events.MustParseTIN(fullTIN)}.Validate(), "an individual without an NPI")
	assert.Error(t, events.Participant{Kind: 9}.Validate())
}

func TestParseProgramYear(t *testing.T) {
	py, err := events.ParseProgramYear("MIPS-2024")
	require.NoError(t, err)
	assert.Equal(t, events.PY(events.MIPS, 2024), py)
	assert.Equal(t, "MIPS-2024", py.String())
	for _, bad := range []string{"MIPS", "MIPS-24", "mips-2024", "MIPS-1999", "MIPS-2101", "-2024", "M-2024"} {
		_, err := events.ParseProgramYear(bad)
		assert.ErrorIs(t, err, events.ErrInvalidIdentifier, bad)
	}
}

// TestTINMasked checks that no fmt verb, error or log line shows a full TIN,
// while the payload keeps it.
func TestTINMasked(t *testing.T) {
	tin := events.MustParseTIN(fullTIN)
	npi := events.MustParseNPI("1234567893")
	ind := events.Individual(tin, npi)
	type wrapper struct {
		TIN         events.TIN
		Participant events.Participant
		Ptr         *events.TIN
	}
	values := []any{tin, &tin, ind, &ind, events.Group(tin), wrapper{tin, ind, &tin},
		[]events.TIN{tin}, map[string]events.Participant{"p": ind},
		events.Metadata{OnBehalfOf: ind}, events.APMListEntry{TIN: tin, NPI: npi}}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10v", "%-12s"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, fullTIN, "%s of %T", verb, v)
			assert.NotContains(t, out, "98765", "%s of %T leaks the first digits", verb, v)
		}
	}
	assert.Equal(t, "*****4321", tin.String())
	assert.Equal(t, `"*****4321"`, fmt.Sprintf("%q", tin))
	assert.Equal(t, "individual *****4321/1234567893", ind.String())
	assert.Equal(t, "   *****4321|", fmt.Sprintf("%12v|", tin), "width pads")
	assert.Equal(t, "group *****4321   |", fmt.Sprintf("%-18v|", events.Group(tin)), "'-' pads right")

	err := fmt.Errorf("refused for %v", ind)
	assert.NotContains(t, err.Error(), fullTIN)

	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("election", "tin", tin, "participant", ind, slog.Any("ptr", &tin))
		assert.NotContains(t, buf.String(), fullTIN)
		assert.Contains(t, buf.String(), "*****4321")
	}

	// The payload round-trips the full value.
	data, err := json.Marshal(wrapper{TIN: tin, Participant: ind})
	require.NoError(t, err)
	assert.Contains(t, string(data), `"`+fullTIN+`"`)
	var back wrapper
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, tin, back.TIN)
	assert.Equal(t, ind, back.Participant)
	assert.Equal(t, fullTIN, back.Participant.TIN.Digits())
}

func TestStreamNames(t *testing.T) {
	n, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	require.NoError(t, err)
	other, err := events.NewStreamNamer([]byte("another ledger key, 32 bytes...."))
	require.NoError(t, err)
	_, err = events.NewStreamNamer([]byte("short"))
	assert.ErrorIs(t, err, events.ErrWeakKey)

	py := events.PY(events.MIPS, 2024)
	tin := events.MustParseTIN(fullTIN)
	g, ind := events.Group(tin), events.Individual(tin, events.MustParseNPI("1234567893"))
	name := n.Election(py, g)
	assert.True(t, strings.HasPrefix(name, "election-mips-2024-"), name)
	assert.Len(t, name, len("election-mips-2024-")+32)
	assert.Equal(t, name, n.Election(py, g), "deterministic")
	assert.NotEqual(t, name, other.Election(py, g), "the key matters")
	assert.NotEqual(t, name, n.Election(py, ind), "group and individual differ")
	assert.NotEqual(t, name, n.Election(events.PY(events.MIPS, 2023), g))
	assert.Equal(t, n.ParticipantKey(g), strings.TrimPrefix(n.Score(events.PY(events.QIPS, 2021), g), "score-qips-2021-"),
		"one key per participant across programs and years")
	assert.Equal(t, "eligibility", events.StreamCategory(n.Eligibility(py, g)))

	// No stream name holds any TIN, over many TINs and every category.
	seen := map[string]bool{}
	for i := range 2000 {
		digits := fmt.Sprintf("%09d", i*499_979+7)
		tin := events.MustParseTIN(digits)
		for _, s := range []string{n.Election(py, events.Group(tin)), n.Eligibility(py, events.Group(tin)), n.Score(py, events.Individual(tin, events.MustParseNPI("1558598797")))} {
			assert.NotContains(t, s, digits)
			assert.False(t, seen[s], "collision")
			seen[s] = true
		}
	}
}

func FuzzParseTIN(f *testing.F) {
	for _, s := range []string{fullTIN, "000000000", "12345678", "12345678a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tin, err := events.ParseTIN(s)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidIdentifier) {
				t.Fatalf("untyped error %v", err)
			}
			if len(s) == 9 && strings.Contains(err.Error(), s) {
				t.Fatalf("error echoes the input: %v", err)
			}
			return
		}
		if tin.Digits() != s {
			t.Fatalf("ParseTIN(%q).Digits() = %q", s, tin.Digits())
		}
		if strings.Contains(fmt.Sprintf("%v %+v %#v %s %q", tin, tin, tin, tin, tin), s) {
			t.Fatal("formatted TIN shows the full value")
		}
		if b, _ := tin.MarshalText(); strings.Contains(string(b), s) {
			t.Fatal("the text form (what generic encoders print) shows the full value")
		}
		var back events.TIN
		b, err := json.Marshal(tin) // the payload codec
		if err != nil || json.Unmarshal(b, &back) != nil || back != tin {
			t.Fatalf("payload round trip: %s %v", b, err)
		}
	})
}

func FuzzParseNPI(f *testing.F) {
	for _, s := range []string{"1234567893", "1558598797", "1234567890", "3234567893", "12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		npi, err := events.ParseNPI(s)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidIdentifier) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if npi.String() != s || (s[0] != '1' && s[0] != '2') || events.NPICheckDigit(s[:9]) != s[9] {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseParticipant(f *testing.F) {
	for _, s := range []string{"000456789|1234567893", "000987654", "vg:VG-1", "apm:A1234", "|", "vg:", "1|2|3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := events.ParseParticipant(s)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidIdentifier) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed %q into an invalid participant: %v", s, err)
		}
		if !utf8.ValidString(p.String()) {
			t.Fatal("String is not UTF-8")
		}
		if !p.TIN.IsZero() && strings.Contains(p.String(), p.TIN.Digits()) {
			t.Fatal("String shows the TIN")
		}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back events.Participant
		if err := json.Unmarshal(data, &back); err != nil || back != p {
			t.Fatalf("JSON round trip of %q: %v", s, err)
		}
	})
}

// TestStreamNameCache: a namer that has cached a name gives exactly what a
// fresh namer computes, for every category, year and participant kind,
// also when goroutines name streams at once.
func TestStreamNameCache(t *testing.T) {
	warm, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	require.NoError(t, err)
	vg, err := events.NewVirtualGroup("VG-2024-000002")
	require.NoError(t, err)
	var ps []events.Participant
	for i := range 200 {
		tin := events.MustParseTIN(fmt.Sprintf("%09d", 100_000_000+i))
		ps = append(ps, events.Group(tin), events.Individual(tin, events.MustParseNPI("1558598797")))
	}
	ps = append(ps, vg)
	pys := []events.ProgramYear{events.PY(events.MIPS, 2023), events.PY(events.MIPS, 2024), events.PY(events.QIPS, 2024)}
	name := func(n *events.StreamNamer, c int, py events.ProgramYear, p events.Participant) string {
		return [](func(events.ProgramYear, events.Participant) string){n.Election, n.Eligibility, n.Score, n.APM, n.VirtualGroup}[c](py, p)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for _, py := range pys {
				for i, p := range ps {
					name(warm, (i+g)%5, py, p)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, py := range pys {
		for _, p := range ps {
			for c := range 5 {
				fresh, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
				require.NoError(t, err)
				got, want := name(warm, c, py, p), name(fresh, c, py, p)
				require.Equal(t, want, got, "cached name of %v in %v", p, py)
				require.False(t, seen[got], "two inputs named %s", got)
				seen[got] = true
			}
		}
	}
}
