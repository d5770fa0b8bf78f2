package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
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
	// cut is the error that stopped reading the log before its end: a
	// server's finding (a stream another client deleted, or an event it
	// wrote), past which the store's ReadAll does not go; nil when the
	// whole log was read.
	cut error
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
	store := fs.String("store", "", storeHelp("opened read-only"))
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
	if err := f.auditServer(ctx, o.Store); err != nil {
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
	if err != nil && !serverFinding(s, err) {
		return nil, err
	}
	if err != nil { // auditServer reports it, with everything after it
		f.cut = err
		rep.Root, _ = rep.Tree.Root(rep.Tree.Size())
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

// serverFinding reports whether err, which ended a read of s's log, is
// one of the findings an EventStoreDB store reads as errors (a ledger
// stream tombstoned, soft-deleted or truncated by another client, or an
// event in it the ledger did not write): its Verify reads past them.
func serverFinding(s events.Store, err error) bool {
	var ce *events.ChainError
	_, server := s.(*esdbstore.Store)
	return server && errors.As(err, &ce)
}

// auditServer walks an EventStoreDB ledger's whole log with the store's
// own verification (esdbstore.Store.Verify), which reports everything the
// server let other clients do to the ledger's streams and reads on past
// each; every finding not already reported is added. Other stores have
// nothing of the kind. A read that fails is the error.
func (f *findings) auditServer(ctx context.Context, s events.Store) error {
	es, ok := s.(*esdbstore.Store)
	if !ok {
		return nil
	}
	_, err := es.Verify(ctx)
	if err == nil {
		return nil
	}
	if !serverFinding(s, err) {
		return err // the read failed
	}
	all := []error{err}
	if _, one := err.(*events.ChainError); !one {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			all = j.Unwrap() // the findings, joined
		}
	}
	for _, e := range all {
		var ce *events.ChainError
		if !errors.As(e, &ce) {
			fmt.Fprintln(f.w.out, "FINDING", e) // "stopped reporting after ..."
			f.n++
			continue
		}
		f.addServer(ce)
	}
	return nil
}

// addServer adds a finding of the server's verification: about a whole
// stream (deleted or truncated), or one event in it.
func (f *findings) addServer(ce *events.ChainError) {
	at := fmt.Sprintf("%s@%d", ce.Stream, ce.Revision)
	if f.seen[at] {
		return
	}
	f.seen[at] = true
	f.n++
	f.kinds[chain.KindChain]++
	if errors.Is(ce, esdbstore.ErrStreamDeleted) {
		at = ce.Stream // the revision is the server's marker, not a record's
	}
	line := fmt.Sprintf("FINDING chain: %s: %s", at, ce.Problem)
	if ce.Err != nil && !errors.Is(ce, esdbstore.ErrStreamDeleted) {
		line += ": " + ce.Err.Error()
	}
	fmt.Fprintln(f.w.out, line)
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
	if f.cut != nil {
		fmt.Fprintf(out, "the store reads the log no further than its first server finding: the tree, stream bindings and ledger rules were checked over the first %d records only\n", rep.Records)
	}
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
