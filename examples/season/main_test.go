package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
)

func summary(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, &out, &errs); err != nil {
		t.Fatalf("season %v: %v\n%s", args, err, errs.String())
	}
	s := out.String()
	i := strings.Index(s, PerformanceHeading)
	if i < 0 {
		t.Fatalf("no performance section:\n%s", s)
	}
	return s[:i]
}

// TestSeason runs the main job small, on both embedded stores, and checks
// that it audits clean and that the same seed gives the same summary.
func TestSeason(t *testing.T) {
	args := []string{"-clinicians", "1500", "-seed", "11", "-quiet"}
	mem := summary(t, append(args, "-store", "memory")...)
	for _, want := range []string{
		"1,500 clinicians in 300 practices", "every hash chain verifies; no ledger violations",
		"Refusals by rule", "election is final", "outside the election window", "Final scores of clinicians in MIPS",
		"registry uploads confirmed", "Payment adjustments",
	} {
		if !strings.Contains(mem, want) {
			t.Errorf("summary lacks %q:\n%s", want, mem)
		}
	}
	if again := summary(t, append(args, "-store", "memory", "-workers", "3")...); again != mem {
		t.Errorf("the same seed gave another summary:\n%s\n---\n%s", mem, again)
	}
	file := summary(t, append(args, "-store", filepath.Join(t.TempDir(), "season.db"))...)
	if file != mem {
		t.Errorf("file and memory stores disagree:\n%s\n---\n%s", file, mem)
	}
	if other := summary(t, "-clinicians", "1500", "-seed", "12", "-quiet", "-store", "memory"); other == mem {
		t.Error("another seed gave the same summary")
	}
}

// TestSeasonOnEventStoreDB runs the main job on the EventStoreDB store (the
// in-process double) and compares its summary with the memory store's.
func TestSeasonOnEventStoreDB(t *testing.T) {
	srv := esdbfake.Run(t)
	args := []string{"-clinicians", "400", "-seed", "5", "-quiet"}
	if esdb, mem := summary(t, append(args, "-store", srv.ConnectionString())...), summary(t, append(args, "-store", "memory")...); esdb != mem {
		t.Errorf("EventStoreDB and memory stores disagree:\n%s\n---\n%s", esdb, mem)
	}
}

func TestSeasonFlags(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "used.db")
	summary(t, "-clinicians", "50", "-quiet", "-store", existing)
	for _, args := range [][]string{
		{"-clinicians", "3"}, {"-year", "2018"}, {"-groups", "500", "-clinicians", "100"}, {"-workers", "0"},
		{"-nonsense"}, {"-store", existing, "-clinicians", "50"},
	} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), append(args, "-quiet"), &out, &errs); err == nil {
			t.Errorf("season %v: no error", args)
		}
	}
}

// A small season on the in-memory store: its audit line.
func Example() {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-clinicians", "200", "-store", "memory", "-quiet"}, &out, &errs); err != nil {
		fmt.Println(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Population") || strings.HasPrefix(l, "Audit") {
			fmt.Println(l[:strings.Index(l, ";")])
		}
	}
	// Output:
	// Population: 200 clinicians in 40 practices
	// Audit: 644 records in 364 streams
}
