package boltstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// rtKey and rtPos are a stream-index key and a log (or index value) key.
func rtKey(stream string, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(stream), 0), rev)
}
func rtPos(p uint64) []byte { return binary.BigEndian.AppendUint64(nil, p) }

// sealedFile writes a ledger of five records in election-x, sealed by its
// last, and one record in election-y, and returns its path.
func sealedFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rt.db")
	s, err := boltstore.Open(path, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 5 {
		e := events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		if i == 4 {
			e.Type = events.TypeElectionConfirmed
		}
		if _, err := s.Append(ctx, "election-x", events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "election-y", events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// appendGarbage is an edit that appends n bytes to the log value at p.
func appendGarbage(p uint64, n int) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		v := append(append([]byte(nil), b.Get(rtPos(p))...), make([]byte, n)...)
		return b.Put(rtPos(p), v)
	}
}

// TestReadAllYieldsRecordsBeforeADamagedOne: ReadAll yields every record
// before a damaged one, then the damage (a *DamagedRecordError naming its
// position), even when they share a read transaction; chain.Verify, which
// resumes after the damage, so counts every other record in its tree.
func TestReadAllYieldsRecordsBeforeADamagedOne(t *testing.T) {
	path := sealedFile(t)
	rawUpdate(t, path, appendGarbage(4, 40))
	s, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var got []events.Position
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			var d *boltstore.DamagedRecordError
			if !errors.As(err, &d) || d.Position != 4 || !errors.Is(err, events.ErrCorruptRecord) {
				t.Fatalf("ReadAll's error: %v, want the damaged record at position 4", err)
			}
			break
		}
		got = append(got, r.Position)
	}
	if fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("ReadAll yielded positions %v before the damaged record, want [0 1 2 3]", got)
	}
	rep, err := chain.Verify(ctx, s, chain.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 5 {
		t.Fatalf("chain.Verify read %d records around the damaged one, want 5: %v", rep.Records, rep.Findings)
	}
}

// TestAppendRefusesADamagedHead: a stream's head is its last record, whose
// hash the next append chains on. A log value with bytes added after it or
// cut from its stored tree hashes puts other bytes where the record's hash
// was read; the append must refuse (ErrCorrupt) instead of chaining a new
// record on them, and write nothing.
func TestAppendRefusesADamagedHead(t *testing.T) {
	cut := func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		v := b.Get(rtPos(5))
		return b.Put(rtPos(5), append([]byte(nil), v[:len(v)-32]...))
	}
	for name, edit := range map[string]func(*bolt.Tx) error{
		"garbage after the value": appendGarbage(5, 32),
		"stored hash cut":         cut,
	} {
		t.Run(name, func(t *testing.T) {
			path := sealedFile(t)
			rawUpdate(t, path, edit)
			s, err := boltstore.Open(path, boltstore.WithNoSync())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			e := events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)}
			res, err := s.Append(context.Background(), "election-y", events.Any, e)
			if !errors.Is(err, boltstore.ErrCorrupt) {
				t.Fatalf("an append onto a damaged last record: %+v, %v; want ErrCorrupt", res, err)
			}
			if s.Len() != 6 {
				t.Fatalf("the refused append left %d records, want 6", s.Len())
			}
		})
	}
}

