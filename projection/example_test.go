package projection_test

import (
	"context"
	"fmt"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
)

// Rebuild the read models from a log: a clinician above the low-volume
// threshold in both segments is required; with a reported score it gets its
// final score and payment adjustment.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	reg := events.NewRegistry()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	py := events.PY(events.MIPS, 2024)
	doc := events.Individual(events.MustParseTIN("000456789"), events.MustParseNPI("1234567893"))
	for _, e := range []events.Event{
		events.EligibilityDetermined{Participant: doc, ProgramYear: py, Status: events.StatusRequired, Source: events.SourceSegment1},
		events.EligibilityDetermined{Participant: doc, ProgramYear: py, Status: events.StatusRequired, Source: events.SourceSegment2},
		events.ScoreReported{Participant: doc, ProgramYear: py, Pathway: events.PathwayTraditional, Score: 87.5, ScoredCategories: 3},
	} {
		d, _ := reg.Encode(uuid.New(), e, events.Metadata{})
		stream := names.Score(py, doc)
		if e.EventType() == events.TypeEligibilityDetermined {
			stream = names.Eligibility(py, doc)
		}
		if _, err := store.Append(ctx, stream, events.Any, d); err != nil {
			fmt.Println(err)
		}
	}
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rep, err := projection.NewRunner(store, reg, models.Projections()).Rebuild(ctx)
	fmt.Println(rep.Applied, len(rep.Violations), err)
	v := models.Status.Get(py, doc)
	fmt.Println(v.Kind, v.Phase)
	fs, _ := models.Scoring.Final(py, doc)
	fmt.Printf("%.1f from the %s score, adjustment %+.2f%%\n", fs.Score, fs.Source, fs.Adjustment.Total())
	// Output:
	// 3 0 <nil>
	// required final
	// 87.5 from the individual score, adjustment +4.50%
}
