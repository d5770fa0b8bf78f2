package eligibility_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLedger builds a ledger by appending events as the election service
// and an import would.
type testLedger struct {
	t     *testing.T
	ctx   context.Context
	store *memstore.Store
	names *events.StreamNamer
	reg   *events.Registry
	n     int
}

func newTestLedger(t *testing.T) *testLedger {
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	require.NoError(t, err)
	return &testLedger{t: t, ctx: context.Background(), store: memstore.New(), names: names, reg: events.NewRegistry()}
}

func (l *testLedger) append(stream string, expected events.ExpectedRevision, evs ...events.Event) {
	l.t.Helper()
	var data []events.EventData
	for _, e := range evs {
		l.n++
		d, err := l.reg.Encode(eligibility.ElectionID(&events.ElectionConfirmed{ConfirmedAt: time.Unix(int64(l.n), 0)}), e,
			events.Metadata{Actor: "test", ActorRole: events.RoleSystem})
		require.NoError(l.t, err)
		data = append(data, d)
	}
	_, err := l.store.Append(l.ctx, stream, expected, data...)
	require.NoError(l.t, err)
}

// elect records a selection and its confirmation.
func (l *testLedger) elect(p events.Participant, py events.ProgramYear, choice events.Choice, at time.Time, vg string) {
	l.append(l.names.Election(py, p), events.NoStream,
		events.ElectionRequested{Participant: p, ProgramYear: py, Choice: choice, Pathway: events.PathwayTraditional, RequestedAt: at, VirtualGroupID: vg},
		events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: choice, Pathway: events.PathwayTraditional, ConfirmedAt: at, VirtualGroupID: vg})
}

func (l *testLedger) determine(p events.Participant, py events.ProgramYear, src events.Source, run int, at time.Time) {
	l.t.Helper()
	_, err := eligibility.Record(l.ctx, l.store, l.names, l.reg, eligibility.Default(),
		events.EligibilityDetermined{Participant: p, ProgramYear: py, Status: events.StatusOptInEligible, Exceeded: events.CriterionCharges,
			Source: src, DeterminedAt: at, Run: run}, events.Metadata{ActorRole: events.RoleSystem})
	require.NoError(l.t, err)
}

