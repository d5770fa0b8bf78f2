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
	if err != nil && serverFinding(s, err) {
		// Something the server let another client do to the ledger ends
		// the log's read there: a finding (verify lists them all), and no
		// answer from the part of the log read before it.
		fmt.Fprintln(e.out, "FINDING chain:", err)
		fmt.Fprintf(e.err, "ledger %s: the ledger does not verify; run ledger verify for every finding\n", cmd)
		return nil, rep, exitFindings
	}
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

// parseAsOf reads -asof: "" (now: the zero time), a date YYYY-MM-DD (the
// last instant of that day, UTC) or an RFC 3339 instant (its offset
// honoured, fractions of a second allowed).
func parseAsOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Nanosecond), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("-asof %s: want YYYY-MM-DD (the end of that day, UTC) or an RFC 3339 instant such as 2025-02-04T15:00:00Z", events.DescribeInput(s))
}

func cmdStatus(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "status")
	store := fs.String("store", "", storeHelp("opened read-only"))
	keyFile := fs.String("key-file", "", "a file holding the ledger key (default: $"+envLedgerKey+")")
	who := fs.String("participant", "", "the participant: TIN (a practice), TIN|NPI (a clinician), vg:ID or apm:ID")
	year := fs.String("year", "", "the program year, e.g. MIPS-2024")
	asof := fs.String("asof", "", "the status as of an instant, RFC 3339 (2025-02-04T15:00:00Z, 2025-02-04T10:00:00-05:00), or the end of a day (UTC), YYYY-MM-DD (default: now)")
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
	at, err := parseAsOf(*asof)
	if err != nil {
		return e.fail("status", err)
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
