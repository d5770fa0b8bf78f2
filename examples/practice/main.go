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

// practiceRun is one run of the example: the ledger it writes and the two
// participants it follows.
type practiceRun struct {
	out      io.Writer
	now      time.Time
	store    events.Store
	names    *events.StreamNamer
	reg      *events.Registry
	table    *eligibility.Table
	auth     *election.MemoryAuthorizer
	svc      *election.Service
	py       events.ProgramYear
	practice events.Participant // Main Street Family Medicine (TIN 000456789)
	ada      events.Participant // Dr. Ada (NPI 1234567893)
}

func run(ctx context.Context, out io.Writer, storeSpec string) error {
	// The ledger: the store the flag names, the development key, the default rules.
	now := eligibility.Eastern(2025, time.February, 3, 10, 0)
	opened, err := storeflag.Open(storeSpec, func() time.Time { return now }, true)
	if err != nil {
		return err
	}
	defer opened.Close()
	r := &practiceRun{out: out, now: now, store: opened.Store, reg: events.NewRegistry(), table: eligibility.Default(),
		auth: election.NewMemoryAuthorizer(), py: events.PY(events.MIPS, 2024)}
	if r.names, err = events.NewStreamNamer([]byte(events.DevelopmentKey)); err != nil {
		return err
	}
	r.svc, err = election.NewService(election.Config{Store: r.store, Names: r.names, Authorizer: r.auth, Registry: r.reg,
		Clock: func() time.Time { return now }})
	if err != nil {
		return err
	}
	r.practice = events.Group(events.MustParseTIN("000456789"))
	r.ada = events.Individual(r.practice.TIN, events.MustParseNPI("1234567893"))
	for _, step := range []func(context.Context) error{r.determine, r.electAsGroup, r.reportVoluntarily, r.score, r.read} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// determine records eligibility from both segments: segment 1 (Oct 2022 -
// Sep 2023) is the initial status, segment 2 (Oct 2023 - Sep 2024)
// reconciled with it the final one. Both participants are in the opt-in
// range in both segments.
func (r *practiceRun) determine(ctx context.Context) error {
	rules, err := r.table.Rules(r.py)
	if err != nil {
		return err
	}
	for seg, when := range []struct{ end, at time.Time }{
		{time.Date(2023, 9, 30, 0, 0, 0, 0, time.UTC), time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)},
		{time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)},
	} {
		for _, in := range []eligibility.Input{
			{Participant: r.ada, Volumes: events.Volumes{AllowedChargesCents: 95_000_00 - int64(seg)*1000_00, PartBPatients: 180, CoveredServices: 150},
				Clinician: eligibility.Clinician{Type: eligibility.Physician}},
			{Participant: r.practice, Volumes: events.Volumes{AllowedChargesCents: 350_000_00, PartBPatients: 190, CoveredServices: 420 - seg*10},
				Clinicians: []eligibility.Clinician{{Type: eligibility.Physician}}},
		} {
			in.Source, in.SourceDate, in.DeterminedAt = []events.Source{events.SourceSegment1, events.SourceSegment2}[seg], when.end, when.at
			d, err := eligibility.Determine(&rules, in)
			if err != nil {
				return err
			}
			if _, err := eligibility.Record(ctx, r.store, r.names, r.reg, r.table, d, cms()); err != nil {
				return err
			}
		}
	}
	for _, p := range []events.Participant{r.ada, r.practice} {
		s, err := eligibility.Current(ctx, r.store, r.names, r.reg, &rules, p, r.now)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.out, "%v (exceeds %v, then %v)\n", s, s.Exceeded[0], s.Exceeded[1])
	}
	return nil
}

// cms is the metadata of what CMS records.
func cms() events.Metadata { return events.Metadata{Actor: "cms", ActorRole: events.RoleSystem} }

// electAsGroup: the practice representative opts the group in: select, then
// CONFIRM (a wrong phrase first is refused).
func (r *practiceRun) electAsGroup(ctx context.Context) error {
	r.auth.ConnectRepresentative("jane@mainstreet", r.practice.TIN)
	rep := election.Meta{CommandID: uuid.New(), Actor: election.Actor{ID: "jane@mainstreet",
		Role: events.RolePracticeRepresentative, AttestedAt: r.now.Add(-5 * time.Minute)}}
	if _, err := r.svc.Request(ctx, rep, r.py, r.practice, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
		return err
	}
	rep.CommandID = uuid.New()
	if _, err := r.svc.Confirm(ctx, rep, r.py, r.practice, "confirm"); err != nil {
		fmt.Fprintln(r.out, "refused:", err)
	}
	rep.CommandID = uuid.New()
	receipt, err := r.svc.Confirm(ctx, rep, r.py, r.practice, "CONFIRM")
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "group opt-in confirmed; confirmation number %s\n", receipt.Hash.String()[:16])
	return nil
}

// reportVoluntarily: Dr. Ada elects to report voluntarily as an individual,
// then tries to withdraw the confirmed election (refused: it is final).
func (r *practiceRun) reportVoluntarily(ctx context.Context) error {
	r.auth.RegisterClinician("ada@mainstreet", r.ada)
	doc := election.Meta{CommandID: uuid.New(), Actor: election.Actor{ID: "ada@mainstreet", Role: events.RoleClinician, AttestedAt: r.now.Add(-time.Minute)}}
	if _, err := r.svc.Request(ctx, doc, r.py, r.ada, election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional}); err != nil {
		return err
	}
	doc.CommandID = uuid.New()
	if _, err := r.svc.Confirm(ctx, doc, r.py, r.ada, "CONFIRM"); err != nil {
		return err
	}
	doc.CommandID = uuid.New()
	if _, err := r.svc.Withdraw(ctx, doc, r.py, r.ada, "changed my mind"); err != nil {
		fmt.Fprintln(r.out, "refused:", err)
	}
	return nil
}

// score records the scores that arrive: the group's and Ada's own.
func (r *practiceRun) score(ctx context.Context) error {
	for _, sc := range []events.ScoreReported{
		{Participant: r.practice, ProgramYear: r.py, Pathway: events.PathwayTraditional, Score: 84.2, ScoredCategories: 3, ReportedAt: r.now},
		{Participant: r.ada, ProgramYear: r.py, Pathway: events.PathwayTraditional, Score: 91.0, ScoredCategories: 3, ReportedAt: r.now},
	} {
		if _, err := eligibility.RecordScore(ctx, r.store, r.names, r.reg, r.table, sc, cms()); err != nil {
			return err
		}
	}
	return nil
}

// read rebuilds the read models and reads them.
func (r *practiceRun) read(ctx context.Context) error {
	models := projection.NewModels(r.table, projection.ScoringConfig{})
	if _, err := projection.NewRunner(r.store, r.reg, models.Projections()).Rebuild(ctx); err != nil {
		return err
	}
	for _, p := range []events.Participant{r.practice, r.ada} {
		v := models.Status.Get(r.py, p)
		fmt.Fprintf(r.out, "%v: %s (%s), elected by %s\n", p, v.Kind, v.Pathway, v.ElectedBy)
	}
	fs, err := models.Scoring.Final(r.py, r.ada)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "final score for %v: %.1f from the %s score; payment adjustment %+.2f%%\n",
		r.ada, fs.Score, fs.Source, fs.Adjustment.Total())
	fmt.Fprintf(r.out, "why: %s\n", fs.Reason)
	return nil
}
