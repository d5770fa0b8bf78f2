package chain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyOptions says what Verify checks a log against.
type VerifyOptions struct {
	// Names binds each ledger record's payload to its stream (see
	// events.StreamNamer.Bind). Without it Verify checks only what needs no
	// key: the category, program and year in the stream's name.
	Names *events.StreamNamer
	// Registry decodes payloads for the binding check (default
	// events.NewRegistry()). Payloads are always decoded from the stored
	// bytes, never taken from a value a store kept beside them.
	Registry *events.Registry
	// Checkpoints are checkpoints the caller trusts (opened with Open, so
	// their signatures verified): the log must still hold, as its first
	// Size records, exactly the records each one's root covers.
	Checkpoints []Checkpoint
	// Keys verify the checkpoints recorded in the ledger itself (see
	// RecordCheckpoint); each one that verifies must match the log before
	// it. Without keys recorded checkpoints are counted, not checked.
	Keys []note.Verifier
	// Progress, when set, is called about every 100,000 records.
	Progress func(records int64, elapsed time.Duration)
	// MaxFindings bounds the findings kept (default 10,000); the report
	// says when more were left out.
	MaxFindings int
}

// Report is what Verify found.
type Report struct {
	Records int64 // records read
	Streams int   // streams seen
	Root    Hash  // the root of the tree over the records read
	// Tree is the whole tree over the records read, for proofs.
	Tree *Tree
	// StoredTree says the store keeps a tree and it was compared, hash by
	// hash, with the one computed from the log.
	StoredTree bool
	// Checkpoints is how many trusted checkpoints were checked; Recorded
	// how many checkpoints recorded in the ledger verified and were
	// checked, Unchecked how many were recorded by keys not given.
	Checkpoints, Recorded, Unchecked int
	Findings                         []*Finding
	// Omitted counts findings beyond MaxFindings.
	Omitted int
}

// OK reports whether verification found nothing wrong.
func (r *Report) OK() bool { return len(r.Findings) == 0 && r.Omitted == 0 }

func (r *Report) add(max int, f *Finding) {
	if len(r.Findings) < max {
		r.Findings = append(r.Findings, f)
		return
	}
	r.Omitted++
}

// DamagedRecord is implemented by a store's read error for a stored record
// it cannot decode: the position to resume reading after it.
type DamagedRecord interface {
	error
	DamagedPosition() events.Position
}

// Verify reads a store's whole log and checks everything a log must hold
// to, reporting every finding rather than stopping at the first:
//   - every stream's hash chain, and that nothing follows a sealing record;
//   - every ledger record's binding to its stream (see VerifyOptions.Names);
//   - the Merkle tree over the log: against the store's stored tree, hash
//     by hash, when it keeps one; against each trusted checkpoint; and
//     against each checkpoint recorded in the ledger whose key is given.
//
// A record the store cannot decode is a finding, and reading resumes after
// it when the store says where (DamagedRecord). The error is for a log that
// cannot be read at all, or ctx ending.
func Verify(ctx context.Context, s events.Store, opts VerifyOptions) (*Report, error) {
	v := newVerifier(opts)
	err := v.readLog(ctx, s)
	v.rep.Streams = v.chains.Streams()
	if err != nil {
		return v.rep, err
	}
	v.rep.Root, _ = v.rep.Tree.Root(v.rep.Tree.Size())
	v.checkTrusted()
	if ts, ok := s.(TreeStore); ok {
		if err := v.compareStoredTree(ctx, ts); err != nil {
			return v.rep, err
		}
	}
	if opts.Progress != nil {
		opts.Progress(v.rep.Records, time.Since(v.start))
	}
	return v.rep, nil
}

// verifier is one run of Verify: its options, with the defaults filled
// in, and what it has computed and found so far.
type verifier struct {
	opts   VerifyOptions
	max    int // findings kept
	reg    *events.Registry
	start  time.Time
	rep    *Report
	chains *StreamVerifier
	// dig digests the hashes of the records read so far; digests keeps
	// its sum at the size of each trusted checkpoint that carries one.
	dig     Digester
	digests map[int64]Hash
}

