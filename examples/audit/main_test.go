package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events"
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
