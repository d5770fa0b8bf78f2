package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the rounds and prints the table; it returns the
// process's exit code (0 for -h).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 2
	}
	if cfg.cpu != "" {
		f, err := os.Create(cfg.cpu)
		if err != nil {
			fmt.Fprintln(stderr, "peers:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "peers:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := runRounds(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 1
	}
	if res.rounds < cfg.rounds {
		fmt.Fprintf(stderr, "peers: interrupted: the table has the %d complete rounds\n", res.rounds)
	}
	printTable(stdout, cfg, res)
	return 0
}

// config is what the flags choose.
type config struct {
	size   size
	rounds int
	budget time.Duration // per side, workload and round
	dir    string        // where the durable workload writes its files
	only   string        // run only workloads whose name contains this
	cpu    string        // write a CPU profile of the whole run here
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizeName := fs.String("size", "full", "workload size: full (the issue's sizes), small (a tenth) or tiny (a few hundred operations, for CI)")
	rounds := fs.Int("rounds", 0, "interleaved rounds; the table gives their medians (default 6, 1 for -size tiny)")
	budget := fs.Duration("budget", 10*time.Second, "time a side may spend on one workload in one round; a side that runs out is timed over the operations it did")
	dir := fs.String("dir", "", "directory for the durable workload's files: it must be on a real disk, fsync is what it measures (default: a new directory under the system's temporary directory)")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof -top -focus 'election' FILE)")
	only := fs.String("only", "", "run only the workloads whose name contains this text (e.g. durable, replay)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: peers [flags]\n\n"+
			"Runs the same election workload on electionledger and on hallgren/eventsourcing v0.8.0,\n"+
			"looplab/eventhorizon v0.16.0 and modernice/goes v0.5.0, interleaved in rounds, and prints\n"+
			"per workload the fastest peer's time per operation divided by ours (Markdown, on stdout).\n"+
			"Progress goes to stderr.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (flags only; -h lists them)", fs.Arg(0))
	}
	sz, ok := sizes[*sizeName]
	if !ok {
		return config{}, fmt.Errorf("-size %q: want full, small or tiny", *sizeName)
	}
	cfg := config{size: sz, rounds: *rounds, budget: *budget, dir: *dir, only: *only, cpu: *cpu}
	if cfg.rounds == 0 {
		cfg.rounds = 6
		if sz.name == "tiny" {
			cfg.rounds = 1
		}
	}
	if cfg.rounds < 0 {
		return config{}, fmt.Errorf("-rounds %d: want at least 1", cfg.rounds)
	}
	if cfg.budget <= 0 {
		return config{}, fmt.Errorf("-budget %v: want a positive duration", cfg.budget)
	}
	return cfg, nil
}

// size sets how much work each workload does.
type size struct {
	name        string
	streams     int   // append: new streams; command: existing streams, one command each
	rehydrate   []int // stream lengths to rehydrate
	rehydrateOp int   // events to fold per side and round, for each length (at least one fold)
	elections   int   // replay: elections of two events each
	durable     int   // appends per durable configuration
}

var sizes = map[string]size{
	"full":  {name: "full", streams: 100_000, rehydrate: []int{100, 10_000}, rehydrateOp: 1_000_000, elections: 100_000, durable: 2_000},
	"small": {name: "small", streams: 10_000, rehydrate: []int{100, 10_000}, rehydrateOp: 200_000, elections: 10_000, durable: 500},
	"tiny":  {name: "tiny", streams: 300, rehydrate: []int{100, 1_000}, rehydrateOp: 2_000, elections: 300, durable: 64},
}

// runRounds runs every workload on every side, cfg.rounds times, rotating
// the order of the sides from round to round.
func runRounds(ctx context.Context, cfg config, progress io.Writer) (*results, error) {
	dir := cfg.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "peers-durable-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ws := workloads(cfg.size, dir)
	if cfg.only != "" {
		var keep []workload
		for _, w := range ws {
			if strings.Contains(w.name, cfg.only) {
				keep = append(keep, w)
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("-only %q matches no workload", cfg.only)
		}
		ws = keep
	}
	res := newResults(ws)
	fmt.Fprintf(progress, "peers: size %s, %d rounds, %d workloads, GOMAXPROCS %d, load %s\n",
		cfg.size.name, cfg.rounds, len(ws), runtime.GOMAXPROCS(0), loadAverage())
	res.loadBefore = loadAverage()
	start := time.Now()
	for r := range cfg.rounds {
		for _, w := range ws {
			for k := range w.sides {
				s := w.sides[(k+r)%len(w.sides)]
				if err := ctx.Err(); err != nil {
					return res.interrupted(r, start, err)
				}
				m, err := measure(ctx, cfg, w, s)
				if err != nil && ctx.Err() != nil {
					return res.interrupted(r, start, ctx.Err())
				}
				if err != nil {
					return nil, fmt.Errorf("%s on %s: %w", w.name, s.name, err)
				}
				res.add(w, s.name, r, m)
				fmt.Fprintf(progress, "round %d/%d  %-46s %-13s %s\n", r+1, cfg.rounds, w.name, s.name, m)
			}
		}
	}
	res.rounds = cfg.rounds
	res.elapsed = time.Since(start)
	res.loadAfter = loadAverage()
	return res, nil
}

// interrupted returns the results of the rounds before round r when at
// least one is complete (an interrupt then still prints their table), and
// err otherwise.
func (r *results) interrupted(round int, start time.Time, err error) (*results, error) {
	if round == 0 {
		return nil, err
	}
	for i := range r.samples {
		for name, ms := range r.samples[i] {
			r.samples[i][name] = ms[:min(len(ms), round)]
		}
	}
	r.rounds, r.elapsed, r.loadAfter = round, time.Since(start), loadAverage()
	return r, nil
}

// measure runs one side of one workload once: its setup, then the timed
// operations (within the budget), then its check.
func measure(ctx context.Context, cfg config, w workload, s side) (measurement, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t, err := s.setup(ctx)
	if err != nil {
		return measurement{}, fmt.Errorf("setup: %w", err)
	}
	defer t.close()
	procs := runtime.GOMAXPROCS(0)
	if w.procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(w.procs))
		procs = w.procs
	}
	runtime.GC() // start every side with the same garbage: none
	deadline := time.Now().Add(cfg.budget)
	start := time.Now()
	done, err := t.run(ctx, deadline)
	elapsed := time.Since(start)
	if err != nil {
		return measurement{}, err
	}
	if done <= 0 {
		return measurement{}, fmt.Errorf("no operation done within the %v budget", cfg.budget)
	}
	if t.check != nil {
		if err := t.check(ctx, done); err != nil {
			return measurement{}, fmt.Errorf("check after %d operations: %w", done, err)
		}
	}
	partial := done < t.want
	return measurement{perOp: elapsed / time.Duration(done), ops: done, want: t.want, partial: partial, bound: partial && s.grows, procs: procs}, nil
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
