package events

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Hash is a SHA-256 hash-chain link. The hash of an ElectionConfirmed event
// is the election's receipt: the confirmation number the elector keeps.
type Hash [sha256.Size]byte

// IsZero reports whether h is all zeros (the previous hash of revision 0).
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns the lower-case hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText returns the hex form.
func (h Hash) MarshalText() ([]byte, error) { return h.AppendText(nil) }

// AppendText appends the hex form.
func (h Hash) AppendText(b []byte) ([]byte, error) { return hex.AppendEncode(b, h[:]), nil }

// UnmarshalText parses the hex form.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*len(h) {
		return fmt.Errorf("events: hash must be %d hex characters, got %d", 2*len(h), len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// ActorRole says in which capacity an actor acted.
type ActorRole uint8

// Actor roles.
const (
	RoleNone                   ActorRole = iota
	RolePracticeRepresentative           // staff, clinician or solo practitioner connected to the TIN
	RoleClinician                        // a clinician acting for their own TIN/NPI
	RoleRegistry                         // a QCDR or qualified registry acting for its client
	RoleSystem                           // the ledger itself: imports, determinations, scores
)

var roleEnum = enum{"actor role", []string{"", "practice-representative", "clinician", "registry", "system"}}

// String returns the stable wire name.
func (r ActorRole) String() string { return roleEnum.name(uint8(r)) }

// MarshalText returns the stable wire name.
func (r ActorRole) MarshalText() ([]byte, error) { return roleEnum.marshal(uint8(r)) }

// AppendText appends the stable wire name.
func (r ActorRole) AppendText(b []byte) ([]byte, error) { return roleEnum.append(b, uint8(r)) }

// UnmarshalText parses the wire name.
func (r *ActorRole) UnmarshalText(b []byte) error {
	v, err := roleEnum.unmarshal(b)
	*r = ActorRole(v)
	return err
}

// Metadata is what the ledger records about who did what, for whom and why.
// It is covered by the hash chain.
type Metadata struct {
	Actor     string    `json:"actor,omitzero"`     // who acted: the signed-in user's identifier
	ActorRole ActorRole `json:"actorRole,omitzero"` // in which capacity
	// Organization is the actor's organization, e.g. the registry's identifier.
	Organization string `json:"organization,omitzero"`
	// OnBehalfOf is the participant a registry acted for (its client).
	OnBehalfOf Participant `json:"onBehalfOf,omitzero"`
	// AttestedAt is when the actor accepted the Statement of Truth.
	AttestedAt    time.Time `json:"attestedAt,omitzero"`
	CommandID     uuid.UUID `json:"commandId,omitzero"`
	CausationID   uuid.UUID `json:"causationId,omitzero"`
	CorrelationID uuid.UUID `json:"correlationId,omitzero"`
}

// EventData is an event to append: an ID (idempotency key), its wire type and
// schema version, the encoded payload and the metadata.
type EventData struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Data          []byte // JSON payload, stored and hashed as given
	Metadata      Metadata

	// kept is the decoded payload Registry.Encode hands a store that keeps
	// decoded payloads (memstore): its own copy, kept only while Data is
	// still the bytes Encode wrote (see keptEvent). A caller never sees
	// or sets it.
	kept keptEvent
}

// ErrInvalidEvent is returned (wrapped) for an EventData a Store cannot
// accept: nil ID, empty type, a schema version below 1.
var ErrInvalidEvent = errors.New("events: invalid event data")

// Validate checks the fields every Store requires.
func (e *EventData) Validate() error {
	switch {
	case e.ID == uuid.Nil:
		return fmt.Errorf("%w: the event ID is nil; give each event a UUID", ErrInvalidEvent)
	case e.Type == "":
		return fmt.Errorf("%w: event %s has no type", ErrInvalidEvent, e.ID)
	case e.SchemaVersion < 1 || e.SchemaVersion > 0xFFFF:
		return fmt.Errorf("%w: event %s has schema version %d; want 1 to 65535", ErrInvalidEvent, e.ID, e.SchemaVersion)
	}
	return nil
}

