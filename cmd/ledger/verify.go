package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/electionledger/ledger/projection"
	"golang.org/x/mod/sumdb/note"
)

// isFile reports whether a -store value names a ledger file.
func isFile(spec string) bool {
	return spec != "" && spec != "memory" && !strings.Contains(spec, "://")
}

// findings prints findings, one a line, and counts them.
type findings struct {
	w     *env
	n     int
	seen  map[string]bool // stream@revision already reported
	kinds map[chain.Kind]int
}

func (f *findings) add(fd *chain.Finding) {
	f.n++
	f.kinds[fd.Kind]++
	if fd.Stream != "" {
		f.seen[fmt.Sprintf("%s@%d", fd.Stream, fd.Revision)] = true
	}
	fmt.Fprintln(f.w.out, "FINDING", fd.Error())
}

func cmdVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "verify")
	store := fs.String("store", "", "the ledger: a file (opened read-only), memory, or a server's connection string")
	keyFile := fs.String("key-file", "", "a file holding the ledger key (default: $"+envLedgerKey+")")
	cpFile := fs.String("checkpoint", "", "a signed checkpoint saved earlier: the ledger must still hold what it covered")
	pubFile := fs.String("pubkey", "", "the log's public key file, to verify checkpoints (given and recorded in the ledger)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.need("store", *store); !ok {
		return code
	}
	names, err := e.ledgerKey(*keyFile)
	if err != nil {
		return e.fail("verify", err)
	}
	var keys []note.Verifier
	if *pubFile != "" {
		v, err := verifier(*pubFile)
		if err != nil {
			return e.fail("verify", err)
		}
		keys = append(keys, v)
	}
	f := &findings{w: e, seen: map[string]bool{}, kinds: map[chain.Kind]int{}}
	var trusted []chain.Checkpoint
	if *cpFile != "" {
		if len(keys) == 0 {
			return e.fail("verify", fmt.Errorf("-checkpoint needs -pubkey, the key that signed it"))
		}
		signed, err := os.ReadFile(*cpFile)
		if err != nil {
			return e.fail("verify", fmt.Errorf("-checkpoint: %w", err))
		}
		c, err := chain.Open(signed, keys...)
		if err != nil {
			f.add(chain.LogFinding(chain.KindCheckpoint, err, "the checkpoint %s does not verify with the key given", *cpFile))
		} else {
			trusted = append(trusted, c)
		}
	}

	// A file is checked page by page before anything maps it: a damaged
	// file is reported, never trusted to bbolt.
	if isFile(*store) {
		fc, err := boltstore.CheckFile(ctx, *store)
		if err != nil {
			return e.fail("verify", err)
		}
		for _, d := range fc.Damage {
			f.add(&chain.Finding{Kind: chain.KindDamage, Index: -1, Problem: strings.TrimPrefix(d.Error(), "boltstore: "), Err: d})
		}
		if fc.Omitted > 0 {
			fmt.Fprintf(e.out, "FINDING damage: %d more damaged pages not listed\n", fc.Omitted)
			f.n++
		}
		if !fc.OK() {
			fmt.Fprintf(e.out, "the file's structure is damaged (%d findings); nothing in it was read\n", f.n)
			return exitFindings
		}
	}
	o, err := storeflag.OpenReadOnly(*store)
	if err != nil {
		return e.fail("verify", err)
	}
	defer o.Close()

	if b, ok := o.Store.(*boltstore.Store); ok {
		p := e.progress("audit of the file's indexes")
		total := int64(b.Len())
		audit, err := b.Audit(ctx, func(n int) { p.report(int64(n), total) })
		if err != nil {
			return e.fail("verify", err)
		}
		for _, fd := range audit.Findings {
			f.add(fd)
		}
	}
	total := logLen(o.Store)
	p := e.progress("verify")
	rep, err := chain.Verify(ctx, o.Store, chain.VerifyOptions{Names: names, Checkpoints: trusted, Keys: keys,
		Progress: func(n int64, _ time.Duration) { p.report(n, total) }})
	if err != nil {
		return e.fail("verify", err)
	}
	for _, fd := range rep.Findings {
		f.add(fd)
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(e.out, "FINDING %d more findings not listed\n", rep.Omitted)
		f.n += rep.Omitted
	}

	// The ledger's rules, as replay applies them: what verification above
	// did not already report.
	p = e.progress("replay")
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rrep, err := projection.NewRunner(o.Store, events.NewRegistry(), models.Projections(), projection.WithStreamNames(names),
		projection.WithProgressEvery(100_000), projection.WithProgress(func(pr projection.Progress) { p.report(int64(pr.Applied), total) })).Rebuild(ctx)
	if err != nil && !f.seenAny() {
		return e.fail("verify", err)
	}
	for _, v := range rrep.Violations {
		if f.seen[fmt.Sprintf("%s@%d", v.Stream, v.Revision)] {
			continue
		}
		f.add(&chain.Finding{Kind: chain.KindLedger, Stream: v.Stream, Revision: v.Revision, Position: v.Position, Index: -1, Problem: v.Problem, Err: v.Err})
	}

	fmt.Fprintf(e.out, "%d records in %d streams; tree size %d, root %s\n", rep.Records, rep.Streams, rep.Tree.Size(), rep.Root)
	for _, c := range trusted {
		fmt.Fprintf(e.out, "checkpoint %s: %s\n", c, verdict(f.kinds[chain.KindCheckpoint] == 0))
	}
	if rep.Recorded+rep.Unchecked > 0 {
		fmt.Fprintf(e.out, "checkpoints recorded in the ledger: %d verified, %d by keys not given\n", rep.Recorded, rep.Unchecked)
	}
	if f.n > 0 {
		fmt.Fprintf(e.out, "%d findings: the ledger does not verify\n", f.n)
		return exitFindings
	}
	what := "every hash chain, stream binding and ledger rule holds; the tree is the log's"
	if rep.StoredTree {
		what += " and the store's"
	}
	fmt.Fprintln(e.out, "verified: "+what)
	return exitOK
}

func (f *findings) seenAny() bool { return f.n > 0 }

func verdict(ok bool) string {
	if ok {
		return "the log holds what it covered"
	}
	return "the log no longer holds what it covered (see the findings)"
}

// logLen is the log's length when the store can tell (for progress).
func logLen(s events.Store) int64 {
	if l, ok := s.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return 0
}
