package main

import (
	"context"
	"fmt"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
)

// replay rebuilds the models from the store, verifying as it goes, as of
// asOf (zero: now); each violation is printed as a finding. The models are
// nil when the replay could not finish (and code is the exit status).
func replay(ctx context.Context, e *env, cmd string, s events.Store, names *events.StreamNamer, asOf time.Time) (models *projection.Models, rep projection.Report, code int) {
	models = projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	p := e.progress("replay")
	total := logLen(s)
	opts := []projection.RunnerOption{projection.WithStreamNames(names), projection.WithProgressEvery(100_000),
		projection.WithProgress(func(pr projection.Progress) { p.report(int64(pr.Applied), total) })}
	if !asOf.IsZero() {
		opts = append(opts, projection.AsOf(asOf))
	}
	rep, err := projection.NewRunner(s, events.NewRegistry(), models.Projections(), opts...).Rebuild(ctx)
	if err != nil {
		return nil, rep, e.fail(cmd, err)
	}
	for _, v := range rep.Violations {
		fmt.Fprintln(e.out, "FINDING ledger:", v.Error())
	}
	return models, rep, exitOK
}

// findingsCode is the exit status after a replay that reported rep's
// violations.
func findingsCode(rep projection.Report) int {
	if len(rep.Violations) > 0 {
		return exitFindings
	}
	return exitOK
}

func cmdStatus(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "status")
	store := fs.String("store", "", "the ledger: a file (opened read-only), memory, or a server's connection string")
	keyFile := fs.String("key-file", "", "a file holding the ledger key (default: $"+envLedgerKey+")")
	who := fs.String("participant", "", "the participant: TIN (a practice), TIN|NPI (a clinician), vg:ID or apm:ID")
	year := fs.String("year", "", "the program year, e.g. MIPS-2024")
	asof := fs.String("asof", "", "the status as of the end of this day (UTC), YYYY-MM-DD (default: now)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.need("store", *store, "participant", *who, "year", *year); !ok {
		return code
	}
	p, err := events.ParseParticipant(*who)
	if err != nil {
		return e.fail("status", fmt.Errorf("-participant: %w", err))
	}
	py, err := events.ParseProgramYear(*year)
	if err != nil {
		return e.fail("status", fmt.Errorf("-year: %w", err))
	}
	var at time.Time
	if *asof != "" {
		d, err := time.Parse("2006-01-02", *asof)
		if err != nil {
			return e.fail("status", fmt.Errorf("-asof %s: want YYYY-MM-DD", events.DescribeInput(*asof)))
		}
		at = d.Add(24*time.Hour - time.Nanosecond)
	}
	names, err := e.ledgerKey(*keyFile)
	if err != nil {
		return e.fail("status", err)
	}
	o, err := storeflag.OpenReadOnly(*store)
	if err != nil {
		return e.fail("status", err)
	}
	defer o.Close()
	models, rep, code := replay(ctx, e, "status", o.Store, names, at)
	if models == nil {
		return code
	}
	v := models.Status.Get(py, p)
	when := "now"
	if !at.IsZero() {
		when = "as of " + *asof
	}
	line := fmt.Sprintf("%v in %v, %s: %s", v.Participant, v.ProgramYear, when, v.Kind)
	if !v.ElectedAt.IsZero() {
		line += fmt.Sprintf(" (%s, %s pathway, by %s at %s)", v.Choice, v.Pathway, v.ElectedBy, v.ElectedAt.Format(time.RFC3339))
	}
	fmt.Fprintln(e.out, line)
	fmt.Fprintf(e.out, "stream: %s\n", names.Election(py, p))
	return findingsCode(rep)
}
