package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
)

func main() {
	store := flag.String("store", "memory", storeflag.Usage)
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *store); err != nil {
		fmt.Fprintln(os.Stderr, "practice:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, storeSpec string) error {
	// The ledger: the store the flag names, the development key, the default rules.
	now := eligibility.Eastern(2025, time.February, 3, 10, 0)
	opened, err := storeflag.Open(storeSpec, func() time.Time { return now }, true)
	if err != nil {
		return err
	}
	defer opened.Close()
	store := opened.Store
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		return err
	}
	reg := events.NewRegistry()
	auth := election.NewMemoryAuthorizer()
	svc, err := election.NewService(election.Config{Store: store, Names: names, Authorizer: auth, Registry: reg,
		Clock: func() time.Time { return now }})
	if err != nil {
		return err
	}
	py := events.PY(events.MIPS, 2024)
	rules, err := eligibility.Default().Rules(py)
	if err != nil {
		return err
	}

	// Main Street Family Medicine (TIN 000456789) and Dr. Ada (NPI 1234567893).
	practice := events.Group(events.MustParseTIN("000456789"))
	ada := events.Individual(practice.TIN, events.MustParseNPI("1234567893"))

	// Eligibility from both segments: segment 1 (Oct 2022 - Sep 2023) is the
	// initial status, segment 2 (Oct 2023 - Sep 2024) reconciled with it the
	// final one. Both are in the opt-in range in both segments.
	table := eligibility.Default()
	for seg, when := range []struct{ end, at time.Time }{
		{time.Date(2023, 9, 30, 0, 0, 0, 0, time.UTC), time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)},
		{time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)},
	} {
		for _, in := range []eligibility.Input{
			{Participant: ada, Volumes: events.Volumes{AllowedChargesCents: 95_000_00 - int64(seg)*1000_00, PartBPatients: 180, CoveredServices: 150},
				Clinician: eligibility.Clinician{Type: eligibility.Physician}},
			{Participant: practice, Volumes: events.Volumes{AllowedChargesCents: 350_000_00, PartBPatients: 190, CoveredServices: 420 - seg*10},
				Clinicians: []eligibility.Clinician{{Type: eligibility.Physician}}},
		} {
			in.Source, in.SourceDate, in.DeterminedAt = []events.Source{events.SourceSegment1, events.SourceSegment2}[seg], when.end, when.at
			d, err := eligibility.Determine(&rules, in)
			if err != nil {
				return err
			}
			if _, err := eligibility.Record(ctx, store, names, reg, table, d, events.Metadata{Actor: "cms", ActorRole: events.RoleSystem}); err != nil {
				return err
			}
		}
	}
	for _, p := range []events.Participant{ada, practice} {
		s, err := eligibility.Current(ctx, store, names, reg, &rules, p, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%v (exceeds %v, then %v)\n", s, s.Exceeded[0], s.Exceeded[1])
	}

	// The practice representative opts the group in: select, then CONFIRM.
	auth.ConnectRepresentative("jane@mainstreet", practice.TIN)
	rep := election.Meta{CommandID: uuid.New(), Actor: election.Actor{ID: "jane@mainstreet",
		Role: events.RolePracticeRepresentative, AttestedAt: now.Add(-5 * time.Minute)}}
	if _, err := svc.Request(ctx, rep, py, practice, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
		return err
	}
	rep.CommandID = uuid.New()
	if _, err := svc.Confirm(ctx, rep, py, practice, "confirm"); err != nil {
		fmt.Fprintln(out, "refused:", err)
	}
	rep.CommandID = uuid.New()
	receipt, err := svc.Confirm(ctx, rep, py, practice, "CONFIRM")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "group opt-in confirmed; confirmation number %s\n", receipt.Hash.String()[:16])

	// Dr. Ada reports voluntarily as an individual.
	auth.RegisterClinician("ada@mainstreet", ada)
	doc := election.Meta{CommandID: uuid.New(), Actor: election.Actor{ID: "ada@mainstreet", Role: events.RoleClinician, AttestedAt: now.Add(-time.Minute)}}
	if _, err := svc.Request(ctx, doc, py, ada, election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional}); err != nil {
		return err
	}
	doc.CommandID = uuid.New()
	if _, err := svc.Confirm(ctx, doc, py, ada, "CONFIRM"); err != nil {
		return err
	}
	doc.CommandID = uuid.New()
	if _, err := svc.Withdraw(ctx, doc, py, ada, "changed my mind"); err != nil {
		fmt.Fprintln(out, "refused:", err)
	}

	// Scores arrive: the group's and Ada's own.
	for _, sc := range []events.ScoreReported{
		{Participant: practice, ProgramYear: py, Pathway: events.PathwayTraditional, Score: 84.2, ScoredCategories: 3},
		{Participant: ada, ProgramYear: py, Pathway: events.PathwayTraditional, Score: 91.0, ScoredCategories: 3},
	} {
		d, err := reg.Encode(uuid.New(), sc, events.Metadata{Actor: "cms", ActorRole: events.RoleSystem})
		if err != nil {
			return err
		}
		if _, err := store.Append(ctx, names.Score(py, sc.Participant), events.Any, d); err != nil {
			return err
		}
	}

	// Rebuild the read models and read them.
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	if _, err := projection.NewRunner(store, reg, models.Projections()).Rebuild(ctx); err != nil {
		return err
	}
	for _, p := range []events.Participant{practice, ada} {
		v := models.Status.Get(py, p)
		fmt.Fprintf(out, "%v: %s (%s), elected by %s\n", p, v.Kind, v.Pathway, v.ElectedBy)
	}
	fs, err := models.Scoring.Final(py, ada)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "final score for %v: %.1f from the %s score; payment adjustment %+.2f%%\n",
		ada, fs.Score, fs.Source, fs.Adjustment.Total())
	fmt.Fprintf(out, "why: %s\n", fs.Reason)
	return nil
}
