package boltstore

import (
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"
)

// TestStoredHashHome: format 3 keeps each stored hash of tlog's layout in
// exactly one record's log value: record p keeps storedCount(p) hashes,
// tlog.StoredHashIndex(0, p) up to StoredHashIndex(0, p+1), in that order,
// and hashHome maps every index back to its record and place; the hashes
// a record keeps are those chain.AppendStored computes for it.
func TestStoredHashHome(t *testing.T) {
	const n = 5000
	var tree chain.Tree
	for p := range int64(n) {
		first, next := tlog.StoredHashIndex(0, p), tlog.StoredHashIndex(0, p+1)
		if got := storedCount(uint64(p)); int64(got) != next-first {
			t.Fatalf("record %d adds %d stored hashes, storedCount says %d", p, next-first, got)
		}
		for i := first; i < next; i++ {
			if home, k := hashHome(i); home != p || int64(k) != i-first {
				t.Fatalf("stored hash %d: hashHome says record %d place %d, want record %d place %d", i, home, k, p, i-first)
			}
		}
		tree.Append(chain.LeafHash(events.Hash{byte(p), byte(p >> 8)}))
		if tree.StoredCount() != next {
			t.Fatalf("after record %d the tree stores %d hashes, want %d", p, tree.StoredCount(), next)
		}
	}
	for _, p := range []uint64{1<<40 - 1, 1 << 40, 1<<50 + 3} {
		if home, k := hashHome(tlog.StoredHashIndex(0, int64(p))); home != int64(p) || k != 0 {
			t.Fatalf("record %d's leaf: hashHome says record %d place %d", p, home, k)
		}
	}
}

// TestRecordKey: the stream, revision and type read from a stored record
// without decoding it are the record's; a cut or damaged prefix is
// refused, never read past.
func TestRecordKey(t *testing.T) {
	for _, stream := range []string{"s", "election-mips-2024-" + string(make([]byte, 300))} {
		rec := events.NewRecord(stream, 7, time.Unix(1, 0), events.Hash{}, events.EventData{ID: uuid.New(),
			Type: events.TypeElectionConfirmed, SchemaVersion: 1, Data: []byte(`{}`)})
		b, _ := rec.MarshalBinary()
		s, rev, typ, ok := recordKey(b)
		if !ok || string(s) != stream || rev != 7 || string(typ) != events.TypeElectionConfirmed {
			t.Fatalf("%q: %q %d %q %v", stream, s, rev, typ, ok)
		}
		for cut := range len(b) {
			if s, rev, typ, ok := recordKey(b[:cut]); ok && (string(s) != stream || rev != 7 || len(typ) > len(events.TypeElectionConfirmed)) {
				t.Fatalf("cut at %d: read %q %d %q", cut, s, rev, typ)
			}
		}
		for i := range min(len(b), 40) {
			d := append([]byte(nil), b...)
			d[i] ^= 0xff
			recordKey(d) // must not panic
		}
	}
	if _, _, _, ok := recordKey(nil); ok {
		t.Fatal("an empty record read")
	}
}
