package boltstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/boltstore/boltstoretest"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// fill appends n events to streams streams from 8 writers at once, so that
// group commits take many appends (of one to three events) per
// transaction; every streams-th append seals its stream.
func fill(t *testing.T, s events.Store, n, streams int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				k := 1 + i%3
				evs := make([]events.EventData, k)
				for j := range evs {
					evs[j] = events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1,
						Data: fmt.Appendf(nil, `{"i":%d,"j":%d,"pad":"%s"}`, i, j, strings.Repeat("p", i%300))}
				}
				stream := fmt.Sprintf("s-%d-%d", w, i%streams)
				if _, err := s.Append(context.Background(), stream, events.Any, evs...); err != nil && !errors.Is(err, events.ErrStreamSealed) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestStoredTreeIsTheLogsTree: the tree boltstore keeps beside the log,
// whichever goroutine commits (the default, every append handed to the
// writer, every append committed by its caller), is hash for hash the tree computed
// from ReadAll; a record's position is its log index.
func TestStoredTreeIsTheLogsTree(t *testing.T) {
	ctx := context.Background()
	for _, opts := range [][]boltstore.Option{{boltstore.WithNoSync()}, {boltstore.WithNoSync(), boltstore.WithHandOff()},
		{boltstore.WithNoSync(), boltstore.WithoutGroupCommit()}} {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "tree.db"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		fill(t, s, 600, 40)
		built, err := chain.Build(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.TreeSize(ctx); n != built.Size() || int(n) != s.Len() {
			t.Fatalf("stored tree covers %d, the log holds %d (%d)", n, built.Size(), s.Len())
		}
		fs, err := chain.CompareStored(ctx, s, built)
		if err != nil || len(fs) > 0 {
			t.Fatalf("stored tree disagrees: %v %v", err, fs)
		}
		i := int64(0)
		for r, err := range s.ReadAll(ctx, 0) {
			if err != nil || int64(r.Position) != i {
				t.Fatalf("record %d at position %d: %v", i, r.Position, err)
			}
			i++
		}
		s.Close()
	}
}

// downgrade turns a ledger file into an earlier format, as an earlier
// version wrote it: format 1 without a stored tree, format 2 with the tree
// in a bucket of its own, both with the stream heads in a bucket of their
// own.
func downgrade(t *testing.T, path string, format int) {
	t.Helper()
	if err := boltstoretest.Downgrade(path, format); err != nil {
		t.Fatal(err)
	}
}

// olderFile writes 300 records to 25 streams from 8 writers (fill) and
// downgrades the file to format; it returns the file and the tree of its
// log.
func olderFile(t *testing.T, format int) (string, *chain.Tree) {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("v%d.db", format))
	s, err := boltstore.Open(path, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 300, 25)
	want, err := chain.Build(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	downgrade(t, path, format)
	return path, want
}

// TestFormat1File: a ledger an earlier version wrote opens read-only as it
// is (nothing written; its tree computed from the log), and opened for
// writing is upgraded in place, its tree computed from its log.
func TestFormat1File(t *testing.T) {
	ctx := context.Background()
	path, want := olderFile(t, 1)
	before, _ := os.ReadFile(path)

	ro, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ro.TreeSize(ctx); n != 0 {
		t.Fatalf("a format 1 file read-only claims a stored tree of %d", n)
	}
	size, root, err := chain.Head(ctx, ro)
	if err != nil || size != want.Size() || root != mustRoot(t, want) {
		t.Fatalf("head of a format 1 file: %d %v", size, err)
	}
	r, err := chain.TreeOf(ctx, ro, want.Size())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.(*chain.Tree).Root(want.Size()); got != mustRoot(t, want) {
		t.Fatal("the tree computed from a format 1 file differs")
	}
	ro.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a read-only open changed the file")
	}

	w, err := boltstore.Open(path, boltstore.WithUpgradeBatch(64)) // five transactions: a tree computed across them
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n, _ := w.TreeSize(ctx); n != want.Size() {
		t.Fatalf("upgraded tree covers %d of %d records", n, want.Size())
	}
	if fs, err := chain.CompareStored(ctx, w, want); err != nil || len(fs) > 0 {
		t.Fatalf("upgraded tree disagrees: %v %v", err, fs)
	}
	if audit, err := w.Audit(ctx, nil); err != nil || len(audit.Findings) > 0 {
		t.Fatalf("upgraded file: %v %v", err, audit.Findings)
	}
}

