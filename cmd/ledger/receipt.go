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

func cmdReceipt(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "receipt")
	store := fs.String("store", "", "the ledger: a file (opened read-only), memory, or a server's connection string")
	confirmation := fs.String("confirmation", "", "the confirmation number (the hash of the ElectionConfirmed event, 64 hex characters)")
	cpFile := fs.String("checkpoint", "", "a signed checkpoint to prove the election in (default: the log's current head, unsigned)")
	pubFile := fs.String("pubkey", "", "the log's public key file")
	outFile := fs.String("o", "", "write the receipt proof (JSON) to this file")
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
	var want events.Hash
	if err := want.UnmarshalText([]byte(*confirmation)); err != nil {
		return e.fail("receipt", fmt.Errorf("-confirmation: %w", err))
	}
	var keys []note.Verifier
	var signed []byte
	if *cpFile != "" {
		if code, ok := fs.need("pubkey", *pubFile); !ok {
			return code
		}
		v, err := verifier(*pubFile)
		if err != nil {
			return e.fail("receipt", err)
		}
		keys = append(keys, v)
		if signed, err = os.ReadFile(*cpFile); err != nil {
			return e.fail("receipt", fmt.Errorf("-checkpoint: %w", err))
		}
	}
	var names *events.StreamNamer
	if *keyFile != "" || e.getenv(envLedgerKey) != "" {
		var err error
		if names, err = e.ledgerKey(*keyFile); err != nil {
			return e.fail("receipt", err)
		}
	}
	o, err := storeflag.OpenReadOnly(*store)
	if err != nil {
		return e.fail("receipt", err)
	}
	defer o.Close()

	// The record, and its log index: its place in ReadAll.
	p := e.progress("search")
	total := logLen(o.Store)
	var rec *events.Record
	var index int64
	for r, err := range o.Store.ReadAll(ctx, 0) {
		if err != nil {
			return e.fail("receipt", err)
		}
		if r.Hash == want {
			rec = &r
			break
		}
		index++
		p.report(index, total)
	}
	if rec == nil {
		fmt.Fprintf(e.out, "FINDING no record in the ledger has the confirmation number %s\n", want)
		return exitFindings
	}
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

	if signed == nil {
		size, root, err := chain.Head(ctx, o.Store)
		if err != nil {
			return e.fail("receipt", err)
		}
		tr, err := chain.TreeOf(ctx, o.Store, size)
		if err != nil {
			return e.fail("receipt", err)
		}
		proof, err := chain.ProveInclusion(tr, index, size)
		if err != nil {
			return e.fail("receipt", err)
		}
		if err := proof.Verify(chain.LeafHash(rec.Hash), root); err != nil {
			fmt.Fprintf(e.out, "FINDING tree: %v\n", err)
			found++
		}
		fmt.Fprintf(e.out, "in the log's current tree: size %d, root %s (unsigned: give -checkpoint and -pubkey for a receipt anyone can check)\n", size, root)
		for _, h := range proof.Hashes {
			fmt.Fprintf(e.out, "  %s\n", h)
		}
	} else {
		rp, err := chain.ProveReceipt(ctx, o.Store, rec, index, signed, keys...)
		if err != nil {
			fmt.Fprintf(e.out, "FINDING checkpoint: %v\n", err)
			return exitFindings
		}
		c, _ := chain.Open(signed, keys...)
		fmt.Fprintf(e.out, "proved in checkpoint %s with %d hashes\n", c, len(rp.Proof))
		if *outFile != "" {
			b, err := chain.MarshalReceipt(rp)
			if err != nil {
				return e.fail("receipt", err)
			}
			if err := os.WriteFile(*outFile, b, 0o644); err != nil {
				return e.fail("receipt", err)
			}
			fmt.Fprintf(e.out, "receipt proof written to %s: check it anywhere with ledger receipt -check %s -pubkey <the log's public key>\n", *outFile, *outFile)
		}
	}
	if found > 0 {
		return exitFindings
	}
	return exitOK
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
