package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return // -h: the usage is printed
	case err != nil:
		fmt.Fprintln(os.Stderr, "audit:", err)
		os.Exit(1)
	}
}

// run runs the audit with the command line args: of the ledger -ledger
// names, or of a demo ledger it writes first and then forges copies of.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	opts, err := parseArgs(args, errOut)
	if err != nil {
		return err
	}
	// The ledger key names every stream. The demo ledger is written with
	// the public development key; a real ledger's key is the caller's.
	key := []byte(events.DevelopmentKey)
	path := opts.ledger
	if path == "" {
		dir, err := os.MkdirTemp("", "audit-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "demo.db")
		if err := writeDemo(ctx, path, opts.participant); err != nil {
			return fmt.Errorf("demo ledger: %w", err)
		}
		fmt.Fprintf(out, "wrote a demo ledger: %s\n", path)
	} else if key, err = ledgerKey(opts.keyFile); err != nil {
		return err
	}
	names, err := events.NewStreamNamer(key)
	if err != nil {
		return err
	}
	kept, conf, err := auditLedger(ctx, out, path, names, opts)
	if err != nil {
		return err
	}
	if opts.ledger != "" || conf == nil {
		return nil // only the demo ledger's copies are forged
	}
	// 4. Three forgeries of copies of the demo ledger, each caught.
	return catchForgeries(ctx, out, path, names, opts.programYear, conf, kept)
}

// options is the audit's command line, parsed.
type options struct {
	ledger      string             // the ledger to audit ("": write a demo ledger)
	keyFile     string             // the ledger key's file ("": $ELECTIONLEDGER_KEY)
	participant events.Participant // the participant to follow
	dates       []time.Time        // the instants to show its status as of: the ends of the days given
	programYear events.ProgramYear
}

// parseArgs parses the audit's command line; the flag package writes its
// complaints and the usage to errOut.
func parseArgs(args []string, errOut io.Writer) (options, error) {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(errOut)
	ledger := fs.String("ledger", "", "the ledger to audit: a file (opened read-only) or a server URL (default: write a demo ledger first)")
	keyFile := fs.String("key-file", "", "the ledger key's file, for -ledger (default: $ELECTIONLEDGER_KEY)")
	who := fs.String("participant", "000456789", "the participant to follow: TIN or TIN|NPI")
	asof := fs.String("asof", "2024-12-01,2025-02-04,2025-03-15", "comma-separated dates (UTC) to show the status as of")
	year := fs.Int("year", 2024, "the MIPS performance year")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p, err := events.ParseParticipant(*who)
	if err != nil {
		return options{}, fmt.Errorf("-participant: %w", err)
	}
	dates, err := endsOfDays(*asof)
	if err != nil {
		return options{}, err
	}
	return options{ledger: *ledger, keyFile: *keyFile, participant: p, dates: dates, programYear: events.PY(events.MIPS, *year)}, nil
}

// endsOfDays parses comma-separated dates, YYYY-MM-DD, into the last
// instant of each day (UTC).
func endsOfDays(list string) ([]time.Time, error) {
	var dates []time.Time
	for _, d := range strings.Split(list, ",") {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(d))
		if err != nil {
			return nil, fmt.Errorf("-asof %s: want YYYY-MM-DD dates", events.DescribeInput(d))
		}
		dates = append(dates, t.Add(24*time.Hour-time.Nanosecond))
	}
	return dates, nil
}

// auditLedger runs the audit's first three steps on the ledger at path,
// opened read-only: it verifies the ledger and keeps a signed checkpoint of
// it, shows the participant's status as of each date, and proves the
// participant's confirmation in the checkpoint. It returns the checkpoint
// and the confirmation (nil when there is none).
func auditLedger(ctx context.Context, out io.Writer, path string, names *events.StreamNamer, opts options) (keptCheckpoint, *events.Record, error) {
	o, err := storeflag.OpenReadOnly(path)
	if err != nil {
		return keptCheckpoint{}, nil, err
	}
	defer o.Close()

	// 1. Verify the ledger as it is; keep a signed checkpoint of it.
	rep, ok, err := audit(ctx, out, o.Store, names, nil)
	if err != nil {
		return keptCheckpoint{}, nil, err
	}
	if ok {
		fmt.Fprintf(out, "verified %d records in %d streams: every hash chain, stream binding and ledger rule holds\n", rep.Records, rep.Streams)
	}
	kept := keepCheckpoint(rep)
	fmt.Fprintf(out, "checkpoint kept: %d records, root %s\n", kept.cp.Size, kept.cp.Root)

	// 2. The participant's status as of each date.
	if err := showStatus(ctx, out, o.Store, names, opts); err != nil {
		return keptCheckpoint{}, nil, err
	}

	// 3. The confirmation, its number and its proof against the checkpoint.
	conf := proveConfirmation(ctx, out, o.Store, names, opts, kept)
	return kept, conf, nil
}

