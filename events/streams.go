package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// Stream categories: the prefix of every stream name the ledger writes.
// Election streams hold only one participant's election for one program year
// (and are sealed by its confirmation); the others hold determinations,
// scores, APM participation snapshots and virtual group memberships.
const (
	CategoryElection     = "election"
	CategoryEligibility  = "eligibility"
	CategoryScore        = "score"
	CategoryAPM          = "apm"
	CategoryVirtualGroup = "vgroup"
	// CategoryVirtualGroupMember streams, one per TIN and year, hold the
	// TIN's admission to a virtual group.
	CategoryVirtualGroupMember = "vgmember"
	// CategoryPartialQPElection streams hold a participant's Partial QP
	// election for a year (sealed by its confirmation, like an election).
	CategoryPartialQPElection = "pqpelection"
	// CategoryReporting streams hold a participant's public-reporting
	// decisions for a year.
	CategoryReporting = "reporting"
	// CategoryUpload streams hold a registry upload's cancellation.
	CategoryUpload = "upload"
	// CategoryCommand streams, one per command ID, bind the ID to the
	// content of the command that first used it.
	CategoryCommand = "command"
)

// DevelopmentKey is a documented, public ledger key for tests, examples and
// local experiments. A ledger keyed with it offers no protection: anyone can
// recompute which participant a stream belongs to. Production ledgers supply
// a secret key of their own (at least MinKeyLen random bytes) and keep it.
const DevelopmentKey = "electionledger development key: public, never use in production"

// MinKeyLen is the shortest ledger key NewStreamNamer accepts.
const MinKeyLen = 16

// ErrWeakKey is returned by NewStreamNamer for a key shorter than MinKeyLen.
var ErrWeakKey = errors.New("events: ledger key shorter than 16 bytes")

// StreamNamer derives stream names from participants. The participant part
// is HMAC-SHA256 under the ledger key, truncated to 128 bits and hex-encoded,
// so a stream name never holds a TIN (which may be an SSN) and cannot be
// reversed by enumerating the nine-digit space without the key. The same
// participant always maps to the same key, across program years, so an
// auditor holding the key can find every stream of one participant.
//
// A StreamNamer is safe for concurrent use.
type StreamNamer struct {
	key  []byte
	macs sync.Pool // of *mac

	// names caches the names already made: an HMAC costs about a
	// microsecond, a lookup a few tens of nanoseconds. Keyed by the
	// category, program year and participant in binary; bounded.
	mu    sync.RWMutex
	names map[string]string
}

// maxNames bounds a StreamNamer's cache; past it the cache starts over.
const maxNames = 1 << 20

// NewStreamNamer returns a namer keyed with key (copied).
func NewStreamNamer(key []byte) (*StreamNamer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("%w: got %d bytes", ErrWeakKey, len(key))
	}
	n := &StreamNamer{key: append([]byte(nil), key...)}
	n.macs.New = func() any { return &mac{h: hmac.New(sha256.New, n.key)} }
	return n, nil
}

// mac is an HMAC with its own input and output buffers, so that deriving a
// key allocates nothing (a buffer handed to the hash's interface methods
// would escape to the heap on every call).
type mac struct {
	h   hash.Hash
	in  [96]byte
	sum [sha256.Size]byte
}

// ParticipantKey returns the participant's 32-hex-character key.
func (n *StreamNamer) ParticipantKey(p Participant) string {
	var buf [32]byte
	return string(n.appendKey(buf[:0], p))
}

// appendKey appends the participant's key in hex.
func (n *StreamNamer) appendKey(b []byte, p Participant) []byte {
	m := n.macs.Get().(*mac)
	m.h.Reset()
	m.h.Write(appendParticipant(m.in[:0], p))
	m.h.Sum(m.sum[:0])
	b = hex.AppendEncode(b, m.sum[:16])
	n.macs.Put(m)
	return b
}

