package chain_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
)

var (
	bg   = context.Background()
	py24 = events.PY(events.MIPS, 2024)
	t0   = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
)

func namer(t testing.TB) *events.StreamNamer {
	n, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fatal fails t, or panics when there is no t (the Example).
func fatal(t testing.TB, err error) {
	if t == nil {
		panic(err)
	}
	t.Helper()
	t.Fatal(err)
}

// practice returns the i-th test practice.
func practice(i int) events.Participant {
	return events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 200_000_000+i)))
}

// season appends a small season to s: for each of n practices an
// eligibility determination, and for every other one an opt-in request
// and its confirmation. It returns the records in log order.
func season(t testing.TB, s events.Store, n int) []events.Record {
	reg, names := events.NewRegistry(), namer(t)
	add := func(stream string, e events.Event) {
		d, err := reg.Encode(uuid.New(), e, events.Metadata{Actor: "rep", ActorRole: events.RolePracticeRepresentative})
		if err != nil {
			fatal(t, err)
		}
		if _, err := s.Append(bg, stream, events.Any, d); err != nil {
			fatal(t, err)
		}
	}
	for i := range n {
		p := practice(i)
		add(names.Eligibility(py24, p), events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusOptInEligible,
			Exceeded: events.CriterionCharges, Source: events.SourceSegment2, DeterminedAt: t0})
	}
	for i := 0; i < n; i += 2 {
		p := practice(i)
		add(names.Election(py24, p), events.ElectionRequested{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn,
			Pathway: events.PathwayTraditional, RequestedAt: t0})
		add(names.Election(py24, p), events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn,
			Pathway: events.PathwayTraditional, ConfirmedAt: t0})
	}
	return readAll(t, s)
}

func readAll(t testing.TB, s events.Store) []events.Record {
	var out []events.Record
	for r, err := range s.ReadAll(bg, 0) {
		if err != nil {
			fatal(t, err)
		}
		out = append(out, r)
	}
	return out
}

