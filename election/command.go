package election

import (
	"context"
	"errors"
	"fmt"

	"github.com/electionledger/ledger/events"
)

// decideFunc is a decision over a loaded state.
type decideFunc func(State, Context) ([]events.Event, error)

// commandKind says which event type a command's last event has, to tell a
// retried command from a reused ID.
type commandKind string

func kindOf(c Command) commandKind {
	switch c.(type) {
	case Request:
		return events.TypeElectionRequested
	case Confirm:
		return events.TypeElectionConfirmed
	case Withdraw:
		return events.TypeElectionRequestWithdrawn
	}
	return ""
}

// command is one command on its way through the service: what it is, and
// what its attempts so far have learned.
type command struct {
	s    *Service
	meta Meta
	dctx Context
	key  electionKey
	kind commandKind // "" when any earlier record of the ID answers it
	// claim, when not nil, binds the command ID to the command's content
	// (claim.go); claimed says this command has recorded it (or found it
	// recorded for the same content).
	claim   *commandClaim
	claimed bool
}

// run takes a command, retrying it when another writer appended to the
// election stream first (maybe this very command, retried concurrently):
// each retry loads the stream again and decides again, at the time of the
// retry.
func (s *Service) run(ctx context.Context, m Meta, dctx Context, decide decideFunc, kind commandKind, claim *commandClaim) (Receipt, error) {
	c := &command{s: s, meta: m, dctx: dctx, kind: kind, claim: claim,
		key: electionKey{dctx.ProgramYear, dctx.Participant, dctx.Election}}
	var conflict error
	for attempt := range s.attempts {
		rc, err := c.handle(ctx, decide, attempt > 0)
		if !isConflict(err) {
			return rc, err
		}
		conflict = err
		c.dctx.Now = s.now()
	}
	return Receipt{}, fmt.Errorf("election: %v: gave up after %d conflicting attempts: %w", dctx.Participant, s.attempts, conflict)
}

// isConflict says an append lost a race with another writer: a retry
// reads what it appended and decides again.
func isConflict(err error) bool {
	return errors.Is(err, events.ErrWrongExpectedRevision) || errors.Is(err, events.ErrDuplicateEvent) || errors.Is(err, events.ErrStreamSealed)
}

// handle takes the command once, deciding with decide (which is not kept
// in the command, so that it can stay on the caller's stack). fresh asks
// for the election's state from the store itself, not the cache (a retry
// needs what the conflict appended).
func (c *command) handle(ctx context.Context, decide decideFunc, fresh bool) (Receipt, error) {
	// 1. Load the election's state; from the cache it may be behind the
	//    store.
	l, err := c.s.states.load(ctx, c.key, fresh)
	if err != nil {
		return Receipt{}, err
	}
	// 2. Decide, unless the stream holds this command already. A refusal,
	//    or an answer from an earlier record, is given only on a fresh
	//    state.
	evs, recorded, err := c.decideOn(l, decide)
	if l.cached && (recorded || err != nil) {
		if l, err = c.s.states.load(ctx, c.key, true); err != nil {
			return Receipt{}, err
		}
		evs, recorded, err = c.decideOn(l, decide)
	}
	// 3. A command the stream holds already is answered with its receipt.
	if recorded {
		return c.replay(ctx, l)
	}
	if err != nil {
		return Receipt{}, err
	}
	// 4. A command ID first used for another command is refused before
	//    anything is appended (checked on every attempt: a command racing
	//    with this one may have recorded its claim meanwhile). Where event
	//    IDs are unique per stream only, the claim is recorded here.
	if err := c.claimBeforeAppend(ctx); err != nil {
		return Receipt{}, err
	}
	// 5. Append at the revision the state was loaded at.
	data, err := c.encode(evs)
	if err != nil {
		return Receipt{}, err
	}
	res, err := c.s.store.Append(ctx, l.stream, l.expected(), data...)
	if errors.Is(err, events.ErrDuplicateEvent) {
		// The command's event IDs are recorded: in this stream (this very
		// command, retried at the same time) or in another (the ID used
		// for another command).
		return c.replayOrReused(ctx, err)
	}
	if err != nil {
		return Receipt{}, err
	}
	if l.cached && res.Revision != l.state.Next+uint64(len(data))-1 {
		// The store took the events as a retry of an earlier append of
		// this command, which the cache had not seen: answer from a read.
		return c.replayFromStore(ctx)
	}
	// 6. Keep the new state, bind the command ID to the command, and give
	//    the receipt.
	if next, ok := c.after(l, evs, data, res); ok {
		c.s.states.recorded(c.key, next)
	}
	if c.claim != nil && !c.claimed {
		if err := c.s.bindClaim(ctx, c.claim, c.dctx); err != nil {
			return Receipt{}, err
		}
	}
	return c.receipt(l.stream, data[len(data)-1].Type, res.Revision, res.Position, res.Hash, false), nil
}

