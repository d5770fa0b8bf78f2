package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/electionledger/ledger/events"
)

// Exit statuses.
const (
	exitOK       = 0 // everything verified
	exitFindings = 1 // something did not verify: each finding printed
	exitCannot   = 2 // the store could not be opened or reached, or a usage error
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env is what a command runs with: its output, its error output (progress
// and problems) and the process environment.
type env struct {
	out, err io.Writer
	getenv   func(string) string
	every    time.Duration // between progress reports (a second)
}

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *env, args []string) int
}

func commands() []command {
	return []command{
		{"verify", "-store S [-key-file F] [-checkpoint F -pubkey F]", "verify a ledger: hash chains, stream bindings, the Merkle tree, the store's own indexes, ledger rules, and consistency with a saved checkpoint", cmdVerify},
		{"checkpoint", "-store S -sign-key F [-o F] [-record]", "sign the ledger's current tree head as a checkpoint", cmdCheckpoint},
		{"keygen", "-origin NAME -o F", "make a checkpoint signing key (F, secret) and print its public key (also in F.pub)", cmdKeygen},
		{"receipt", "-store S -confirmation HEX [-checkpoint F -pubkey F] [-o F] | -check F -pubkey F", "find an election by its confirmation number and prove it is in the log; or check such a proof offline", cmdReceipt},
		{"status", "-store S -participant TIN[|NPI] -year MIPS-2024 [-asof YYYY-MM-DD|RFC3339] [-key-file F]", "a participant's status as of an instant (a date: the end of that day, UTC)", cmdStatus},
		{"export", "-store S -year MIPS-2024 [-format qpp|csv] [-o F [-entities F]] [-key-file F]", "export a program year's decisions: QPP decision records (JSON, the library's export) and their Qpp-Opt-In-Entities header value, from a ledger that verifies; or every participant's status as CSV (TINs masked)", cmdExport},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `ledger is the electionledger auditor's tool.

Usage:
  ledger <command> [flags]
  ledger <command> -h     the command's flags

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n  %-10s   %s\n", c.name, c.args, "", c.summary)
	}
	fmt.Fprint(w, `
The store (-store) is a ledger file (opened read-only), "memory", an
EventStoreDB/KurrentDB connection string (esdb://, kurrentdb://), or a
PostgreSQL URL (postgres://, postgresql://; its ledger_schema parameter names
the ledger's schema, default electionledger). The ledger key, which names every
stream and binds each event to its stream, comes from -key-file or the
ELECTIONLEDGER_KEY environment variable; nothing is built in. A checkpoint
signing key comes from -sign-key or ELECTIONLEDGER_SIGNING_KEY.

Exit status: 0 when everything verifies, 1 when something does not (each
finding is printed), 2 when the store cannot be opened or reached, or the
command line is wrong. Progress of long runs goes to standard error.
`)
}

// storeHelp is the -store flag's help; how is how a file is opened.
func storeHelp(how string) string {
	return "the ledger: a file (" + how + "), memory, an EventStoreDB/KurrentDB connection string (esdb://, kurrentdb://), " +
		"or a PostgreSQL URL (postgres://user@host/db?ledger_schema=S; default schema electionledger)"
}

// run runs the tool and returns its exit status.
func run(ctx context.Context, args []string, out, errOut io.Writer, getenv func(string) string) int {
	return runEnv(ctx, args, &env{out: out, err: errOut, getenv: getenv, every: time.Second})
}

func runEnv(ctx context.Context, args []string, e *env) int {
	out, errOut := e.out, e.err
	if len(args) == 0 {
		usage(errOut)
		return exitCannot
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(out)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(errOut, "ledger: unknown command %s\n\n", events.DescribeInput(args[0]))
	usage(errOut)
	return exitCannot
}

// flags is a command's flag set, parsed so that -h prints the command's
// usage on standard output and exits 0, and anything it does not know (a
// flag, or any argument left over) is refused.
type flags struct {
	*flag.FlagSet
	e        *env
	name     string
	synopsis string
}

func newFlags(e *env, name string) *flags {
	fs := flag.NewFlagSet("ledger "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	syn := ""
	for _, c := range commands() {
		if c.name == name {
			syn = c.args + "\n\n" + c.summary
		}
	}
	return &flags{FlagSet: fs, e: e, name: name, synopsis: syn}
}

func (f *flags) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: ledger %s %s\n\nFlags:\n", f.name, f.synopsis)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// parse parses args; when it returns false, the command exits with code.
func (f *flags) parse(args []string) (code int, ok bool) {
	err := f.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.usage(f.e.out)
		return exitOK, false
	case err != nil: // the flag package quotes what it refuses: withhold digits that may be a TIN
		fmt.Fprintf(f.e.err, "ledger %s: %s\n", f.name, events.RedactDigits(err.Error()))
		f.usage(f.e.err)
		return exitCannot, false
	case f.NArg() > 0:
		fmt.Fprintf(f.e.err, "ledger %s: unexpected argument %s (flags come as -name value)\n", f.name, events.DescribeInput(f.Arg(0)))
		f.usage(f.e.err)
		return exitCannot, false
	}
	return 0, true
}

// fail prints why a command cannot go on and returns exitCannot.
func (e *env) fail(cmd string, err error) int {
	fmt.Fprintf(e.err, "ledger %s: %v\n", cmd, err)
	return exitCannot
}

// need refuses missing required flags, given as name, value pairs.
func (f *flags) need(pairs ...string) (int, bool) {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, "-"+pairs[i])
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(f.e.err, "ledger %s: %s required\n", f.name, strings.Join(missing, ", "))
		f.usage(f.e.err)
		return exitCannot, false
	}
	return 0, true
}

// progress reports a long run's progress on standard error, at most once a
// second and not at all for a run that ends within the first second.
type progress struct {
	w     io.Writer
	what  string
	every time.Duration
	start time.Time
	last  time.Time
}

func (e *env) progress(what string) *progress {
	now := time.Now()
	return &progress{w: e.err, what: what, every: e.every, start: now, last: now}
}

// report prints done (of total, when total > 0).
func (p *progress) report(done, total int64) {
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	if total > 0 {
		fmt.Fprintf(p.w, "%s: %d of %d records (%d%%), %s\n", p.what, done, total, 100*done/total, now.Sub(p.start).Round(time.Second))
		return
	}
	fmt.Fprintf(p.w, "%s: %d records, %s\n", p.what, done, now.Sub(p.start).Round(time.Second))
}