// Record is an event as recorded in a stream: the envelope and the payload.
// Records returned by a Store share memory with it: treat Data as read-only
// (a modified byte shows up as a broken hash chain).
type Record struct {
	ID            uuid.UUID
	Stream        string
	Revision      uint64   // 0-based, per stream
	Position      Position // global position in the store's log
	RecordedAt    time.Time
	Type          string
	SchemaVersion int
	Data          []byte
	Metadata      Metadata
	PrevHash      Hash // hash of the previous record in the stream; zero for revision 0
	Hash          Hash // SHA-256 over the canonical encoding

	// decoded is the payload the store kept decoded (nil otherwise): the
	// copy Registry.Encode took of the event Data was encoded from, kept
	// only when Data was still those bytes at the append. Registry.Decode
	// returns it (a copy, for types holding slices) instead of decoding
	// Data; verification and binding always decode Data.
	decoded Event
}

// Position is a record's place in a store's global log. Positions strictly
// increase in log order; they need not be contiguous (EventStoreDB's are
// byte offsets). ReadAll(from) yields records at positions >= from, so a
// checkpoint stores the last handled position + 1.
type Position uint64

// NewRecord builds the record for e appended to stream at revision, after a
// record whose hash is prev, and computes its hash. Stores call it under the
// lock that orders the stream's appends.
func NewRecord(stream string, revision uint64, recordedAt time.Time, prev Hash, e EventData) Record {
	r := Record{
		ID: e.ID, Stream: stream, Revision: revision, RecordedAt: recordedAt.UTC(),
		Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata,
		PrevHash: prev,
	}
	r.decoded, _ = e.kept.take(r.Data)
	r.Hash = r.ComputeHash()
	return r
}

// SameContent reports whether e carries what r records: type, schema
// version, payload and metadata. Stores use it for idempotent appends.
func (r *Record) SameContent(e *EventData) bool {
	return r.ID == e.ID && r.Type == e.Type && r.SchemaVersion == e.SchemaVersion &&
		string(r.Data) == string(e.Data) && sameMetadata(&r.Metadata, &e.Metadata)
}

func sameMetadata(a, b *Metadata) bool {
	return a.Actor == b.Actor && a.ActorRole == b.ActorRole && a.Organization == b.Organization &&
		a.OnBehalfOf == b.OnBehalfOf && a.AttestedAt.Equal(b.AttestedAt) &&
		a.CommandID == b.CommandID && a.CausationID == b.CausationID && a.CorrelationID == b.CorrelationID
}

// canonicalVersion tags the canonical encoding so a future change is
// detectable rather than silently mis-verified.
const canonicalVersion = 1

// AppendCanonical appends the canonical encoding of everything the hash
// covers: a version tag, then stream, revision, event ID, type, schema
// version, recorded time, payload bytes as stored, each metadata field, and
// the previous hash. Variable-length fields are length-prefixed (uvarint), so
// no two different records share an encoding. The global position is not
// covered: it is where the store put the record, not part of the event.
func (r *Record) AppendCanonical(b []byte) []byte {
	b = append(b, canonicalVersion)
	b = appendString(b, r.Stream)
	b = binary.BigEndian.AppendUint64(b, r.Revision)
	b = append(b, r.ID[:]...)
	b = appendString(b, r.Type)
	b = binary.BigEndian.AppendUint16(b, uint16(r.SchemaVersion))
	b = appendTime(b, r.RecordedAt)
	b = appendBytes(b, r.Data)
	m := &r.Metadata
	b = appendString(b, m.Actor)
	b = append(b, byte(m.ActorRole))
	b = appendString(b, m.Organization)
	b = appendParticipant(b, m.OnBehalfOf)
	b = appendTime(b, m.AttestedAt)
	b = append(b, m.CommandID[:]...)
	b = append(b, m.CausationID[:]...)
	b = append(b, m.CorrelationID[:]...)
	return append(b, r.PrevHash[:]...)
}

// ComputeHash returns SHA-256 over the record's canonical encoding.
func (r *Record) ComputeHash() Hash {
	// Sized so that typical records (about 550 bytes encoded) stay on the
	// stack; a larger one grows onto the heap.
	var buf [1024]byte
	return sha256.Sum256(r.AppendCanonical(buf[:0]))
}

// MarshalBinary returns the record's stored form: the canonical encoding
// followed by its hash. Durable stores keep records in this form.
func (r *Record) MarshalBinary() ([]byte, error) {
	b := r.AppendCanonical(make([]byte, 0, 256+len(r.Data)+len(r.Stream)))
	return append(b, r.Hash[:]...), nil
}