// keptCheckpoint is a signed checkpoint of the audited log, as an auditor
// keeps one: the checkpoint, its signed note, and the key that verifies it.
type keptCheckpoint struct {
	cp       chain.Checkpoint
	signed   []byte
	verifier note.Verifier
}

// keepCheckpoint signs a checkpoint of the log rep verified, with a key
// made for the run.
func keepCheckpoint(rep *chain.Report) keptCheckpoint {
	private, public, _ := chain.GenerateKey("example.org/demo-ledger")
	signer, _ := chain.NewSigner(private)
	verifier, _ := chain.NewVerifier(public)
	signed, _ := chain.Sign(chain.Checkpoint{Origin: signer.Name(), Size: rep.Records, Root: rep.Root}, signer)
	cp, _ := chain.Open(signed, verifier)
	return keptCheckpoint{cp: cp, signed: signed, verifier: verifier}
}

// showStatus prints the participant's status in the program year as of
// each date, each from a replay of the log as of that instant.
func showStatus(ctx context.Context, out io.Writer, s events.Store, names *events.StreamNamer, opts options) error {
	for _, t := range opts.dates {
		models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		if _, err := projection.NewRunner(s, events.NewRegistry(), models.Projections(), projection.AsOf(t), projection.WithStreamNames(names)).Rebuild(ctx); err != nil {
			return err
		}
		v := models.Status.Get(opts.programYear, opts.participant)
		line := fmt.Sprintf("as of %s: %v is %s", t.Format("2006-01-02"), opts.participant, v.Kind)
		if !v.ElectedAt.IsZero() {
			line += fmt.Sprintf(" (%s/%s by %s at %s)", v.Choice, v.Pathway, v.ElectedBy, v.ElectedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(out, line)
	}
	return nil
}

// proveConfirmation finds the participant's confirmation in the program
// year and prints its confirmation number and whether its proof against
// the kept checkpoint verifies, as anyone holding the public key can check
// offline. It returns the confirmation, nil when there is none.
func proveConfirmation(ctx context.Context, out io.Writer, s events.Store, names *events.StreamNamer, opts options, kept keptCheckpoint) *events.Record {
	var conf *events.Record
	for r, err := range s.ReadStream(ctx, names.Election(opts.programYear, opts.participant), 0) {
		if err == nil && r.Type == events.TypeElectionConfirmed {
			conf = &r
		}
	}
	if conf == nil {
		return nil
	}
	index, err := logIndex(ctx, s, conf)
	var proof *chain.ReceiptProof
	if err == nil {
		proof, err = chain.ProveReceipt(ctx, s, conf, index, kept.signed, kept.verifier)
	}
	if err == nil {
		_, _, err = proof.Verify(kept.verifier) // what anyone holding the public key can do, offline
	}
	fmt.Fprintf(out, "confirmation number of %v: %s, in the log at index %d: proof %v\n", opts.participant, conf.Hash, index, verdict(err))
	return conf
}

// logIndex is rec's index in the log, its leaf in the tree: its position
// in a store whose positions are log indexes (one keeping the tree), else
// counted by reading the log (a server's positions are not).
func logIndex(ctx context.Context, s events.Store, rec *events.Record) (int64, error) {
	if _, ok := s.(chain.TreeStore); ok {
		return int64(rec.Position), nil
	}
	var index int64
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			return 0, err
		}
		if r.Position == rec.Position {
			return index, nil
		}
		index++
	}
	return 0, fmt.Errorf("the record at position %d is not in the log", rec.Position)
}

// forgery is one way to forge a copy of a ledger file.
type forgery struct {
	what string                  // what it forges, as the output names it
	do   func(path string) error // forges the file at path
}

// catchForgeries forges three copies of the demo ledger at path, beside
// it, and audits each against the kept checkpoint: each must be caught.
func catchForgeries(ctx context.Context, out io.Writer, path string, names *events.StreamNamer, py events.ProgramYear, conf *events.Record, kept keptCheckpoint) error {
	forgeries := []forgery{
		{"one byte of the stored confirmation changed", func(path string) error { return flipByte(path, conf.Position, `"choice":"`) }},
		{"a confirmation appended for another practice, with no request and no attestation", func(path string) error {
			return forgeConfirmation(ctx, path, names, py, events.Group(events.MustParseTIN("000111222")))
		}},
		{"the confirmation deleted and the file made consistent again", func(path string) error {
			return rewriteWithout(ctx, path, conf.Hash)
		}},
	}
	for i, f := range forgeries {
		copyPath := filepath.Join(filepath.Dir(path), fmt.Sprintf("forged-%d.db", i))
		if err := auditForgery(ctx, out, path, copyPath, f, names, kept.cp); err != nil {
			return err
		}
	}
	return nil
}

