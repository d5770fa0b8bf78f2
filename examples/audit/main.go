package main

import (
	"context"
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
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "audit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(errOut)
	ledger := fs.String("ledger", "", "the ledger to audit: a file (opened read-only) or a server URL (default: write a demo ledger first)")
	keyFile := fs.String("key-file", "", "the ledger key's file, for -ledger (default: $ELECTIONLEDGER_KEY)")
	who := fs.String("participant", "000456789", "the participant to follow: TIN or TIN|NPI")
	asof := fs.String("asof", "2024-12-01,2025-02-04,2025-03-15", "comma-separated dates (UTC) to show the status as of")
	year := fs.Int("year", 2024, "the MIPS performance year")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p, err := events.ParseParticipant(*who)
	if err != nil {
		return fmt.Errorf("-participant: %w", err)
	}
	var dates []time.Time
	for _, d := range strings.Split(*asof, ",") {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("-asof %s: want YYYY-MM-DD dates", events.DescribeInput(d))
		}
		dates = append(dates, t.Add(24*time.Hour-time.Nanosecond)) // the end of that day
	}
	py := events.PY(events.MIPS, *year)

	// The ledger key names every stream. The demo ledger is written with
	// the public development key; a real ledger's key is the caller's.
	key := []byte(events.DevelopmentKey)
	path := *ledger
	if path == "" {
		dir, err := os.MkdirTemp("", "audit-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "demo.db")
		if err := writeDemo(ctx, path, p); err != nil {
			return fmt.Errorf("demo ledger: %w", err)
		}
		fmt.Fprintf(out, "wrote a demo ledger: %s\n", path)
	} else if key, err = ledgerKey(*keyFile); err != nil {
		return err
	}
	names, err := events.NewStreamNamer(key)
	if err != nil {
		return err
	}

	// 1. Verify the ledger as it is; keep a signed checkpoint of it.
	o, err := storeflag.OpenReadOnly(path)
	if err != nil {
		return err
	}
	rep, ok, err := audit(ctx, out, o.Store, names, nil)
	if err != nil {
		o.Close()
		return err
	}
	if ok {
		fmt.Fprintf(out, "verified %d records in %d streams: every hash chain, stream binding and ledger rule holds\n", rep.Records, rep.Streams)
	}
	private, public, _ := chain.GenerateKey("example.org/demo-ledger")
	signer, _ := chain.NewSigner(private)
	verifier, _ := chain.NewVerifier(public)
	signed, _ := chain.Sign(chain.Checkpoint{Origin: signer.Name(), Size: rep.Records, Root: rep.Root}, signer)
	cp, _ := chain.Open(signed, verifier)
	fmt.Fprintf(out, "checkpoint kept: %d records, root %s\n", cp.Size, cp.Root)

	// 2. The participant's status as of each date.
	for _, t := range dates {
		models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		if _, err := projection.NewRunner(o.Store, events.NewRegistry(), models.Projections(), projection.AsOf(t), projection.WithStreamNames(names)).Rebuild(ctx); err != nil {
			o.Close()
			return err
		}
		v := models.Status.Get(py, p)
		line := fmt.Sprintf("as of %s: %v is %s", t.Format("2006-01-02"), p, v.Kind)
		if !v.ElectedAt.IsZero() {
			line += fmt.Sprintf(" (%s/%s by %s at %s)", v.Choice, v.Pathway, v.ElectedBy, v.ElectedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(out, line)
	}

	// 3. The confirmation, its number and its proof against the checkpoint.
	var conf *events.Record
	for r, err := range o.Store.ReadStream(ctx, names.Election(py, p), 0) {
		if err == nil && r.Type == events.TypeElectionConfirmed {
			conf = &r
		}
	}
	if conf != nil {
		proof, err := chain.ProveReceipt(ctx, o.Store, conf, int64(conf.Position), signed, verifier)
		if err == nil {
			_, _, err = proof.Verify(verifier) // what anyone holding the public key can do, offline
		}
		fmt.Fprintf(out, "confirmation number of %v: %s, in the log at index %d: proof %v\n", p, conf.Hash, conf.Position, verdict(err))
	}
	o.Close()
	if *ledger != "" || conf == nil {
		return nil
	}

	// 4. Three forgeries of copies of the demo ledger, each caught.
	forgeries := []struct {
		what string
		do   func(path string) error
	}{
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
