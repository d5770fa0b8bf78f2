package projection_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/boltstore/boltstoretest"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

var vt0 = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)

func devNames(t testing.TB) *events.StreamNamer {
	n, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	require.NoError(t, err)
	return n
}

func vpractice(i int) events.Participant {
	return events.Group(events.MustParseTIN(fmt.Sprintf("%09d", 300_000_000+i)))
}

// appendTo appends one event to its participant's stream.
func appendTo(t testing.TB, s events.Store, stream string, e events.Event) {
	t.Helper()
	d, err := events.NewRegistry().Encode(uuid.New(), e, events.Metadata{Actor: "rep", ActorRole: events.RolePracticeRepresentative})
	require.NoError(t, err)
	_, err = s.Append(bg, stream, events.Any, d)
	require.NoError(t, err)
}

// vseason writes n practices' determinations, then for every other one a
// request and a confirmation of opt-in, the request of practice 0 first
// and its confirmation last.
func vseason(t testing.TB, s events.Store, n int) {
	names := devNames(t)
	for i := range n {
		p := vpractice(i)
		appendTo(t, s, names.Eligibility(py24, p), events.EligibilityDetermined{Participant: p, ProgramYear: py24,
			Status: events.StatusOptInEligible, Exceeded: events.CriterionCharges, Source: events.SourceSegment1, DeterminedAt: vt0})
	}
	for i := 0; i < n; i += 2 {
		p := vpractice(i)
		appendTo(t, s, names.Election(py24, p), events.ElectionRequested{Participant: p, ProgramYear: py24,
			Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: vt0})
	}
	for i := n - 2; i >= 0; i -= 2 {
		p := vpractice(i)
		appendTo(t, s, names.Election(py24, p), events.ElectionConfirmed{Participant: p, ProgramYear: py24,
			Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: vt0, RequestRevision: 0})
	}
}

func rebuild(t testing.TB, s events.Store, opts ...projection.RunnerOption) (*projection.Models, projection.Report, error) {
	t.Helper()
	m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rep, err := projection.NewRunner(s, events.NewRegistry(), m.Projections(), opts...).Rebuild(bg)
	return m, rep, err
}

