package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/internal/storeflag"
)

func cmdCheckpoint(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "checkpoint")
	store := fs.String("store", "", storeHelp("opened read-only, unless -record"))
	signKey := fs.String("sign-key", "", "the signing key file (default: $"+envSigningKey+"); its name is the log's origin")
	outFile := fs.String("o", "", "also write the signed checkpoint to this file")
	record := fs.Bool("record", false, "also record the checkpoint in the ledger (opens a file for writing)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.need("store", *store); !ok {
		return code
	}
	signer, err := e.signer(*signKey)
	if err != nil {
		return e.fail("checkpoint", err)
	}
	open := storeflag.OpenReadOnly
	if *record {
		open = func(spec string) (*storeflag.Opened, error) { return storeflag.Open(spec, time.Now, false) }
	}
	o, err := open(*store)
	if err != nil {
		return e.fail("checkpoint", err)
	}
	defer o.Close()
	c, err := chain.Summarize(ctx, o.Store)
	if err != nil {
		return e.fail("checkpoint", err)
	}
	c.Origin = signer.Name()
	signed, err := chain.Sign(c, signer)
	if err != nil {
		return e.fail("checkpoint", err)
	}
	if *outFile != "" {
		if err := os.WriteFile(*outFile, signed, 0o644); err != nil {
			return e.fail("checkpoint", err)
		}
	}
	if *record {
		if _, err := chain.RecordCheckpoint(ctx, o.Store, signed); err != nil {
			return e.fail("checkpoint", fmt.Errorf("record it in the ledger: %w", err))
		}
	}
	e.out.Write(signed)
	return exitOK
}

func cmdKeygen(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "keygen")
	origin := fs.String("origin", "", "the log's name, e.g. example.org/ledger (the first line of its checkpoints)")
	outFile := fs.String("o", "", "the file to write the private key to (created, readable by its owner only; never overwritten)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.need("origin", *origin, "o", *outFile); !ok {
		return code
	}
	private, public, err := chain.GenerateKey(*origin)
	if err != nil {
		return e.fail("keygen", err)
	}
	f, err := os.OpenFile(*outFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return e.fail("keygen", fmt.Errorf("%s exists: a signing key is never overwritten; name another file", *outFile))
	}
	if err != nil {
		return e.fail("keygen", err)
	}
	if _, err := fmt.Fprintln(f, private); err != nil {
		f.Close()
		return e.fail("keygen", err)
	}
	if err := f.Close(); err != nil {
		return e.fail("keygen", err)
	}
	if err := os.WriteFile(*outFile+".pub", []byte(public+"\n"), 0o644); err != nil {
		return e.fail("keygen", err)
	}
	fmt.Fprintln(e.out, public)
	return exitOK
}
