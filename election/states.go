package election

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// electionKey names an election: a participant in a program year, and
// which of its elections.
type electionKey struct {
	py   events.ProgramYear
	p    events.Participant
	kind ElectionKind
}

// stateSource loads an election's state. There are two: the store alone
// (storeStates), which reads the election's stream from its start, and the
// cache in front of it (cachedStates). A command cannot tell them apart
// except by speed: a state from the cache may be behind the store, and says
// so (loaded.cached), and the command path checks such a state against the
// store before it refuses or answers from it.
type stateSource interface {
	// load returns the election's state and the commands its stream holds.
	// fresh asks for a state no older than the store's.
	load(ctx context.Context, k electionKey, fresh bool) (loaded, error)
	// recorded tells the source the state after a successful append.
	recorded(k electionKey, l loaded)
}

// loaded is a folded election stream.
type loaded struct {
	stream string // the election stream's name
	state  State
	// cmds are the commands the stream holds: the last record of each.
	cmds []commandRecord
	// cached says the state came from the cache without reading the
	// stream: it may be behind.
	cached bool
}

// commandRecord is the last record a command wrote to an election stream.
type commandRecord struct {
	id       uuid.UUID
	typ      string
	revision uint64
	position events.Position
	hash     events.Hash
}

// expected is the revision an append after this state expects.
func (l *loaded) expected() events.ExpectedRevision {
	if l.state.Next == 0 {
		return events.NoStream
	}
	return events.Exact(l.state.Next - 1)
}

// command returns the last record of the command with this ID, if the
// stream holds one.
func (l *loaded) command(id uuid.UUID) (commandRecord, bool) {
	if id == uuid.Nil {
		return commandRecord{}, false
	}
	for i := len(l.cmds) - 1; i >= 0; i-- {
		if l.cmds[i].id == id {
			return l.cmds[i], true
		}
	}
	return commandRecord{}, false
}

// remember notes the command that wrote rec (the last record of a command
// replaces its earlier ones). The slice may be shared with the state cache:
// it is never written in place.
func (l *loaded) remember(c commandRecord) {
	if n := len(l.cmds); n > 0 && l.cmds[n-1].id == c.id {
		l.cmds = append(l.cmds[:n-1:n-1], c)
		return
	}
	l.cmds = append(l.cmds, c)
}

// storeStates reads an election's state from the store, from its start.
type storeStates struct{ s *Service }

func (r storeStates) load(ctx context.Context, k electionKey, _ bool) (loaded, error) {
	return r.readOn(ctx, loaded{stream: r.s.streamOf(k)})
}

func (storeStates) recorded(electionKey, loaded) {}

// readOn folds the stream's records after l's state into it.
func (r storeStates) readOn(ctx context.Context, l loaded) (loaded, error) {
	l.cmds = slices.Clip(l.cmds) // appends below must not write into a cached slice
	l.cached = false
	for rec, err := range r.s.store.ReadStream(ctx, l.stream, l.state.Next) {
		if errors.Is(err, events.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return loaded{}, err
		}
		e, err := r.s.reg.Decode(&rec)
		if err != nil {
			return loaded{}, fmt.Errorf("election: %s@%d: %w", rec.Stream, rec.Revision, err)
		}
		if l.state, err = Evolve(l.state, e); err != nil {
			if v, ok := errors.AsType[*ViolationError](err); ok {
				v.Stream, v.Revision = rec.Stream, rec.Revision
			}
			return loaded{}, err
		}
		l.remember(commandRecord{id: rec.Metadata.CommandID, typ: rec.Type, revision: rec.Revision, position: rec.Position, hash: rec.Hash})
	}
	return l, nil
}

// streamOf names the stream of an election.
func (s *Service) streamOf(k electionKey) string {
	if k.kind == PartialQPElection {
		return s.names.PartialQPElection(k.py, k.p)
	}
	return s.names.Election(k.py, k.p)
}

// cachedStates keeps, per election, the stream's name, its folded state
// and the commands it holds, so a command needs one lookup, and reads only
// the events appended since (usually none) instead of decoding the whole
// stream. An entry is never trusted beyond its revision: a fresh load reads
// on from there.
type cachedStates struct {
	store storeStates
	mu    sync.Mutex
	idx   map[electionKey]int32 // where each election's entry is in slots
	slots []loaded              // updated in place: no allocation per command
}

// maxCached bounds the cache; past it the cache starts over.
const maxCached = 200_000

func (c *cachedStates) load(ctx context.Context, k electionKey, fresh bool) (loaded, error) {
	l, hit := c.get(k)
	if hit && !fresh && l.state.Next > 0 {
		l.cmds = slices.Clip(l.cmds)
		l.cached = true
		return l, nil
	}
	if !hit {
		l.stream = c.store.s.streamOf(k)
	}
	l, err := c.store.readOn(ctx, l)
	if err == nil && l.state.Next > 0 {
		c.recorded(k, l)
	}
	return l, err
}

func (c *cachedStates) get(k electionKey) (loaded, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.idx[k]
	if !ok {
		return loaded{}, false
	}
	return c.slots[i], true
}

// recorded keeps l unless the cache holds a later state already.
func (c *cachedStates) recorded(k electionKey, l loaded) {
	l.cached = false
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx == nil || len(c.slots) >= maxCached {
		c.idx, c.slots = make(map[electionKey]int32), nil
	}
	if i, ok := c.idx[k]; ok {
		if l.state.Next > c.slots[i].state.Next {
			c.slots[i] = l
		}
		return
	}
	c.idx[k] = int32(len(c.slots))
	c.slots = append(c.slots, l)
}
