package projection_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/projection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// follow runs r.Follow until c has seen want records, then stops it and
// returns Follow's error (context.Canceled when it ran as it should).
func follow(t *testing.T, r *projection.Runner, c *counter, want int) error {
	t.Helper()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Follow(ctx) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-done:
			return err
		case <-deadline:
			t.Fatalf("the follower saw %d records, want %d", c.total(), want)
		case <-time.After(time.Millisecond):
			if c.total() >= want {
				cancel()
				return <-done
			}
		}
	}
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.seen {
		n += k
	}
	return n
}

func appendScores(t *testing.T, store events.Store, reg *events.Registry, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := store.Append(bg, fmt.Sprintf("score-mips-2024-%d", i%5), events.Any, scoreEvent(reg, i))
		require.NoError(t, err)
	}
}

// TestFollowRefusesACheckpointPastTheEnd: a checkpoint saved past the end
// of the log (another ledger's, or one whose records are gone) is an error
// naming the rule, not a follower silently waiting past records it never
// applies.
func TestFollowRefusesACheckpointPastTheEnd(t *testing.T) {
	store, reg := memstore.New(), events.NewRegistry()
	appendScores(t, store, reg, 0, 10)
	for _, saved := range []events.Position{11, 50} {
		cps := projection.NewMemoryCheckpoints()
		require.NoError(t, cps.Save(bg, "follower", saved))
		c := &counter{seen: map[events.Position]int{}}
		ctx, cancel := context.WithTimeout(bg, 5*time.Second) // a follower that waits past the end fails here
		err := projection.NewRunner(store, reg, []projection.Projection{c}, projection.WithCheckpoints("follower", cps)).Follow(ctx)
		cancel()
		require.ErrorIs(t, err, projection.ErrCheckpoint)
		var ce *projection.CheckpointError
		require.True(t, errors.As(err, &ce))
		assert.Equal(t, saved, ce.Checkpoint)
		assert.Contains(t, err.Error(), "the log ends before it")
		assert.Zero(t, c.total(), "nothing applied")
	}
	// At the end exactly (every record applied) is a checkpoint to resume at.
	cps := projection.NewMemoryCheckpoints()
	require.NoError(t, cps.Save(bg, "follower", 10))
	c := &counter{seen: map[events.Position]int{}}
	r := projection.NewRunner(store, reg, []projection.Projection{c}, projection.WithCheckpoints("follower", cps), projection.WithDurableModels())
	go appendScores(t, store, reg, 10, 12)
	require.ErrorIs(t, follow(t, r, c, 2), context.Canceled)
	assert.Equal(t, map[events.Position]int{10: 1, 11: 1}, c.seen)
}

// TestFollowFromACheckpointIntoFreshModels: a new process's in-memory
// models following from the checkpoint an earlier process saved are
// brought up to it first, and answer as the earlier ones did; durable
// models resume at the checkpoint with nothing replayed; a runner that
// rebuilt its models resumes after what it rebuilt, applying nothing twice.
func TestFollowFromACheckpointIntoFreshModels(t *testing.T) {
	store, reg := memstore.New(), events.NewRegistry()
	cps := projection.NewMemoryCheckpoints()
	appendScores(t, store, reg, 0, 40)
	first := &counter{seen: map[events.Position]int{}}
	require.ErrorIs(t, follow(t, projection.NewRunner(store, reg, []projection.Projection{first}, projection.WithCheckpoints("f", cps)), first, 40), context.Canceled)
	saved, _, err := cps.Load(bg, "f")
	require.NoError(t, err)
	require.Equal(t, events.Position(40), saved)
	appendScores(t, store, reg, 40, 45)

	t.Run("in memory: rebuilt up to the checkpoint, then followed", func(t *testing.T) {
		c := &counter{seen: map[events.Position]int{}}
		require.ErrorIs(t, follow(t, projection.NewRunner(store, reg, []projection.Projection{c}, projection.WithCheckpoints("f", projection.NewMemoryCheckpoints())), c, 45), context.Canceled)
		fresh := &counter{seen: map[events.Position]int{}}
		own := projection.NewMemoryCheckpoints()
		require.NoError(t, own.Save(bg, "f", saved))
		require.ErrorIs(t, follow(t, projection.NewRunner(store, reg, []projection.Projection{fresh}, projection.WithCheckpoints("f", own)), fresh, 45), context.Canceled)
		assert.Equal(t, c.seen, fresh.seen, "every record once, the ones before the checkpoint included")
	})
	t.Run("durable: resumed at the checkpoint", func(t *testing.T) {
		own := projection.NewMemoryCheckpoints()
		require.NoError(t, own.Save(bg, "f", saved))
		c := &counter{seen: map[events.Position]int{}}
		require.ErrorIs(t, follow(t, projection.NewRunner(store, reg, []projection.Projection{c}, projection.WithCheckpoints("f", own), projection.WithDurableModels()), c, 5), context.Canceled)
		assert.Len(t, c.seen, 5)
		for p := range c.seen {
			assert.GreaterOrEqual(t, p, saved)
		}
	})
	t.Run("rebuilt, then followed: nothing twice", func(t *testing.T) {
		models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
		c := &counter{seen: map[events.Position]int{}}
		var violations []*projection.Violation
		own := projection.NewMemoryCheckpoints()
		require.NoError(t, own.Save(bg, "f", 20)) // behind what the rebuild applies
		r := projection.NewRunner(store, reg, append(models.Projections(), c), projection.WithCheckpoints("f", own),
			projection.WithViolations(func(v *projection.Violation) { violations = append(violations, v) }))
		rep, err := r.Rebuild(bg)
		require.NoError(t, err)
		require.Equal(t, 45, rep.Applied)
		go appendScores(t, store, reg, 45, 47)
		require.ErrorIs(t, follow(t, r, c, 47), context.Canceled)
		for p, n := range c.seen {
			assert.Equal(t, 1, n, "position %d", p)
		}
		assert.Len(t, c.seen, 47)
		assert.Empty(t, violations)
	})
}