// TestHeaderEdits: each edit of a format 3 file's header is refused by
// Open, read-only or not, with the error that says what it is: a format
// number of 0 is damage (no library wrote it), not a newer format; a
// format edited down names the buckets that format would need.
func TestHeaderEdits(t *testing.T) {
	put := func(k string, v []byte) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte(k), v) }
	}
	del := func(k string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Delete([]byte(k)) }
	}
	format := func(f uint32) []byte { return binary.BigEndian.AppendUint32(nil, f) }
	cases := []struct {
		name string
		edit func(*bolt.Tx) error
		want error
	}{
		{"format 0", put("format", format(0)), boltstore.ErrCorrupt},
		{"format 4", put("format", format(4)), boltstore.ErrNewerFormat},
		{"format 2", put("format", format(2)), boltstore.ErrCorrupt},
		{"format 1", put("format", format(1)), boltstore.ErrCorrupt},
		{"format cut", put("format", []byte{0, 0, 3}), boltstore.ErrCorrupt},
		{"format deleted", del("format"), boltstore.ErrCorrupt},
		{"magic deleted", del("magic"), boltstore.ErrNotLedger},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := sealedFile(t)
			rawUpdate(t, path, c.edit)
			before, _ := os.ReadFile(path)
			for _, opts := range [][]boltstore.Option{{boltstore.ReadOnly()}, nil} {
				s, err := boltstore.Open(path, opts...)
				if err == nil {
					s.Close()
				}
				if !errors.Is(err, c.want) || (c.want != boltstore.ErrNewerFormat && errors.Is(err, boltstore.ErrNewerFormat)) {
					t.Fatalf("Open: %v, want %v", err, c.want)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("a refused Open changed the file")
			}
		})
	}
}

// TestUpgradeRefusesALogShorterThanItsTree: a format 2 file keeps how many
// records its tree covers; a log shorter than that has lost records from
// its end (chain.Verify says so). Format 3 keeps no tree size, so an
// upgrade that went ahead would erase the evidence: it must refuse
// (ErrCorrupt), leaving the file in format 2 with the finding intact.
func TestUpgradeRefusesALogShorterThanItsTree(t *testing.T) {
	for name, edit := range map[string]func(*bolt.Tx) error{
		"last record deleted": func(tx *bolt.Tx) error { return tx.Bucket([]byte("log")).Delete(rtPos(fixture2Records - 1)) },
		"tree size raised":    func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("tree"), rtPos(1000)) },
	} {
		t.Run(name, func(t *testing.T) {
			path := copyFixture(t, fixture2)
			rawUpdate(t, path, edit)
			s, err := boltstore.Open(path, boltstore.WithNoSync(), boltstore.WithUpgradeBatch(10))
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, boltstore.ErrCorrupt) {
				t.Fatalf("the upgrade of a log shorter than its tree: %v, want ErrCorrupt", err)
			}
			if f := fileFormat(t, path); f != 2 {
				t.Fatalf("the refused upgrade left format %d, want 2", f)
			}
			ro, err := boltstore.Open(path, boltstore.ReadOnly())
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			rep, err := chain.Verify(context.Background(), ro, chain.VerifyOptions{})
			if err != nil || rep.OK() {
				t.Fatalf("chain.Verify after the refused upgrade: %v, %v; want the removed records found", err, rep.Findings)
			}
		})
	}
}

// TestADamagedHeadFailsOnlyItsAppend: an append to a stream whose last
// record is damaged is refused (ErrCorrupt) before it writes anything, so
// the appends to other streams committed in the same group are not
// failed with it.
func TestADamagedHeadFailsOnlyItsAppend(t *testing.T) {
	path := sealedFile(t)
	rawUpdate(t, path, appendGarbage(5, 32)) // election-y's only record
	var s *boltstore.Store
	var wg sync.WaitGroup
	errs := map[string]chan error{"election-y": make(chan error, 1), "election-z": make(chan error, 1)}
	var groups []int
	first := true
	hook := func(_ bool, appends int) {
		groups = append(groups, appends)
		if !first {
			return
		}
		first = false
		for stream, ch := range errs {
			wg.Go(func() {
				_, err := s.Append(context.Background(), stream, events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)})
				ch <- err
			})
		}
		for deadline := time.Now().Add(10 * time.Second); s.Queued() < 2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	s, err := boltstore.Open(path, boltstore.WithNoSync(), boltstore.WithHandOff(), boltstore.WithCommitHook(hook))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(context.Background(), "election-w", events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(groups) != 2 || groups[1] != 2 {
		t.Fatalf("commits of %v appends: the two appends did not share a group, the test tests nothing", groups)
	}
	if err := <-errs["election-y"]; !errors.Is(err, boltstore.ErrCorrupt) {
		t.Fatalf("the append onto the damaged record: %v, want ErrCorrupt", err)
	}
	if err := <-errs["election-z"]; err != nil {
		t.Fatalf("an append to another stream in the same group: %v", err)
	}
}

