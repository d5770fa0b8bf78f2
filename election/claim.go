package election

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
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
// and one append per command. Two commands racing with one ID both pass
// the check; the store then refuses the second one's events, whose IDs
// derive from the command ID, as recorded already, except on a store whose
// event IDs are unique per stream only (events.IDScope: EventStoreDB).
// There the claim is recorded before the events instead (claimFirst), and
// the claim stream's "no events yet" decides the race.
type commandClaim struct {
	id          uuid.UUID
	kind        string
	fingerprint events.Hash
	participant events.Participant
	programYear events.ProgramYear
}

// newClaim fingerprints a command: kind, program year, participant and the
// command's fields (Request, Confirm and Withdraw in a length-prefixed
// binary form, on the stack; anything else in its deterministic JSON form).
func newClaim(m Meta, kind string, py events.ProgramYear, p events.Participant, content any) *commandClaim {
	c := &commandClaim{id: m.CommandID, kind: kind, participant: p, programYear: py}
	var buf [256]byte
	b := appendField(buf[:0], kind)
	b = appendField(b, string(py.Program))
	b = binary.BigEndian.AppendUint64(b, uint64(py.Year))
	b = append(b, byte(p.Kind))
	b = appendField(b, p.TIN.Digits())
	b = binary.BigEndian.AppendUint32(b, p.NPI.Number())
	b = appendField(b, p.ID)
	switch x := content.(type) {
	case Request:
		b = append(b, 'R', byte(x.Choice), byte(x.Pathway))
		b = appendField(appendField(b, x.BatchID), x.VirtualGroupID)
		for _, ch := range []*events.Champion{x.OfficeChampion, x.ClinicalChampion} {
			if ch == nil {
				b = append(b, 0)
				continue
			}
			b = appendField(appendField(appendField(append(b, 1), ch.Name), ch.Role), ch.NPI.String())
		}
	case Confirm:
		b = appendField(appendField(appendField(append(b, 'C'), x.Phrase), x.BatchID), x.VirtualGroupID)
	case Withdraw:
		b = appendField(appendField(appendField(append(b, 'W'), x.Reason), x.BatchID), x.VirtualGroupID)
	default:
		c.fingerprint = jsonFingerprint(kind, py, p, content)
		return c
	}
	c.fingerprint = sha256.Sum256(b)
	return c
}

// claimID derives the event ID of a command's claim (as eventID derives its
// events', with another tag).
func claimID(cmd uuid.UUID) uuid.UUID {
	var in [18]byte
	copy(in[:], cmd[:])
	in[16], in[17] = 'c', 0
	sum := sha1.Sum(in[:])
	var u uuid.UUID
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// appendField appends a length-prefixed string.
func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// jsonFingerprint fingerprints a compound command (a batch, a member list)
// in its deterministic JSON form.
func jsonFingerprint(kind string, py events.ProgramYear, p events.Participant, content any) events.Hash {
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
	return sha256.Sum256(b)
}

// fingerprintKey identifies a participant in a fingerprint (the hash never
// leaves the ledger's command stream, and holds no TIN in the clear).
func fingerprintKey(p events.Participant) string {
	return p.Kind.String() + "|" + p.TIN.Digits() + "|" + p.NPI.String() + "|" + p.ID
}

// bindClaim records the claim, or finds the one recorded before: the same
// fingerprint is a retry, another one a reused ID.
func (s *Service) bindClaim(ctx context.Context, c *commandClaim, dctx Context) error {
	data, err := s.reg.Encode(claimID(c.id), events.CommandRecorded{CommandID: c.id, Kind: c.kind, Fingerprint: c.fingerprint,
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

// bindClaimFirst records a compound command's claim before its events, on
// a store whose event IDs are unique per stream only (Service.claimFirst):
// there nothing else refuses a command racing with another that uses its
// ID for other streams. Elsewhere it does nothing: the check before and
// the claim after suffice, and a command refused in between records
// nothing.
func (s *Service) bindClaimFirst(ctx context.Context, c *commandClaim, dctx Context) error {
	if !s.claimFirst {
		return nil
	}
	return s.bindClaim(ctx, c, dctx)
}

// bindClaimAfter records a compound command's claim after its events,
// unless bindClaimFirst did before them.
func (s *Service) bindClaimAfter(ctx context.Context, c *commandClaim, dctx Context) error {
	if s.claimFirst {
		return nil
	}
	return s.bindClaim(ctx, c, dctx)
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
