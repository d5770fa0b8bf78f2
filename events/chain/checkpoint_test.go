package chain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
)

// TestCheckpointNotes: a checkpoint round-trips through a signed note; an
// altered note, another log's key, a key named otherwise than the origin,
// and malformed bodies are refused with typed errors.
func TestCheckpointNotes(t *testing.T) {
	sig, v := signer(t, "example.org/ledger")
	otherSig, otherV := signer(t, "example.org/other")
	c := chain.Checkpoint{Origin: "example.org/ledger", Size: 42}
	c.Root[0] = 7
	signed, err := chain.Sign(c, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(signed), "example.org/ledger\n42\n") || !strings.Contains(string(signed), "\n\n— example.org/ledger ") {
		t.Fatalf("not a checkpoint note:\n%s", signed)
	}
	got, err := chain.Open(signed, v)
	if err != nil || got != c {
		t.Fatalf("round trip: %v %v", got, err)
	}
	altered := []byte(strings.Replace(string(signed), "\n42\n", "\n43\n", 1))
	if _, err := chain.Open(altered, v); !errors.Is(err, chain.ErrSignature) {
		t.Fatalf("an altered note opened: %v", err)
	}
	if _, err := chain.Open(signed, otherV); !errors.Is(err, chain.ErrSignature) {
		t.Fatalf("a note opened with another log's key: %v", err)
	}
	if _, err := chain.Sign(c, otherSig); !errors.Is(err, chain.ErrSignature) {
		t.Fatalf("signed with a key of another origin: %v", err)
	}
	for _, bad := range []string{
		"", "origin\n", "origin\n12\n", "origin\n-1\nAAAA\n", "origin\n012\n" + strings.Repeat("A", 43) + "=\n",
		"origin\n12\nnot base64\n", "has space\n1\n" + strings.Repeat("A", 43) + "=\n", "origin\n1\n" + strings.Repeat("A", 43) + "=",
	} {
		if _, err := chain.ParseCheckpoint([]byte(bad)); !errors.Is(err, chain.ErrCheckpointFormat) {
			t.Errorf("ParseCheckpoint(%q) = %v", bad, err)
		}
	}
	ok := "origin\n1\n" + strings.Repeat("A", 43) + "=\nextension line\n"
	if _, err := chain.ParseCheckpoint([]byte(ok)); err != nil {
		t.Errorf("an extension line refused: %v", err)
	}
	if _, _, err := chain.GenerateKey("bad origin"); !errors.Is(err, chain.ErrCheckpointFormat) {
		t.Errorf("a key for an origin with a space: %v", err)
	}
}