// forge is what an operator with write access to the store can make of
// it: a whole new log holding the edited records, every hash chain, stored
// tree and index recomputed, so that the store is consistent with itself.
// Only a checkpoint kept from before tells.
func forge(t testing.TB, recs []events.Record, file bool) events.Store {
	t.Helper()
	var s events.Store
	i := 0
	clock := func() time.Time { return recs[min(i, len(recs)-1)].RecordedAt }
	if file {
		b, err := boltstore.Open(filepath.Join(t.TempDir(), "forged.db"), boltstore.WithNoSync(), boltstore.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		s = b
	} else {
		s = memstore.New(memstore.WithClock(clock))
	}
	t.Cleanup(func() { s.Close() })
	for i = range recs {
		r := &recs[i]
		e := events.EventData{ID: r.ID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata}
		if _, err := s.Append(bg, r.Stream, events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func signer(t testing.TB, origin string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := chain.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := chain.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := chain.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// checkpoint signs the head of s and opens it again, as an auditor who
// kept it would.
func checkpoint(t testing.TB, s events.Store, sig note.Signer, v note.Verifier) chain.Checkpoint {
	t.Helper()
	size, root, err := chain.Head(bg, s)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := chain.Sign(chain.Checkpoint{Origin: sig.Name(), Size: size, Root: root}, sig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.Open(signed, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDetectionAgainstACheckpoint: an auditor keeps a signed checkpoint.
// Later the operator, with write access to the store, removes or rewrites
// history and makes the store consistent with itself again. Every hash
// chain, stored tree and index then verifies, and the payloads bind to
// their streams; the checkpoint alone shows what happened, and so does
// every consistency proof from it. On both stores the library keeps.
func TestDetectionAgainstACheckpoint(t *testing.T) {
	names := namer(t)
	confirmed := names.Election(py24, practice(0))
	cases := []struct {
		name string
		edit func([]events.Record) []events.Record
	}{
		{"the last record of a stream (its confirmation) deleted", func(rs []events.Record) []events.Record {
			return slices.DeleteFunc(rs, func(r events.Record) bool { return r.Stream == confirmed && r.Type == events.TypeElectionConfirmed })
		}},
		{"a whole stream deleted", func(rs []events.Record) []events.Record {
			return slices.DeleteFunc(rs, func(r events.Record) bool { return r.Stream == confirmed })
		}},
		{"a record rewritten, every hash recomputed", func(rs []events.Record) []events.Record {
			for i := range rs {
				if rs[i].Stream == confirmed && rs[i].Type == events.TypeElectionRequested {
					rs[i].Data = []byte(string(rs[i].Data[:len(rs[i].Data)-1]) + `,"batchId":"backdated"}`)
				}
			}
			return rs
		}},
		{"two records swapped", func(rs []events.Record) []events.Record {
			rs[1], rs[2] = rs[2], rs[1] // two eligibility streams: every chain still holds
			return rs
		}},
		{"the log truncated", func(rs []events.Record) []events.Record { return rs[:len(rs)-3] }},
	}
	for _, file := range []bool{false, true} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("file=%v/%s", file, c.name), func(t *testing.T) {
				sig, v := signer(t, "example.org/ledger")
				honest := forge(t, season(t, memstore.New(), 12), file)
				old := checkpoint(t, honest, sig, v)
				forged := forge(t, c.edit(readAll(t, honest)), file)
				// Whatever was done, the forged store verifies on its own.
				alone, err := chain.Verify(bg, forged, chain.VerifyOptions{Names: names})
				if err != nil || !alone.OK() {
					t.Fatalf("the forged store is not consistent with itself: %v %v", err, alone.Findings)
				}
				if b, ok := forged.(*boltstore.Store); ok {
					if audit, err := b.Audit(bg, nil); err != nil || len(audit.Findings) > 0 {
						t.Fatalf("the forged file fails its own audit: %v %v", err, audit.Findings)
					}
				}
				// Against the checkpoint it does not.
				rep, err := chain.Verify(bg, forged, chain.VerifyOptions{Names: names, Checkpoints: []chain.Checkpoint{old}})
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() || rep.Findings[0].Kind != chain.KindCheckpoint || !errors.Is(rep.Findings[0], chain.ErrInconsistent) && !errors.Is(rep.Findings[0], chain.ErrTruncated) {
					t.Fatalf("not detected against the checkpoint: %v", rep.Findings)
				}
				// Nor can the operator prove the new log extends the old.
				now := checkpoint(t, forged, sig, v)
				r, err := chain.TreeOf(bg, forged, now.Size)
				if err != nil {
					t.Fatal(err)
				}
				if old.Size <= now.Size {
					p, err := chain.ProveConsistency(r, old.Size, now.Size)
					if err != nil {
						t.Fatal(err)
					}
					if err := p.Verify(old, now); !errors.Is(err, chain.ErrInconsistent) {
						t.Fatalf("a consistency proof from the old checkpoint verified: %v", err)
					}
				} else if err := (chain.ConsistencyProof{Old: old.Size, New: now.Size}).Verify(old, now); !errors.Is(err, chain.ErrInconsistent) {
					t.Fatalf("a shorter log passed as consistent: %v", err)
				}
			})
		}
	}
}

// TestHonestGrowthVerifies: a log that only grows stays consistent with
// every earlier checkpoint, by full verification and by consistency
// proofs between any two of them.
func TestHonestGrowthVerifies(t *testing.T) {
	sig, v := signer(t, "example.org/ledger")
	for _, file := range []bool{false, true} {
		var s events.Store = memstore.New()
		if file {
			b, err := boltstore.Open(filepath.Join(t.TempDir(), "g.db"), boltstore.WithNoSync())
			if err != nil {
				t.Fatal(err)
			}
			s = b
		}
		var cps []chain.Checkpoint
		cps = append(cps, checkpoint(t, s, sig, v)) // the empty log
		for i := range 5 {
			reg := events.NewRegistry()
			for j := range 7 * (i + 1) {
				p := practice(1000*i + j)
				d, _ := reg.Encode(uuid.New(), events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusRequired, DeterminedAt: t0}, events.Metadata{})
				if _, err := s.Append(bg, namer(t).Eligibility(py24, p), events.Any, d); err != nil {
					t.Fatal(err)
				}
			}
			cps = append(cps, checkpoint(t, s, sig, v))
		}
		rep, err := chain.Verify(bg, s, chain.VerifyOptions{Names: namer(t), Checkpoints: cps})
		if err != nil || !rep.OK() || rep.Checkpoints != len(cps) || !rep.StoredTree {
			t.Fatalf("an honest log: %v %+v", err, rep.Findings)
		}
		r, err := chain.TreeOf(bg, s, cps[len(cps)-1].Size)
		if err != nil {
			t.Fatal(err)
		}
		for i := range cps {
			for j := i; j < len(cps); j++ {
				p, err := chain.ProveConsistency(r, cps[i].Size, cps[j].Size)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Verify(cps[i], cps[j]); err != nil {
					t.Fatalf("checkpoints %d and %d: %v", i, j, err)
				}
			}
		}
		s.Close()
	}
}