// exportLedger builds the round trip's ledger: how many decisions it holds,
// by choice and participant kind.
func exportLedger(t *testing.T) (l *testLedger, want int, choices map[events.Choice]int, kinds map[events.ParticipantKind]int) {
	l = newTestLedger(t)
	rng := rand.New(rand.NewPCG(15, 7))
	choices, kinds = map[events.Choice]int{}, map[events.ParticipantKind]int{}
	for _, year := range []int{2019, 2020, 2022, 2024, 2025} {
		py := events.PY(events.MIPS, year)
		r := rules(t, events.MIPS, year)
		span := r.ElectionWindow.Close.Sub(r.ElectionWindow.Open)
		for i := range 60 {
			tin := events.MustParseTIN(fmt.Sprintf("%09d", 100000+i%25))
			p := events.Group(tin)
			if i%3 != 0 {
				base := fmt.Sprintf("1%08d", 1000*year+i)
				p = events.Individual(tin, events.MustParseNPI(base+string(events.NPICheckDigit(base))))
			}
			choice := []events.Choice{events.ChoiceOptIn, events.ChoiceVoluntary}[rng.IntN(2)]
			at := r.ElectionWindow.Open.Add(time.Duration(rng.Int64N(int64(span)))) // nanoseconds: the records keep milliseconds
			if i%25 >= 20 && p.Kind == events.KindGroup {
				continue // a group of these TINs elects once a year
			}
			if i%7 == 0 {
				l.determine(p, py, events.SourceImport, 1+rng.IntN(5), r.ElectionWindow.Open.Add(-time.Hour))
				l.determine(p, py, events.SourceSegment1, 0, r.ElectionWindow.Open.Add(-time.Minute))
			}
			if i%11 == 0 {
				l.append(l.names.Election(py, p), events.NoStream, events.ElectionConfirmed{Participant: p, ProgramYear: py,
					Choice: choice, Pathway: events.PathwayTraditional, ConfirmedAt: at, Imported: true})
			} else {
				l.elect(p, py, choice, at, "")
			}
			want++
			choices[choice]++
			kinds[p.Kind]++
		}
	}
	// A group opted in by a virtual group election, in the virtual group window.
	r24 := rules(t, events.MIPS, 2024)
	l.elect(events.Group(events.MustParseTIN("000777888")), r24.ProgramYear, events.ChoiceOptIn, r24.VirtualGroupWindow.Open.Add(24*time.Hour), "VG-1")
	want++
	// Not decision records.
	entity, _ := events.NewAPMEntity("A1234")
	r20 := rules(t, events.MIPS, 2020)
	l.elect(entity, r20.ProgramYear, events.ChoiceOptIn, r20.ElectionWindow.Open.Add(time.Hour), "")
	qips := rules(t, events.QIPS, 2021)
	l.elect(events.Group(events.MustParseTIN("000999111")), qips.ProgramYear, events.ChoiceOptIn, qips.ElectionWindow.Open.Add(time.Hour), "")
	pending := events.Group(events.MustParseTIN("000999222"))
	l.append(l.names.Election(r24.ProgramYear, pending), events.NoStream, events.ElectionRequested{Participant: pending,
		ProgramYear: r24.ProgramYear, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: r24.ElectionWindow.Open})
	withdrawn := events.Group(events.MustParseTIN("000999333"))
	l.append(l.names.Election(r24.ProgramYear, withdrawn), events.NoStream,
		events.ElectionRequested{Participant: withdrawn, ProgramYear: r24.ProgramYear, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional, RequestedAt: r24.ElectionWindow.Open},
		events.ElectionRequestWithdrawn{Participant: withdrawn, ProgramYear: r24.ProgramYear, WithdrawnAt: r24.ElectionWindow.Open.Add(time.Hour)})
	return l, want, choices, kinds
}

