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
	start := time.Now()
	max := opts.MaxFindings
	if max <= 0 {
		max = 10_000
	}
	reg := opts.Registry
	if reg == nil {
		reg = events.NewRegistry()
	}
	rep := &Report{Tree: &Tree{}}
	chains := NewStreamVerifier(0)
	var dig Digester
	digests := map[int64]Hash{} // at the sizes of the trusted checkpoints that carry one
	for _, c := range opts.Checkpoints {
		if c.HasDigest && c.Size == 0 {
			digests[0] = dig.Sum()
		}
	}
	var from events.Position
	for read := true; read; {
		read = false
		for rec, err := range s.ReadAll(ctx, from) {
			if err != nil {
				var d DamagedRecord
				if errors.As(err, &d) && d.DamagedPosition() >= from {
					rep.add(max, FromError(err, -1))
					from, read = d.DamagedPosition()+1, true
					break
				}
				rep.Streams = chains.Streams()
				return rep, err
			}
			from = rec.Position + 1
			index := rep.Records
			if err := chains.Check(&rec); err != nil {
				rep.add(max, RecordFinding(KindChain, &rec, index, "hash chain", err))
			}
			if rec.Type == CheckpointType {
				verifyRecorded(rep, max, &rec, index, opts.Keys)
			} else if f := bindingOf(reg, opts.Names, &rec, index); f != nil {
				rep.add(max, f)
			}
			rep.Tree.Append(LeafHash(rec.Hash))
			rep.Records++
			dig.Add(rec.Hash)
			for _, c := range opts.Checkpoints {
				if c.HasDigest && c.Size == rep.Records {
					digests[c.Size] = dig.Sum()
				}
			}
			if opts.Progress != nil && rep.Records%100_000 == 0 {
				opts.Progress(rep.Records, time.Since(start))
			}
		}
	}
	rep.Streams = chains.Streams()
	rep.Root, _ = rep.Tree.Root(rep.Tree.Size())
	for _, c := range opts.Checkpoints {
		rep.Checkpoints++
		f := CheckAgainst(rep.Tree, c)
		if d, ok := digests[c.Size]; f == nil && c.HasDigest && ok && d != c.Digest {
			f = LogFinding(KindCheckpoint, ErrInconsistent, "the hashes of the log's first %d records are not those checkpoint %s covered", c.Size, c.Origin)
		}
		if f != nil {
			rep.add(max, f)
		}
	}
	if ts, ok := s.(TreeStore); ok {
		size, err := ts.TreeSize(ctx)
		if err != nil {
			return rep, err
		}
		rep.StoredTree = size > 0
		fs, err := CompareStored(ctx, ts, rep.Tree)
		if err != nil {
			return rep, err
		}
		for _, f := range fs {
			rep.add(max, f)
		}
	}
	if opts.Progress != nil {
		opts.Progress(rep.Records, time.Since(start))
	}
	return rep, nil
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
