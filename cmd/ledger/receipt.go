package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/internal/storeflag"
	"golang.org/x/mod/sumdb/note"
)

// cmdReceipt finds an election's confirmation by its confirmation number
// and proves it is in the log: in the log's current tree, or in a signed
// checkpoint (and then writes a receipt proof anyone can check). With
// -check it checks such a proof offline instead.
func cmdReceipt(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "receipt")
	store := fs.String("store", "", storeHelp("opened read-only"))
	confirmation := fs.String("confirmation", "", "the confirmation number (the hash of the ElectionConfirmed event, 64 hex characters)")
	cpFile := fs.String("checkpoint", "", "a signed checkpoint to prove the election in (default: the log's current head, unsigned)")
	pubFile := fs.String("pubkey", "", "the log's public key file")
	outFile := fs.String("o", "", "write the receipt proof (JSON) to this file, readable by its owner only: it carries the confirmation record's bytes "+
		"(base64), the participant's full TIN among them, which checking it hashes; it is the elector's own document, like the confirmation")
	keyFile := fs.String("key-file", "", "a file holding the ledger key, to check the election's stream (default: $"+envLedgerKey+", if set)")
	check := fs.String("check", "", "check a receipt proof file offline, with -pubkey, instead of reading a ledger")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if *check != "" {
		if code, ok := fs.need("pubkey", *pubFile); !ok {
			return code
		}
		return checkReceipt(e, *check, *pubFile)
	}
	if code, ok := fs.need("store", *store, "confirmation", *confirmation); !ok {
		return code
	}
	q := receiptQuery{outFile: *outFile}
	if err := q.want.UnmarshalText([]byte(*confirmation)); err != nil {
		return e.fail("receipt", fmt.Errorf("-confirmation: %w", err))
	}
	if *cpFile != "" {
		if code, ok := fs.need("pubkey", *pubFile); !ok {
			return code
		}
		var err error
		if q.keys, q.signed, err = readSignedCheckpoint(*cpFile, *pubFile); err != nil {
			return e.fail("receipt", err)
		}
	}
	if *keyFile != "" || e.getenv(envLedgerKey) != "" {
		var err error
		if q.names, err = e.ledgerKey(*keyFile); err != nil {
			return e.fail("receipt", err)
		}
	}
	o, err := storeflag.OpenReadOnly(*store)
	if err != nil {
		return e.fail("receipt", err)
	}
	defer o.Close()
	return e.receipt(ctx, o.Store, q)
}

// receiptQuery is what receipt looks for, and what it proves it in.
type receiptQuery struct {
	want    events.Hash         // the confirmation number: the record's hash
	names   *events.StreamNamer // checks the record's binding to its stream (nil: not checked)
	signed  []byte              // the signed checkpoint to prove it in (nil: the log's current head)
	keys    []note.Verifier     // verify signed
	outFile string              // where to write the receipt proof ("": nowhere)
}

// readSignedCheckpoint reads a signed checkpoint and the public key that
// is to verify it.
func readSignedCheckpoint(cpFile, pubFile string) ([]note.Verifier, []byte, error) {
	v, err := verifier(pubFile)
	if err != nil {
		return nil, nil, err
	}
	signed, err := os.ReadFile(cpFile)
	if err != nil {
		return nil, nil, fmt.Errorf("-checkpoint: %w", err)
	}
	return []note.Verifier{v}, signed, nil
}

// receipt finds the record q asks for in s, prints what it holds and
// proves it in the log, printing each finding; it returns the exit status.
func (e *env) receipt(ctx context.Context, s events.Store, q receiptQuery) int {
	rec, index, err := findByHash(ctx, e, s, q.want)
	if err != nil {
		return e.fail("receipt", err)
	}
	if rec == nil {
		fmt.Fprintf(e.out, "FINDING no record in the ledger has the confirmation number %s\n", q.want)
		return exitFindings
	}
	found := describeConfirmation(e, rec, index, q.names)
	var more int
	if q.signed == nil {
		more, err = proveInHead(ctx, e, s, rec, index)
	} else {
		more, err = proveInCheckpoint(ctx, e, s, rec, index, q)
	}
	if err != nil {
		return e.fail("receipt", err)
	}
	if found+more > 0 {
		return exitFindings
	}
	return exitOK
}

// findByHash reads the log for the record whose hash is want, reporting
// progress. It returns the record and its log index (its place in
// ReadAll), or nil when no record has that hash.
func findByHash(ctx context.Context, e *env, s events.Store, want events.Hash) (*events.Record, int64, error) {
	p := e.progress("search")
	total := logLen(s)
	var index int64
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			return nil, 0, err
		}
		if r.Hash == want {
			return &r, index, nil
		}
		index++
		p.report(index, total)
	}
	return nil, index, nil
}

