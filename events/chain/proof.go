package chain

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrProof matches a proof that does not verify.
var ErrProof = errors.New("chain: proof does not verify")

// InclusionProof proves that the record at Index is in the tree of Size
// records: the hashes that, with the record's leaf, rebuild the tree's
// root (RFC 6962's audit path, in tlog's order).
type InclusionProof struct {
	Index  int64  `json:"index"`
	Size   int64  `json:"size"`
	Hashes []Hash `json:"hashes"`
}

// ProveInclusion returns the proof that record index is in the tree of
// size records, reading the tree's stored hashes from r (a Tree, or a
// TreeStore through StoredReader).
func ProveInclusion(r tlog.HashReader, index, size int64) (InclusionProof, error) {
	if index < 0 || index >= size {
		return InclusionProof{}, fmt.Errorf("%w: record %d is not in a tree of %d records", ErrProof, index, size)
	}
	p, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Index: index, Size: size, Hashes: p}, nil
}

// Verify checks that the record whose leaf is leaf (LeafHash of its hash)
// is at p.Index in the tree of p.Size records whose root is root.
func (p InclusionProof) Verify(leaf, root Hash) error {
	if p.Index < 0 || p.Index >= p.Size {
		return fmt.Errorf("%w: record %d is not in a tree of %d records", ErrProof, p.Index, p.Size)
	}
	if err := tlog.CheckRecord(p.Hashes, p.Size, root, p.Index, leaf); err != nil {
		return fmt.Errorf("%w: record %d in the tree of %d records: %v", ErrProof, p.Index, p.Size, err)
	}
	return nil
}

// VerifyCheckpoint is Verify against a checkpoint, whose size must be the
// proof's.
func (p InclusionProof) VerifyCheckpoint(leaf Hash, c Checkpoint) error {
	if p.Size != c.Size {
		return fmt.Errorf("%w: the proof is for a tree of %d records, the checkpoint covers %d", ErrProof, p.Size, c.Size)
	}
	return p.Verify(leaf, c.Root)
}

// ConsistencyProof proves that the tree of New records holds the tree of
// Old records as its beginning: nothing before Old was changed, removed or
// reordered, only records appended.
type ConsistencyProof struct {
	Old    int64  `json:"old"`
	New    int64  `json:"new"`
	Hashes []Hash `json:"hashes"`
}

// ProveConsistency returns the proof that the tree of newer records extends
// the tree of older ones, reading stored hashes from r.
func ProveConsistency(r tlog.HashReader, older, newer int64) (ConsistencyProof, error) {
	if older < 0 || older > newer {
		return ConsistencyProof{}, fmt.Errorf("%w: no consistency between trees of %d and %d records", ErrProof, older, newer)
	}
	if older == 0 || older == newer {
		return ConsistencyProof{Old: older, New: newer}, nil // nothing to prove: the roots say it all
	}
	p, err := tlog.ProveTree(newer, older, r)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{Old: older, New: newer, Hashes: p}, nil
}

// Verify checks that the checkpoint newer extends older: their sizes are
// the proof's and the proof rebuilds both roots.
func (p ConsistencyProof) Verify(older, newer Checkpoint) error {
	switch {
	case older.Origin != newer.Origin:
		return fmt.Errorf("%w: checkpoints of two logs (%s, %s)", ErrProof, older.Origin, newer.Origin)
	case p.Old != older.Size || p.New != newer.Size:
		return fmt.Errorf("%w: the proof is between %d and %d records, the checkpoints cover %d and %d", ErrProof, p.Old, p.New, older.Size, newer.Size)
	case older.Size > newer.Size:
		return fmt.Errorf("%w: the newer checkpoint covers fewer records (%d) than the older (%d): the log was cut short", ErrInconsistent, newer.Size, older.Size)
	case older.Size == newer.Size:
		if older.Root != newer.Root || len(p.Hashes) != 0 {
			return fmt.Errorf("%w: two checkpoints of %d records with different roots: the log was rewritten", ErrInconsistent, older.Size)
		}
		return nil
	case older.Size == 0:
		if older.Root != emptyRoot() || len(p.Hashes) != 0 {
			return fmt.Errorf("%w: a checkpoint of no records must have the empty tree's root", ErrInconsistent)
		}
		return nil
	}
	if err := tlog.CheckTree(p.Hashes, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: %d records then %d: %v", ErrInconsistent, older.Size, newer.Size, err)
	}
	return nil
}
