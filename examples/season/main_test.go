package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/electionledger/ledger/events/memstore"
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
		"Eligibility: initial (segment 1 alone) and final (both segments reconciled)",
		"segments disagree, not above in both: exempt", "segments disagree, not above in both: opt-in eligible",
		"newly established in segment 2: judged on it alone", "a Partial QP (latest snapshot)", "Partial QP (no election)",
		"virtual group members: dropped by a revision", "virtual group elections retracted before the deadline",
		"virtual group opt-ins final at the deadline", "Partial QP elections confirmed by", "Partial QP, elected to participate",
		"accepted: voluntary, no payment adjustment", "of which clinicians not MIPS eligible, without an election",
		"refused: after the data submission deadline", "voluntary reporters opting out of public reporting",
	} {
		if !strings.Contains(mem, want) {
			t.Errorf("summary lacks %q:\n%s", want, mem)
		}
	}
	checkInMIPSReconciles(t, mem)
	// Selections never confirmed before the window closed are shown
	// expired, never pending, at the end of the year.
	if m := regexp.MustCompile(`(?m)^  selection expired unconfirmed +([0-9,]+) +([0-9,]+)`).FindStringSubmatch(mem); m == nil || m[1]+m[2] == "00" {
		t.Errorf("no expired selections counted at the end of the year:\n%s", mem)
	}
	if strings.Contains(mem, "pending confirmation") {
		t.Errorf("a selection still pending at the end of the year:\n%s", mem)
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

// TestSeasonAPMEntitiesByYear: in a PY2020 season the APM Entities are
// judged against the low-volume threshold; in a PY2024 season they are not
// assessed. The initial and final counts come from the ledger (a rebuild as
// of just before segment 2, and one at the end).
func TestSeasonAPMEntitiesByYear(t *testing.T) {
	for year, want := range map[string][2]string{"2020": {"required", "not-assessed"}, "2024": {"not-assessed", "required"}} {
		out := summary(t, "-clinicians", "1500", "-seed", "3", "-quiet", "-store", "memory", "-year", year)
		rows := map[string][]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 7 {
				rows[f[0]] = f[1:]
			}
		}
		if r := rows[want[0]]; len(r) != 6 || r[4] == "0" || r[5] == "0" {
			t.Errorf("PY%s: APM Entities %s initially and finally: %v\n%s", year, want[0], r, out)
		}
		if r := rows[want[1]]; len(r) != 6 || r[4] != "0" || r[5] != "0" {
			t.Errorf("PY%s: no APM Entity should be %s: %v", year, want[1], r)
		}
		if r := rows["determined"]; len(r) != 6 || r[0] == r[1] {
			t.Errorf("PY%s: newly established participants have no initial status, so fewer are determined initially: %v", year, r)
		}
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

// TestCountingForwardsIDScope: the counting wrapper the Service sees says
// what the store underneath says of its event IDs (per stream on
// EventStoreDB), so the Service binds command IDs before their events
// there.
func TestCountingForwardsIDScope(t *testing.T) {
	srv := esdbfake.Run(t)
	es, err := esdbstore.Open(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if !events.EventIDsPerStream(counting{Store: es}) {
		t.Error("counting hides EventStoreDB's per-stream event IDs")
	}
	if events.EventIDsPerStream(counting{Store: memstore.New()}) {
		t.Error("counting says a memstore's event IDs are per stream")
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
	// Audit: 635 records in 367 streams
}

// TestSeasonExportRoundTrip: the season's ledger exported as QPP decision
// records (every confirmed election, opt-in and voluntary) and imported
// into an empty ledger gives back the same decisions.
func TestSeasonExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "season.db")
	summary(t, "-clinicians", "1500", "-seed", "7", "-quiet", "-store", path)
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := events.NewRegistry()
	want, err := eligibility.LedgerDecisions(ctx, st, reg)
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	header, n, err := eligibility.ExportDecisions(ctx, st, reg, &doc)
	if err != nil || n != len(want) || n == 0 {
		t.Fatalf("export: %d records of %d, %v", n, len(want), err)
	}
	choices := map[events.Choice]int{}
	for _, d := range want {
		choices[d.Choice]++
	}
	if choices[events.ChoiceOptIn] == 0 || choices[events.ChoiceVoluntary] == 0 {
		t.Fatalf("the season should export both choices: %v", choices)
	}
	entities, err := eligibility.ParseOptInEntities(header)
	if err != nil || len(entities) != len(want) {
		t.Fatalf("the header names %d entities (%v), want %d", len(entities), err, len(want))
	}
	table := eligibility.Default()
	imp, err := eligibility.ReadDecisions(ctx, table, &doc, eligibility.ImportOptions{ImportedAt: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	fresh := memstore.New()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err := eligibility.Apply(ctx, fresh, names, reg, table, imp, events.Metadata{Actor: "qpp-import", ActorRole: events.RoleSystem}); err != nil {
		t.Fatal(err)
	}
	got, err := eligibility.LedgerDecisions(ctx, fresh, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("import(export(ledger)) has %d decisions, the ledger %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		w.DecidedAt, g.DecidedAt = w.DecidedAt.Truncate(time.Millisecond), g.DecidedAt.Truncate(time.Millisecond)
		w.RunNum = g.RunNum // the season records no imported runs
		if w != g {
			t.Fatalf("decision %d: import(export) gives %+v, the ledger %+v", i, g, w)
		}
	}
}

// checkInMIPSReconciles reads the summary: the clinicians in MIPS add up
// line by line (individually, through a group, a virtual group, an APM
// Entity), and those in individually are the status table's required,
// opted-in and elected-Partial-QP clinicians.
func checkInMIPSReconciles(t *testing.T, out string) {
	t.Helper()
	n := func(s string) int {
		v, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		if err != nil {
			t.Fatalf("not a count: %q", s)
		}
		return v
	}
	var total, parts int
	status := map[string]int{}
	through := map[string]int{}
	own := map[string]map[string]int{} // by way in, the clinicians' own status
	channel := ""
	section := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "Clinicians in MIPS: "):
			total, section = n(strings.TrimPrefix(l, "Clinicians in MIPS: ")), "in MIPS"
			continue
		case strings.HasPrefix(l, "Status at the end of the year"):
			section = "status"
			continue
		case !strings.HasPrefix(l, "  "):
			section = ""
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch section {
		case "in MIPS":
			switch {
			case strings.HasPrefix(strings.TrimSpace(l), "("):
			case strings.HasPrefix(l, "    "):
				own[channel][strings.Join(f[:len(f)-1], " ")] = n(f[len(f)-1])
			default:
				channel = strings.Join(f[:len(f)-1], " ")
				through[channel] = n(f[len(f)-1])
				own[channel] = map[string]int{}
				parts += n(f[len(f)-1])
			}
		case "status":
			if len(f) >= 4 && !strings.HasPrefix(l, "    ") {
				status[strings.Join(f[:len(f)-3], " ")] = n(f[len(f)-3])
			}
		}
	}
	if total == 0 || parts != total {
		t.Fatalf("clinicians in MIPS: %d, the lines add up to %d: %v", total, parts, through)
	}
	individual := status["required"] + status["MIPS eligible via opt-in"] + status["Partial QP, elected to participate"]
	if through["individually"] != individual {
		t.Fatalf("in MIPS individually: %d, the status table's required, opted-in and elected Partial QP clinicians: %d (%v)", through["individually"], individual, status)
	}
	// Line by line: each way in counts its clinicians by their own status;
	// those add up to the way's line, and no status has more clinicians in
	// MIPS than the status table has of it.
	byStatus := map[string]int{}
	for ch, kinds := range own {
		sum := 0
		for k, v := range kinds {
			sum += v
			byStatus[k] += v
		}
		if sum != through[ch] {
			t.Errorf("in MIPS %s: %d, its clinicians by own status add up to %d (%v)", ch, through[ch], sum, kinds)
		}
	}
	for k, v := range byStatus {
		if v > status[k] {
			t.Errorf("%d clinicians of own status %q in MIPS; the status table has %d", v, k, status[k])
		}
	}
	for _, k := range []string{"required", "MIPS eligible via opt-in", "Partial QP, elected to participate"} {
		if own["individually"][k] != status[k] {
			t.Errorf("individually, own status %q: %d; the status table: %d", k, own["individually"][k], status[k])
		}
	}
}

// TestHelp: -h prints the flags, the -store values every store takes
// included, and ends in flag.ErrHelp, which main treats as success.
func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-clinicians", "-store", "postgres://", "esdb://"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, errOut.String())
		}
	}
}