// TestBindingRefusesAMovedConfirmation: a correctly hashed confirmation
// for practice A appended to practice B's election stream is refused, with
// B's stream and revision, and A's status is what A's own stream says.
// Without the ledger key the runner cannot tell B's stream from A's: the
// forged confirmation then becomes A's status, which is why a rebuild
// should be given the key.
func TestBindingRefusesAMovedConfirmation(t *testing.T) {
	names := devNames(t)
	s := memstore.New()
	defer s.Close()
	a, b := vpractice(1), vpractice(3)
	for _, p := range []events.Participant{a, b} {
		appendTo(t, s, names.Eligibility(py24, p), events.EligibilityDetermined{Participant: p, ProgramYear: py24,
			Status: events.StatusOptInEligible, Exceeded: events.CriterionCharges, Source: events.SourceSegment1, DeterminedAt: vt0})
	}
	appendTo(t, s, names.Election(py24, a), events.ElectionRequested{Participant: a, ProgramYear: py24, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional, RequestedAt: vt0})
	forgedAt := names.Election(py24, b)
	appendTo(t, s, forgedAt, events.ElectionConfirmed{Participant: a, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: vt0})
	appendTo(t, s, names.Election(py24, a), events.ElectionConfirmed{Participant: a, ProgramYear: py24, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional, ConfirmedAt: vt0})

	for _, procs := range []int{1, 4} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			m, rep, err := rebuild(t, s, projection.WithStreamNames(names))
			require.NoError(t, err)
			require.Len(t, rep.Violations, 1)
			v := rep.Violations[0]
			assert.Equal(t, forgedAt, v.Stream)
			assert.Equal(t, uint64(0), v.Revision)
			assert.Equal(t, "stream binding", v.Problem)
			assert.ErrorIs(t, v, events.ErrUnbound)
			assert.NotContains(t, v.Error(), a.TIN.Digits())
			assert.Equal(t, projection.KindVoluntary, m.Status.Get(py24, a).Kind, "A's own confirmation stands")
			assert.Equal(t, projection.KindOptInEligible, m.Status.Get(py24, b).Kind)

			// Following live appends refuses it the same way.
			var seen []*projection.Violation
			f := projection.NewRunner(s, events.NewRegistry(), projection.NewModels(eligibility.Default(), projection.ScoringConfig{}).Projections(),
				projection.WithStreamNames(names), projection.WithCheckpoints("f", projection.NewMemoryCheckpoints()),
				projection.WithViolations(func(v *projection.Violation) { seen = append(seen, v) }))
			ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
			defer cancel()
			_ = f.Follow(ctx)
			require.Len(t, seen, 1)
			assert.Equal(t, forgedAt, seen[0].Stream)
		}()
	}
	m, rep, err := rebuild(t, s)
	require.NoError(t, err)
	assert.Equal(t, projection.KindOptedIn, m.Status.Get(py24, a).Kind, "without the key the moved confirmation is taken as A's")
	require.NotEmpty(t, rep.Violations)

	// Without the key, an event in a stream of another category, program
	// or year is still refused, on one worker or four.
	misplaced := names.Score(py24, vpractice(7))
	appendTo(t, s, misplaced, events.EligibilityDetermined{Participant: vpractice(7), ProgramYear: py24, Status: events.StatusExempt, DeterminedAt: vt0})
	for _, procs := range []int{1, 4} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			m, rep, err := rebuild(t, s)
			require.NoError(t, err)
			last := rep.Violations[len(rep.Violations)-1]
			assert.Equal(t, misplaced, last.Stream)
			assert.Equal(t, "stream binding", last.Problem)
			assert.Equal(t, projection.KindUnknown, m.Status.Get(py24, vpractice(7)).Kind, "the misplaced determination is not applied")
		}()
	}
}

// forged is the operator's rewrite of a log (see chain's tests): a new,
// self-consistent store of the edited records.
func forged(t testing.TB, recs []events.Record, file bool) events.Store {
	t.Helper()
	i := 0
	clock := func() time.Time { return recs[min(i, len(recs)-1)].RecordedAt }
	var s events.Store = memstore.New(memstore.WithClock(clock))
	if file {
		b, err := boltstore.Open(filepath.Join(t.TempDir(), "forged.db"), boltstore.WithNoSync(), boltstore.WithClock(clock))
		require.NoError(t, err)
		s = b
	}
	t.Cleanup(func() { s.Close() })
	for i = range recs {
		r := &recs[i]
		_, err := s.Append(bg, r.Stream, events.Any, events.EventData{ID: r.ID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata})
		require.NoError(t, err)
	}
	return s
}