// TestFormat2PartialTree: a format 2 file whose tree covers only part of
// its log (a format 1 file upgraded by the version that wrote format 2,
// its tree's catch-up cut short) reads its tree as far as it goes
// read-only, and is upgraded with the tree it kept and the rest computed:
// hash for hash the tree of its log.
func TestFormat2PartialTree(t *testing.T) {
	ctx := context.Background()
	path, want := olderFile(t, 2)
	const kept = 101
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("tree"), binary.BigEndian.AppendUint64(nil, kept))
	})
	ro, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ro.TreeSize(ctx); n != kept {
		t.Fatalf("read-only: a stored tree of %d, want %d", n, kept)
	}
	if fs, err := chain.CompareStored(ctx, ro, want); err != nil || len(fs) > 0 {
		t.Fatalf("read-only: the stored part of the tree disagrees: %v %v", err, fs)
	}
	ro.Close()
	// A copy whose stored hash 5 was changed: the upgrade carries the
	// stored tree over as it is, so the change is still found after it.
	data, _ := os.ReadFile(path)
	tampered := filepath.Join(t.TempDir(), "tampered.db")
	if err := os.WriteFile(tampered, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, tampered, func(tx *bolt.Tx) error {
		b, k := tx.Bucket([]byte("tree")), binary.BigEndian.AppendUint64(nil, 5)
		v := append([]byte(nil), b.Get(k)...)
		v[7] ^= 4
		return b.Put(k, v)
	})
	for _, p := range []string{path, tampered} {
		w, err := boltstore.Open(p, boltstore.WithUpgradeBatch(40))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := w.TreeSize(ctx); n != want.Size() {
			t.Fatalf("upgraded tree covers %d of %d records", n, want.Size())
		}
		fs, err := chain.CompareStored(ctx, w, want)
		w.Close()
		switch {
		case err != nil:
			t.Fatal(err)
		case p == path && len(fs) > 0:
			t.Fatalf("upgraded tree disagrees: %v", fs)
		case p == tampered && (len(fs) != 1 || !strings.Contains(fs[0].Error(), "stored hash 5 ")):
			t.Fatalf("a stored hash changed before the upgrade: %v, want it found", fs)
		}
	}
}

func mustRoot(t *testing.T, tr *chain.Tree) chain.Hash {
	t.Helper()
	r, err := tr.Root(tr.Size())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReadOnly: a read-only open reads an existing ledger, even a file the
// process may not write, under a shared lock; it refuses appends with
// ErrReadOnly and a missing file with an error, and creates nothing.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ro.db")
	recs := seed(t, path)
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	a, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := boltstore.Open(path, boltstore.ReadOnly()) // readers share the file
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r, err := range b.ReadAll(ctx, 0) {
		if err != nil || r.Hash != recs[n].Hash {
			t.Fatalf("record %d: %v", n, err)
		}
		n++
	}
	b.Close()
	_, err = a.Append(ctx, "election-a", events.Any, events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)})
	if !errors.Is(err, boltstore.ErrReadOnly) {
		t.Fatalf("append to a read-only store: %v", err)
	}
	if rep, err := a.Verify(ctx); err != nil || rep.Records != len(recs) {
		t.Fatalf("verify read-only: %+v %v", rep, err)
	}
	missing := filepath.Join(dir, "missing.db")
	if _, err := boltstore.Open(missing, boltstore.ReadOnly()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing file: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a read-only open created a file")
	}
}

// TestCheckFileInUse: a file open for writing is not checked (its pages
// could change under the check): ErrInUse.
func TestCheckFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	w, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.CheckFile(context.Background(), path); !errors.Is(err, boltstore.ErrInUse) {
		t.Fatalf("CheckFile of a file open for writing: %v", err)
	}
	w.Close()
	if fc, err := boltstore.CheckFile(context.Background(), path); err != nil || !fc.OK() {
		t.Fatalf("after the writer closed: %v %v", err, fc)
	}
}

// TestDirectoryRefused: a directory given as the ledger file is
// ErrNotLedger, naming it and what to give instead, for Open and CheckFile.
func TestDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	for _, ro := range []bool{false, true} {
		var opts []boltstore.Option
		if ro {
			opts = append(opts, boltstore.ReadOnly())
		}
		_, err := boltstore.Open(dir, opts...)
		if !errors.Is(err, boltstore.ErrNotLedger) || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("Open(directory, read-only %v): %v", ro, err)
		}
	}
	if _, err := boltstore.CheckFile(context.Background(), dir); !errors.Is(err, boltstore.ErrNotLedger) {
		t.Fatalf("CheckFile(directory): %v", err)
	}
}

// TestCreateCrash: a process that dies at any stage of creating a new
// ledger leaves either no file or a whole ledger: the next Open succeeds,
// appends and verifies.
func TestCreateCrash(t *testing.T) {
	for _, stage := range boltstore.CreateStages {
		t.Run(strings.ReplaceAll(stage, " ", "-"), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new.db")
			stopAt(t, "create", stage, path)
			if info, err := os.Stat(path); err == nil && info.Size() == 0 {
				t.Fatal("an empty file was left at the ledger's path")
			}
			s, err := boltstore.Open(path)
			if err != nil {
				t.Fatalf("open after a crash at %q: %v", stage, err)
			}
			defer s.Close()
			if _, err := s.Append(context.Background(), "after", events.NoStream, events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			if audit, err := s.Audit(context.Background(), nil); err != nil || len(audit.Findings) > 0 {
				t.Fatalf("%v %v", err, audit.Findings)
			}
		})
	}
}

