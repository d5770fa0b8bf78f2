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
// ID records its claim in the ID's own stream (events.StreamNamer.Command);
// a later command with the same ID and the same content is a retry, one
// with other content is refused with ErrCommandIDReused before it appends
// anything. Every store agrees on "this stream has no events", so the check
// holds on every store, across streams and participants, with no index of
// its own.
//
// A compound command (a batch, a virtual group's) records its claim before
// anything else, under claimID: its parts sit in streams of their own
// under IDs of their own. A single command (a request, a confirmation, a
// withdrawal, a public-reporting opt-out) records it after its events, so
// that a command the decider refuses, even on the retry after a lost race,
// records nothing; its first event carries claimID instead (the ID's mark)
// and its claim bindingID. On a store whose event IDs are unique across the
// log, whichever of a compound's claim and a single command's first event
// is recorded first owns the ID, and the store refuses the other before it
// records anything: two commands racing with one ID, of any kinds, never
// both go through. A single command's events whose claim is not recorded
// (in flight, or the store failed in between) answer a later use of the ID
// for the same election only if that command records what they say
// (recordedBy). On a store whose event IDs are unique per stream only
// (events.IDScope: EventStoreDB) the mark decides nothing, so every claim
// is recorded first (claimFirst) and the claim stream's "no events yet"
// decides the race.
type commandClaim struct {
	id          uuid.UUID
	kind        string
	fingerprint events.Hash
	participant events.Participant
	programYear events.ProgramYear
	// marked: the command's first event carries claimID (a single
	// command), so its claim takes bindingID.
	marked bool
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
	c.fingerprint, c.marked = sha256.Sum256(b), true
	return c
}

// claimID derives the event ID that marks a command ID as used: a compound
// command's claim, a single command's first event (as eventID derives a
// command's events, with another tag).
func claimID(cmd uuid.UUID) uuid.UUID { return taggedID(cmd, 'c', 0) }

// bindingID derives the event ID of a single command's claim, recorded
// after its events (the first of which carries claimID).
func bindingID(cmd uuid.UUID) uuid.UUID { return taggedID(cmd, 'c', 1) }

// commandEventID derives the ID of a command's i-th event: its first marks
// the command ID as used (claimID), the others are eventID's.
func commandEventID(cmd uuid.UUID, i int) uuid.UUID {
	if i == 0 {
		return claimID(cmd)
	}
	return eventID(cmd, i)
}

// taggedID derives a UUID v5 from a command ID, a tag and a number.
func taggedID(cmd uuid.UUID, tag, n byte) uuid.UUID {
	var in [18]byte
	copy(in[:], cmd[:])
	in[16], in[17] = tag, n
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
// fingerprint is a retry, another one a reused ID. A compound command's
// claim whose ID (claimID) the store finds recorded with no claim in the
// claim stream is refused too: a single command's first event carries it,
// the command's claim still to come or lost to a store failure.
func (s *Service) bindClaim(ctx context.Context, c *commandClaim, dctx Context) error {
	id := claimID(c.id)
	if c.marked {
		id = bindingID(c.id)
	}
	data, err := s.reg.Encode(id, events.CommandRecorded{CommandID: c.id, Kind: c.kind, Fingerprint: c.fingerprint,
		Participant: c.participant, ProgramYear: c.programYear, RecordedAt: dctx.Now.UTC()}, events.Metadata{CommandID: c.id, CausationID: c.id})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, s.names.Command(c.id), events.NoStream, data)
	if err == nil || !errors.Is(err, events.ErrWrongExpectedRevision) && !errors.Is(err, events.ErrDuplicateEvent) {
		return err
	}
	first, err2 := s.recordedClaim(ctx, c.id)
	switch {
	case err2 != nil:
		return err2
	case first == nil && errors.Is(err, events.ErrDuplicateEvent):
		return reused(c.id, dctx, "recorded another command's events, whose claim is not recorded")
	}
	return compareClaim(c, first, dctx)
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
// any: nil when none is recorded (a ledger written before claims, or a
// single command's claim still to come) or it is the same command.
func (s *Service) checkClaim(ctx context.Context, c *commandClaim, dctx Context) error {
	if c == nil {
		return nil
	}
	first, err := s.recordedClaim(ctx, c.id)
	if err != nil || first == nil {
		return err
	}
	return compareClaim(c, first, dctx)
}

// recordedClaim reads the first record of a command ID's claim stream: nil
// if there is none.
func (s *Service) recordedClaim(ctx context.Context, id uuid.UUID) (events.Event, error) {
	for rec, err := range s.store.ReadStream(ctx, s.names.Command(id), 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return s.reg.Decode(&rec)
	}
	return nil, nil
}

// compareClaim refuses c unless first, the claim recorded for its ID, is
// c's own.
func compareClaim(c *commandClaim, first events.Event, dctx Context) error {
	claim, ok := first.(events.CommandRecorded)
	if ok && claim.Fingerprint == c.fingerprint {
		return nil
	}
	what := "another command"
	if ok {
		what = "a " + claim.Kind + " for " + claim.Participant.String() + " in " + claim.ProgramYear.String()
	}
	return reused(c.id, dctx, "was first used for "+what+" with other content")
}

// reused refuses a command whose ID another command used.
func reused(id uuid.UUID, dctx Context, detail string) error {
	return refuse(ErrCommandIDReused, dctx.Participant, dctx.ProgramYear, fmt.Sprintf("command %s %s", id, detail),
		"give a new command a new ID; reuse an ID only to retry the same command")
}

// recordedAs returns the commands that record e, the last event a single
// election command recorded: how a command is told from another one with
// its ID for the same election when the ID's claim is not recorded (the
// first command's claim still to come or lost to a store failure, or a
// ledger written before claims). A request records its fields as given; a
// confirmation its batch, which must be the selection's; a withdrawal its
// reason, and the batch of the selection it withdraws (which it may leave
// unnamed).
func recordedAs(e events.Event) []Command {
	switch r := e.(type) {
	case events.ElectionRequested:
		return []Command{Request{Choice: r.Choice, Pathway: r.Pathway, BatchID: r.BatchID, VirtualGroupID: r.VirtualGroupID,
			OfficeChampion: r.OfficeChampion, ClinicalChampion: r.ClinicalChampion}}
	case events.ElectionConfirmed:
		return []Command{Confirm{Phrase: ConfirmPhrase, BatchID: r.BatchID, VirtualGroupID: r.VirtualGroupID}}
	case events.ElectionRequestWithdrawn:
		return []Command{Withdraw{Reason: r.Reason}, Withdraw{Reason: r.Reason, BatchID: r.BatchID}}
	}
	return nil
}

// recordedBy says whether e, the last event a single election command
// recorded, is what the command whose claim is c records (recordedAs).
func recordedBy(c *commandClaim, e events.Event) bool {
	for _, cmd := range recordedAs(e) {
		if newClaim(Meta{CommandID: c.id}, c.kind, c.programYear, c.participant, cmd).fingerprint == c.fingerprint {
			return true
		}
	}
	return false
}
