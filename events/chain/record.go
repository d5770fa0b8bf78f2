package chain

import (
	"context"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// CheckpointType is the wire type of a checkpoint recorded in the ledger,
// and CheckpointStream the stream such records go to. The payload is
// {"checkpoint": "<the signed note>"}.
const (
	CheckpointType   = "ledger.checkpoint"
	CheckpointStream = "ledger-checkpoints"
)

// recorded is a recorded checkpoint's payload.
type recorded struct {
	Checkpoint string `json:"checkpoint"`
}

// checkpointIDs is the namespace of recorded checkpoints' event IDs: the
// same signed checkpoint recorded twice is one record.
var checkpointIDs = uuid.MustParse("6f0a4c1e-3c8b-5d2e-9a61-0c4f1b7e2d93")

// RecordCheckpoint records a signed checkpoint in the ledger itself, so the
// log carries its own history of signed states: Verify checks each one it
// can verify against the records before it. Recording the same checkpoint
// again writes nothing.
func RecordCheckpoint(ctx context.Context, s events.Store, signed []byte) (events.AppendResult, error) {
	data, err := json.Marshal(recorded{Checkpoint: string(signed)}, json.Deterministic(true))
	if err != nil {
		return events.AppendResult{}, err
	}
	e := events.EventData{ID: uuid.NewSHA1(checkpointIDs, signed), Type: CheckpointType, SchemaVersion: 1, Data: data,
		Metadata: events.Metadata{Actor: "ledger", ActorRole: events.RoleSystem}}
	return s.Append(ctx, CheckpointStream, events.Any, e)
}

// decodeRecorded returns the signed note a recorded checkpoint holds.
func decodeRecorded(data []byte) ([]byte, error) {
	var r recorded
	if err := json.Unmarshal(data, &r, json.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpointFormat, err)
	}
	return []byte(r.Checkpoint), nil
}
