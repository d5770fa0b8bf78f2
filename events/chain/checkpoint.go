package chain

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a signed statement of a log's state: its origin (the log's
// name), its size in records and the root of the Merkle tree over them.
// Anyone who keeps a checkpoint can later demand proof that the log still
// holds exactly those records as its first Size, with others only after.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   Hash
	// Digest, when HasDigest, is SHA-256 over the hashes of the Size
	// records in log order (see Digester): a second commitment to exactly
	// what the root commits to, carried in an extension line of the note,
	// that a rebuild trusting the checkpoint checks at a sixth of the cost
	// of recomputing the tree. Checkpoints of other tools lack it and are
	// checked by their root alone.
	Digest    Hash
	HasDigest bool
}

// digestLine begins the extension line that carries a checkpoint's Digest.
const digestLine = "electionledger/record-hashes "

// String returns "<origin> size <n> root <base64>".
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s size %d root %s", c.Origin, c.Size, c.Root)
}

// Errors of checkpoints. Each is matched with errors.Is.
var (
	// ErrCheckpointFormat: the text is not a checkpoint.
	ErrCheckpointFormat = errors.New("chain: malformed checkpoint")
	// ErrSignature: no signature by a trusted key verifies, or the signed
	// text was altered.
	ErrSignature = errors.New("chain: checkpoint signature does not verify")
	// ErrInconsistent: the log does not hold what a checkpoint or a proof
	// says it held.
	ErrInconsistent = errors.New("chain: log inconsistent with the checkpoint")
)

// Text returns the checkpoint's body in the transparency-log checkpoint
// format (as Certificate Transparency, the Go checksum database and
// Sigstore's Rekor sign them): the origin, the size in decimal and the root
// in base64, one per line.
func (c Checkpoint) Text() []byte {
	s := c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
	if c.HasDigest {
		s += digestLine + base64.StdEncoding.EncodeToString(c.Digest[:]) + "\n"
	}
	return []byte(s)
}

// ValidateOrigin checks an origin line: 1 to 255 printable ASCII characters
// without spaces, "+" or newlines (a signed note's key name is the origin,
// and note key names allow neither).
func ValidateOrigin(origin string) error {
	if origin == "" || len(origin) > 255 {
		return fmt.Errorf("%w: the origin must be 1 to 255 characters, got %d", ErrCheckpointFormat, len(origin))
	}
	for i := 0; i < len(origin); i++ {
		if c := origin[i]; c <= ' ' || c >= 0x7f || c == '+' {
			return fmt.Errorf("%w: the origin holds a space, '+' or a non-printable character at byte %d; use a name such as example.org/ledger", ErrCheckpointFormat, i)
		}
	}
	return nil
}

// ParseCheckpoint parses a checkpoint's body (Text's form). Extension lines
// after the root are allowed and, but for the Digest's, ignored, as the
// format requires.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return Checkpoint{}, fmt.Errorf("%w: the text does not end with a newline", ErrCheckpointFormat)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: want origin, size and root lines, got %d lines", ErrCheckpointFormat, len(lines))
	}
	if err := ValidateOrigin(lines[0]); err != nil {
		return Checkpoint{}, err
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: the size line is not a decimal number (%d characters)", ErrCheckpointFormat, len(lines[1]))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(raw) != len(Hash{}) {
		return Checkpoint{}, fmt.Errorf("%w: the root line is not a base64 SHA-256 hash", ErrCheckpointFormat)
	}
	c := Checkpoint{Origin: lines[0], Size: n}
	copy(c.Root[:], raw)
	for _, l := range lines[3:] {
		if v, ok := strings.CutPrefix(l, digestLine); ok {
			d, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil || len(d) != len(c.Digest) || c.HasDigest {
				return Checkpoint{}, fmt.Errorf("%w: the record-hashes line is not one base64 SHA-256 hash", ErrCheckpointFormat)
			}
			copy(c.Digest[:], d)
			c.HasDigest = true
		}
	}
	return c, nil
}

// GenerateKey returns a new Ed25519 signing key for checkpoints of origin,
// in the signed-note format: the private key (keep it secret, e.g. in a
// file only the signer reads) and the public verifier key to publish.
func GenerateKey(origin string) (private, public string, err error) {
	if err := ValidateOrigin(origin); err != nil {
		return "", "", err
	}
	return note.GenerateKey(rand.Reader, origin)
}

// Sign returns the checkpoint signed as a note (the text, a blank line and a
// signature line) by signer, whose key name must be the origin.
func Sign(c Checkpoint, signer note.Signer) ([]byte, error) {
	if err := ValidateOrigin(c.Origin); err != nil {
		return nil, err
	}
	if signer.Name() != c.Origin {
		return nil, fmt.Errorf("%w: the key is named %q, the log's origin is %q; sign with the log's own key", ErrSignature, signer.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: string(c.Text())}, signer)
}

// Open verifies a signed checkpoint with the trusted keys and parses it.
// A note signed by no trusted key, or altered after signing, is
// ErrSignature; a key named otherwise than the checkpoint's origin does not
// count.
func Open(signed []byte, trusted ...note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(trusted...))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	for _, sig := range n.Sigs {
		if sig.Name == c.Origin {
			return c, nil
		}
	}
	return Checkpoint{}, fmt.Errorf("%w: signed by %q, not by the log %q itself", ErrSignature, n.Sigs[0].Name, c.Origin)
}

// NewVerifier parses a public verifier key (GenerateKey's second result).
func NewVerifier(public string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(public))
	if err != nil {
		return nil, fmt.Errorf("%w: not a verifier key: %v", ErrSignature, err)
	}
	return v, nil
}

// NewSigner parses a private signing key (GenerateKey's first result).
func NewSigner(private string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(private))
	if err != nil {
		// The note package's errors never quote the key.
		return nil, fmt.Errorf("%w: not a signing key: %v", ErrSignature, err)
	}
	return s, nil
}
