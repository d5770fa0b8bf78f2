package projection_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/projection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScoringAllInParallel scores a model large enough for All to work on
// several goroutines: every clinician's score arrives once, in the order
// the model learned of them, equal to Final's; breaking off early stops the
// goroutines and releases the lock.
func TestScoringAllInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4))) // at least 4 while it runs
	m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	apply := func(e events.Event) {
		t.Helper()
		for _, p := range m.Projections() {
			require.NoError(t, p.Apply(&events.Record{Type: e.EventType()}, e))
		}
	}
	const groups, clinicians = 500, 30_000
	statuses := []events.EligibilityStatus{events.StatusRequired, events.StatusOptInEligible, events.StatusExempt, events.StatusExcluded}
	tin := func(i int) events.TIN { return events.MustParseTIN(fmt.Sprintf("%09d", 200_000_000+i)) }
	for g := range groups {
		p := events.Group(tin(g))
		apply(events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: statuses[g%2], Source: events.SourceSegment2})
		apply(events.ScoreReported{Participant: p, ProgramYear: py24, Pathway: events.PathwayTraditional, Score: float64(g % 100), ScoredCategories: 3})
	}
	var want []events.Participant
	for c := range clinicians {
		base := fmt.Sprintf("1%08d", c)
		p := events.Individual(tin(c%groups), events.MustParseNPI(base+string(events.NPICheckDigit(base))))
		want = append(want, p)
		apply(events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: statuses[c%len(statuses)], Source: events.SourceSegment2,
			Exclusion: map[bool]events.ExclusionReason{true: events.ExclusionNewlyEnrolled}[statuses[c%len(statuses)] == events.StatusExcluded]})
		if c%3 == 0 {
			apply(events.ScoreReported{Participant: p, ProgramYear: py24, Pathway: events.PathwayTraditional, Score: float64(c % 97), ScoredCategories: c % 4})
		}
	}

	i := 0
	for f, err := range m.Scoring.All(py24) {
		require.NoError(t, err)
		require.Less(t, i, len(want), "more scores than clinicians")
		require.Equal(t, want[i], f.Clinician, "score %d out of order", i)
		one, err := m.Scoring.Final(py24, f.Clinician)
		require.NoError(t, err)
		require.Equal(t, one, f, "clinician %d", i)
		i++
	}
	assert.Equal(t, len(want), i)

	before := runtime.NumGoroutine()
	n := 0
	for range m.Scoring.All(py24) {
		if n++; n == 5000 {
			break
		}
	}
	apply(events.ScoreReported{Participant: want[0], ProgramYear: py24, Pathway: events.PathwayTraditional, Score: 99, ScoredCategories: 3}) // the lock is free
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "All left goroutines behind")
}