// newVerifier starts a run of Verify with opts: no findings kept past
// MaxFindings (10,000 when unset), payloads decoded by Registry (the
// default registry when unset).
func newVerifier(opts VerifyOptions) *verifier {
	v := &verifier{opts: opts, max: opts.MaxFindings, reg: opts.Registry, start: time.Now(),
		rep: &Report{Tree: &Tree{}}, chains: NewStreamVerifier(0), digests: map[int64]Hash{}}
	if v.max <= 0 {
		v.max = 10_000
	}
	if v.reg == nil {
		v.reg = events.NewRegistry()
	}
	for _, c := range opts.Checkpoints {
		if c.HasDigest && c.Size == 0 {
			v.digests[0] = v.dig.Sum()
		}
	}
	return v
}

// readLog reads the whole log, checking each record (check). A record the
// store cannot decode is a finding, and reading resumes after it when the
// store says where (DamagedRecord); any other read error ends the run.
func (v *verifier) readLog(ctx context.Context, s events.Store) error {
	var from events.Position
	for more := true; more; {
		var err error
		if from, more, err = v.readFrom(ctx, s, from); err != nil {
			return err
		}
	}
	return nil
}

// readFrom reads the log from position from until it ends or a record
// cannot be decoded. It returns the position to resume at, and more set
// when reading stopped at a damaged record (reported) it can resume after.
func (v *verifier) readFrom(ctx context.Context, s events.Store, from events.Position) (events.Position, bool, error) {
	for rec, err := range s.ReadAll(ctx, from) {
		if err != nil {
			var d DamagedRecord
			if errors.As(err, &d) && d.DamagedPosition() >= from {
				v.rep.add(v.max, FromError(err, -1))
				return d.DamagedPosition() + 1, true, nil
			}
			return from, false, err
		}
		from = rec.Position + 1
		v.check(&rec)
	}
	return from, false, nil
}

// check checks the next record of the log (its hash chain, and its
// binding to its stream or, for a recorded checkpoint, the checkpoint),
// adds it to the tree and the digest, and reports progress.
func (v *verifier) check(rec *events.Record) {
	rep := v.rep
	index := rep.Records
	if err := v.chains.Check(rec); err != nil {
		rep.add(v.max, RecordFinding(KindChain, rec, index, "hash chain", err))
	}
	if rec.Type == CheckpointType {
		verifyRecorded(rep, v.max, rec, index, v.opts.Keys)
	} else if f := bindingOf(v.reg, v.opts.Names, rec, index); f != nil {
		rep.add(v.max, f)
	}
	rep.Tree.Append(LeafHash(rec.Hash))
	rep.Records++
	v.dig.Add(rec.Hash)
	for _, c := range v.opts.Checkpoints {
		if c.HasDigest && c.Size == rep.Records {
			v.digests[c.Size] = v.dig.Sum()
		}
	}
	if v.opts.Progress != nil && rep.Records%100_000 == 0 {
		v.opts.Progress(rep.Records, time.Since(v.start))
	}
}

// checkTrusted checks the tree over the whole log against each trusted
// checkpoint: its root, and the digest of the records it covered when it
// carries one.
func (v *verifier) checkTrusted() {
	for _, c := range v.opts.Checkpoints {
		v.rep.Checkpoints++
		f := CheckAgainst(v.rep.Tree, c)
		if d, ok := v.digests[c.Size]; f == nil && c.HasDigest && ok && d != c.Digest {
			f = LogFinding(KindCheckpoint, ErrInconsistent, "the hashes of the log's first %d records are not those checkpoint %s covered", c.Size, c.Origin)
		}
		if f != nil {
			v.rep.add(v.max, f)
		}
	}
}

// compareStoredTree compares the tree a store keeps with the one computed
// from its log (CompareStored), adding what disagrees to the findings.
func (v *verifier) compareStoredTree(ctx context.Context, ts TreeStore) error {
	size, err := ts.TreeSize(ctx)
	if err != nil {
		return err
	}
	v.rep.StoredTree = size > 0
	fs, err := CompareStored(ctx, ts, v.rep.Tree)
	if err != nil {
		return err
	}
	for _, f := range fs {
		v.rep.add(v.max, f)
	}
	return nil
}

