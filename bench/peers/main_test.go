package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHelpExitsZero(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errs); code != 0 {
		t.Fatalf("-h exited %d", code)
	}
	for _, flag := range []string{"-size", "-rounds", "-budget", "-dir", "-only", "-cpuprofile"} {
		if !strings.Contains(errs.String(), flag) {
			t.Errorf("usage does not mention %s:\n%s", flag, errs.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("-h wrote to stdout: %q", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-size", "huge"},
		{"-rounds", "-1"},
		{"-budget", "0s"},
		{"-only", "no such workload", "-size", "tiny"},
		{"stray"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), args, &out, &errs)
		if code == 0 {
			t.Errorf("%q exited 0", args)
		}
		if !strings.Contains(errs.String(), "peers:") && !strings.Contains(errs.String(), "usage") {
			t.Errorf("%q: no message on stderr: %q", args, errs.String())
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2, truncated
		{[]time.Duration{10, 30, 20, 40}, 25},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	in := []time.Duration{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Error("median sorted its argument")
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Nanosecond:   "850 ns",
		1500 * time.Nanosecond:  "1.50 µs",
		45600 * time.Nanosecond: "45.6 µs",
		456 * time.Microsecond:  "456 µs",
		3 * time.Millisecond:    "3.00 ms",
		2 * time.Second:         "2.00 s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 200000: "200,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTinyRun runs every workload once at the tiny size and checks that the
// table has a row with a ratio for each of our sides.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload")
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-size", "tiny", "-dir", t.TempDir()}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs.String())
	}
	table := out.String()
	for _, row := range []string{
		"| append to 300 new streams |",
		"| command on an existing stream among 300 |",
		"| rehydrate 100 events |",
		"| rehydrate 1,000 events |",
		"| replay 600 events, 2 cores, chain verified |",
		"| replay 600 events, 2 cores, unverified |",
		"| replay 600 events, 1 core, chain verified |",
		"| replay 600 events, 1 core, unverified |",
		"| durable appends, 1 writer |",
		"| durable appends, 8 writers |",
		"| durable appends, 64 writers |",
	} {
		line := ""
		for l := range strings.Lines(table) {
			if strings.HasPrefix(l, row) {
				line = l
			}
		}
		if line == "" {
			t.Errorf("no row %q in\n%s", row, table)
			continue
		}
		if !strings.Contains(line, "×**") {
			t.Errorf("row without a ratio: %s", line)
		}
	}
	if !strings.Contains(errs.String(), "round 1/1") {
		t.Errorf("no progress on stderr: %q", errs.String())
	}
}

// TestOnlyDurableLeavesNoFile checks that the durable workload removes its
// files.
func TestOnlyDurableLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-size", "tiny", "-only", "durable", "-dir", dir}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s", code, errs.String())
	}
	for _, sub := range []string{"w1", "w8", "w64"} {
		files, err := os.ReadDir(dir + "/" + sub)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 0 {
			t.Errorf("%s holds %d files after the run", sub, len(files))
		}
	}
}

func Example() {
	// The flags, as -h prints them (to standard error; here to stdout).
	run(context.Background(), []string{"-h"}, os.Stdout, os.Stdout)
	// Output:
	// usage: peers [flags]
	//
	// Runs the same election workload on electionledger and on hallgren/eventsourcing v0.8.0,
	// looplab/eventhorizon v0.16.0 and modernice/goes v0.5.0, interleaved in rounds, and prints
	// per workload the fastest peer's time per operation divided by ours (Markdown, on stdout).
	// Progress goes to stderr.
	//
	// flags:
	//   -budget duration
	//     	time a side may spend on one workload in one round; a side that runs out is timed over the operations it did (default 10s)
	//   -cpuprofile string
	//     	write a CPU profile of the run to this file (go tool pprof -top -focus 'election' FILE)
	//   -dir string
	//     	directory for the durable workload's files: it must be on a real disk, fsync is what it measures (default: a new directory under the system's temporary directory)
	//   -only string
	//     	run only the workloads whose name contains this text (e.g. durable, replay)
	//   -rounds int
	//     	interleaved rounds; the table gives their medians (default 6, 1 for -size tiny)
	//   -size string
	//     	workload size: full (the issue's sizes), small (a tenth) or tiny (a few hundred operations, for CI) (default "full")
}

// TestInterruptedKeepsCompleteRounds checks that an interrupt after a
// complete round keeps that round's samples only.
func TestInterruptedKeepsCompleteRounds(t *testing.T) {
	w := workload{name: "w", sides: []side{{name: "a", ours: true}, {name: "b"}}}
	r := newResults([]workload{w})
	for round := range 2 {
		r.add(w, "a", round, measurement{perOp: time.Duration(round + 1)})
	}
	r.add(w, "b", 0, measurement{perOp: 3})
	if _, err := r.interrupted(0, time.Now(), context.Canceled); err == nil {
		t.Error("an interrupt in the first round returned results")
	}
	got, err := r.interrupted(1, time.Now(), context.Canceled)
	if err != nil || got.rounds != 1 || len(got.samples[0]["a"]) != 1 || len(got.samples[0]["b"]) != 1 {
		t.Fatalf("interrupted(1) = %+v, %v", got, err)
	}
	rows := got.rows()
	if len(rows) != 1 || rows[0].ratio != 3 {
		t.Errorf("rows = %+v, want one row with ratio 3", rows)
	}
}