// auditForgery forges a copy, at copyPath, of the ledger at path, and
// audits it against the checkpoint cp; it is an error when the audit finds
// nothing.
func auditForgery(ctx context.Context, out io.Writer, path, copyPath string, f forgery, names *events.StreamNamer, cp chain.Checkpoint) error {
	if err := copyFile(path, copyPath); err != nil {
		return err
	}
	if err := f.do(copyPath); err != nil {
		return err
	}
	fmt.Fprintf(out, "forged copy: %s\n", f.what)
	fo, err := storeflag.OpenReadOnly(copyPath)
	if err != nil {
		return err
	}
	_, ok, err := audit(ctx, out, fo.Store, names, []chain.Checkpoint{cp})
	fo.Close()
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("the forged copy verified: %s went unnoticed", f.what)
	}
	return nil
}

// audit verifies a store (chains, bindings, the tree, checkpoints) and
// replays it (the ledger's rules), printing every finding.
func audit(ctx context.Context, out io.Writer, s events.Store, names *events.StreamNamer, cps []chain.Checkpoint) (*chain.Report, bool, error) {
	rep, err := chain.Verify(ctx, s, chain.VerifyOptions{Names: names, Checkpoints: cps})
	if err != nil {
		return nil, false, err
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(out, "  detected: %v\n", f)
	}
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rr, err := projection.NewRunner(s, events.NewRegistry(), models.Projections(), projection.WithStreamNames(names)).Rebuild(ctx)
	if err != nil && rep.OK() {
		return nil, false, err
	}
	violations := 0
	for _, v := range rr.Violations {
		if v.Problem != "hash chain" && v.Problem != "stream binding" { // reported above
			fmt.Fprintf(out, "  detected: ledger violation at %s@%d: %s\n", v.Stream, v.Revision, v.Problem)
			violations++
		}
	}
	return rep, rep.OK() && violations == 0, nil
}

func verdict(err error) string {
	if err != nil {
		return "FAILS: " + err.Error()
	}
	return "verifies offline with the log's public key"
}

// ledgerKey reads the ledger key from a file or $ELECTIONLEDGER_KEY.
func ledgerKey(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		return []byte(strings.TrimRight(string(b), "\r\n")), err
	}
	if k := os.Getenv("ELECTIONLEDGER_KEY"); k != "" {
		return []byte(k), nil
	}
	return nil, fmt.Errorf("auditing -ledger needs its ledger key: give -key-file or set ELECTIONLEDGER_KEY")
}

// writeDemo writes a small ledger: the participant's practice is opt-in
// eligible from November, requests opt-in on Feb 3 and confirms on Mar 10.
func writeDemo(ctx context.Context, path string, p events.Participant) error {
	now := time.Date(2024, 11, 20, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := boltstore.Open(path, boltstore.WithClock(clock))
	if err != nil {
		return err
	}
	defer s.Close()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg := events.NewRegistry()
	py := events.PY(events.MIPS, 2024)
	d := events.EligibilityDetermined{Participant: p, ProgramYear: py, Status: events.StatusOptInEligible,
		Exceeded: events.CriterionCharges, Source: events.SourceSegment1, DeterminedAt: now}
	if _, err := eligibility.Record(ctx, s, names, reg, eligibility.Default(), d, events.Metadata{Actor: "cms", ActorRole: events.RoleSystem}); err != nil {
		return err
	}
	auth := election.NewMemoryAuthorizer()
	auth.ConnectRepresentative("rep@practice", p.TIN)
	svc, err := election.NewService(election.Config{Store: s, Names: names, Authorizer: auth, Registry: reg, Clock: clock})
	if err != nil {
		return err
	}
	now = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
	m := election.Meta{CommandID: uuid.NewSHA1(uuid.Nil, []byte("demo/request")),
		Actor: election.Actor{ID: "rep@practice", Role: events.RolePracticeRepresentative, AttestedAt: now.Add(-time.Minute)}}
	if _, err := svc.Request(ctx, m, py, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
		return err
	}
	now = time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC)
	m.CommandID = uuid.NewSHA1(uuid.Nil, []byte("demo/confirm"))
	_, err = svc.Confirm(ctx, m, py, p, "CONFIRM")
	return err
}
