package election_test

import (
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGateHonorsAFinalOptInLaterFoundExempt: rules §4, a confirmed election
// is final and can never be undone; a later determination finding the
// participant exempt by volume does not turn its opt-in into voluntary
// reporting at the gate (the scoring model keeps it in MIPS too), while a
// later exclusion (a QP) does take it out.
func TestGateHonorsAFinalOptInLaterFoundExempt(t *testing.T) {
	h := et.New(t)
	later := func(d *events.EligibilityDetermined) {
		d.Source, d.DeterminedAt = events.SourceImport, time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC)
	}
	start := h.Clock.Now()
	for i, c := range []struct {
		status    events.EligibilityStatus
		scored    bool
		voluntary bool
	}{
		{events.StatusExempt, true, false},
		{events.StatusExcluded, true, true}, // a QP may report voluntarily, no adjustment
	} {
		g := et.Group(271 + i)
		h.Clock.Set(start)
		h.Determine(et.OptInEligible(g, py24))
		m := h.Rep(g.TIN)
		_, err := h.Service.Request(bg, m, py24, g, optIn)
		require.NoError(t, err)
		m.CommandID = h.IDs.New()
		_, err = h.Service.Confirm(bg, m, py24, g, "CONFIRM")
		require.NoError(t, err)
		h.Clock.Set(time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC))
		h.Determine(et.Determination(g, py24, c.status, later))
		gate, err := h.Service.MaySubmit(bg, py24, g, events.PathwayTraditional)
		require.NoError(t, err)
		assert.Equal(t, c.scored, gate.Allowed, "%v later: %+v", c.status, gate)
		assert.Equal(t, c.voluntary, gate.Voluntary, "%v later: %+v", c.status, gate)
		st, err := h.Service.State(bg, py24, g)
		require.NoError(t, err)
		assert.Equal(t, election.PhaseFinal, st.Phase, "the election itself never changes")
	}
}