// describeConfirmation prints the record found at log index and the
// election it confirms, checking that its content matches its hash, that
// it is an election's confirmation and (with names) that it belongs to its
// stream. It returns how many findings it printed.
func describeConfirmation(e *env, rec *events.Record, index int64, names *events.StreamNamer) int {
	found := 0
	fmt.Fprintf(e.out, "record: %s@%d, position %d, log index %d, recorded %s\n", rec.Stream, rec.Revision, rec.Position, index, rec.RecordedAt.Format(time.RFC3339))
	if rec.ComputeHash() != rec.Hash {
		fmt.Fprintln(e.out, "FINDING chain: the record's content does not match its hash")
		found++
	}
	reg := events.NewRegistry()
	ev, err := reg.DecodeData(rec.Type, rec.SchemaVersion, rec.Data)
	switch c, ok := ev.(events.ElectionConfirmed); {
	case err != nil:
		fmt.Fprintf(e.out, "FINDING payload: %v\n", err)
		found++
	case !ok:
		fmt.Fprintf(e.out, "FINDING the record is a %s, not an election's confirmation\n", rec.Type)
		found++
	default:
		fmt.Fprintf(e.out, "election: %v, %v, %s (%s pathway), confirmed %s, by %s\n", c.Participant, c.ProgramYear, c.Choice, c.Pathway,
			c.ConfirmedAt.Format(time.RFC3339), rec.Metadata.Actor)
		if names != nil {
			if err := names.Bind(rec, ev); err != nil {
				fmt.Fprintf(e.out, "FINDING binding: %v\n", err)
				found++
			}
		}
	}
	return found
}

// proveInHead proves the record at log index in the log's current tree
// (unsigned) and prints the proof. It returns how many findings it
// printed.
func proveInHead(ctx context.Context, e *env, s events.Store, rec *events.Record, index int64) (int, error) {
	size, root, err := chain.Head(ctx, s)
	if err != nil {
		return 0, err
	}
	tr, err := chain.TreeOf(ctx, s, size)
	if err != nil {
		return 0, err
	}
	proof, err := chain.ProveInclusion(tr, index, size)
	if err != nil {
		return 0, err
	}
	found := 0
	if err := proof.Verify(chain.LeafHash(rec.Hash), root); err != nil {
		fmt.Fprintf(e.out, "FINDING tree: %v\n", err)
		found++
	}
	fmt.Fprintf(e.out, "in the log's current tree: size %d, root %s (unsigned: give -checkpoint and -pubkey for a receipt anyone can check)\n", size, root)
	for _, h := range proof.Hashes {
		fmt.Fprintf(e.out, "  %s\n", h)
	}
	return found, nil
}

// proveInCheckpoint proves the record at log index in q's signed
// checkpoint and writes the receipt proof to q.outFile when one is named.
// A checkpoint the record cannot be proved in is a finding (it returns 1).
func proveInCheckpoint(ctx context.Context, e *env, s events.Store, rec *events.Record, index int64, q receiptQuery) (int, error) {
	rp, err := chain.ProveReceipt(ctx, s, rec, index, q.signed, q.keys...)
	if err != nil {
		fmt.Fprintf(e.out, "FINDING checkpoint: %v\n", err)
		return 1, nil
	}
	c, _ := chain.Open(q.signed, q.keys...)
	fmt.Fprintf(e.out, "proved in checkpoint %s with %d hashes\n", c, len(rp.Proof))
	if q.outFile == "" {
		return 0, nil
	}
	b, err := chain.MarshalReceipt(rp)
	if err != nil {
		return 0, err
	}
	if err := writePrivate(q.outFile, b); err != nil {
		return 0, err
	}
	fmt.Fprintf(e.out, "receipt proof written to %s: check it anywhere with ledger receipt -check %s -pubkey <the log's public key>\n", q.outFile, q.outFile)
	fmt.Fprintln(e.out, "it holds the confirmation record, the participant's full TIN among it: the elector's own document, to keep as the confirmation is kept")
	return 0, nil
}

// checkReceipt checks a receipt proof offline.
func checkReceipt(e *env, file, pubFile string) int {
	v, err := verifier(pubFile)
	if err != nil {
		return e.fail("receipt", err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return e.fail("receipt", err)
	}
	rp, err := chain.ParseReceipt(b)
	if err != nil {
		return e.fail("receipt", err)
	}
	rec, c, err := rp.Verify(v)
	if err != nil {
		fmt.Fprintf(e.out, "FINDING %v\n", err)
		return exitFindings
	}
	line := fmt.Sprintf("verified: the record %s (confirmation number %s) is at log index %d of %s", rec.Type, rec.Hash, rp.Index, c)
	if ev, err := events.NewRegistry().DecodeData(rec.Type, rec.SchemaVersion, rec.Data); err == nil {
		if conf, ok := ev.(events.ElectionConfirmed); ok {
			line += fmt.Sprintf(": %v, %v, %s (%s pathway), confirmed %s", conf.Participant, conf.ProgramYear, conf.Choice, conf.Pathway, conf.ConfirmedAt.Format(time.RFC3339))
		}
	}
	fmt.Fprintln(e.out, line)
	return exitOK
}
