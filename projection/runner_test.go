package projection_test

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counter is a projection that records every position applied to it.
type counter struct {
	mu   sync.Mutex
	seen map[events.Position]int
}

func (c *counter) Apply(rec *events.Record, _ events.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[rec.Position]++
	return nil
}

func scoreEvent(reg *events.Registry, i int) events.EventData {
	d, _ := reg.Encode(uuid.New(), events.ScoreReported{Participant: et.Clinician(i, i), ProgramYear: py24, Score: 50, ScoredCategories: 3}, events.Metadata{})
	return d
}

// TestFollowRestartExactlyOnce stops a follower at random points while
// appends go on, restarts it from its checkpoint each time, and checks that
// every record was applied exactly once. The counter outlives each runner,
// as a projection kept in a database would: the runners say so
// (WithDurableModels).
func TestFollowRestartExactlyOnce(t *testing.T) {
	for name, cps := range map[string]projection.Checkpoints{
		"memory": projection.NewMemoryCheckpoints(),
		"file":   projection.FileCheckpoints{Dir: t.TempDir()},
	} {
		t.Run(name, func(t *testing.T) {
			store := memstore.New()
			reg := events.NewRegistry()
			c := &counter{seen: map[events.Position]int{}}
			total := 0
			for round := range 6 {
				ctx, cancel := context.WithCancel(bg)
				done := make(chan error, 1)
				r := projection.NewRunner(store, reg, []projection.Projection{c}, projection.WithCheckpoints("follower", cps), projection.WithCheckpointEvery(7), projection.WithDurableModels())
				go func() { done <- r.Follow(ctx) }()
				for i := range 50 + round*13 {
					_, err := store.Append(bg, fmt.Sprintf("score-mips-2024-%d", i%5), events.Any, scoreEvent(reg, i))
					require.NoError(t, err)
					total++
				}
				time.Sleep(time.Duration(round) * time.Millisecond)
				cancel()
				require.ErrorIs(t, <-done, context.Canceled)
			}
			// A last run with nothing cancelled mid-way catches up the rest.
			ctx, cancel := context.WithCancel(bg)
			r := projection.NewRunner(store, reg, []projection.Projection{c}, projection.WithCheckpoints("follower", cps), projection.WithDurableModels())
			done := make(chan error, 1)
			go func() { done <- r.Follow(ctx) }()
			require.Eventually(t, func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return len(c.seen) == total
			}, 10*time.Second, time.Millisecond)
			cancel()
			<-done
			for p, n := range c.seen {
				require.Equal(t, 1, n, "position %d applied %d times", p, n)
			}
			next, ok, err := cps.Load(bg, "follower")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, events.Position(total), next)
		})
	}
}

func TestRebuildProgressAndCancel(t *testing.T) {
	store := memstore.New()
	reg := events.NewRegistry()
	for i := range 2500 {
		if _, err := store.Append(bg, fmt.Sprintf("score-mips-2024-%d", i%1000), events.Any, scoreEvent(reg, i%1000)); err != nil {
			t.Fatal(err)
		}
	}
	var reports []projection.Progress
	m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rep, err := projection.NewRunner(store, reg, m.Projections(), projection.WithProgressEvery(1000),
		projection.WithProgress(func(p projection.Progress) { reports = append(reports, p) })).Rebuild(bg)
	require.NoError(t, err)
	assert.Equal(t, 2500, rep.Applied)
	require.Len(t, reports, 3, "at 1000, 2000 and the end")
	assert.Equal(t, 1000, reports[0].Applied)
	assert.Equal(t, events.Position(2500), reports[2].End)

	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = projection.NewRunner(store, reg, m.Projections()).Rebuild(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	err = projection.NewRunner(store, reg, m.Projections()).Follow(bg)
	assert.Error(t, err, "Follow without checkpoints")
	_, _, err = projection.FileCheckpoints{Dir: t.TempDir()}.Load(bg, "../escape")
	assert.Error(t, err)
}

// logStore serves a fixed log of records (possibly tampered) through ReadAll.
type logStore struct {
	events.Store
	recs []events.Record
}

func (s logStore) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		for _, r := range s.recs {
			if r.Position >= from && !yield(r, nil) {
				return
			}
		}
	}
}