// decideOn decides the command on l, or reports that l's stream holds the
// command already.
func (c *command) decideOn(l loaded, decide decideFunc) (evs []events.Event, recorded bool, err error) {
	if _, ok := l.command(c.meta.CommandID); ok {
		return nil, true, nil
	}
	evs, err = decide(l.state, c.dctx)
	return evs, false, err
}

// replay answers a command the stream holds already: with its original
// receipt, unless the ID recorded another kind of command or another
// command's claim.
func (c *command) replay(ctx context.Context, l loaded) (Receipt, error) {
	prior, _ := l.command(c.meta.CommandID)
	if c.kind != "" && string(c.kind) != prior.typ {
		return Receipt{}, refuse(ErrCommandIDReused, c.dctx.Participant, c.dctx.ProgramYear,
			fmt.Sprintf("command %s already recorded %s", c.meta.CommandID, prior.typ), "give a new command a new ID")
	}
	if c.claim != nil {
		if err := c.checkReplayed(ctx, l.stream, prior); err != nil {
			return Receipt{}, err
		}
	}
	return c.receipt(l.stream, prior.typ, prior.revision, prior.position, prior.hash, true), nil
}

// checkReplayed refuses a command whose ID's claim says it is another
// command's; with no claim recorded (the first command's claim still to
// come or lost to a store failure, or a ledger written before claims),
// one that would not record what the ID's record in the stream says.
func (c *command) checkReplayed(ctx context.Context, stream string, prior commandRecord) error {
	first, err := c.s.recordedClaim(ctx, c.claim.id)
	if err != nil {
		return err
	}
	if first != nil {
		return compareClaim(c.claim, first, c.dctx)
	}
	e, err := c.s.eventAt(ctx, stream, prior.revision)
	if err != nil {
		return err
	}
	if recordedBy(c.claim, e) {
		return nil
	}
	return reused(c.claim.id, c.dctx, "recorded "+prior.typ+" with other content (its claim is not recorded)")
}

// eventAt reads the event at revision rev of stream. (The loop is not in
// a method of command: its body, a closure, would take the command to the
// heap.)
func (s *Service) eventAt(ctx context.Context, stream string, rev uint64) (events.Event, error) {
	for rec, err := range s.store.ReadStream(ctx, stream, rev) {
		if err != nil {
			return nil, err
		}
		return s.reg.Decode(&rec)
	}
	return nil, fmt.Errorf("election: %s has no record at revision %d", stream, rev)
}

// replayFromStore reads the stream and answers from the command's record
// there; if the stream does not hold it, the append is retried.
func (c *command) replayFromStore(ctx context.Context) (Receipt, error) {
	l, err := c.s.states.load(ctx, c.key, true)
	if err != nil {
		return Receipt{}, err
	}
	if _, ok := l.command(c.meta.CommandID); !ok {
		return Receipt{}, fmt.Errorf("election: the store answered an append of command %s as a retry, and its stream does not hold it: %w",
			c.meta.CommandID, events.ErrWrongExpectedRevision)
	}
	return c.replay(ctx, l)
}

