package main

import (
	"bytes"
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
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
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
	ledger := fs.String("ledger", "", "the ledger file to audit (default: write a demo ledger first)")
	who := fs.String("participant", "000456789", "the participant to follow: TIN or TIN|NPI")
	asof := fs.String("asof", "2024-12-01,2025-02-04,2025-03-15", "comma-separated dates (UTC) to show the status as of")
	year := fs.Int("year", 2024, "the MIPS performance year")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := events.ParseParticipant(*who)
	if err != nil {
		return fmt.Errorf("-participant: %w", err)
	}
	var dates []time.Time
	for _, d := range strings.Split(*asof, ",") {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("-asof %q: want YYYY-MM-DD dates", d)
		}
		dates = append(dates, t.Add(24*time.Hour-time.Nanosecond)) // the end of that day
	}
	dir, err := os.MkdirTemp("", "audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := *ledger
	if storeflag.IsServerURL(path) {
		return auditServer(ctx, out, path, p, events.PY(events.MIPS, *year), dates)
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("-ledger: %w", err) // never audit a ledger this run would create
		}
	}
	if path == "" {
		path = filepath.Join(dir, "demo.db")
		if err := writeDemo(ctx, path, p); err != nil {
			return fmt.Errorf("demo ledger: %w", err)
		}
		fmt.Fprintf(out, "wrote a demo ledger: %s\n", path)
	}
	py := events.PY(events.MIPS, *year)

	// 1. Verify the file as it is.
	s, err := boltstore.Open(path)
	if err != nil {
		return err
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		s.Close()
		return fmt.Errorf("the ledger does not verify: %w", err)
	}
	fmt.Fprintf(out, "verified %d records in %d streams: every hash chain intact\n", rep.Records, rep.Streams)

	// 2. The participant's status as of each date, replaying only what was
	// recorded by then.
	reg := events.NewRegistry()
	for _, t := range dates {
		models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		if _, err := projection.NewRunner(s, reg, models.Projections(), projection.AsOf(t)).Rebuild(ctx); err != nil {
			s.Close()
			return err
		}
		v := models.Status.Get(py, p)
		line := fmt.Sprintf("as of %s: %v is %s", t.Format("2006-01-02"), p, v.Kind)
		if !v.ElectedAt.IsZero() {
			line += fmt.Sprintf(" (%s/%s by %s at %s)", v.Choice, v.Pathway, v.ElectedBy, v.ElectedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(out, line)
	}

	// 3. Find the participant's confirmation: its hash is the receipt.
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		s.Close()
		return err
	}
	stream := names.Election(py, p)
	var target *events.Record
	for r, err := range s.ReadStream(ctx, stream, 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			break
		}
		if err != nil {
			s.Close()
			return err
		}
		if r.Type == events.TypeElectionConfirmed {
			target = &r
		}
	}
	if err := s.Close(); err != nil {
		return err
	}
	if target == nil {
		fmt.Fprintf(out, "%v has no confirmed election in %v: nothing to tamper with\n", p, py)
		return nil
	}
	fmt.Fprintf(out, "confirmation number of %v: %s\n", p, target.Hash)

	// 4. Tamper with a copy: change one byte of the confirmed choice.
	forged := filepath.Join(dir, "forged.db")
	if err := copyFile(path, forged); err != nil {
		return err
	}
	if err := flipByte(forged, target.Position, []byte(`"choice":"`)); err != nil {
		return err
	}
	s, err = boltstore.Open(forged)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Verify(ctx)
	var ce *events.ChainError
	if !errors.As(err, &ce) {
		return fmt.Errorf("the forged copy verified (%v): tampering went unnoticed", err)
	}
	fmt.Fprintf(out, "tampered copy: one byte changed in the stored confirmation\n")
	fmt.Fprintf(out, "detected at %s, revision %d: %s\n", ce.Stream, ce.Revision, ce.Problem)
	if ce.Stream == stream {
		fmt.Fprintf(out, "  that is the election stream of %v\n", p)
	}
	return nil
}

// auditServer verifies an EventStoreDB/KurrentDB log and shows the
// participant's status as of each date. (The tampering demonstration edits
// a ledger file's bytes, so it needs a file.)
func auditServer(ctx context.Context, out io.Writer, url string, p events.Participant, py events.ProgramYear, dates []time.Time) error {
	o, err := storeflag.Open(url, time.Now, false)
	if err != nil {
		return err
	}
	defer o.Close()
	rep, err := o.Verify()
	if err != nil {
		return fmt.Errorf("the ledger does not verify: %w", err)
	}
	fmt.Fprintf(out, "verified %d records in %d streams: every hash chain intact\n", rep.Records, rep.Streams)
	reg := events.NewRegistry()
	for _, t := range dates {
		models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		if _, err := projection.NewRunner(o.Store, reg, models.Projections(), projection.AsOf(t)).Rebuild(ctx); err != nil {
			return err
		}
		fmt.Fprintf(out, "as of %s: %v is %s\n", t.Format("2006-01-02"), p, models.Status.Get(py, p).Kind)
	}
	fmt.Fprintln(out, "the tampering demonstration edits a ledger file's bytes: run it with a file (-ledger path)")
	return nil
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
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		return err
	}
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

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// flipByte changes one byte of the record stored at pos: the first byte
// after marker, or the record's middle byte.
func flipByte(path string, pos events.Position, marker []byte) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		if b == nil {
			return errors.New("not a ledger file")
		}
		key := make([]byte, 8)
		for i := range 8 {
			key[7-i] = byte(uint64(pos) >> (8 * i))
		}
		v := bytes.Clone(b.Get(key))
		if v == nil {
			return fmt.Errorf("no record at position %d", pos)
		}
		i := bytes.Index(v, marker)
		if i < 0 {
			i = len(v) / 2
		} else {
			i += len(marker)
		}
		v[i] ^= 0x01 // "opt-in" becomes "npt-in"
		return b.Put(key, v)
	})
}
