package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/electionledger/ledger/internal/storeflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); {
	case errors.Is(err, flag.ErrHelp):
		// -h printed the usage: asking for help is not a failure.
	case err != nil:
		fmt.Fprintln(os.Stderr, "season:", err)
		os.Exit(1)
	}
}

// config is the simulation's size and choices.
type config struct {
	clinicians int
	groups     int
	seed       uint64
	year       int
	store      string
	workers    int
	quiet      bool
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("season", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clinicians, "clinicians", 20_000, "number of clinicians (TIN/NPIs)")
	fs.IntVar(&c.groups, "groups", 0, "number of practices (TINs); default clinicians/5")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed: the same seed gives the same summary")
	fs.IntVar(&c.year, "year", 2024, "MIPS performance year to simulate (2019-2026)")
	fs.StringVar(&c.store, "store", "", storeflag.Usage+"; default: a temporary file")
	fs.IntVar(&c.workers, "workers", 64, "concurrent commands (appends share fsyncs on the file store)")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.groups == 0 {
		c.groups = max(c.clinicians/5, 1)
	}
	switch {
	case c.clinicians < 10:
		return c, fmt.Errorf("-clinicians %d: simulate at least 10", c.clinicians)
	case c.groups < 1 || c.groups > c.clinicians:
		return c, fmt.Errorf("-groups %d: want 1 to the number of clinicians (%d)", c.groups, c.clinicians)
	case c.year < 2019 || c.year > 2026:
		return c, fmt.Errorf("-year %d: opt-in exists from PY2019 to PY2026 in the default table", c.year)
	case c.workers < 1:
		return c, fmt.Errorf("-workers %d: want at least 1", c.workers)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parse(args, stderr)
	if err != nil {
		return err
	}
	s, err := newSim(cfg, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.simulate(ctx); err != nil {
		return err
	}
	return s.report(ctx, stdout)
}