// TestReceiptProofs: a confirmation's receipt proof verifies offline with
// the public key alone, for the record at its log index, against a
// checkpoint taken after it; any change to the record, the index, the proof
// or the checkpoint is refused.
func TestReceiptProofs(t *testing.T) {
	sig, v := signer(t, "example.org/ledger")
	s := memstore.New()
	defer s.Close()
	recs := season(t, s, 10)
	var conf events.Record
	for _, r := range recs {
		if r.Type == events.TypeElectionConfirmed {
			conf = r
			break
		}
	}
	reg := events.NewRegistry()
	for i := range 3 { // the log grows after the confirmation
		d, _ := reg.Encode(uuid.New(), events.EligibilityDetermined{Participant: practice(500 + i), ProgramYear: py24, DeterminedAt: t0}, events.Metadata{})
		if _, err := s.Append(bg, namer(t).Eligibility(py24, practice(500+i)), events.Any, d); err != nil {
			t.Fatal(err)
		}
	}
	cp := checkpoint(t, s, sig, v)
	size, root, _ := chain.Head(bg, s)
	signed, _ := chain.Sign(chain.Checkpoint{Origin: cp.Origin, Size: size, Root: root}, sig)
	p, err := chain.ProveReceipt(bg, s, &conf, int64(conf.Position), signed, v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := chain.MarshalReceipt(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := chain.ParseReceipt(b)
	if err != nil {
		t.Fatal(err)
	}
	rec, c, err := back.Verify(v)
	if err != nil || rec.Hash != conf.Hash || c.Size != size {
		t.Fatalf("receipt: %v", err)
	}
	if err := chain.VerifyConfirmation(conf.Hash, chain.InclusionProof{Index: p.Index, Size: c.Size, Hashes: p.Proof}, c); err != nil {
		t.Fatalf("the confirmation number alone: %v", err)
	}
	tamper := map[string]func(q *chain.ReceiptProof){
		"record byte": func(q *chain.ReceiptProof) { q.Record[len(q.Record)/2] ^= 1 },
		"index":       func(q *chain.ReceiptProof) { q.Index++ },
		"proof hash":  func(q *chain.ReceiptProof) { q.Proof[0][3] ^= 1 },
		"proof cut":   func(q *chain.ReceiptProof) { q.Proof = q.Proof[1:] },
		"checkpoint":  func(q *chain.ReceiptProof) { q.Checkpoint = strings.Replace(q.Checkpoint, "\n", "\n1", 1) },
		"another record": func(q *chain.ReceiptProof) {
			other, _ := recs[0].MarshalBinary()
			q.Record = other
		},
	}
	for name, f := range tamper {
		q, _ := chain.ParseReceipt(b)
		f(q)
		if _, _, err := q.Verify(v); err == nil {
			t.Errorf("%s: the tampered receipt verified", name)
		}
	}
	// A checkpoint that does not cover the record, and a record the log
	// does not hold at that index, give no receipt.
	early, _ := chain.Sign(chain.Checkpoint{Origin: cp.Origin, Size: int64(conf.Position), Root: root}, sig)
	if _, err := chain.ProveReceipt(bg, s, &conf, int64(conf.Position), early, v); !errors.Is(err, chain.ErrProof) {
		t.Errorf("a receipt against a checkpoint before the record: %v", err)
	}
	if _, err := chain.ProveReceipt(bg, s, &conf, int64(conf.Position)+1, signed, v); !errors.Is(err, chain.ErrInconsistent) {
		t.Errorf("a receipt at the wrong index: %v", err)
	}
	if _, err := chain.ParseReceipt([]byte(`{"record":"AA==","checkpoint":"x","tin":"123456789"}`)); !errors.Is(err, chain.ErrReceiptFormat) || strings.Contains(err.Error(), "123456789") {
		t.Errorf("a receipt with an unknown member: %v", err)
	}
}

// TestVerifyBindsPayloads: a correctly hashed confirmation for one
// participant appended to another's stream, and an event moved to a stream
// of another category, are binding findings at their stream and revision;
// without the key only the category, program and year are checked.
func TestVerifyBindsPayloads(t *testing.T) {
	names := namer(t)
	s := memstore.New()
	defer s.Close()
	season(t, s, 4)
	reg := events.NewRegistry()
	a, b := practice(1), practice(3) // neither has an election yet
	forged, _ := reg.Encode(uuid.New(), events.ElectionConfirmed{Participant: a, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: t0}, events.Metadata{})
	if _, err := s.Append(bg, names.Election(py24, b), events.NoStream, forged); err != nil {
		t.Fatal(err)
	}
	det, _ := reg.Encode(uuid.New(), events.EligibilityDetermined{Participant: a, ProgramYear: py24, Status: events.StatusExempt, DeterminedAt: t0}, events.Metadata{})
	if _, err := s.Append(bg, names.Score(py24, a), events.Any, det); err != nil {
		t.Fatal(err)
	}
	rep, err := chain.Verify(bg, s, chain.VerifyOptions{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 2 {
		t.Fatalf("want two binding findings, got %v", rep.Findings)
	}
	want := []string{names.Election(py24, b), names.Score(py24, a)}
	for i, f := range rep.Findings {
		if f.Kind != chain.KindBinding || f.Stream != want[i] || f.Revision != 0 || !errors.Is(f, events.ErrUnbound) {
			t.Errorf("finding %d: %v", i, f)
		}
		if strings.Contains(f.Error(), "200000001") || strings.Contains(f.Error(), "20000") {
			t.Errorf("a finding names the participant: %v", f)
		}
	}
	keyless, err := chain.Verify(bg, s, chain.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keyless.Findings) != 1 || keyless.Findings[0].Stream != names.Score(py24, a) {
		t.Fatalf("without the key only the category mismatch shows: %v", keyless.Findings)
	}
}

// TestCheckpointDigest: a checkpoint carries the digest of its records'
// hashes in an extension line, which round-trips through a signed note;
// Summarize gives a log's size, root and digest; Verify compares a trusted
// checkpoint's digest too.
func TestCheckpointDigest(t *testing.T) {
	sig, v := signer(t, "example.org/ledger")
	s := memstore.New()
	defer s.Close()
	recs := season(t, s, 6)
	sum, err := chain.Summarize(bg, s)
	if err != nil {
		t.Fatal(err)
	}
	size, root, _ := chain.Head(bg, s)
	var d chain.Digester
	for _, r := range recs {
		d.Add(r.Hash)
	}
	if sum.Size != size || sum.Root != root || !sum.HasDigest || sum.Digest != d.Sum() {
		t.Fatalf("Summarize: %+v", sum)
	}
	sum.Origin = sig.Name()
	signed, err := chain.Sign(sum, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(signed), "\nelectionledger/record-hashes ") {
		t.Fatalf("no digest line:\n%s", signed)
	}
	back, err := chain.Open(signed, v)
	if err != nil || back != sum {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	rep, err := chain.Verify(bg, s, chain.VerifyOptions{Checkpoints: []chain.Checkpoint{back}})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Findings)
	}
	wrong := back
	wrong.Digest[0] ^= 1
	rep, err = chain.Verify(bg, s, chain.VerifyOptions{Checkpoints: []chain.Checkpoint{wrong}})
	if err != nil || rep.OK() || !errors.Is(rep.Findings[0], chain.ErrInconsistent) {
		t.Fatalf("a wrong digest: %v %v", err, rep.Findings)
	}
	line := "electionledger/record-hashes " + strings.Repeat("A", 43) + "=\n"
	base := "o\n1\n" + strings.Repeat("A", 43) + "=\n"
	for _, bad := range []string{base + "electionledger/record-hashes x\n", base + line + line} {
		if _, err := chain.ParseCheckpoint([]byte(bad)); !errors.Is(err, chain.ErrCheckpointFormat) {
			t.Errorf("ParseCheckpoint(%q) = %v", bad, err)
		}
	}
}
