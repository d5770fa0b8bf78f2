package events_test

import (
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/storekit"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seq(recs ...events.Record) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// buildStream builds a stream of n records the way a store does.
func buildStream(t *testing.T, stream string, types ...string) []events.Record {
	t.Helper()
	var out []events.Record
	var prev events.Hash
	for i, typ := range types {
		e := events.EventData{
			ID: uuid.New(), Type: typ, SchemaVersion: 1,
			Data: []byte(`{"participant":{"kind":"group","tin":"000456789"},"n":` + string(rune('0'+i)) + `}`),
			Metadata: events.Metadata{
				Actor: "rep-1", ActorRole: events.RolePracticeRepresentative, Organization: "practice",
				OnBehalfOf: events.Individual(testTIN, testNPI), AttestedAt: t0,
				CommandID: uuid.New(), CausationID: uuid.New(), CorrelationID: uuid.New(),
			},
		}
		r := events.NewRecord(stream, uint64(i), t0, prev, e)
		out = append(out, r)
		prev = r.Hash
	}
	return out
}

func TestRecordBinaryRoundTrip(t *testing.T) {
	recs := buildStream(t, "election-mips-2024-abc", events.TypeElectionRequested, events.TypeElectionConfirmed)
	for _, r := range recs {
		b, err := r.MarshalBinary()
		require.NoError(t, err)
		back, err := storekit.DecodeStored(r.Stream, r.Revision, b)
		require.NoError(t, err)
		r.Position = 0
		assert.Equal(t, r, back)
		require.NoError(t, back.Verify(r.PrevHash))
	}
	n, err := chain.VerifyStream("election-mips-2024-abc", seq(recs...))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// TestEveryByteFlipDetected flips each byte of a recorded event's stored
// form, three ways, and checks that every flip is reported at that event's
// stream and revision.
func TestEveryByteFlipDetected(t *testing.T) {
	const stream = "election-mips-2024-0123456789abcdef"
	recs := buildStream(t, stream, events.TypeElectionRequested, events.TypeElectionRequestWithdrawn, events.TypeElectionRequested)
	stored, err := recs[1].MarshalBinary()
	require.NoError(t, err)
	flips := 0
	for i := range stored {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			tampered := append([]byte(nil), stored...)
			tampered[i] ^= mask
			flips++
			rec, err := storekit.DecodeStored(stream, 1, tampered)
			if err == nil {
				_, err = chain.VerifyStream(stream, seq(recs[0], rec, recs[2]))
			}
			var ce *events.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("flip of byte %d with %#x undetected (err %v)", i, mask, err)
			}
			if ce.Stream != stream || ce.Revision != 1 {
				t.Fatalf("flip of byte %d reported at %s@%d, want %s@1", i, ce.Stream, ce.Revision, stream)
			}
			assert.ErrorIs(t, err, events.ErrChainBroken)
		}
	}
	assert.Equal(t, 3*len(stored), flips)
}

func TestChainViolations(t *testing.T) {
	const stream = "election-mips-2024-x"
	recs := buildStream(t, stream, events.TypeElectionRequested, events.TypeElectionConfirmed, events.TypeElectionRequested)

	// An event after the sealing confirmation is a violation even though
	// its hash links correctly.
	var v chain.StreamVerifier
	require.NoError(t, v.Check(&recs[0]))
	require.NoError(t, v.Check(&recs[1]))
	err := v.Check(&recs[2])
	assert.ErrorIs(t, err, events.ErrStreamSealed)
	var ce *events.ChainError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, uint64(2), ce.Revision)

	// A missing record (revision gap) and a reordered stream are caught.
	_, err = chain.VerifyStream(stream, seq(recs[0], recs[2]))
	assert.ErrorIs(t, err, events.ErrChainBroken)
	_, err = chain.VerifyStream(stream, seq(recs[1], recs[0]))
	assert.ErrorIs(t, err, events.ErrChainBroken)
	// A record spliced in from another stream is caught.
	other := buildStream(t, "election-mips-2024-y", events.TypeElectionRequested)
	_, err = chain.VerifyStream(stream, seq(other[0]))
	assert.ErrorIs(t, err, events.ErrChainBroken)
	// A rewritten payload with a recomputed hash breaks the next link.
	forged := recs[0]
	forged.Data = []byte(`{"forged":true}`)
	forged.Hash = forged.ComputeHash()
	_, err = chain.VerifyStream(stream, seq(forged, recs[1]))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, uint64(1), ce.Revision)
}