// bindingOf decodes a record's payload from its stored bytes and checks
// that it belongs to its stream; nil when it does, or when the type is not
// the ledger's own.
func bindingOf(reg *events.Registry, names *events.StreamNamer, rec *events.Record, index int64) *Finding {
	e, err := reg.DecodeData(rec.Type, rec.SchemaVersion, rec.Data)
	switch {
	case errors.Is(err, events.ErrUnknownEventType):
		return nil
	case err != nil:
		return RecordFinding(KindPayload, rec, index, "the payload does not decode", err)
	}
	if names != nil {
		err = names.Bind(rec, e)
	} else {
		err = events.CheckStreamShape(rec, e)
	}
	if err != nil {
		return RecordFinding(KindBinding, rec, index, "the payload does not belong to its stream", err)
	}
	return nil
}

// CheckAgainst compares a tree with a trusted checkpoint: nil when the
// tree's first c.Size records have the checkpoint's root.
func CheckAgainst(t *Tree, c Checkpoint) *Finding {
	if c.Size > t.Size() {
		return LogFinding(KindCheckpoint, &SizeError{Want: c.Size, Have: t.Size()},
			"the log holds %d records, the checkpoint %s covered %d: records were removed (the log truncated, or a record or stream deleted)", t.Size(), c.Origin, c.Size)
	}
	root, err := t.Root(c.Size)
	if err != nil {
		return LogFinding(KindCheckpoint, err, "no root for the checkpoint's size")
	}
	if root != c.Root {
		return LogFinding(KindCheckpoint, ErrInconsistent,
			"the log's first %d records no longer produce the root of checkpoint %s: since it was signed a record was deleted, rewritten, reordered or inserted before its end", c.Size, c.Origin)
	}
	return nil
}

// CompareStored compares a store's stored tree with the tree computed from
// its log, hash by hash, and returns what disagrees (at most a few hashes
// named one by one, then a count). A stored tree that covers fewer records
// than the log (a file of an older format opened read-only, whose tree was
// never stored) is compared as far as it goes; one that covers more means
// records were removed from the log.
func CompareStored(ctx context.Context, s TreeStore, t *Tree) ([]*Finding, error) {
	size, err := s.TreeSize(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Finding
	if size > t.Size() {
		out = append(out, LogFinding(KindTree, ErrInconsistent, "the stored tree covers %d records, the log holds %d: records were removed from the log", size, t.Size()))
	}
	n := tlog.StoredHashCount(min(size, t.Size()))
	const batch = 4096
	idx := make([]int64, 0, batch)
	bad := 0
	for i := int64(0); i < n; i += batch {
		idx = idx[:0]
		for j := i; j < min(i+batch, n); j++ {
			idx = append(idx, j)
		}
		hs, err := s.ReadTreeHashes(ctx, idx)
		if err != nil {
			out = append(out, LogFinding(KindTree, err, "the stored tree could not be read from hash %d", i))
			return out, nil
		}
		for k, h := range hs {
			want, _ := t.Stored(idx[k])
			if h != want {
				bad++
				if bad <= 5 {
					level, node := tlog.SplitStoredHashIndex(idx[k])
					out = append(out, LogFinding(KindTree, ErrInconsistent, "stored hash %d (level %d, node %d) disagrees with the log", idx[k], level, node))
				}
			}
		}
	}
	if bad > 5 {
		out = append(out, LogFinding(KindTree, ErrInconsistent, "%d more stored hashes disagree with the log", bad-5))
	}
	return out, nil
}

// verifyRecorded checks a checkpoint recorded in the ledger at index.
func verifyRecorded(rep *Report, max int, rec *events.Record, index int64, keys []note.Verifier) {
	signed, err := decodeRecorded(rec.Data)
	if err != nil {
		rep.add(max, RecordFinding(KindPayload, rec, index, "a recorded checkpoint that does not decode", err))
		return
	}
	if len(keys) == 0 {
		rep.Unchecked++
		return
	}
	c, err := Open(signed, keys...)
	var unknown *note.UnknownVerifierError
	switch {
	case errors.As(err, &unknown):
		rep.Unchecked++
		return
	case err != nil:
		rep.add(max, RecordFinding(KindCheckpoint, rec, index, "a recorded checkpoint's signature does not verify", err))
		return
	}
	rep.Recorded++
	if c.Size > index {
		rep.add(max, RecordFinding(KindCheckpoint, rec, index, fmt.Sprintf("a recorded checkpoint covers %d records, more than came before it", c.Size), ErrInconsistent))
		return
	}
	if f := CheckAgainst(rep.Tree, c); f != nil {
		f.Stream, f.Revision, f.Position, f.Index = rec.Stream, rec.Revision, rec.Position, index
		rep.add(max, f)
	}
}