// TestAuditFindsIndexTampering: each of the file's own structures that an
// append or a proof trusts, edited by someone with write access to the
// file, is a finding of its kind, named where it is: in this format, and
// in format 2 (read-only), whose stream heads and tree had buckets of
// their own.
func TestAuditFindsIndexTampering(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "base.db")
	s, err := boltstore.Open(base, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e := events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		if i == 4 {
			e.Type = events.TypeElectionConfirmed
		}
		if _, err := s.Append(ctx, "election-x", events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	for _, c := range tamperings() {
		t.Run(fmt.Sprintf("format%d/%s", c.format, strings.ReplaceAll(c.name, " ", "-")), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.db")
			data, _ := os.ReadFile(base)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if c.format != boltstore.FormatVersion {
				downgrade(t, path, c.format)
			}
			rawUpdate(t, path, c.edit)
			s, err := boltstore.Open(path, boltstore.ReadOnly())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep, err := s.Audit(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				if f.Kind == c.kind && strings.Contains(f.Error(), c.phrase) {
					return
				}
			}
			t.Fatalf("want a %v finding saying %q, got %v", c.kind, c.phrase, rep.Findings)
		})
	}
}

// tampering is an edit of a ledger file of five records in one stream
// (election-x, sealed by its last), and the finding it must cause.
type tampering struct {
	format int // the file's format when edited
	name   string
	edit   func(tx *bolt.Tx) error
	kind   chain.Kind
	phrase string
}

// tamperings are the edits TestAuditFindsIndexTampering makes.
func tamperings() []tampering {
	key := func(stream string, rev uint64) []byte {
		return binary.BigEndian.AppendUint64(append([]byte(stream), 0), rev)
	}
	pos := func(p uint64) []byte { return binary.BigEndian.AppendUint64(nil, p) }
	edit := func(bucket string, k []byte, fn func(v []byte)) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			v := append([]byte(nil), b.Get(k)...)
			fn(v)
			return b.Put(k, v)
		}
	}
	del := func(bucket string, k []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.Bucket([]byte(bucket)).Delete(k) }
	}
	firstID := func(tx *bolt.Tx) error {
		k, _ := tx.Bucket([]byte("ids")).Cursor().First()
		return tx.Bucket([]byte("ids")).Delete(k)
	}
	var out []tampering
	for _, f := range []int{boltstore.FormatVersion, 2} {
		out = append(out,
			tampering{f, "event ID forgotten", firstID, chain.KindIndex, "event-ID index holds 4"},
			tampering{f, "stream index entry deleted", del("index", key("election-x", 1)), chain.KindChain, "revision out of order"},
			tampering{f, "last stream index entry deleted", del("index", key("election-x", 4)), chain.KindIndex, "the log holds 5 records, its streams 4"},
			tampering{f, "last record deleted", del("log", pos(4)), chain.KindIndex, "missing from the log"},
			tampering{f, "index entry redirected", func(tx *bolt.Tx) error { return tx.Bucket([]byte("index")).Put(key("election-x", 4), pos(2)) },
				chain.KindChain, "election-x@4"})
	}
	return append(out,
		// Format 3: the head is read from the index and the log; each
		// record's value ends with the tree hashes its append stored
		// (record 3: stored hashes 4, 5 and 6).
		tampering{3, "head's record redirected", func(tx *bolt.Tx) error { return tx.Bucket([]byte("index")).Put(key("election-x", 4), pos(2)) },
			chain.KindIndex, "head cannot be read"},
		tampering{3, "stored tree hash changed", edit("log", pos(3), func(v []byte) { v[len(v)-3*32] ^= 1 }), chain.KindTree, "stored hash 4"},
		tampering{3, "stored tree hash cut", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("log"))
			v := b.Get(pos(3))
			return b.Put(pos(3), append([]byte(nil), v[:len(v)-32]...))
		}, chain.KindDamage, "election-x@3 (position 3, log index 3): undecodable record"},
		// Format 2: the heads and the tree had buckets of their own.
		tampering{2, "head unsealed", edit("heads", []byte("election-x"), func(v []byte) { v[8] = 0 }), chain.KindIndex, "not sealed"},
		tampering{2, "head deleted", del("heads", []byte("election-x")), chain.KindIndex, "no head"},
		tampering{2, "head rewound", edit("heads", []byte("election-x"), func(v []byte) { binary.BigEndian.PutUint64(v, 2) }), chain.KindIndex, "last revision is 2"},
		tampering{2, "stored tree hash changed", edit("tree", pos(3), func(v []byte) { v[0] ^= 1 }), chain.KindTree, "stored hash 3"},
	)
}