// UnmarshalBinary decodes the stored form strictly: any structural damage
// (a bad length, a bad tag, trailing bytes) is an ErrCorruptRecord. It does
// not check the hash; see Verify.
func (r *Record) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if d.byte() != canonicalVersion {
		return fmt.Errorf("%w: unknown encoding version", ErrCorruptRecord)
	}
	var out Record
	out.Stream = d.string()
	out.Revision = d.u64()
	copy(out.ID[:], d.n(16))
	out.Type = d.string()
	out.SchemaVersion = int(d.u16())
	out.RecordedAt = d.time()
	out.Data = d.bytes()
	m := &out.Metadata
	m.Actor = d.string()
	m.ActorRole = ActorRole(d.byte())
	m.Organization = d.string()
	m.OnBehalfOf = d.participant()
	m.AttestedAt = d.time()
	copy(m.CommandID[:], d.n(16))
	copy(m.CausationID[:], d.n(16))
	copy(m.CorrelationID[:], d.n(16))
	copy(out.PrevHash[:], d.n(len(out.PrevHash)))
	copy(out.Hash[:], d.n(len(out.Hash)))
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptRecord, d.err)
	}
	*r = out
	return nil
}

// ErrCorruptRecord matches a stored record that cannot be decoded.
var ErrCorruptRecord = errors.New("events: corrupt record")

// ErrChainBroken matches every hash-chain verification failure.
var ErrChainBroken = errors.New("events: hash chain broken")

// ChainError reports a verification failure at one stream and revision.
type ChainError struct {
	Stream   string
	Revision uint64
	Problem  string
	Err      error // the cause, if any (e.g. ErrCorruptRecord)
}

// Error implements error.
func (e *ChainError) Error() string {
	s := "events: hash chain broken at " + e.Stream + "@" + strconv.FormatUint(e.Revision, 10) + ": " + e.Problem
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap matches ErrChainBroken and the cause.
func (e *ChainError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrChainBroken, e.Err}
	}
	return []error{ErrChainBroken}
}

// Verify checks the record's own hash and its link to prev, the hash of the
// stream's previous record (zero for revision 0).
func (r *Record) Verify(prev Hash) error {
	var buf [1024]byte
	_, err := r.verify(prev, buf[:0])
	return err
}

// verify is Verify encoding into buf, which it returns for reuse.
func (r *Record) verify(prev Hash, buf []byte) ([]byte, error) {
	if r.PrevHash != prev {
		return buf, &ChainError{Stream: r.Stream, Revision: r.Revision, Problem: "previous-hash link does not match the previous record"}
	}
	buf = r.AppendCanonical(buf[:0])
	if sha256.Sum256(buf) != r.Hash {
		return buf, &ChainError{Stream: r.Stream, Revision: r.Revision, Problem: "content does not match its hash"}
	}
	return buf, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime encodes a time as a presence byte and Unix nanoseconds.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

// decoder reads the canonical encoding, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) n(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		if d.err == nil {
			d.err = errors.New("truncated")
		}
		return make([]byte, max(n, 0))
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte { return d.n(1)[0] }
func (d *decoder) u16() uint16 {
	return binary.BigEndian.Uint16(d.n(2))
}
func (d *decoder) u64() uint64 { return binary.BigEndian.Uint64(d.n(8)) }

func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	l, k := binary.Uvarint(d.b)
	if k <= 0 || l > uint64(len(d.b)-k) {
		d.err = errors.New("bad length")
		return nil
	}
	d.b = d.b[k:]
	return d.n(int(l))
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, int64(d.u64())).UTC()
	}
	if d.err == nil {
		d.err = errors.New("bad time tag")
	}
	return time.Time{}
}

func (d *decoder) participant() Participant {
	var p Participant
	p.Kind = ParticipantKind(d.byte())
	if tin := d.bytes(); len(tin) > 0 && d.err == nil {
		t, err := ParseTIN(string(tin))
		if err != nil {
			d.err = errors.New("bad TIN")
		}
		p.TIN = t
	}
	if npi := d.bytes(); len(npi) > 0 && d.err == nil {
		n, err := ParseNPI(string(npi))
		if err != nil {
			d.err = errors.New("bad NPI")
		}
		p.NPI = n
	}
	p.ID = d.string()
	return p
}
