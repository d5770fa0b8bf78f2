package eligibility_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordRefusesBadDeterminations: Record validates against the table
// first; each refusal is typed, names the field and the participant masked,
// and appends nothing.
func TestRecordRefusesBadDeterminations(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg, table := events.NewRegistry(), eligibility.Default()
	good := events.EligibilityDetermined{Participant: clinician, ProgramYear: events.PY(events.MIPS, 2024),
		Status: events.StatusOptInEligible, Source: events.SourceSegment1, DeterminedAt: time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)}
	change := func(f func(*events.EligibilityDetermined)) events.EligibilityDetermined {
		d := good
		f(&d)
		return d
	}
	cases := map[string]struct {
		d     events.EligibilityDetermined
		field string
	}{
		"lower-case program": {change(func(d *events.EligibilityDetermined) { d.ProgramYear.Program = "mips" }), "programYear"},
		"unknown year":       {change(func(d *events.EligibilityDetermined) { d.ProgramYear.Year = 2031 }), "programYear"},
		"no status":          {change(func(d *events.EligibilityDetermined) { d.Status = 0 }), "status"},
		"unknown status":     {change(func(d *events.EligibilityDetermined) { d.Status = 99 }), "status"},
		"excluded, no why":   {change(func(d *events.EligibilityDetermined) { d.Status = events.StatusExcluded }), "exclusion"},
		"why, not excluded":  {change(func(d *events.EligibilityDetermined) { d.Exclusion = events.ExclusionQP }), "exclusion"},
		"no source":          {change(func(d *events.EligibilityDetermined) { d.Source = 0 }), "source"},
		"negative":           {change(func(d *events.EligibilityDetermined) { d.Volumes.PartBPatients = -1 }), "volumes"},
		"no time":            {change(func(d *events.EligibilityDetermined) { d.DeterminedAt = time.Time{} }), "determinedAt"},
		"bad participant":    {change(func(d *events.EligibilityDetermined) { d.Participant.NPI = events.NPI{} }), "participant"},
		"group Partial QP": {change(func(d *events.EligibilityDetermined) {
			d.Participant, d.Status = practice, events.StatusPartialQP
		}), "status"},
	}
	for name, c := range cases {
		_, err := eligibility.Record(ctx, store, names, reg, table, c.d, events.Metadata{})
		var de *eligibility.DeterminationError
		if !errors.As(err, &de) || !errors.Is(err, eligibility.ErrInvalidDetermination) {
			t.Errorf("%s: got %v", name, err)
			continue
		}
		assert.Equal(t, c.field, de.Field, name)
		assert.NotContains(t, err.Error(), tin.Digits(), name)
	}
	_, err := eligibility.Record(ctx, store, names, reg, table, cases["lower-case program"].d, events.Metadata{})
	assert.ErrorIs(t, err, eligibility.ErrUnknownProgramYear)
	assert.Contains(t, err.Error(), `the table spells the program "MIPS"`)
	assert.Zero(t, store.Len(), "refused determinations appended nothing")
	_, err = eligibility.Record(ctx, store, names, reg, table, good, events.Metadata{})
	require.NoError(t, err)
	assert.Equal(t, 1, store.Len())
}

// TestRecordScoreNeedsItsCategoryCount: a score is recorded only with the
// number of performance categories scored (1 to 4), a score from 0 to 100,
// a pathway and a year of the table; a refused score appends nothing.
func TestRecordScoreNeedsItsCategoryCount(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg, table := events.NewRegistry(), eligibility.Default()
	good := events.ScoreReported{Participant: clinician, ProgramYear: events.PY(events.MIPS, 2024), Pathway: events.PathwayTraditional,
		Score: 81.5, ScoredCategories: 3, ReportedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	for name, change := range map[string]func(*events.ScoreReported){
		"no category count": func(s *events.ScoreReported) { s.ScoredCategories = 0 },
		"five categories":   func(s *events.ScoreReported) { s.ScoredCategories = 5 },
		"score above 100":   func(s *events.ScoreReported) { s.Score = 100.5 },
		"no pathway":        func(s *events.ScoreReported) { s.Pathway = 0 },
		"unknown year":      func(s *events.ScoreReported) { s.ProgramYear.Year = 2040 },
		"no time":           func(s *events.ScoreReported) { s.ReportedAt = time.Time{} },
	} {
		s := good
		change(&s)
		_, err := eligibility.RecordScore(ctx, store, names, reg, table, s, events.Metadata{})
		assert.ErrorIs(t, err, eligibility.ErrInvalidDetermination, name)
		assert.NotContains(t, fmt.Sprint(err), tin.Digits(), name)
	}
	assert.Zero(t, store.Len())
	for range 2 {
		_, err := eligibility.RecordScore(ctx, store, names, reg, table, good, events.Metadata{})
		require.NoError(t, err)
	}
	assert.Equal(t, 1, store.Len(), "recording the same report again appends nothing new")
}
