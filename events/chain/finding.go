package chain

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/electionledger/ledger/events"
)

// Kind classifies a verification finding.
type Kind uint8

// Kinds of findings.
const (
	// KindChain: a record's content does not match its hash, its link to
	// the stream's previous record is broken, its revision is out of order,
	// or it follows a sealing (confirmed) record.
	KindChain Kind = iota + 1
	// KindBinding: a record's payload is about another participant,
	// program year or category than its stream's name derives from.
	KindBinding
	// KindPayload: a ledger record's payload does not decode.
	KindPayload
	// KindTree: a store's stored Merkle tree disagrees with its log.
	KindTree
	// KindCheckpoint: the log does not hold what a trusted checkpoint says
	// it held (a record deleted, rewritten, reordered, or the log cut
	// short), or a checkpoint recorded in the ledger does not verify.
	KindCheckpoint
	// KindIndex: a store's own index (boltstore's stream heads, stream
	// index or event-ID index) disagrees with its log.
	KindIndex
	// KindDamage: part of the store could not be read (a damaged page or an
	// undecodable stored record).
	KindDamage
	// KindLedger: replay refused a record the ledger's rules forbid (see
	// projection.Violation).
	KindLedger
)

var kindNames = [...]string{"", "chain", "binding", "payload", "tree", "checkpoint", "index", "damage", "ledger"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ErrFinding matches every Finding used as an error.
var ErrFinding = errors.New("chain: verification finding")

// Finding is one thing verification found wrong: what kind, where (the
// stream and revision of a record, its position and log index, when it is
// about one record) and why. A Finding never quotes a payload.
type Finding struct {
	Kind     Kind
	Stream   string // "" when not about one record
	Revision uint64
	Position events.Position
	Index    int64 // the record's log index (leaf); -1 when not about one record
	Problem  string
	Err      error // the underlying error, if any

	cause    error // what Error prints after Problem (set by this package's constructors)
	causeSet bool
}

// Error implements error: "<kind>: <stream>@<revision> (position p): problem".
func (f *Finding) Error() string {
	s := f.Kind.String() + ": "
	if f.Stream != "" {
		s += f.Stream + "@" + strconv.FormatUint(f.Revision, 10) + " (position " + strconv.FormatUint(uint64(f.Position), 10)
		if f.Index >= 0 {
			s += ", log index " + strconv.FormatInt(f.Index, 10)
		}
		s += "): "
	}
	s += f.Problem
	cause := f.Err
	if f.causeSet {
		cause = f.cause
	}
	if cause != nil && cause.Error() != f.Problem {
		s += ": " + cause.Error()
	}
	return s
}

// Unwrap matches ErrFinding and the cause.
func (f *Finding) Unwrap() []error {
	if f.Err != nil {
		return []error{ErrFinding, f.Err}
	}
	return []error{ErrFinding}
}

// RecordFinding is a finding about one record.
func RecordFinding(k Kind, rec *events.Record, index int64, problem string, err error) *Finding {
	if f := FromError(err, index); err != nil && f.Stream == rec.Stream && f.Kind != KindDamage {
		f.Kind, f.Revision, f.Position = k, rec.Revision, rec.Position
		return f // the error names the record itself: its problem is the finding's
	}
	return &Finding{Kind: k, Stream: rec.Stream, Revision: rec.Revision, Position: rec.Position, Index: index, Problem: problem, Err: err}
}

// LogFinding is a finding about the log as a whole.
func LogFinding(k Kind, err error, format string, args ...any) *Finding {
	return &Finding{Kind: k, Index: -1, Problem: fmt.Sprintf(format, args...), Err: err}
}

// FromError turns a verification error into a finding: a *Finding as is,
// an *events.ChainError or *events.BindingError at its stream and revision,
// anything else as damage to the log.
func FromError(err error, index int64) *Finding {
	var f *Finding
	if errors.As(err, &f) {
		return f
	}
	var ce *events.ChainError
	if errors.As(err, &ce) {
		k := KindChain
		if errors.Is(err, events.ErrCorruptRecord) {
			k = KindDamage
		}
		return &Finding{Kind: k, Stream: ce.Stream, Revision: ce.Revision, Index: index, Problem: ce.Problem, Err: err, cause: ce.Err, causeSet: true}
	}
	var be *events.BindingError
	if errors.As(err, &be) {
		return &Finding{Kind: KindBinding, Stream: be.Stream, Revision: be.Revision, Index: index, Problem: be.Problem, Err: err, causeSet: true}
	}
	return &Finding{Kind: KindDamage, Index: index, Problem: "the log could not be read", Err: err}
}