// TestAuditNamesARecordTheIndexLost: with the last stream-index entry of a
// sealed stream deleted, the stream reads as unsealed and an append after
// its confirmation is taken (the file is trusted; format 2's heads could
// be edited so too). Audit must name the confirmation the index lost, by
// stream, revision and position, not only count records; so must it a
// record whose index entry names another.
func TestAuditNamesARecordTheIndexLost(t *testing.T) {
	ctx := context.Background()
	for name, edit := range map[string]func(*bolt.Tx) error{
		"deleted": func(tx *bolt.Tx) error { return tx.Bucket([]byte("index")).Delete(rtKey("election-x", 4)) },
		"redirected": func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("index")).Put(rtKey("election-x", 4), rtPos(5))
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := sealedFile(t)
			rawUpdate(t, path, edit)
			s, err := boltstore.Open(path, boltstore.WithNoSync())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, "election-x", events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
				t.Log("the append after the edit:", err)
			}
			defer s.Close()
			auditNames(t, s, "election-x", 4, "confirmation")
		})
	}
}

// TestReadOnlyDuringAnUpgrade: a reader opening a format 2 file while
// another opener upgrades it waits for the lock and gets ErrInUse, never
// a half-upgraded file.
func TestReadOnlyDuringAnUpgrade(t *testing.T) {
	path := copyFixture(t, fixture2)
	var roErr error
	hook := boltstore.WithStageHook(func(stage string) error {
		if stage == boltstore.UpgradeStages[0] && roErr == nil {
			s, err := boltstore.Open(path, boltstore.ReadOnly(), boltstore.WithLockTimeout(50*time.Millisecond))
			if err == nil {
				s.Close()
				err = errors.New("opened")
			}
			roErr = err
		}
		return nil
	})
	s, err := boltstore.Open(path, boltstore.WithNoSync(), boltstore.WithUpgradeBatch(10), hook)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !errors.Is(roErr, boltstore.ErrInUse) {
		t.Fatalf("a read-only open during the upgrade: %v, want ErrInUse", roErr)
	}
}

// TestStagingBucketLeftBehind: a bucket named upgrade, with content no
// upgrade wrote, is ignored in a format 3 file (no reader looks at it)
// and removed and built again by the upgrade of a format 2 file.
func TestStagingBucketLeftBehind(t *testing.T) {
	bogus := func(tx *bolt.Tx) error {
		up, err := tx.CreateBucket([]byte("upgrade"))
		if err != nil {
			return err
		}
		l, err := up.CreateBucket([]byte("log"))
		if err != nil {
			return err
		}
		for i := range 100 {
			if err := l.Put(rtPos(uint64(i)), []byte("not a record")); err != nil {
				return err
			}
		}
		return up.Put([]byte("junk"), []byte("x"))
	}
	ctx := context.Background()
	for _, name := range []string{"format3", "format2"} {
		t.Run(name, func(t *testing.T) {
			path, want := sealedFile(t), 6
			if name == "format2" {
				path, want = copyFixture(t, fixture2), fixture2Records
			}
			rawUpdate(t, path, bogus)
			s, err := boltstore.Open(path, boltstore.WithNoSync(), boltstore.WithUpgradeBatch(10))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep, err := s.Audit(ctx, nil)
			if err != nil || len(rep.Findings) > 0 || rep.Records != want || s.Len() != want {
				t.Fatalf("audit: %v %v; %d records, Len %d, want %d", err, rep.Findings, rep.Records, s.Len(), want)
			}
			if vr, err := chain.Verify(ctx, s, chain.VerifyOptions{}); err != nil || vr.Records != int64(want) {
				t.Fatalf("chain.Verify: %v %+v", err, vr)
			}
		})
	}
}