func records(t testing.TB, s events.Store) []events.Record {
	var out []events.Record
	for r, err := range s.ReadAll(bg, 0) {
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

type logKeys struct {
	signer   note.Signer
	verifier note.Verifier
	digest   bool // checkpoints carry the digest of the records' hashes
}

func newKeys(t testing.TB) logKeys {
	skey, vkey, err := chain.GenerateKey("example.org/ledger")
	require.NoError(t, err)
	s, err := chain.NewSigner(skey)
	require.NoError(t, err)
	v, err := chain.NewVerifier(vkey)
	require.NoError(t, err)
	return logKeys{signer: s, verifier: v}
}

// sign signs the checkpoint of the first n records of s (n < 0: all).
func (k logKeys) sign(t testing.TB, s events.Store, n int64) ([]byte, chain.Checkpoint) {
	t.Helper()
	if n < 0 {
		size, _, err := chain.Head(bg, s)
		require.NoError(t, err)
		n = size
	}
	tree, err := chain.Build(bg, s, nil)
	require.NoError(t, err)
	root, err := tree.Root(n)
	require.NoError(t, err)
	c := chain.Checkpoint{Origin: "example.org/ledger", Size: n, Root: root}
	if k.digest {
		var d chain.Digester
		for _, r := range records(t, s)[:n] {
			d.Add(r.Hash)
		}
		c.Digest, c.HasDigest = d.Sum(), true
	}
	signed, err := chain.Sign(c, k.signer)
	require.NoError(t, err)
	return signed, c
}

// TestRebuildDetectsAgainstACheckpoint: the rewrites a store consistent
// with itself hides are found by a verifying rebuild given an earlier
// checkpoint, fully verifying or trusting a later one, on one worker or
// four, in memory and in a file.
func TestRebuildDetectsAgainstACheckpoint(t *testing.T) {
	for _, digest := range []bool{false, true} {
		t.Run(fmt.Sprintf("digest=%v", digest), func(t *testing.T) { testRebuildDetects(t, digest) })
	}
}

func testRebuildDetects(t *testing.T, digest bool) {
	names := devNames(t)
	confirmed := names.Election(py24, vpractice(0))
	edits := map[string]func([]events.Record) []events.Record{
		"confirmation deleted": func(rs []events.Record) []events.Record {
			return slices.DeleteFunc(rs, func(r events.Record) bool { return r.Stream == confirmed && r.Type == events.TypeElectionConfirmed })
		},
		"stream deleted": func(rs []events.Record) []events.Record {
			return slices.DeleteFunc(rs, func(r events.Record) bool { return r.Stream == confirmed })
		},
		"record rewritten": func(rs []events.Record) []events.Record {
			for i := range rs {
				if rs[i].Stream == confirmed && rs[i].Type == events.TypeElectionRequested {
					rs[i].Data = []byte(strings.Replace(string(rs[i].Data), `"opt-in"`, `"voluntary"`, 1))
				}
			}
			return rs
		},
		"records swapped": func(rs []events.Record) []events.Record { rs[2], rs[3] = rs[3], rs[2]; return rs },
		"log truncated":   func(rs []events.Record) []events.Record { return rs[:len(rs)-2] },
	}
	keys := newKeys(t)
	keys.digest = digest
	for _, file := range []bool{false, true} {
		honest := memstore.New()
		vseason(t, honest, 30)
		_, old := keys.sign(t, honest, -1)
		for name, edit := range edits {
			s := forged(t, edit(records(t, honest)), file)
			_, rep, err := rebuild(t, s, projection.WithStreamNames(names))
			require.NoError(t, err, "the forged store is consistent with itself")
			require.Empty(t, rep.Violations)
			for _, procs := range []int{1, 4} {
				func() {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					_, _, err := rebuild(t, s, projection.WithStreamNames(names), projection.VerifyCheckpoint(old))
					assert.True(t, errors.Is(err, chain.ErrInconsistent) || errors.Is(err, chain.ErrTruncated),
						"file=%v %s procs=%d: %v", file, name, procs, err)
				}()
			}
			// Trusting a checkpoint the operator signed of the forged log
			// is of no help to the operator: the older one still shows it.
			signed, _ := keys.sign(t, s, -1)
			_, _, err = rebuild(t, s, projection.WithStreamNames(names), projection.TrustCheckpoint(signed, keys.verifier), projection.VerifyCheckpoint(old))
			assert.True(t, errors.Is(err, chain.ErrInconsistent) || errors.Is(err, chain.ErrTruncated), "file=%v %s trusting: %v", file, name, err)
		}
	}
}

// TestTrustCheckpoint: a rebuild trusting a checkpoint gives the models a
// full verification gives, verifies the records after it (chains that go
// on from before it, seals made before it, bindings), refuses a
// checkpoint the log no longer matches before applying anything, and one
// no trusted key signed.
func TestTrustCheckpoint(t *testing.T) {
	for _, digest := range []bool{false, true} {
		t.Run(fmt.Sprintf("digest=%v", digest), func(t *testing.T) { testTrustCheckpoint(t, digest) })
	}
}

func testTrustCheckpoint(t *testing.T, digest bool) {
	names := devNames(t)
	keys := newKeys(t)
	keys.digest = digest
	for _, file := range []bool{false, true} {
		var s events.Store = memstore.New()
		if file {
			b, err := boltstore.Open(filepath.Join(t.TempDir(), "t.db"), boltstore.WithNoSync())
			require.NoError(t, err)
			s = b
		}
		vseason(t, s, 40)
		// The checkpoint falls between requests and their confirmations:
		// streams go on past it.
		all := records(t, s)
		n := int64(len(all) - 12)
		signed, _ := keys.sign(t, s, n)
		// After it: a binding violation and an event after a seal made
		// before the checkpoint.
		sealedBefore := all[n-1]
		require.Equal(t, events.TypeElectionConfirmed, sealedBefore.Type)
		appendTo(t, s, names.Election(py24, vpractice(1)), events.ElectionConfirmed{Participant: vpractice(5), ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: vt0})
		d, _ := events.NewRegistry().Encode(uuid.New(), events.ElectionRequestWithdrawn{Participant: vpractice(0), ProgramYear: py24, WithdrawnAt: vt0}, events.Metadata{})
		if _, err := s.Append(bg, sealedBefore.Stream, events.Any, d); err == nil {
			t.Fatal("the store took an append after a seal")
		}
		for _, procs := range []int{1, 4} {
			func() {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				full, frep, err := rebuild(t, s, projection.WithStreamNames(names))
				require.NoError(t, err)
				trusted, trep, err := rebuild(t, s, projection.WithStreamNames(names), projection.TrustCheckpoint(signed, keys.verifier))
				require.NoError(t, err)
				assert.Equal(t, n, trep.Trusted)
				if digest {
					assert.Zero(t, trep.Size, "trusting a checkpoint with a digest hashes no tree")
				} else {
					assert.Equal(t, n, trep.Size, "trusting a checkpoint without one hashes the tree up to it")
				}
				assert.Equal(t, frep.Applied, trep.Applied)
				assert.Equal(t, frep.Violations, trep.Violations)
				require.Len(t, trep.Violations, 1)
				assert.Equal(t, "stream binding", trep.Violations[0].Problem)
				a, _ := snapshot(t, full)
				b, _ := snapshot(t, trusted)
				assert.Equal(t, a, b)
			}()
		}
		if s, ok := s.(interface{ Close() error }); ok {
			defer s.Close()
		}
	}

	// A log that no longer matches: refused before anything is applied on
	// a store that keeps its tree, and once the tree reaches the
	// checkpoint on one that does not.
	honest := memstore.New()
	vseason(t, honest, 20)
	signed, _ := keys.sign(t, honest, -1)
	recs := records(t, honest)
	recs[4].Data = []byte(strings.Replace(string(recs[4].Data), `"segment-1"`, `"segment-2"`, 1))
	bad := forged(t, recs, false)
	_, rep, err := rebuild(t, bad, projection.TrustCheckpoint(signed, keys.verifier))
	assert.ErrorIs(t, err, chain.ErrInconsistent)
	assert.Zero(t, rep.Applied, "nothing applied from a log that does not match")
	_, _, err = rebuild(t, logStore{recs: records(t, bad)}, projection.TrustCheckpoint(signed, keys.verifier))
	assert.ErrorIs(t, err, chain.ErrInconsistent)
	// Another log's key, or an altered note.
	other := newKeys(t)
	_, rep, err = rebuild(t, honest, projection.TrustCheckpoint(signed, other.verifier))
	assert.ErrorIs(t, err, chain.ErrSignature)
	assert.Zero(t, rep.Applied)
	_, _, err = rebuild(t, honest, projection.TrustCheckpoint([]byte(strings.Replace(string(signed), "\n", "\n1", 1)), keys.verifier))
	assert.ErrorIs(t, err, chain.ErrSignature)
}

// TestTrustCheckpointOlderFile: a ledger file of the format before the
// stored tree, opened read-only, is rebuilt trusting a checkpoint: its tree
// is computed while the records are read.
func TestTrustCheckpointOlderFile(t *testing.T) {
	keys := newKeys(t)
	path := filepath.Join(t.TempDir(), "v1.db")
	s, err := boltstore.Open(path, boltstore.WithNoSync())
	require.NoError(t, err)
	vseason(t, s, 20)
	signed, c := keys.sign(t, s, -1)
	require.NoError(t, s.Close())
	require.NoError(t, boltstoretest.Downgrade(path, 1))
	ro, err := boltstore.Open(path, boltstore.ReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	_, rep, err := rebuild(t, ro, projection.TrustCheckpoint(signed, keys.verifier))
	require.NoError(t, err)
	assert.Equal(t, c.Size, rep.Trusted)
	assert.Equal(t, int(c.Size), rep.Applied)
}

// sliceLog serves a fixed log, possibly forged record by record, through
// ReadAll and ReadStream.
type sliceLog struct{ logStore }

func (s sliceLog) ReadStream(_ context.Context, stream string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		for _, r := range s.recs {
			if r.Stream == stream && r.Revision >= from && !yield(r, nil) {
				return
			}
		}
	}
}

// TestTrustCheckpointSealBeforeIt: a record forged after a confirmation
// that came before the trusted checkpoint is still refused: the seal is
// taken over from the trusted record.
func TestTrustCheckpointSealBeforeIt(t *testing.T) {
	keys := newKeys(t)
	keys.digest = true
	s := memstore.New()
	vseason(t, s, 10)
	signed, c := keys.sign(t, s, -1)
	recs := records(t, s)
	last := recs[len(recs)-1]
	require.Equal(t, events.TypeElectionConfirmed, last.Type)
	d, _ := events.NewRegistry().Encode(uuid.New(), events.ElectionRequestWithdrawn{Participant: vpractice(0), ProgramYear: py24, WithdrawnAt: vt0}, events.Metadata{})
	after := events.NewRecord(last.Stream, last.Revision+1, vt0, last.Hash, d)
	after.Position = last.Position + 1
	recs = append(recs, after)
	for _, procs := range []int{1, 4} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			_, rep, err := rebuild(t, sliceLog{logStore{recs: recs}}, projection.TrustCheckpoint(signed, keys.verifier))
			require.NoError(t, err)
			assert.Equal(t, c.Size, rep.Trusted)
			require.Len(t, rep.Violations, 1)
			assert.Equal(t, last.Stream, rep.Violations[0].Stream)
			assert.ErrorIs(t, rep.Violations[0], events.ErrStreamSealed)
		}()
	}
}

// TestRebuildTreeIsTheLogsTree: a verifying rebuild's tree is the log's,
// and a store whose stored tree disagrees with its records is refused.
func TestRebuildTreeIsTheLogsTree(t *testing.T) {
	s := memstore.New()
	vseason(t, s, 50)
	size, root, err := chain.Head(bg, s)
	require.NoError(t, err)
	for _, procs := range []int{1, 3} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			_, rep, err := rebuild(t, s, projection.WithLogSummary())
			require.NoError(t, err)
			assert.Equal(t, size, rep.Size)
			assert.Equal(t, root, rep.Root)
			sum, err := chain.Summarize(bg, s)
			require.NoError(t, err)
			assert.Equal(t, sum, rep.Digest, "what a verified rebuild would sign is the log's summary")
			_, rep, err = rebuild(t, logStore{recs: records(t, s)}) // a store that keeps no tree
			require.NoError(t, err)
			assert.Equal(t, root, rep.Root)
		}()
	}
	_, rep, err := rebuild(t, s, projection.WithoutChainVerification())
	require.NoError(t, err)
	assert.Zero(t, rep.Size, "an unverified rebuild computes no tree")
}
