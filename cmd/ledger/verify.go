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

// cmdVerify verifies a ledger, printing every finding: a file's structure
// page by page first (nothing in a damaged file is read), then its own
// indexes, the log (chains, bindings, the tree, checkpoints) and the
// ledger's rules as replay applies them.
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
	trusted, err := f.trustedCheckpoint(*cpFile, keys)
	if err != nil {
		return e.fail("verify", err)
	}
	// A file is checked page by page before anything maps it: a damaged
	// file is reported, never trusted to bbolt.
	if isFile(*store) {
		sound, err := f.checkFile(ctx, *store)
		if err != nil {
			return e.fail("verify", err)
		}
		if !sound {
			return exitFindings
		}
	}
	o, err := storeflag.OpenReadOnly(*store)
	if err != nil {
		return e.fail("verify", err)
	}
	defer o.Close()
	if err := f.auditIndexes(ctx, o.Store); err != nil {
		return e.fail("verify", err)
	}
	rep, err := f.verifyLog(ctx, o.Store, chain.VerifyOptions{Names: names, Checkpoints: trusted, Keys: keys})
	if err != nil {
		return e.fail("verify", err)
	}
	if err := f.replayRules(ctx, o.Store, names); err != nil {
		return e.fail("verify", err)
	}
	return f.summary(rep, trusted)
}

// trustedCheckpoint opens the signed checkpoint saved in cpFile ("": none)
// with keys. One that does not verify is a finding, and is not trusted.
func (f *findings) trustedCheckpoint(cpFile string, keys []note.Verifier) ([]chain.Checkpoint, error) {
	if cpFile == "" {
		return nil, nil
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("-checkpoint needs -pubkey, the key that signed it")
	}
	signed, err := os.ReadFile(cpFile)
	if err != nil {
		return nil, fmt.Errorf("-checkpoint: %w", err)
	}
	c, err := chain.Open(signed, keys...)
	if err != nil {
		f.add(chain.LogFinding(chain.KindCheckpoint, err, "the checkpoint %s does not verify with the key given", cpFile))
		return nil, nil
	}
	return []chain.Checkpoint{c}, nil
}

// checkFile checks a ledger file's structure page by page
// (boltstore.CheckFile), each damaged page a finding. It reports whether
// the structure is sound: when it is not, nothing in the file may be read.
func (f *findings) checkFile(ctx context.Context, path string) (bool, error) {
	fc, err := boltstore.CheckFile(ctx, path)
	if err != nil {
		return false, err
	}
	for _, d := range fc.Damage {
		f.add(&chain.Finding{Kind: chain.KindDamage, Index: -1, Problem: strings.TrimPrefix(d.Error(), "boltstore: "), Err: d})
	}
	if fc.Omitted > 0 {
		fmt.Fprintf(f.w.out, "FINDING damage: %d more damaged pages not listed\n", fc.Omitted)
		f.n++
	}
	if !fc.OK() {
		fmt.Fprintf(f.w.out, "the file's structure is damaged (%d findings); nothing in it was read\n", f.n)
		return false, nil
	}
	return true, nil
}

// auditIndexes audits a ledger file's own indexes against its log
// (boltstore.Store.Audit), each disagreement a finding; other stores keep
// no such indexes.
func (f *findings) auditIndexes(ctx context.Context, s events.Store) error {
	b, ok := s.(*boltstore.Store)
	if !ok {
		return nil
	}
	p := f.w.progress("audit of the file's indexes")
	total := int64(b.Len())
	audit, err := b.Audit(ctx, func(n int) { p.report(int64(n), total) })
	if err != nil {
		return err
	}
	for _, fd := range audit.Findings {
		f.add(fd)
	}
	return nil
}

// verifyLog verifies the log with chain.Verify and opts, reporting
// progress; each finding is added, and the count of those chain.Verify
// left out.
func (f *findings) verifyLog(ctx context.Context, s events.Store, opts chain.VerifyOptions) (*chain.Report, error) {
	total := logLen(s)
	p := f.w.progress("verify")
	opts.Progress = func(n int64, _ time.Duration) { p.report(n, total) }
	rep, err := chain.Verify(ctx, s, opts)
	if err != nil {
		return nil, err
	}
	for _, fd := range rep.Findings {
		f.add(fd)
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(f.w.out, "FINDING %d more findings not listed\n", rep.Omitted)
		f.n += rep.Omitted
	}
	return rep, nil
}

// replayRules replays the log into the read models, which apply the
// ledger's rules, and adds each violation verification did not already
// report. A replay that cannot finish is an error only when nothing was
// found before it (otherwise the findings say why).
func (f *findings) replayRules(ctx context.Context, s events.Store, names *events.StreamNamer) error {
	total := logLen(s)
	p := f.w.progress("replay")
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rrep, err := projection.NewRunner(s, events.NewRegistry(), models.Projections(), projection.WithStreamNames(names),
		projection.WithProgressEvery(100_000), projection.WithProgress(func(pr projection.Progress) { p.report(int64(pr.Applied), total) })).Rebuild(ctx)
	if err != nil && !f.seenAny() {
		return err
	}
	for _, v := range rrep.Violations {
		if f.seen[fmt.Sprintf("%s@%d", v.Stream, v.Revision)] {
			continue
		}
		f.add(&chain.Finding{Kind: chain.KindLedger, Stream: v.Stream, Revision: v.Revision, Position: v.Position, Index: -1, Problem: v.Problem, Err: v.Err})
	}
	return nil
}

// summary prints what was verified and the verdict, and returns the exit
// status.
func (f *findings) summary(rep *chain.Report, trusted []chain.Checkpoint) int {
	out := f.w.out
	fmt.Fprintf(out, "%d records in %d streams; tree size %d, root %s\n", rep.Records, rep.Streams, rep.Tree.Size(), rep.Root)
	for _, c := range trusted {
		fmt.Fprintf(out, "checkpoint %s: %s\n", c, verdict(f.kinds[chain.KindCheckpoint] == 0))
	}
	if rep.Recorded+rep.Unchecked > 0 {
		fmt.Fprintf(out, "checkpoints recorded in the ledger: %d verified, %d by keys not given\n", rep.Recorded, rep.Unchecked)
	}
	if f.n > 0 {
		fmt.Fprintf(out, "%d findings: the ledger does not verify\n", f.n)
		return exitFindings
	}
	what := "every hash chain, stream binding and ledger rule holds; the tree is the log's"
	if rep.StoredTree {
		what += " and the store's"
	}
	fmt.Fprintln(out, "verified: "+what)
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