// checkClaim refuses the command if its ID's claim was recorded for
// another command.
func (c *command) checkClaim(ctx context.Context) error {
	if c.claim == nil {
		return nil
	}
	return c.s.checkClaim(ctx, c.claim, c.dctx)
}

// claimBeforeAppend refuses the command if its ID's claim was recorded for
// another command. On a store whose event IDs are unique per stream only
// (events.IDScope: EventStoreDB) it records the claim instead, once: there
// nothing else would refuse two commands racing with one ID for two
// streams, and a claim recorded after the events would find the race lost
// with the loser's events in the ledger. The price, on that store only: a
// command whose append then loses a race and is refused on the retry
// leaves its claim (no election state; a retry of it is refused the same
// way, any other use of its ID with ErrCommandIDReused).
func (c *command) claimBeforeAppend(ctx context.Context) error {
	switch {
	case c.claim == nil || c.claimed:
		return nil
	case !c.s.claimFirst:
		return c.checkClaim(ctx)
	}
	if err := c.s.bindClaim(ctx, c.claim, c.dctx); err != nil {
		return err
	}
	c.claimed = true
	return nil
}

// replayOrReused answers an append the store refused because the
// command's event IDs are recorded already: from the stream, if it holds
// this command (a concurrent retry of it); otherwise the ID was used for
// another command's events, in another stream. (A store whose event IDs
// are unique per stream only, EventStoreDB, never says so across streams:
// there the claim recorded before the append refuses the second command.)
func (c *command) replayOrReused(ctx context.Context, dup error) (Receipt, error) {
	l, err := c.s.states.load(ctx, c.key, true)
	if err != nil {
		return Receipt{}, err
	}
	if _, ok := l.command(c.meta.CommandID); ok {
		return c.replay(ctx, l)
	}
	if err := c.checkClaim(ctx); err != nil {
		return Receipt{}, err
	}
	return Receipt{}, refuse(ErrCommandIDReused, c.dctx.Participant, c.dctx.ProgramYear,
		fmt.Sprintf("command %s recorded events for another command (%v)", c.meta.CommandID, dup),
		"give a new command a new ID; reuse an ID only to retry the same command")
}

// encode encodes the decided events, each with an ID derived from the
// command's (the first marks the command ID as used: claim.go).
func (c *command) encode(evs []events.Event) ([]events.EventData, error) {
	md := c.s.metadata(c.meta, c.dctx.Participant)
	data := make([]events.EventData, len(evs))
	for i, e := range evs {
		var err error
		if data[i], err = c.s.reg.Encode(commandEventID(c.meta.CommandID, i), e, md); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// after is l with the appended events folded in and the command noted;
// ok is false if the events do not fold (which cannot happen for decided
// events), and then nothing is kept.
func (c *command) after(l loaded, evs []events.Event, data []events.EventData, res events.AppendResult) (next loaded, ok bool) {
	for _, e := range evs {
		st, err := Evolve(l.state, e)
		if err != nil {
			return loaded{}, false
		}
		l.state = st
	}
	last := data[len(data)-1]
	l.remember(commandRecord{id: last.Metadata.CommandID, typ: last.Type, revision: res.Revision, position: res.Position, hash: res.Hash})
	return l, true
}

// receipt is the command's receipt for a record in stream.
func (c *command) receipt(stream, typ string, revision uint64, pos events.Position, hash events.Hash, replayed bool) Receipt {
	return Receipt{Participant: c.dctx.Participant, ProgramYear: c.dctx.ProgramYear, Stream: stream,
		Type: typ, Revision: revision, Position: pos, LogIndex: c.s.logIndex(pos), Hash: hash, Replayed: replayed}
}
