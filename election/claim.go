package election

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// commandClaim binds a command ID to the content of the command: its kind,
// participant, program year and fields, hashed. The first command to use an
// ID records its claim in the ID's own stream (events.StreamNamer.Command)
// once its events are recorded; a later command with the same ID and the
// same content is a retry, one with other content is refused with
// ErrCommandIDReused before it appends anything. Every store agrees on
// "this stream has no events", so the check holds on every store, across
// streams and participants, with no index of its own. It costs one read
// and one append per command.
type commandClaim struct {
	id          uuid.UUID
	kind        string
	fingerprint events.Hash
	participant events.Participant
	programYear events.ProgramYear
}

// newClaim fingerprints a command: kind, program year, participant and the
// command's fields in their deterministic JSON form.
func newClaim(m Meta, kind string, py events.ProgramYear, p events.Participant, content any) *commandClaim {
	b, err := json.Marshal(struct {
		Kind        string             `json:"kind"`
		ProgramYear events.ProgramYear `json:"programYear"`
		Participant string             `json:"participant"`
		Content     any                `json:"content"`
	}{kind, py, fingerprintKey(p), content}, json.Deterministic(true))
	if err != nil {
		// The commands are plain structs of identifiers and strings; if one
		// ever fails to encode, its type prints instead, which still binds
		// the ID to the kind of command.
		b = fmt.Appendf(nil, "%s/%T", kind, content)
	}
	return &commandClaim{id: m.CommandID, kind: kind, fingerprint: sha256.Sum256(b), participant: p, programYear: py}
}

// fingerprintKey identifies a participant in a fingerprint (the hash never
// leaves the ledger's command stream, and holds no TIN in the clear).
func fingerprintKey(p events.Participant) string {
	return p.Kind.String() + "|" + p.TIN.Digits() + "|" + p.NPI.String() + "|" + p.ID
}

// bindClaim records the claim, or finds the one recorded before: the same
// fingerprint is a retry, another one a reused ID.
func (s *Service) bindClaim(ctx context.Context, c *commandClaim, dctx Context) error {
	id := uuid.NewSHA1(c.id, []byte("command"))
	data, err := s.reg.Encode(id, events.CommandRecorded{CommandID: c.id, Kind: c.kind, Fingerprint: c.fingerprint,
		Participant: c.participant, ProgramYear: c.programYear, RecordedAt: dctx.Now.UTC()}, events.Metadata{CommandID: c.id, CausationID: c.id})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, s.names.Command(c.id), events.NoStream, data)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, events.ErrWrongExpectedRevision), errors.Is(err, events.ErrDuplicateEvent):
		return s.checkClaim(ctx, c, dctx)
	}
	return err
}

// checkClaim compares a command with the claim recorded for its ID, if
// any: nil when none is recorded (a ledger written before claims) or it is
// the same command.
func (s *Service) checkClaim(ctx context.Context, c *commandClaim, dctx Context) error {
	if c == nil {
		return nil
	}
	for rec, err := range s.store.ReadStream(ctx, s.names.Command(c.id), 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		e, err := s.reg.Decode(&rec)
		if err != nil {
			return err
		}
		first, ok := e.(events.CommandRecorded)
		if !ok || first.Fingerprint != c.fingerprint {
			what := "another command"
			if ok {
				what = "a " + first.Kind + " for " + first.Participant.String() + " in " + first.ProgramYear.String()
			}
			return refuse(ErrCommandIDReused, dctx.Participant, dctx.ProgramYear,
				fmt.Sprintf("command %s was first used for %s with other content", c.id, what), "give a new command a new ID; reuse an ID only to retry the same command")
		}
		return nil
	}
	return nil
}