// TestExportRoundTrip: import(export(ledger)) reproduces the ledger's
// decisions. The ledger holds many groups and clinicians over several
// years, opt-ins and voluntary elections (some imported, one confirmed by a
// virtual group), run numbers from imported determinations, and what is
// not a decision record (an APM Entity's or a payer program's election, a
// pending and a withdrawn selection). The export is read back and applied
// to an empty ledger, whose decisions are the same to the millisecond; the
// Qpp-Opt-In-Entities header names the same entities.
func TestExportRoundTrip(t *testing.T) {
	l, want, choices, kinds := exportLedger(t)
	table := eligibility.Default()
	ds, err := eligibility.LedgerDecisions(l.ctx, l.store, l.reg)
	require.NoError(t, err)
	require.Len(t, ds, want)
	require.Positive(t, choices[events.ChoiceOptIn])
	require.Positive(t, choices[events.ChoiceVoluntary])
	require.Positive(t, kinds[events.KindGroup])
	require.Positive(t, kinds[events.KindIndividual])
	runs := 0
	for _, d := range ds {
		if d.RunNum != 0 {
			runs++
		}
	}
	require.Positive(t, runs, "run numbers come from imported determinations")

	var buf bytes.Buffer
	header, n, err := eligibility.ExportDecisions(l.ctx, l.store, l.reg, &buf)
	require.NoError(t, err)
	assert.Equal(t, want, n)
	assert.Contains(t, buf.String(), `"tin":"000100003"`, "the export holds full TINs")
	assert.Contains(t, buf.String(), `"isOptedIn":false`, "voluntary decisions are exported")

	imp, err := eligibility.ReadDecisions(l.ctx, table, &buf, eligibility.ImportOptions{ImportedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, want, imp.Report.Imported)
	fresh := newTestLedger(t)
	require.NoError(t, eligibility.Apply(fresh.ctx, fresh.store, fresh.names, fresh.reg, table, imp, events.Metadata{ActorRole: events.RoleSystem}))
	back, err := eligibility.LedgerDecisions(fresh.ctx, fresh.store, fresh.reg)
	require.NoError(t, err)
	truncated := make([]eligibility.Decision, len(ds))
	for i, d := range ds {
		d.DecidedAt = d.DecidedAt.Truncate(time.Millisecond)
		truncated[i] = d
	}
	assert.Equal(t, truncated, back, "import(export(ledger)) reproduces the decisions")

	entities, err := eligibility.ParseOptInEntities(header)
	require.NoError(t, err)
	seen := map[events.Participant]bool{}
	for _, d := range ds {
		seen[d.Participant] = true
	}
	assert.Len(t, entities, len(seen), "the header names each entity once")
	for _, p := range entities {
		assert.True(t, seen[p], "%v", p)
	}
	assert.Equal(t, header, eligibility.OptInEntities(imp.Elections), "the header of the imported elections is the same")
}

// TestWriteDecisions: the exact records, and the decisions refused.
func TestWriteDecisions(t *testing.T) {
	py := events.PY(events.MIPS, 2024)
	ds := []eligibility.Decision{
		{Participant: clinician, ProgramYear: py, Choice: events.ChoiceOptIn, DecidedAt: time.Date(2025, 2, 3, 10, 4, 5, 123456789, time.FixedZone("ET", -5*3600)), RunNum: 3},
		{Participant: practice, ProgramYear: py, Choice: events.ChoiceVoluntary, DecidedAt: utc("2025-03-31T23:59:59Z")},
	}
	var buf bytes.Buffer
	require.NoError(t, eligibility.WriteDecisions(&buf, ds))
	assert.Equal(t, `{"data":[`+
		`{"tin":"000456789","npi":"1234567893","isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05.123Z","year":2024,"runNum":3},`+
		`{"tin":"000456789","isOptInEligible":true,"isOptedIn":false,"optInDecisionDate":"2025-03-31T23:59:59.000Z","year":2024,"runNum":0}]}`+"\n", buf.String())
	assert.Equal(t, "000456789,000456789|1234567893", eligibility.DecisionEntities(ds))
	buf.Reset()
	require.NoError(t, eligibility.WriteDecisions(&buf, nil))
	assert.Equal(t, `{"data":[]}`+"\n", buf.String())

	entity, _ := events.NewAPMEntity("A1234")
	for name, d := range map[string]eligibility.Decision{
		"APM Entity":  {Participant: entity, ProgramYear: py, Choice: events.ChoiceOptIn, DecidedAt: importedAt},
		"QIPS":        {Participant: practice, ProgramYear: events.PY(events.QIPS, 2021), Choice: events.ChoiceOptIn, DecidedAt: importedAt},
		"no decision": {Participant: practice, ProgramYear: py, Choice: events.ChoiceNoDecision, DecidedAt: importedAt},
		"no date":     {Participant: practice, ProgramYear: py, Choice: events.ChoiceOptIn},
		"negative":    {Participant: practice, ProgramYear: py, Choice: events.ChoiceOptIn, DecidedAt: importedAt, RunNum: -1},
	} {
		buf.Reset()
		err := eligibility.WriteDecisions(&buf, append([]eligibility.Decision{ds[0]}, d))
		var ee *eligibility.ExportError
		require.ErrorAs(t, err, &ee, name)
		assert.ErrorIs(t, err, eligibility.ErrExport)
		assert.Equal(t, 1, ee.Index, name)
		assert.Zero(t, buf.Len(), "%s: nothing written", name)
		assert.False(t, strings.Contains(err.Error(), "000456789"), "%s: no TIN in the error: %v", name, err)
	}
}
