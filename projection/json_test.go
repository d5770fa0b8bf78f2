package projection_test

import (
	stdjson "encoding/json"
	"strings"
	"testing"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/projection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadModelsMarshal: status views, final scores and feedback marshal to
// JSON (with encoding/json as a service would) with documented field names
// and masked TINs; the zero view marshals too (it used to fail with
// "unknown participant kind 0").
func TestReadModelsMarshal(t *testing.T) {
	l := newLedger(t)
	g, c := et.Group(123456789), et.Clinician(123456789, 1)
	l.determine(et.OptInEligible(g, py24), et.Determination(c, py24, events.StatusRequired))
	l.h.Auth.AuthorizeRegistry("QCDR-J", g.TIN)
	m := l.h.RegistryActor("QCDR-J", g.TIN)
	_, err := l.h.Service.Request(bg, m, py24, g, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	require.NoError(t, err)
	l.score(c, py24, events.PathwayTraditional, 88.5, 3)
	md, _ := l.rebuild()
	views := map[string]any{
		"status":   md.Status.Get(py24, g),
		"score":    final(t, md, py24, c),
		"feedback": md.Feedback.Get(py24, c),
		"zero":     projection.StatusView{},
	}
	for name, v := range views {
		b, err := stdjson.Marshal(v)
		require.NoError(t, err, name)
		assert.NotContains(t, string(b), g.TIN.Digits(), "%s: the TIN in full in %s", name, b)
		var back map[string]any
		require.NoError(t, stdjson.Unmarshal(b, &back), name)
		assert.Contains(t, back, "programYear", name)
	}
	b, _ := stdjson.Marshal(views["status"])
	for _, want := range []string{`"participant":{"kind":"group","tin":"*****6789"}`, `"kind":"pending confirmation"`,
		`"onBehalfOf":{"kind":"group","tin":"*****6789"}`, `"electedAs":"registry"`, `"phase":"initial"`} {
		assert.True(t, strings.Contains(string(b), want), "status JSON lacks %s: %s", want, b)
	}
	b, _ = stdjson.Marshal(views["score"])
	for _, want := range []string{`"clinician":{"kind":"individual","tin":"*****6789","npi":"`, `"inMIPS":true`, `"through":"individually"`,
		`"paymentYear":2026`, `"source":"individual"`, `"adjustment":{"applies":true`} {
		assert.True(t, strings.Contains(string(b), want), "score JSON lacks %s: %s", want, b)
	}
}
