package boltstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// The format 2 fixture (testdata/README.md): what it holds, as the code
// that wrote it reported.
const (
	fixture2        = "ledger-format2.db"
	fixture2Records = 47
	fixture2Streams = 7
	fixture2Root    = "e45754fc499d5e031d5c60f1fa770b0d7147c1c1d92da4e21e7d6a0ef9ca8696"
)

// fixture2Sealed are the fixture's confirmed (sealed) streams.
var fixture2Sealed = []string{"election-mips-2025-g0", "election-mips-2025-g1"}

// copyFixture copies a testdata file into a temporary directory, so that no
// test ever opens (or upgrades) the fixture itself.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileFormat reads the format version a ledger file says it has, with
// bbolt directly (read-only).
func fileFormat(t *testing.T, path string) uint32 {
	t.Helper()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var f uint32
	if err := db.View(func(tx *bolt.Tx) error {
		f = binary.BigEndian.Uint32(tx.Bucket([]byte("meta")).Get([]byte("format")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkFixture2 checks that s holds the format 2 fixture's ledger: every
// record reads back (the log and each stream), the file audits and
// verifies clean, and the tree's root and every inclusion proof are the
// same from the store's tree as from a tree computed from the log.
func checkFixture2(t *testing.T, s *boltstore.Store) []events.Record {
	t.Helper()
	ctx := context.Background()
	var recs []events.Record
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != fixture2Records || s.Len() != fixture2Records {
		t.Fatalf("read %d records (Len %d), want %d", len(recs), s.Len(), fixture2Records)
	}
	streams := map[string][]events.Record{}
	for _, r := range recs {
		streams[r.Stream] = append(streams[r.Stream], r)
	}
	for name, want := range streams {
		i := 0
		for r, err := range s.ReadStream(ctx, name, 0) {
			if err != nil || r.Hash != want[i].Hash || r.Position != want[i].Position || r.Revision != uint64(i) {
				t.Fatalf("%s@%d: %v", name, i, err)
			}
			i++
		}
		if i != len(want) {
			t.Fatalf("%s: read %d records, the log holds %d", name, i, len(want))
		}
	}
	if rep, err := s.Audit(ctx, nil); err != nil || len(rep.Findings) > 0 || rep.Records != fixture2Records || rep.Streams != fixture2Streams {
		t.Fatalf("audit: %v %+v", err, rep)
	}
	vr, err := chain.Verify(ctx, s, chain.VerifyOptions{})
	if err != nil || !vr.OK() || hex.EncodeToString(vr.Root[:]) != fixture2Root {
		t.Fatalf("verify: %v %v, root %x", err, vr.Findings, vr.Root[:])
	}
	size, root, err := chain.Head(ctx, s)
	if err != nil || size != fixture2Records || root != vr.Root {
		t.Fatalf("head: %d %x %v", size, root[:], err)
	}
	built, err := chain.Build(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := chain.TreeOf(ctx, s, fixture2Records)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(fixture2Records) {
		got, err := chain.ProveInclusion(stored, i, fixture2Records)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := chain.ProveInclusion(built, i, fixture2Records)
		if len(got.Hashes) != len(want.Hashes) || got.Verify(chain.LeafHash(recs[i].Hash), root) != nil {
			t.Fatalf("proof of record %d: %d hashes, want %d", i, len(got.Hashes), len(want.Hashes))
		}
		for k := range got.Hashes {
			if got.Hashes[k] != want.Hashes[k] {
				t.Fatalf("proof of record %d differs at hash %d", i, k)
			}
		}
	}
	return recs
}

// TestFormat2FixtureReadOnly: the format 2 file an earlier version wrote
// passes CheckFile and reads back whole, read-only, and not one byte of it
// changes.
func TestFormat2FixtureReadOnly(t *testing.T) {
	path := copyFixture(t, fixture2)
	before, _ := os.ReadFile(path)
	if fc, err := boltstore.CheckFile(context.Background(), path); err != nil || !fc.OK() {
		t.Fatalf("CheckFile: %v %v", err, fc)
	}
	s, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	checkFixture2(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a read-only open changed the file")
	}
	if f := fileFormat(t, path); f != 2 {
		t.Fatalf("the fixture says format %d, want 2", f)
	}
}

// TestFormat2FixtureWritable: opened for writing, the format 2 file is
// upgraded to this library's format, still reads back whole with the same
// tree, and takes appends: a sealed stream refuses one, a retried event
// is recognised, new records chain on and the tree grows over them.
func TestFormat2FixtureWritable(t *testing.T) {
	ctx := context.Background()
	path := copyFixture(t, fixture2)
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := checkFixture2(t, s)
	for _, name := range fixture2Sealed {
		_, err := s.Append(ctx, name, events.Any, events.EventData{ID: uuid.New(), Type: "t.after", SchemaVersion: 1, Data: []byte(`{}`)})
		if !errors.Is(err, events.ErrStreamSealed) {
			t.Fatalf("append to the sealed %s: %v", name, err)
		}
	}
	again := recs[5] // a record of the fixture, appended again: idempotent
	res, err := s.Append(ctx, again.Stream, events.Any, events.EventData{ID: again.ID, Type: again.Type,
		SchemaVersion: again.SchemaVersion, Data: again.Data, Metadata: again.Metadata})
	if err != nil || res.Position != again.Position || res.Hash != again.Hash {
		t.Fatalf("retry of a fixture's event: %+v %v", res, err)
	}
	for i := range 20 {
		stream := []string{"notes-1", "election-mips-2025-g2", "new-stream"}[i%3]
		if _, err := s.Append(ctx, stream, events.Any, events.EventData{ID: uuid.New(), Type: "t.after", SchemaVersion: 1, Data: []byte(`{"after":true}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if f := fileFormat(t, path); f != boltstore.FormatVersion {
		t.Fatalf("after a writable open the file says format %d, want %d", f, boltstore.FormatVersion)
	}
	if fc, err := boltstore.CheckFile(ctx, path); err != nil || !fc.OK() {
		t.Fatalf("CheckFile: %v %v", err, fc)
	}
	ro, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if rep, err := ro.Audit(ctx, nil); err != nil || len(rep.Findings) > 0 || rep.Records != fixture2Records+20 || rep.Streams != fixture2Streams+1 {
		t.Fatalf("audit after appends: %v %+v", err, rep)
	}
	vr, err := chain.Verify(ctx, ro, chain.VerifyOptions{})
	if err != nil || !vr.OK() || !vr.StoredTree {
		t.Fatalf("verify after appends: %v %v", err, vr.Findings)
	}
	if size, root, err := chain.Head(ctx, ro); err != nil || size != fixture2Records+20 || root != vr.Root {
		t.Fatalf("head after appends: %d %v", size, err)
	}
	for r, err := range ro.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Position < fixture2Records && r.Hash != recs[r.Position].Hash {
			t.Fatalf("record %d changed", r.Position)
		}
	}
}