func TestCorruptRecord(t *testing.T) {
	recs := buildStream(t, "s", "t")
	b, err := recs[0].MarshalBinary()
	require.NoError(t, err)
	for _, bad := range [][]byte{nil, b[:1], b[:len(b)-1], append(append([]byte(nil), b...), 0)} {
		var r events.Record
		assert.ErrorIs(t, r.UnmarshalBinary(bad), events.ErrCorruptRecord)
	}
	_, err = storekit.DecodeStored("other", 0, b)
	assert.ErrorIs(t, err, events.ErrChainBroken, "a record that claims another stream")
}

func TestExpectedRevision(t *testing.T) {
	assert.True(t, events.Any.Check(0, false))
	assert.True(t, events.NoStream.Check(0, false))
	assert.False(t, events.NoStream.Check(0, true))
	assert.False(t, events.StreamExists.Check(0, false))
	assert.True(t, events.Exact(0).Check(0, true))
	assert.False(t, events.Exact(0).Check(0, false))
	assert.False(t, events.Exact(3).Check(2, true))
	assert.Equal(t, "revision 4", events.Exact(4).String())
	assert.NoError(t, events.Exact(3).Require("s", 3, true))
	var wrong *events.WrongExpectedRevisionError
	require.ErrorAs(t, events.Exact(3).Require("s", 5, true), &wrong)
	assert.Equal(t, events.WrongExpectedRevisionError{Stream: "s", Expected: events.Exact(3), Actual: 5, ActualKnown: true}, *wrong)
	require.ErrorAs(t, events.StreamExists.Require("s", 0, false), &wrong)
	assert.Equal(t, events.NoRevision, wrong.Actual)
	assert.False(t, events.ExpectedRevision(-7).Check(0, true))
	// Revision 0 minus one must not wrap around into Any.
	var zero uint64
	assert.NotEqual(t, events.Any, events.Exact(zero-1))
	assert.ErrorIs(t, storekit.ValidateAppend("s", events.Exact(zero-1), []events.EventData{{ID: uuid.New(), Type: "t", SchemaVersion: 1}}), events.ErrInvalidEvent)
}

// TestStreamVerifierManyStreams verifies thousands of interleaved streams
// from the zero value (so the verifier's table grows many times), then
// checks that every stream's tip survived the growth: the next record of
// each is expected exactly, a repeated one is refused.
func TestStreamVerifierManyStreams(t *testing.T) {
	const streams = 3000
	var all [][]events.Record
	for i := range streams {
		all = append(all, buildStream(t, fmt.Sprintf("score-mips-2024-%05d", i), "t", "t", events.TypeElectionConfirmed))
	}
	var v chain.StreamVerifier
	for rev := range 2 { // revisions 0 and 1 of every stream, interleaved
		for i := range all {
			require.NoError(t, v.Check(&all[i][rev]), "stream %d revision %d", i, rev)
		}
	}
	assert.Equal(t, streams, v.Streams())
	for i := range all {
		err := v.Check(&all[i][1]) // again: out of order
		var ce *events.ChainError
		require.ErrorAs(t, err, &ce, "stream %d", i)
		assert.Contains(t, ce.Problem, "want 2")
		require.NoError(t, v.Check(&all[i][2]), "stream %d revision 2", i)
		assert.ErrorIs(t, v.Check(&all[i][2]), events.ErrChainBroken, "after the seal")
	}
	assert.Equal(t, streams, v.Streams())
}