// Stream returns "<category>-<program>-<year>-<participant key>", with the
// program in lower case.
func (n *StreamNamer) Stream(category string, py ProgramYear, p Participant) string {
	var kb [128]byte
	k := appendString(kb[:0], category) // length-prefixed: no two inputs share a key
	k = appendString(k, string(py.Program))
	k = binary.AppendVarint(k, int64(py.Year))
	k = appendParticipant(k, p)
	n.mu.RLock()
	name, ok := n.names[string(k)]
	n.mu.RUnlock()
	if ok {
		return name
	}
	var buf [96]byte
	name = string(n.appendKey(appendNamePrefix(buf[:0], category, py), p))
	n.mu.Lock()
	if n.names == nil || len(n.names) >= maxNames {
		n.names = make(map[string]string)
	}
	n.names[string(k)] = name
	n.mu.Unlock()
	return name
}

// Election returns the participant's election stream for the program year.
func (n *StreamNamer) Election(py ProgramYear, p Participant) string {
	return n.Stream(CategoryElection, py, p)
}

// Eligibility returns the participant's eligibility stream for the year.
func (n *StreamNamer) Eligibility(py ProgramYear, p Participant) string {
	return n.Stream(CategoryEligibility, py, p)
}

// Score returns the participant's score stream for the year.
func (n *StreamNamer) Score(py ProgramYear, p Participant) string {
	return n.Stream(CategoryScore, py, p)
}

// APM returns an APM Entity's participation-snapshot stream for the year.
func (n *StreamNamer) APM(py ProgramYear, entity Participant) string {
	return n.Stream(CategoryAPM, py, entity)
}

// VirtualGroup returns a virtual group's membership stream for the year.
func (n *StreamNamer) VirtualGroup(py ProgramYear, vg Participant) string {
	return n.Stream(CategoryVirtualGroup, py, vg)
}

// VirtualGroupMember returns the stream of a TIN's virtual group membership
// for the year: where its admission to at most one virtual group is
// recorded.
func (n *StreamNamer) VirtualGroupMember(py ProgramYear, tin TIN) string {
	return n.Stream(CategoryVirtualGroupMember, py, Group(tin))
}

// PartialQPElection returns the participant's Partial QP election stream
// for the year.
func (n *StreamNamer) PartialQPElection(py ProgramYear, p Participant) string {
	return n.Stream(CategoryPartialQPElection, py, p)
}

// Reporting returns the participant's public-reporting stream for the year.
func (n *StreamNamer) Reporting(py ProgramYear, p Participant) string {
	return n.Stream(CategoryReporting, py, p)
}

// Upload returns the stream of a registry's upload: keyed by the registry
// and the upload's ID under the ledger key.
func (n *StreamNamer) Upload(py ProgramYear, organization, batchID string) string {
	return n.Stream(CategoryUpload, py, uploadSubject(organization, batchID))
}

// Command returns the stream that binds a command ID to its content:
// "command-<uuid>" (a command ID names no participant).
func (n *StreamNamer) Command(id uuid.UUID) string {
	var b [commandStreamLen]byte
	return string(appendCommandStream(b[:0], id))
}

// commandStreamLen is the length of a command stream's name.
const commandStreamLen = len(CategoryCommand) + 1 + 36

// appendCommandStream appends "command-<uuid>".
func appendCommandStream(b []byte, id uuid.UUID) []byte {
	return appendUUID(append(append(b, CategoryCommand...), '-'), id)
}

// StreamCategory returns the category of a stream name: the part before the
// first '-'.
func StreamCategory(stream string) string {
	c, _, _ := strings.Cut(stream, "-")
	return c
}

// appendParticipant is the canonical byte form of a participant, used for
// keys and for the hash chain: kind, then each field length-prefixed.
func appendParticipant(b []byte, p Participant) []byte {
	b = append(b, byte(p.Kind))
	if p.TIN.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 9)
		var d [9]byte
		p.TIN.put(d[:])
		b = append(b, d[:]...)
	}
	var nb [20]byte // the NPI's digits, as NPI.String writes them, without allocating
	var npi []byte
	if !p.NPI.IsZero() {
		npi = strconv.AppendUint(nb[:0], uint64(p.NPI.Number()), 10)
	}
	b = binary.AppendUvarint(b, uint64(len(npi)))
	b = append(b, npi...)
	return appendString(b, p.ID)
}
