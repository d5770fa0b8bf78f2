package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
)

// exportQuery is what export writes, and where.
type exportQuery struct {
	py       events.ProgramYear
	format   string // "qpp" or "csv"
	outFile  string // "": standard output
	entities string // the QPP header value's file ("": beside outFile, or none)
}

func cmdExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "export")
	store := fs.String("store", "", storeHelp("opened read-only"))
	keyFile := fs.String("key-file", "", "a file holding the ledger key (default: $"+envLedgerKey+")")
	year := fs.String("year", "", "the program year, e.g. MIPS-2024")
	format := fs.String("format", "qpp", "qpp: the year's QPP opt-in decision records (JSON; full TINs, for QPP only); csv: every participant's status (TINs masked)")
	outFile := fs.String("o", "", "write the export to this file (default: standard output)")
	entities := fs.String("entities", "", "qpp: write the Qpp-Opt-In-Entities header value (full TINs) to this file (default: the -o file's name + .entities)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.need("store", *store, "year", *year); !ok {
		return code
	}
	q := exportQuery{format: *format, outFile: *outFile, entities: *entities}
	if q.format != "qpp" && q.format != "csv" {
		return e.fail("export", fmt.Errorf("-format %s: want qpp or csv", events.DescribeInput(q.format)))
	}
	var err error
	if q.py, err = events.ParseProgramYear(*year); err != nil {
		return e.fail("export", fmt.Errorf("-year: %w", err))
	}
	if q.format == "qpp" && q.py.Program != events.MIPS {
		return e.fail("export", fmt.Errorf("-year %v: QPP decision records are for MIPS years only (use -format csv for other programs)", q.py))
	}
	if q.entities == "" && q.outFile != "" {
		q.entities = q.outFile + ".entities"
	}
	names, err := e.ledgerKey(*keyFile)
	if err != nil {
		return e.fail("export", err)
	}
	o, err := storeflag.OpenReadOnly(*store)
	if err != nil {
		return e.fail("export", err)
	}
	defer o.Close()
	models, rep, code := replay(ctx, e, "export", o.Store, names, time.Time{})
	if models == nil {
		return code
	}
	if q.format == "csv" {
		var b bytes.Buffer
		if err := exportCSV(&b, models, q.py, names); err != nil {
			return e.fail("export", err)
		}
		if err := e.write(q.outFile, b.Bytes()); err != nil {
			return e.fail("export", err)
		}
		return findingsCode(rep)
	}
	return e.exportQPP(ctx, o.Store, rep, q)
}

// exportQPP writes the year's QPP decision records with the library's
// export (eligibility.LedgerDecisions, WriteDecisions, DecisionEntities:
// what ExportDecisions does, for one year) over the log the replay
// verified, and the Qpp-Opt-In-Entities header value for the same
// entities. A ledger with findings is not exported: decision records go
// to CMS only from a ledger that verifies.
func (e *env) exportQPP(ctx context.Context, s events.Store, rep projection.Report, q exportQuery) int {
	if len(rep.Violations) > 0 {
		fmt.Fprintf(e.out, "the QPP export was not written: the ledger has %d findings\n", len(rep.Violations))
		return exitFindings
	}
	all, err := eligibility.LedgerDecisions(ctx, logPrefix{Store: s, n: rep.Size}, events.NewRegistry())
	if err != nil {
		return e.fail("export", err)
	}
	var ds []eligibility.Decision
	for _, d := range all {
		if d.ProgramYear == q.py {
			ds = append(ds, d)
		}
	}
	var doc bytes.Buffer
	if err := eligibility.WriteDecisions(&doc, ds); err != nil {
		return e.fail("export", err)
	}
	if err := e.write(q.outFile, doc.Bytes()); err != nil {
		return e.fail("export", err)
	}
	where, note := "standard output", e.err
	if q.outFile != "" {
		where, note = q.outFile, e.out
	}
	fmt.Fprintf(note, "%d QPP decision records for %v written to %s", len(ds), q.py, where)
	if q.entities == "" {
		fmt.Fprintln(note, "; the Qpp-Opt-In-Entities header value was not written (give -entities F)")
		return exitOK
	}
	if err := e.write(q.entities, []byte(eligibility.DecisionEntities(ds)+"\n")); err != nil {
		return e.fail("export", err)
	}
	fmt.Fprintf(note, ", their Qpp-Opt-In-Entities header value to %s (both hold full TINs: send them to CMS, never log them)\n", q.entities)
	return exitOK
}

// write writes b to the file named (writePrivate: an export may hold full
// TINs), or to standard output when file is "".
func (e *env) write(file string, b []byte) error {
	if file == "" {
		_, err := e.out.Write(b)
		return err
	}
	return writePrivate(file, b)
}

// writePrivate writes b to file, readable by its owner only, an existing
// file included (its mode is set too): what it holds names participants in
// full.
func writePrivate(file string, b []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// logPrefix is a store whose log reads only as far as its first n records:
// those a replay verified, so that an export writes nothing appended
// since, which no rule has checked.
type logPrefix struct {
	events.Store
	n int64
}

// ReadAll implements events.Store, from the log's start only.
func (p logPrefix) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		if from != 0 {
			yield(events.Record{}, fmt.Errorf("ledger: the verified log is read from its start, not position %d", from))
			return
		}
		var read int64
		for r, err := range p.Store.ReadAll(ctx, 0) {
			if err == nil && read >= p.n {
				return
			}
			read++
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// exportCSV writes every participant's status, TINs masked.
func exportCSV(w io.Writer, m *projection.Models, py events.ProgramYear, names *events.StreamNamer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"kind", "tin", "npi", "id", "participant_key", "program", "year", "status", "choice", "pathway", "elected_at", "elected_by"})
	for v := range m.Status.All(py) {
		p := v.Participant
		at := ""
		if !v.ElectedAt.IsZero() {
			at = v.ElectedAt.UTC().Format(time.RFC3339)
		}
		choice, pathway := "", ""
		if v.Choice != 0 {
			choice = v.Choice.String()
		}
		if v.Pathway != 0 {
			pathway = v.Pathway.String()
		}
		_ = cw.Write([]string{p.Kind.String(), p.TIN.String(), p.NPI.String(), p.ID, names.ParticipantKey(p), string(py.Program),
			strconv.Itoa(py.Year), v.Kind.String(), choice, pathway, at, v.ElectedBy})
	}
	cw.Flush()
	return cw.Error()
}