// TestViolations: an event after ElectionConfirmed and a broken hash chain
// are reported with stream and revision and never applied.
func TestViolations(t *testing.T) {
	reg := events.NewRegistry()
	p := et.Group(4001)
	var recs []events.Record
	add := func(stream string, e events.Event) {
		d, err := reg.Encode(uuid.New(), e, events.Metadata{})
		require.NoError(t, err)
		var prev events.Hash
		rev := uint64(0)
		for _, r := range recs {
			if r.Stream == stream {
				prev, rev = r.Hash, r.Revision+1
			}
		}
		r := events.NewRecord(stream, rev, time.Unix(1e9, 0), prev, d)
		r.Position = events.Position(len(recs))
		recs = append(recs, r)
	}
	el := "election-mips-2024-p"
	add("eligibility-mips-2024-p", et.OptInEligible(p, py24))
	add(el, events.ElectionRequested{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	add(el, events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
	add(el, events.ElectionRequestWithdrawn{Participant: p, ProgramYear: py24}) // after the seal: a forged log
	q := et.Group(4002)
	add("eligibility-mips-2024-q", et.OptInEligible(q, py24))
	add("election-mips-2024-q", events.ElectionRequested{Participant: q, ProgramYear: py24, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional})
	recs[5].Data = []byte(string(recs[5].Data[:len(recs[5].Data)-1]) + ` }`) // tampered, hash not recomputed

	for _, verify := range []bool{true, false} {
		var opts []projection.RunnerOption
		if !verify {
			opts = append(opts, projection.WithoutChainVerification())
		}
		var reported []*projection.Violation
		opts = append(opts, projection.WithViolations(func(v *projection.Violation) { reported = append(reported, v) }))
		m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		rep, err := projection.NewRunner(logStore{recs: recs}, reg, m.Projections(), opts...).Rebuild(bg)
		require.NoError(t, err)
		assert.Equal(t, reported, rep.Violations)
		assert.Equal(t, projection.KindOptedIn, m.Status.Get(py24, p).Kind, "the event after the seal is not applied")
		require.NotEmpty(t, rep.Violations)
		v := rep.Violations[0]
		assert.Equal(t, el, v.Stream)
		assert.Equal(t, uint64(2), v.Revision)
		assert.ErrorIs(t, v, projection.ErrViolation)
		if verify {
			require.Len(t, rep.Violations, 2)
			assert.Equal(t, "election-mips-2024-q", rep.Violations[1].Stream)
			assert.Equal(t, uint64(0), rep.Violations[1].Revision)
			assert.ErrorIs(t, rep.Violations[1], events.ErrChainBroken)
			assert.Equal(t, projection.KindOptInEligible, m.Status.Get(py24, q).Kind, "the tampered request is not applied")
		}
	}
}

// snapshot captures every status and final score, for comparisons.
func snapshot(t *testing.T, m *projection.Models) ([]projection.StatusView, []projection.FinalScore) {
	var st []projection.StatusView
	for v := range m.Status.All(py24) {
		st = append(st, v)
	}
	var sc []projection.FinalScore
	for fs, err := range m.Scoring.All(py24) {
		require.NoError(t, err)
		sc = append(sc, fs)
	}
	return st, sc
}

// TestDeterminism: rebuilding twice gives identical models, and the same
// log in the memory and the file store gives equal models.
func TestDeterminism(t *testing.T) {
	l := newLedger(t)
	for i := range 40 {
		g, c := et.Group(5000+i), et.Clinician(5000+i, i)
		switch i % 4 {
		case 0:
			l.determine(et.OptInEligible(g, py24), et.OptInEligible(c, py24))
			l.elect(g, py24, events.ChoiceOptIn, events.PathwayTraditional, true)
		case 1:
			l.determine(et.OptInEligible(c, py24))
			l.elect(c, py24, events.ChoiceVoluntary, events.PathwayTraditional, i%8 == 1)
		case 2:
			l.determine(et.Determination(c, py24, events.StatusRequired), et.Determination(g, py24, events.StatusRequired))
		default:
			l.determine(et.Determination(c, py24, events.StatusExempt))
		}
		l.score(c, py24, events.PathwayTraditional, float64(i*2), 3)
		l.score(g, py24, events.PathwayTraditional, float64(100-i), 2)
	}
	m1, _ := l.rebuild()
	m2, _ := l.rebuild()
	s1, f1 := snapshot(t, m1)
	s2, f2 := snapshot(t, m2)
	assert.Equal(t, s1, s2)
	assert.Equal(t, f1, f2)
	assert.Len(t, f1, 40)

	file, err := boltstore.Open(filepath.Join(t.TempDir(), "copy.db"), boltstore.WithNoSync())
	require.NoError(t, err)
	defer file.Close()
	for rec, err := range l.h.Store.ReadAll(bg, 0) {
		require.NoError(t, err)
		expected := events.NoStream
		if rec.Revision > 0 {
			expected = events.Exact(rec.Revision - 1)
		}
		_, err = file.Append(bg, rec.Stream, expected, events.EventData{ID: rec.ID, Type: rec.Type,
			SchemaVersion: rec.SchemaVersion, Data: rec.Data, Metadata: rec.Metadata})
		require.NoError(t, err)
	}
	m3 := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	_, err = projection.NewRunner(file, l.h.Registry, m3.Projections()).Rebuild(bg)
	require.NoError(t, err)
	s3, f3 := snapshot(t, m3)
	assert.Equal(t, s1, s3, "memory and file stores give equal status")
	assert.Equal(t, f1, f3, "memory and file stores give equal scores")
}

// BenchmarkFootprint measures the status and scoring models' memory per
// participant: a clinician (TIN/NPI) and, for every fifth, its group, each
// with a determination, an election or a score.
func BenchmarkFootprint(b *testing.B) {
	const clinicians = 200_000
	reg := events.NewRegistry()
	var recs []events.Record
	for i := range clinicians {
		c := et.Clinician(i/5, i)
		evs := []events.Event{
			et.Determination(c, py24, events.StatusRequired),
			events.ScoreReported{Participant: c, ProgramYear: py24, Score: float64(i % 100), ScoredCategories: 3},
		}
		if i%5 == 0 {
			g := events.Group(c.TIN)
			evs = append(evs, et.OptInEligible(g, py24),
				events.ElectionRequested{Participant: g, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional},
				events.ElectionConfirmed{Participant: g, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
		}
		for _, e := range evs {
			d, _ := reg.Encode(uuid.New(), e, events.Metadata{Actor: "rep", ActorRole: events.RolePracticeRepresentative})
			recs = append(recs, events.Record{Type: d.Type, SchemaVersion: d.SchemaVersion, Data: d.Data, Metadata: d.Metadata})
		}
	}
	decoded := make([]events.Event, len(recs))
	for i := range recs {
		decoded[i], _ = reg.Decode(&recs[i])
	}
	b.ResetTimer()
	var perParticipant float64
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		for i := range recs {
			for _, p := range m.Projections() {
				if err := p.Apply(&recs[i], decoded[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perParticipant = float64(after.HeapAlloc-before.HeapAlloc) / float64(m.Catalog.Len())
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perParticipant, "bytes/participant")
}

// lenless hides a store's Len, as EventStoreDB's store has none.
type lenless struct{ events.Store }

// TestRebuildTwice: a Runner rebuilds again from scratch, whatever the
// store, without stale chain state.
func TestRebuildTwice(t *testing.T) {
	store := memstore.New()
	reg := events.NewRegistry()
	for i := range 20 {
		if _, err := store.Append(bg, fmt.Sprintf("score-mips-2024-%d", i%3), events.Any, scoreEvent(reg, i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []events.Store{store, lenless{store}} {
		m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		r := projection.NewRunner(s, reg, m.Projections())
		for range 2 {
			rep, err := r.Rebuild(bg)
			require.NoError(t, err)
			assert.Empty(t, rep.Violations)
			assert.Equal(t, 20, rep.Applied)
		}
	}
}

// TestShardedVerification tampers records of several streams in a store
// read in batches, with chain verification split over four goroutines: each
// tampered record is reported once, at its stream and revision, and nothing
// else is.
func TestShardedVerification(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	reg := events.NewRegistry()
	s := memstore.New()
	const streams = 300
	for i := range streams {
		p := et.Group(5000 + i)
		name := fmt.Sprintf("eligibility-mips-2024-%d", i)
		for range 3 {
			d, err := reg.Encode(uuid.New(), et.OptInEligible(p, py24), events.Metadata{})
			require.NoError(t, err)
			_, err = s.Append(bg, name, events.Any, d)
			require.NoError(t, err)
		}
	}
	want := map[string]uint64{}
	for rec, err := range s.ReadAll(bg, 0) {
		require.NoError(t, err)
		i, rev := int(rec.Position)/3, rec.Revision
		if i%29 == 7 && rev == uint64(i%3) {
			rec.Data[len(rec.Data)-2] ^= 1 // records share their bytes with the store
			want[rec.Stream] = rev
		}
	}
	require.Len(t, want, 11)
	m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	rep, err := projection.NewRunner(s, reg, m.Projections()).Rebuild(bg)
	require.NoError(t, err)
	got := map[string]uint64{}
	for _, v := range rep.Violations {
		require.ErrorIs(t, v, events.ErrChainBroken)
		if _, dup := got[v.Stream]; !dup || v.Revision < got[v.Stream] {
			got[v.Stream] = v.Revision
		}
	}
	assert.Equal(t, want, got, "the first violation of each tampered stream")
	// A stream breaks at the tampered record; the records after it no
	// longer link, so they are refused too.
	broken := 0
	for _, rev := range want {
		broken += 3 - int(rev)
	}
	assert.Len(t, rep.Violations, broken)
	assert.Equal(t, 3*streams-broken, rep.Applied)
}

// TestRebuildWorkersDecode rebuilds a log whose records carry no decoded
// events (as a file store's do), so the rebuild's workers decode every
// payload: with one worker or four, verifying or not, the models come out
// the same, and an undecodable payload is reported once, never applied.
func TestRebuildWorkersDecode(t *testing.T) {
	reg := events.NewRegistry()
	s := memstore.New()
	for i := range 1500 {
		p := et.Group(7000 + i)
		for _, e := range []events.Event{et.OptInEligible(p, py24),
			events.ScoreReported{Participant: p, ProgramYear: py24, Pathway: events.PathwayTraditional, Score: float64(i % 100), ScoredCategories: 3}} {
			d, err := reg.Encode(uuid.New(), e, events.Metadata{})
			require.NoError(t, err)
			category, _, _, _ := events.Subject(e)
			_, err = s.Append(bg, fmt.Sprintf("%s-mips-2024-%d", category, i), events.Any, d)
			require.NoError(t, err)
		}
	}
	var recs []events.Record
	for rec, err := range s.ReadAll(bg, 0) {
		require.NoError(t, err)
		// A copy of the envelope alone: the store's kept decoded payload
		// stays behind, so the forged bytes below are what is decoded.
		recs = append(recs, events.Record{ID: rec.ID, Stream: rec.Stream, Revision: rec.Revision, Position: rec.Position,
			RecordedAt: rec.RecordedAt, Type: rec.Type, SchemaVersion: rec.SchemaVersion, Data: rec.Data,
			Metadata: rec.Metadata, PrevHash: rec.PrevHash, Hash: rec.Hash})
	}
	// An undecodable payload with a hash that matches it.
	bad := &recs[1001]
	bad.Data = []byte(`{"participant":"not an object"}`)
	bad.Hash = bad.ComputeHash()

	var first []projection.StatusView
	for _, procs := range []int{1, 4} {
		for _, verify := range []bool{true, false} {
			t.Run(fmt.Sprintf("procs=%d/verify=%v", procs, verify), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				var opts []projection.RunnerOption
				if !verify {
					opts = append(opts, projection.WithoutChainVerification())
				}
				m := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
				rep, err := projection.NewRunner(logStore{recs: recs}, reg, m.Projections(), opts...).Rebuild(bg)
				require.NoError(t, err)
				require.Len(t, rep.Violations, 1)
				assert.Equal(t, bad.Stream, rep.Violations[0].Stream)
				assert.Equal(t, "undecodable payload", rep.Violations[0].Problem)
				assert.Equal(t, len(recs)-1, rep.Applied)
				st, sc := snapshot(t, m)
				require.Len(t, sc, 0) // groups only: no clinician scores
				if first == nil {
					first = st
					require.Len(t, first, 1500)
					return
				}
				assert.Equal(t, first, st)
			})
		}
	}
}