// TestUpgradeKeepsTreeTampering: a format 2 tree hash edited to disagree
// with the log is carried into format 3 as it is, so the audit after the
// upgrade still finds it.
func TestUpgradeKeepsTreeTampering(t *testing.T) {
	path := copyFixture(t, fixture2)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("tree"))
		v := append([]byte(nil), b.Get(rtPos(5))...)
		v[0] ^= 1
		return b.Put(rtPos(5), v)
	})
	s, err := boltstore.Open(path, boltstore.WithNoSync(), boltstore.WithUpgradeBatch(10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := s.Audit(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != chain.KindTree || !strings.Contains(rep.Findings[0].Problem, "stored hash 5") {
		t.Fatalf("audit after the upgrade: %v, want stored hash 5 found", rep.Findings)
	}
}

// TestDamageErrorsHoldNoTIN: the errors a damaged record causes (reads,
// the audit, an append onto it) never show the payload, a TIN in it
// included.
func TestDamageErrorsHoldNoTIN(t *testing.T) {
	const tin = "123456789"
	path := filepath.Join(t.TempDir(), "tin.db")
	s, err := boltstore.Open(path, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Append(ctx, "election-t", events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{"tin":"` + tin + `"}`)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, appendGarbage(0, 40))
	s, err = boltstore.Open(path, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var msgs []string
	for _, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	for _, err := range s.ReadStream(ctx, "election-t", 0) {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	_, err = s.Append(ctx, "election-t", events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)})
	msgs = append(msgs, fmt.Sprint(err))
	rep, err := s.Audit(ctx, nil)
	msgs = append(msgs, fmt.Sprint(err), fmt.Sprint(rep.Findings))
	if _, err := s.Verify(ctx); err != nil {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) < 5 {
		t.Fatalf("the damage caused %d errors, want one from each reader: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		if strings.Contains(m, tin) {
			t.Fatalf("an error shows the TIN: %s", m)
		}
	}
}

// TestLogKeyBeyondAnyLength: a log key no log reaches (2^63 and above,
// beyond the int64 positions the tree and Len count in) added to the
// file made the store's next position wrap to 0, so an append overwrote
// record 0, or Len negative. Open refuses such a file (ErrCorrupt),
// read-only or not, and changes nothing.
func TestLogKeyBeyondAnyLength(t *testing.T) {
	for _, k := range []uint64{1<<64 - 1, 1 << 63} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			path := sealedFile(t)
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("log"))
				return b.Put(rtPos(k), append([]byte(nil), b.Get(rtPos(5))...))
			})
			before, _ := os.ReadFile(path)
			for _, opts := range [][]boltstore.Option{{boltstore.ReadOnly()}, {boltstore.WithNoSync()}} {
				s, err := boltstore.Open(path, opts...)
				if err == nil {
					_, aerr := s.Append(context.Background(), "election-z", events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)})
					n := s.Len()
					s.Close()
					t.Fatalf("Open took a log whose last key is %d: Len %d, an append: %v", k, n, aerr)
				}
				if !errors.Is(err, boltstore.ErrCorrupt) {
					t.Fatalf("Open: %v, want ErrCorrupt", err)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("a refused Open changed the file")
			}
		})
	}
}

// TestAuditNamesARecordTheIDIndexLost: with a record's event-ID entry
// deleted, a retry of its append is taken again (a duplicate); Audit names
// the record whose ID the index lost, not only the count.
func TestAuditNamesARecordTheIDIndexLost(t *testing.T) {
	path := sealedFile(t)
	var id []byte
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		rec := tx.Bucket([]byte("log")).Get(rtPos(2))
		var r events.Record
		if err := r.UnmarshalBinary(rec[:len(rec)-32]); err != nil { // record 2 keeps one stored hash, its leaf
			return err
		}
		id = r.ID[:]
		return tx.Bucket([]byte("ids")).Delete(id)
	})
	s, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	auditNames(t, s, "election-x", 2, "event-ID index")
}

// auditNames fails t unless s's Audit has a finding naming stream's
// record at revision rev, which in sealedFile's ledger is at position rev,
// with problem in its text.
func auditNames(t *testing.T, s *boltstore.Store, stream string, rev uint64, problem string) {
	t.Helper()
	rep, err := s.Audit(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Stream == stream && f.Revision == rev && uint64(f.Position) == rev && strings.Contains(f.Problem, problem) {
			return
		}
	}
	t.Fatalf("no finding names %s@%d (position %d) with %q: %v", stream, rev, rev, problem, rep.Findings)
}

// TestValueEditsTyped: a value of the log, the stream index or the
// event-ID index cut, extended, flipped or deleted (a seeded random edit
// per trial) never panics the store: Open, appends to a sealed, an open
// and a new stream, ReadStream, ReadAll, Audit and chain.Verify each
// succeed or fail with a typed error (ErrCorrupt, a chain or seal error).
func TestValueEditsTyped(t *testing.T) {
	base := sealedFile(t)
	data, _ := os.ReadFile(base)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for trial := range 50 {
		path := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		bucket := []string{"log", "index", "ids"}[rng.IntN(3)]
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			var keys [][]byte
			b.ForEach(func(k, v []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
			k := keys[rng.IntN(len(keys))]
			v := append([]byte(nil), b.Get(k)...)
			switch rng.IntN(4) {
			case 0:
				if len(v) > 0 {
					v = v[:rng.IntN(len(v))]
				}
			case 1:
				v = append(v, make([]byte, rng.IntN(80))...)
			case 2:
				if len(v) > 0 {
					v[rng.IntN(len(v))] ^= byte(1 + rng.IntN(255))
				}
			case 3:
				return b.Delete(k)
			}
			return b.Put(k, v)
		})
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("trial %d: panic %v", trial, r)
				}
			}()
			s, err := boltstore.Open(path, boltstore.WithNoSync())
			if err != nil {
				if !errors.Is(err, boltstore.ErrCorrupt) {
					t.Errorf("trial %d open: untyped %v", trial, err)
				}
				return
			}
			defer s.Close()
			for _, st := range []string{"election-x", "election-y", "election-q"} {
				_, err := s.Append(ctx, st, events.Any, events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(`{}`)})
				if err != nil && !errors.Is(err, boltstore.ErrCorrupt) && !errors.Is(err, events.ErrStreamSealed) {
					t.Errorf("trial %d (%s) append %s: untyped %v", trial, bucket, st, err)
				}
				for _, err := range s.ReadStream(ctx, st, 0) {
					if err != nil && !errors.Is(err, boltstore.ErrCorrupt) && !errors.Is(err, events.ErrChainBroken) && !errors.Is(err, events.ErrStreamNotFound) {
						t.Errorf("trial %d (%s) readstream %s: untyped %v", trial, bucket, st, err)
					}
				}
			}
			for _, err := range s.ReadAll(ctx, 0) {
				if err != nil && !errors.Is(err, boltstore.ErrCorrupt) && !errors.Is(err, events.ErrChainBroken) {
					t.Errorf("trial %d (%s) readall: untyped %v", trial, bucket, err)
				}
			}
			if _, err := s.Audit(ctx, nil); err != nil {
				t.Errorf("trial %d audit err %v", trial, err)
			}
			if _, err := chain.Verify(ctx, s, chain.VerifyOptions{}); err != nil {
				t.Errorf("trial %d chain.Verify err %v", trial, err)
			}
		}()
	}
}
