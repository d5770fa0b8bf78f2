package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/google/uuid"
)

func TestAudit(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), nil, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	s := out.String()
	for _, want := range []string{
		"verified 5 records in 4 streams: every hash chain, stream binding and ledger rule holds", // the determination, the request and the confirmation, and the two commands' claims
		"checkpoint kept: 5 records",
		"as of 2024-12-01: group *****6789 is opt-in eligible (no decision)",
		"as of 2025-02-04: group *****6789 is pending confirmation",
		"as of 2025-03-15: group *****6789 is MIPS eligible via opt-in",
		"in the log at index 3: proof verifies offline with the log's public key",
		"forged copy: one byte of the stored confirmation changed",
		"detected: chain: election-mips-2024-", "@1 (position 3, log index 3): content does not match its hash",
		"forged copy: a confirmation appended for another practice, with no request and no attestation",
		"detected: ledger violation at election-mips-2024-", "@0: a confirmation with nothing pending",
		"forged copy: the confirmation deleted and the file made consistent again",
		"detected: checkpoint: the log holds 4 records, the checkpoint example.org/demo-ledger covered 5",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "000456789") || strings.Contains(s, "000111222") {
		t.Errorf("the output shows a full TIN:\n%s", s)
	}
}

func TestAuditFlags(t *testing.T) {
	t.Setenv("ELECTIONLEDGER_KEY", events.DevelopmentKey)
	for _, args := range [][]string{{"-participant", "12"}, {"-asof", "yesterday"}, {"-ledger", "/nonexistent/dir/x.db"}, {"-ledger", t.TempDir() + "/missing.db"}, {"stray"}} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("audit %v: no error", args)
		}
	}
}

// TestAuditServer verifies a ledger on the EventStoreDB store (the double)
// after the season writes one there.
func TestAuditServer(t *testing.T) {
	srv := esdbfake.Run(t)
	ctx := context.Background()
	p := events.Group(events.MustParseTIN("000456789"))
	o, err := esdbstore.Open(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := events.NewRegistry().Encode(uuid.New(), events.EligibilityDetermined{Participant: p, ProgramYear: events.PY(events.MIPS, 2024),
		Status: events.StatusOptInEligible, Source: events.SourceSegment1}, events.Metadata{})
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if _, err := o.Append(ctx, names.Eligibility(events.PY(events.MIPS, 2024), p), events.Any, d); err != nil {
		t.Fatal(err)
	}
	o.Close()
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"-ledger", srv.ConnectionString(), "-asof", "2099-01-01"}, &out, &errs); err == nil {
		t.Fatal("a ledger audited without its key")
	}
	t.Setenv("ELECTIONLEDGER_KEY", events.DevelopmentKey)
	out.Reset()
	if err := run(ctx, []string{"-ledger", srv.ConnectionString(), "-asof", "2099-01-01"}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	for _, want := range []string{"verified 1 records in 1 streams", "as of 2099-01-01: group *****6789 is opt-in eligible"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// The demo ledger copied onto the server, behind that record: the
	// confirmation is proved at its log index, which a server's position
	// is not.
	demo := filepath.Join(t.TempDir(), "demo.db")
	if err := writeDemo(ctx, demo, p); err != nil {
		t.Fatal(err)
	}
	src, err := boltstore.Open(demo, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	dst, err := esdbstore.Open(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	for r, err := range src.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		ed := events.EventData{ID: r.ID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata}
		if _, err := dst.Append(ctx, r.Stream, events.Any, ed); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	dst.Close()
	out.Reset()
	if err := run(ctx, []string{"-ledger", srv.ConnectionString(), "-asof", "2025-03-15"}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	if want := "in the log at index 4: proof verifies"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

// TestHelp: -h prints the usage and is no error.
func TestHelp(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out, &errs)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errs.String(), "-ledger") {
		t.Fatalf("-h: %v\n%s", err, errs.String())
	}
}

// The example's run on its demo ledger.
func Example() {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-asof", "2025-03-15"}, &out, &errs); err != nil {
		fmt.Println(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "as of") || strings.HasPrefix(l, "forged") {
			fmt.Println(l)
		}
	}
	// Output:
	// as of 2025-03-15: group *****6789 is MIPS eligible via opt-in (opt-in/traditional by rep@practice at 2025-03-10T15:00:00Z)
	// forged copy: one byte of the stored confirmation changed
	// forged copy: a confirmation appended for another practice, with no request and no attestation
	// forged copy: the confirmation deleted and the file made consistent again
}
