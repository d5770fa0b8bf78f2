package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
	"github.com/go-json-experiment/json"
)

// replay rebuilds the models from the store, verifying as it goes, as of
// asOf (zero: now); each violation is printed as a finding.
func replay(ctx context.Context, e *env, cmd, spec string, names *events.StreamNamer, asOf time.Time) (*projection.Models, int, int) {
	o, err := storeflag.OpenReadOnly(spec)
	if err != nil {
		return nil, 0, e.fail(cmd, err)
	}
	defer o.Close()
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	p := e.progress("replay")
	total := logLen(o.Store)
	opts := []projection.RunnerOption{projection.WithStreamNames(names), projection.WithProgressEvery(100_000),
		projection.WithProgress(func(pr projection.Progress) { p.report(int64(pr.Applied), total) })}
	if !asOf.IsZero() {
		opts = append(opts, projection.AsOf(asOf))
	}
	rep, err := projection.NewRunner(o.Store, events.NewRegistry(), models.Projections(), opts...).Rebuild(ctx)
	if err != nil {
		return nil, 0, e.fail(cmd, err)
	}
	for _, v := range rep.Violations {
		fmt.Fprintln(e.out, "FINDING ledger:", v.Error())
	}
	return models, len(rep.Violations), exitOK
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
	models, violations, code := replay(ctx, e, "status", *store, names, at)
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
	if violations > 0 {
		return exitFindings
	}
	return exitOK
}

// qppRecord is a QPP opt-in decision record, as eligibility.ImportDecisions
// reads them.
type qppRecord struct {
	TIN               string  `json:"tin"`
	NPI               *string `json:"npi"`
	IsOptInEligible   bool    `json:"isOptInEligible"`
	IsOptedIn         *bool   `json:"isOptedIn"`
	OptInDecisionDate *string `json:"optInDecisionDate"`
	Year              int     `json:"year"`
	RunNum            int     `json:"runNum"`
}

func cmdExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "export")
	store := fs.String("store", "", "the ledger: a file (opened read-only), memory, or a server's connection string")
	keyFile := fs.String("key-file", "", "a file holding the ledger key (default: $"+envLedgerKey+")")
	year := fs.String("year", "", "the program year, e.g. MIPS-2024")
	format := fs.String("format", "qpp", "qpp: QPP opt-in decision records (JSON; full TINs, for QPP only); csv: every participant's status (TINs masked)")
	outFile := fs.String("o", "", "write the export to this file (default: standard output)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.need("store", *store, "year", *year); !ok {
		return code
	}
	if *format != "qpp" && *format != "csv" {
		return e.fail("export", fmt.Errorf("-format %s: want qpp or csv", events.DescribeInput(*format)))
	}
	py, err := events.ParseProgramYear(*year)
	if err != nil {
		return e.fail("export", fmt.Errorf("-year: %w", err))
	}
	names, err := e.ledgerKey(*keyFile)
	if err != nil {
		return e.fail("export", err)
	}
	models, violations, code := replay(ctx, e, "export", *store, names, time.Time{})
	if models == nil {
		return code
	}
	w := e.out
	if *outFile != "" {
		f, err := os.OpenFile(*outFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return e.fail("export", err)
		}
		defer f.Close()
		w = f
	}
	if *format == "qpp" {
		err = exportQPP(w, models, py)
	} else {
		err = exportCSV(w, models, py, names)
	}
	if err != nil {
		return e.fail("export", err)
	}
	if violations > 0 {
		return exitFindings
	}
	return exitOK
}

// exportQPP writes the decision records of the opt-in eligible practices
// and clinicians: the QPP export, the one place a full TIN is written.
func exportQPP(w io.Writer, m *projection.Models, py events.ProgramYear) error {
	recs := []qppRecord{}
	for v := range m.Status.All(py) {
		p := v.Participant
		if p.Kind != events.KindGroup && p.Kind != events.KindIndividual || v.Eligibility != events.StatusOptInEligible {
			continue
		}
		r := qppRecord{TIN: p.TIN.Digits(), IsOptInEligible: true, Year: py.Year}
		if p.Kind == events.KindIndividual {
			npi := p.NPI.String()
			r.NPI = &npi
		}
		if v.Kind == projection.KindOptedIn || v.Kind == projection.KindVoluntary {
			opted := v.Kind == projection.KindOptedIn
			date := v.ElectedAt.UTC().Format(time.RFC3339)
			r.IsOptedIn, r.OptInDecisionDate = &opted, &date
		}
		recs = append(recs, r)
	}
	b, err := json.Marshal(struct {
		Data []qppRecord `json:"data"`
	}{recs}, json.Deterministic(true))
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// exportCSV writes every participant's status, TINs masked.
func exportCSV(w io.Writer, m *projection.Models, py events.ProgramYear, names *events.StreamNamer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"kind", "tin", "npi", "id", "participant_key", "program", "year", "status", "choice", "pathway", "elected_at", "elected_by"})
	for v := range m.Status.All(py) {
		p := v.Participant
		at := ""
		if !v.ElectedAt.IsZero() {
			at = v.ElectedAt.UTC().Format(time.RFC3339)
		}
		choice, pathway := "", ""
		if v.Choice != 0 {
			choice = v.Choice.String()
		}
		if v.Pathway != 0 {
			pathway = v.Pathway.String()
		}
		_ = cw.Write([]string{p.Kind.String(), p.TIN.String(), p.NPI.String(), p.ID, names.ParticipantKey(p), string(py.Program),
			strconv.Itoa(py.Year), v.Kind.String(), choice, pathway, at, v.ElectedBy})
	}
	cw.Flush()
	return cw.Error()
}
