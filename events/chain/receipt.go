package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/note"
)

// ReceiptProof is what a participant keeps to prove, to anyone and with no
// access to the ledger, that a record (their election's confirmation) is in
// the log: the record as stored, its log index, a checkpoint signed by the
// log's key, and the inclusion proof of the record in the checkpoint's
// tree. The stored record holds the payload as the ledger does (the
// participant in full): keep a receipt as you keep the confirmation.
type ReceiptProof struct {
	Record     []byte `json:"record"` // events.Record.MarshalBinary: the canonical encoding and the hash
	Index      int64  `json:"index"`
	Checkpoint string `json:"checkpoint"` // the signed note
	Proof      []Hash `json:"proof"`
}

// String describes the receipt proof without the record it holds (whose
// payload names the participant in full): "receipt proof of log index i,
// n hashes".
func (p ReceiptProof) String() string {
	return fmt.Sprintf("receipt proof of log index %d, %d hashes", p.Index, len(p.Proof))
}

// Format prints String under every verb.
func (p ReceiptProof) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(p.String())) }

// LogValue logs the receipt proof without its record.
func (p ReceiptProof) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("index", p.Index), slog.Int("hashes", len(p.Proof)))
}

// ProveReceipt builds the receipt proof of rec, the record at log index
// index, against the signed checkpoint, which the given keys must verify
// and whose tree must hold the record. For a record the log no longer holds
// as the checkpoint covered it, it fails with ErrInconsistent.
func ProveReceipt(ctx context.Context, s events.Store, rec *events.Record, index int64, signed []byte, keys ...note.Verifier) (*ReceiptProof, error) {
	c, err := Open(signed, keys...)
	if err != nil {
		return nil, err
	}
	if index >= c.Size {
		return nil, fmt.Errorf("%w: record %d is not covered by the checkpoint of %d records; sign a newer one", ErrProof, index, c.Size)
	}
	r, err := TreeOf(ctx, s, c.Size)
	if err != nil {
		return nil, err
	}
	p, err := ProveInclusion(r, index, c.Size)
	if err != nil {
		return nil, err
	}
	if err := p.VerifyCheckpoint(LeafHash(rec.Hash), c); err != nil {
		return nil, fmt.Errorf("%w: the log does not hold this record at %d as the checkpoint covered it: %v", ErrInconsistent, index, err)
	}
	b, err := rec.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &ReceiptProof{Record: b, Index: index, Checkpoint: string(signed), Proof: p.Hashes}, nil
}

// Verify checks the receipt offline with the log's public keys: the
// checkpoint's signature, the record's own hash, and that the record is at
// Index in the checkpoint's tree. It returns the record (decode its payload
// with a Registry) and the checkpoint.
func (p *ReceiptProof) Verify(keys ...note.Verifier) (events.Record, Checkpoint, error) {
	c, err := Open([]byte(p.Checkpoint), keys...)
	if err != nil {
		return events.Record{}, Checkpoint{}, err
	}
	var rec events.Record
	if err := rec.UnmarshalBinary(p.Record); err != nil {
		return events.Record{}, c, fmt.Errorf("%w: the receipt's record: %w", ErrProof, err)
	}
	if rec.ComputeHash() != rec.Hash {
		return events.Record{}, c, fmt.Errorf("%w: the receipt's record does not match its hash (altered)", ErrProof)
	}
	ip := InclusionProof{Index: p.Index, Size: c.Size, Hashes: p.Proof}
	if err := ip.VerifyCheckpoint(LeafHash(rec.Hash), c); err != nil {
		return events.Record{}, c, err
	}
	return rec, c, nil
}

// VerifyConfirmation checks that the record whose hash is confirmation (an
// election's confirmation number) is at index in the checkpoint's tree.
func VerifyConfirmation(confirmation events.Hash, p InclusionProof, c Checkpoint) error {
	return p.VerifyCheckpoint(LeafHash(confirmation), c)
}

// MarshalReceipt encodes a receipt proof as JSON.
func MarshalReceipt(p *ReceiptProof) ([]byte, error) {
	return json.Marshal(p, json.Deterministic(true))
}

// ErrReceiptFormat matches a receipt file that is not a receipt proof.
var ErrReceiptFormat = errors.New("chain: malformed receipt proof")

// ParseReceipt decodes a receipt proof from JSON, strictly.
func ParseReceipt(b []byte) (*ReceiptProof, error) {
	var p ReceiptProof
	if err := json.Unmarshal(b, &p, json.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReceiptFormat, err)
	}
	if len(p.Record) == 0 || p.Checkpoint == "" {
		return nil, fmt.Errorf("%w: it lacks the record or the checkpoint", ErrReceiptFormat)
	}
	return &p, nil
}
