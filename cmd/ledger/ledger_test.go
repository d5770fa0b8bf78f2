package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/boltstore/boltstoretest"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/esdbstore"
	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
	"github.com/electionledger/ledger/internal/piicheck"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
)

var (
	bg     = context.Background()
	py24   = events.PY(events.MIPS, 2024)
	devEnv = map[string]string{envLedgerKey: events.DevelopmentKey}
)

const tin = "000456789"

// runLedger runs the tool in process with the environment given.
func runLedger(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	e := &env{out: &out, err: &errs, getenv: func(k string) string { return environ[k] }, every: time.Second}
	code = runEnv(bg, args, e)
	// No output of the tool, at any exit, shows a full TIN (the QPP export
	// to a file is the one place one is written).
	for _, s := range []string{out.String(), errs.String()} {
		if strings.Contains(s, tin) || strings.Contains(s, "100000") {
			t.Errorf("ledger %v printed a full TIN:\n%s", args, s)
		}
	}
	return code, out.String(), errs.String()
}

// demo writes a ledger file: practice 000456789 opt-in eligible, its
// request and confirmation through the Service, and more practices'
// determinations. It returns the confirmation's receipt.
func demo(t *testing.T, path string) election.Receipt {
	t.Helper()
	return demoOn(t, func(clock func() time.Time) (events.Store, error) {
		return boltstore.Open(path, boltstore.WithClock(clock), boltstore.WithNoSync())
	})
}

// demoOn writes demo's ledger to the store open opens (with the clock
// given), and closes it.
func demoOn(t *testing.T, open func(clock func() time.Time) (events.Store, error)) election.Receipt {
	t.Helper()
	now := time.Date(2024, 11, 20, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := open(clock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.(io.Closer).Close()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg := events.NewRegistry()
	p := events.Group(events.MustParseTIN(tin))
	for i, q := range []events.Participant{p, events.Group(events.MustParseTIN("100000001")), events.Group(events.MustParseTIN("100000002"))} {
		d := events.EligibilityDetermined{Participant: q, ProgramYear: py24, Status: events.StatusOptInEligible,
			Exceeded: events.CriterionCharges, Source: events.SourceSegment1, DeterminedAt: now.Add(time.Duration(i) * time.Minute)}
		if _, err := eligibility.Record(bg, s, names, reg, eligibility.Default(), d, events.Metadata{Actor: "cms", ActorRole: events.RoleSystem}); err != nil {
			t.Fatal(err)
		}
	}
	auth := election.NewMemoryAuthorizer()
	auth.ConnectRepresentative("rep@practice", p.TIN)
	svc, err := election.NewService(election.Config{Store: s, Names: names, Authorizer: auth, Registry: reg, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	now = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
	m := election.Meta{CommandID: uuid.NewSHA1(uuid.Nil, []byte("demo/request")),
		Actor: election.Actor{ID: "rep@practice", Role: events.RolePracticeRepresentative, AttestedAt: now.Add(-time.Minute)}}
	if _, err := svc.Request(bg, m, py24, p, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}); err != nil {
		t.Fatal(err)
	}
	now = time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC)
	m.CommandID = uuid.NewSHA1(uuid.Nil, []byte("demo/confirm"))
	rc, err := svc.Confirm(bg, m, py24, p, "CONFIRM")
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestCommandLine: -h exits 0 with usage on standard output, for the tool
// and each command; an unknown command, an unknown flag, a stray argument
// or a missing required flag exit 2 with the usage on standard error.
func TestCommandLine(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"verify", "-h"}, {"checkpoint", "-h"}, {"keygen", "-h"}, {"receipt", "-h"}, {"status", "-h"}, {"export", "-h"}} {
		code, out, _ := runLedger(t, nil, args...)
		if code != exitOK || !strings.Contains(out, "Usage") {
			t.Errorf("ledger %v: exit %d, output %q", args, code, out)
		}
		// Every store the tool opens is named: a PostgreSQL URL too.
		if args[0] != "keygen" && (!strings.Contains(out, "postgres://") || !strings.Contains(out, "esdb://")) {
			t.Errorf("ledger %v does not name every store:\n%s", args, out)
		}
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"verify", "-store", "x.db", "-nonsense"}, {"verify", "-store", "x.db", "extra"},
		{"verify"}, {"keygen", "-origin", "x"}, {"status", "-store", "x.db"}, {"export", "-store", "x.db", "-year", "MIPS-2024", "-format", "xml"}} {
		code, _, errs := runLedger(t, devEnv, args...)
		if code != exitCannot || errs == "" {
			t.Errorf("ledger %v: exit %d, stderr %q", args, code, errs)
		}
	}
}

// TestTINShapedArguments: every flag given a TIN-shaped value is refused
// without echoing it.
func TestTINShapedArguments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "season.db")
	demo(t, path)
	d := piicheck.TestTIN
	for _, args := range [][]string{
		{"status", "-store", path, "-participant", d + "0", "-year", "MIPS-2024"},
		{"status", "-store", path, "-participant", d, "-year", d},
		{"status", "-store", path, "-participant", d, "-year", "MIPS-2024", "-asof", d},
		{"export", "-store", path, "-year", "MIPS-" + d},
		{"export", "-store", path, "-year", "MIPS-2024", "-format", d},
		{"receipt", "-store", path, "-confirmation", d},
		{"verify", "-store", path, "-" + d},
		{"verify", "-store", path, d},
		{d},
	} {
		code, out, errs := runLedger(t, devEnv, args...)
		if code != exitCannot {
			t.Errorf("ledger %v: exit %d", args, code)
		}
		if found := piicheck.FindTestTIN(out + errs); len(found) > 0 {
			t.Errorf("ledger %v echoes %q:\n%s%s", args, found, out, errs)
		}
	}
}

// TestVerifyFile: a sound ledger file verifies (exit 0), opened read-only:
// not one byte of it changes, even its modification time; progress goes to
// standard error. Without a ledger key, a missing file, a directory or an
// unreachable server, the tool cannot go on (exit 2).
func TestVerifyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "season.db")
	demo(t, path)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	var out, errs bytes.Buffer
	code := runEnv(bg, []string{"verify", "-store", path}, &env{out: &out, err: &errs, getenv: func(k string) string { return devEnv[k] }})
	if code != exitOK || !strings.Contains(out.String(), "verified: every hash chain") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	if !strings.Contains(errs.String(), "verify: ") || !strings.Contains(errs.String(), "replay: ") {
		t.Errorf("no progress on standard error: %q", errs.String())
	}
	after, _ := os.ReadFile(path)
	info2, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !info.ModTime().Equal(info2.ModTime()) {
		t.Fatal("verify changed the ledger file")
	}

	code, _, errText := runLedger(t, nil, "verify", "-store", path)
	if code != exitCannot || !strings.Contains(errText, envLedgerKey) {
		t.Errorf("no ledger key: exit %d, %q", code, errText)
	}
	keyFile := filepath.Join(dir, "ledger.key")
	os.WriteFile(keyFile, []byte(events.DevelopmentKey+"\n"), 0o600)
	if code, out, _ := runLedger(t, nil, "verify", "-store", path, "-key-file", keyFile); code != exitOK {
		t.Errorf("the key from a file: exit %d\n%s", code, out)
	}
	if code, out, _ := runLedger(t, devEnv, "verify", "-store", "memory"); code != exitOK || !strings.Contains(out, "0 records in 0 streams") {
		t.Errorf("-store memory: exit %d\n%s", code, out)
	}
	for _, store := range []string{filepath.Join(dir, "missing.db"), dir, "esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=10"} {
		if code, out, errs := runLedger(t, devEnv, "verify", "-store", store); code != exitCannot {
			t.Errorf("-store %s: exit %d\n%s%s", store, code, out, errs)
		}
	}
	// A key that names the streams otherwise: every event is unbound.
	other := map[string]string{envLedgerKey: "another ledger's key, 32 bytes.."}
	if code, out, _ := runLedger(t, other, "verify", "-store", path); code != exitFindings || !strings.Contains(out, "FINDING binding") {
		t.Errorf("the wrong key: exit %d\n%s", code, out)
	}
}

// TestVerifyOlderFormat: a ledger file an earlier version wrote (format 1,
// no stored tree) verifies, read-only, its tree computed from the log, and
// is not upgraded (not one byte changes).
func TestVerifyOlderFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	demo(t, path)
	if err := boltstoretest.Downgrade(path, 1); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	code, out, errs := runLedger(t, devEnv, "verify", "-store", path)
	m := regexp.MustCompile(`(\d+) records in \d+ streams; tree size (\d+)`).FindStringSubmatch(out)
	if code != exitOK || m == nil || m[1] != m[2] {
		t.Fatalf("exit %d, want the tree computed over every record\n%s%s", code, out, errs)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("verify changed a format 1 file")
	}
}

// forgeWithout rewrites a ledger file, as an operator with write access
// could, without the records drop selects: every hash chain, the stored
// tree and every index recomputed, so the file is consistent with itself.
func forgeWithout(t *testing.T, from, to string, drop func(events.Record) bool) {
	t.Helper()
	src, err := boltstore.Open(from, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	var recs []events.Record
	for r, err := range src.ReadAll(bg, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if !drop(r) {
			recs = append(recs, r)
		}
	}
	src.Close()
	i := 0
	dst, err := boltstore.Open(to, boltstore.WithNoSync(), boltstore.WithClock(func() time.Time { return recs[min(i, len(recs)-1)].RecordedAt }))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for i = range recs {
		r := recs[i]
		if _, err := dst.Append(bg, r.Stream, events.Any, events.EventData{ID: r.ID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckpointsAndReceipts: the operator makes a key and signs a
// checkpoint; the ledger verifies against it; the confirmation, found by
// its number (the receipt's hash, at the receipt's log index), is proved
// in it and the proof checks offline. Then the confirmation is deleted and
// the file made consistent again: it verifies on its own, not against the
// checkpoint, and the receipt can no longer be proved.
func TestCheckpointsAndReceipts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "season.db")
	rc := demo(t, path)
	if rc.Type != events.TypeElectionConfirmed || rc.LogIndex != int64(rc.Position) || rc.LogIndex < 0 {
		t.Fatalf("the confirmation's receipt: %+v", rc)
	}
	key := filepath.Join(dir, "log.key")
	code, pub, _ := runLedger(t, nil, "keygen", "-origin", "example.org/ledger", "-o", key)
	if code != exitOK || !strings.HasPrefix(pub, "example.org/ledger+") {
		t.Fatalf("keygen: %d %q", code, pub)
	}
	if code, _, _ := runLedger(t, nil, "keygen", "-origin", "example.org/ledger", "-o", key); code != exitCannot {
		t.Fatal("keygen overwrote a key")
	}
	cp := filepath.Join(dir, "cp.txt")
	if code, out, errs := runLedger(t, nil, "checkpoint", "-store", path, "-sign-key", key, "-o", cp); code != exitOK || !strings.HasPrefix(out, "example.org/ledger\n") {
		t.Fatalf("checkpoint: %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runLedger(t, devEnv, "verify", "-store", path, "-checkpoint", cp, "-pubkey", key+".pub"); code != exitOK || !strings.Contains(out, "the log holds what it covered") {
		t.Fatalf("verify against the checkpoint: %d\n%s", code, out)
	}
	// A checkpoint recorded in the ledger itself is checked by every later
	// verification that has the key.
	recorded := filepath.Join(dir, "recorded.db")
	b0, _ := os.ReadFile(path)
	os.WriteFile(recorded, b0, 0o600)
	if code, _, errs := runLedger(t, nil, "checkpoint", "-store", recorded, "-sign-key", key, "-record"); code != exitOK {
		t.Fatalf("checkpoint -record: %d %s", code, errs)
	}
	if code, out, _ := runLedger(t, devEnv, "verify", "-store", recorded, "-pubkey", key+".pub"); code != exitOK || !strings.Contains(out, "checkpoints recorded in the ledger: 1 verified") {
		t.Fatalf("verify with a recorded checkpoint: %d\n%s", code, out)
	}
	receipt := filepath.Join(dir, "receipt.json")
	code, out, errs := runLedger(t, devEnv, "receipt", "-store", path, "-confirmation", rc.Hash.String(), "-checkpoint", cp, "-pubkey", key+".pub", "-o", receipt)
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("log index %d", rc.LogIndex)) || !strings.Contains(out, "group *****6789") {
		t.Fatalf("receipt: %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runLedger(t, nil, "receipt", "-check", receipt, "-pubkey", key+".pub"); code != exitOK || !strings.Contains(out, "verified: the record election.confirmed") {
		t.Fatalf("receipt -check: %d\n%s", code, out)
	}
	b, _ := os.ReadFile(receipt)
	altered := filepath.Join(dir, "altered.json")
	os.WriteFile(altered, []byte(strings.Replace(string(b), `"index":`+fmt.Sprint(rc.LogIndex), `"index":`+fmt.Sprint(rc.LogIndex-1), 1)), 0o644)
	if code, _, _ := runLedger(t, nil, "receipt", "-check", altered, "-pubkey", key+".pub"); code != exitFindings {
		t.Fatalf("an altered receipt: exit %d", code)
	}

	forged := filepath.Join(dir, "forged.db")
	forgeWithout(t, path, forged, func(r events.Record) bool { return r.Type == events.TypeElectionConfirmed })
	if code, out, _ := runLedger(t, devEnv, "verify", "-store", forged); code != exitOK {
		t.Fatalf("the forged file is not consistent with itself: %d\n%s", code, out)
	}
	code, out, _ = runLedger(t, devEnv, "verify", "-store", forged, "-checkpoint", cp, "-pubkey", key+".pub")
	if code != exitFindings || !strings.Contains(out, "FINDING checkpoint") || !strings.Contains(out, "no longer holds what it covered") {
		t.Fatalf("the forged file against the checkpoint: %d\n%s", code, out)
	}
	if code, out, _ := runLedger(t, devEnv, "receipt", "-store", forged, "-confirmation", rc.Hash.String()); code != exitFindings || !strings.Contains(out, "FINDING no record") {
		t.Fatalf("the deleted confirmation found: %d\n%s", code, out)
	}
}

// TestForgedConfirmation: a confirmation forged straight into the store,
// with no request and no attestation, is reported as a ledger violation
// (exit 1), never as a verified election.
func TestForgedConfirmation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "season.db")
	demo(t, path)
	stream := forgeConfirmation(t, path)
	code, out, _ := runLedger(t, devEnv, "verify", "-store", path)
	if code != exitFindings || !strings.Contains(out, "FINDING ledger: "+stream+"@0") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// forgeConfirmation appends, straight into the ledger file, a confirmation
// for practice 100000001 with no request and no attestation, and returns
// its stream.
func forgeConfirmation(t *testing.T, path string) string {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	p := events.Group(events.MustParseTIN("100000001"))
	d, _ := events.NewRegistry().Encode(uuid.New(), events.ElectionConfirmed{Participant: p, ProgramYear: py24, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, ConfirmedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}, events.Metadata{Actor: "nobody"})
	if _, err := s.Append(bg, names.Election(py24, p), events.NoStream, d); err != nil {
		t.Fatal(err)
	}
	return names.Election(py24, p)
}

// TestStatusAndExport: the status as of dates before and after the
// election; the CSV export masks TINs (TestQPPExport: the QPP export).
func TestStatusAndExport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "season.db")
	demo(t, path)
	for date, want := range map[string]string{"2025-01-01": "opt-in eligible", "2025-02-04": "pending", "2025-03-15": "opt-in"} {
		code, out, errs := runLedger(t, devEnv, "status", "-store", path, "-participant", tin, "-year", "MIPS-2024", "-asof", date)
		if code != exitOK || !strings.Contains(out, "group *****6789 in MIPS-2024, as of "+date) || !strings.Contains(out, want) {
			t.Errorf("status as of %s: %d\n%s%s", date, code, out, errs)
		}
	}
	code, out, _ := runLedger(t, devEnv, "export", "-store", path, "-year", "MIPS-2024", "-format", "csv")
	if code != exitOK || !strings.Contains(out, "group,*****6789,,,") || strings.Count(out, "\n") != 4 {
		t.Fatalf("csv export: %d\n%s", code, out)
	}
}

// TestServerStore: the tool verifies a ledger on an EventStoreDB server
// (the double), its tree computed from the log.
func TestServerStore(t *testing.T) {
	srv := esdbfake.Run(t)
	s, err := esdbstore.Open(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	p := events.Group(events.MustParseTIN(tin))
	d, _ := events.NewRegistry().Encode(uuid.New(), events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusOptInEligible, Source: events.SourceSegment1}, events.Metadata{})
	if _, err := s.Append(bg, names.Eligibility(py24, p), events.Any, d); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errs := runLedger(t, devEnv, "verify", "-store", srv.ConnectionString())
	if code != exitOK || !strings.Contains(out, "1 records in 1 streams; tree size 1") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runLedger(t, devEnv, "status", "-store", srv.ConnectionString(), "-participant", tin, "-year", "MIPS-2024"); code != exitOK || !strings.Contains(out, "opt-in eligible") {
		t.Fatalf("status on the server: %d\n%s", code, out)
	}
}

// TestDamagedFile: the tool verifying a damaged ledger file never crashes:
// for a bit flipped in each page of the file (its header, element array,
// data), it exits 0 only when the ledger reads back the same, 1 with the
// damage named by page or record, or 2 refusing a file that is not a
// ledger any more. (events/boltstore's TestEveryPageFlip flips more bits
// per page.)
func TestDamagedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "season.db")
	demo(t, path)
	data, _ := os.ReadFile(path)
	ps := int(binary.LittleEndian.Uint32(data[16+8:]))
	hwm := int(binary.LittleEndian.Uint64(data[16+40:]))
	if h1 := int(binary.LittleEndian.Uint64(data[ps+16+40:])); binary.LittleEndian.Uint64(data[ps+16+48:]) > binary.LittleEndian.Uint64(data[16+48:]) {
		hwm = h1
	}
	_, clean, _ := runLedger(t, devEnv, "verify", "-store", path)
	named := regexp.MustCompile(`FINDING (damage: page \d+|\w+: \S+@\d+|\w+: )`)
	counts := map[int]int{}
	for p := range hwm {
		for _, off := range []int{10, 16 + 5, ps / 2, ps - 3} {
			flipped := slices.Clone(data)
			flipped[p*ps+off] ^= 0x10
			copyPath := filepath.Join(dir, "flipped.db")
			os.WriteFile(copyPath, flipped, 0o600)
			code, out, errs := runLedger(t, devEnv, "verify", "-store", copyPath)
			counts[code]++
			switch code {
			case exitOK:
				if out != strings.ReplaceAll(clean, path, copyPath) {
					t.Fatalf("page %d byte %d: verified, with other output:\n%s", p, off, out)
				}
			case exitFindings:
				if !named.MatchString(out) {
					t.Fatalf("page %d byte %d: findings that name no page or record:\n%s", p, off, out)
				}
			case exitCannot:
				if !errors.Is(nil, nil) || errs == "" {
					t.Fatalf("page %d byte %d: exit 2 without a reason", p, off)
				}
			}
		}
	}
	t.Logf("%d pages: exits %v", hwm, counts)
	if counts[exitFindings] == 0 {
		t.Fatal("no damage was reported")
	}
}

// TestServerTampering: what an EventStoreDB server lets another client do
// to the ledger's streams (a tombstone, a soft delete, an event written
// without the ledger's envelope) is each a finding (exit 1), printed one a
// line with its stream, never the end of the run (exit 2); a stream
// nobody touched is not reported.
func TestServerTampering(t *testing.T) {
	srv := esdbfake.Run(t)
	s, err := esdbstore.Open(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg := events.NewRegistry()
	streams := map[string]string{}
	for i, what := range []string{"clean", "tombstone", "soft", "foreign"} {
		p := events.Group(events.MustParseTIN(fmt.Sprintf("10000000%d", i+1)))
		d, _ := reg.Encode(uuid.New(), events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusOptInEligible,
			Source: events.SourceSegment1}, events.Metadata{})
		streams[what] = names.Eligibility(py24, p)
		if _, err := s.Append(bg, streams[what], events.NoStream, d); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if code, out, errs := runLedger(t, devEnv, "verify", "-store", srv.ConnectionString()); code != exitOK {
		t.Fatalf("the untouched ledger: exit %d\n%s%s", code, out, errs)
	}
	cfg, err := esdb.ParseConnectionString(srv.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.TombstoneStream(bg, streams["tombstone"], esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStream(bg, streams["soft"], esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendToStream(bg, streams["foreign"], esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}},
		esdb.EventData{EventID: uuid.New(), EventType: "election.confirmed", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runLedger(t, devEnv, "verify", "-store", srv.ConnectionString())
	if code != exitFindings || !strings.Contains(out, "the ledger does not verify") {
		t.Fatalf("exit %d, want %d with the findings\n%s%s", code, exitFindings, out, errs)
	}
	lines := strings.Split(out, "\n")
	for what, word := range map[string]string{"tombstone": "tombstoned", "soft": "soft-deleted", "foreign": "without the ledger's envelope"} {
		if !slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "FINDING ") && strings.Contains(l, streams[what]) && strings.Contains(l, word)
		}) {
			t.Errorf("no FINDING line for the %s stream (%q):\n%s", what, word, out)
		}
	}
	if strings.Contains(out, streams["clean"]) {
		t.Errorf("the untouched stream is reported:\n%s", out)
	}
	// status and export replay the same log: a finding, exit 1, not a
	// failure to read.
	for _, args := range [][]string{
		{"status", "-store", srv.ConnectionString(), "-participant", tin, "-year", "MIPS-2024"},
		{"export", "-store", srv.ConnectionString(), "-year", "MIPS-2024", "-format", "csv", "-o", filepath.Join(t.TempDir(), "x.csv")},
	} {
		if code, out, errs := runLedger(t, devEnv, args...); code != exitFindings || !strings.Contains(out, "FINDING ") {
			t.Errorf("%s: exit %d, want %d with a FINDING line\n%s%s", args[0], code, exitFindings, out, errs)
		}
	}
}

// TestQPPExport: the QPP export is the library's (eligibility's
// LedgerDecisions, WriteDecisions and DecisionEntities) for the year: the
// confirmed opt-in, still there after a later determination finds the
// practice exempt (a decision, once confirmed, is final); no record for
// the practices that made no decision; dates to the millisecond; the
// Qpp-Opt-In-Entities header value beside it. It reads back through the
// library's import, as written, to the ledger's decisions. A ledger with
// findings is not exported.
func TestQPPExport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "season.db")
	demo(t, path)
	s, err := boltstore.Open(path, boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	reg := events.NewRegistry()
	p := events.Group(events.MustParseTIN(tin))
	exempt := events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusExempt, Source: events.SourceSegment2,
		DeterminedAt: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := eligibility.Record(bg, s, names, reg, eligibility.Default(), exempt, events.Metadata{Actor: "cms", ActorRole: events.RoleSystem}); err != nil {
		t.Fatal(err)
	}
	want, err := eligibility.LedgerDecisions(bg, s, reg)
	s.Close()
	if err != nil || len(want) != 1 {
		t.Fatalf("the ledger's decisions: %+v %v", want, err)
	}
	if code, out, _ := runLedger(t, devEnv, "status", "-store", path, "-participant", tin, "-year", "MIPS-2024"); code != exitOK || !strings.Contains(out, "MIPS eligible via opt-in") {
		t.Fatalf("status after the exempt determination: %d\n%s", code, out)
	}
	qpp := filepath.Join(dir, "qpp.json")
	code, out, errs := runLedger(t, devEnv, "export", "-store", path, "-year", "MIPS-2024", "-o", qpp)
	if code != exitOK || !strings.Contains(out, "1 QPP decision records") {
		t.Fatalf("export: %d\n%s%s", code, out, errs)
	}
	doc, _ := os.ReadFile(qpp)
	var lib bytes.Buffer
	if err := eligibility.WriteDecisions(&lib, want); err != nil || !bytes.Equal(doc, lib.Bytes()) {
		t.Fatalf("the export is not the library's (%v):\n%s\n%s", err, doc, lib.Bytes())
	}
	if !bytes.Contains(doc, []byte(`"optInDecisionDate":"2025-03-10T15:00:00.000Z"`)) {
		t.Errorf("the decision date is not to the millisecond:\n%s", doc)
	}
	header, _ := os.ReadFile(qpp + ".entities")
	if got := strings.TrimSpace(string(header)); got != eligibility.DecisionEntities(want) || got != tin {
		t.Errorf("the Qpp-Opt-In-Entities header value: %q", got)
	}
	imp, err := eligibility.ImportDecisions(eligibility.Default(), doc, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(imp.Elections) != 1 {
		t.Fatalf("the QPP export does not import as written: %v %+v\n%s", err, imp, doc)
	}
	if e := imp.Elections[0]; e.Participant != p || e.Choice != events.ChoiceOptIn || !e.ConfirmedAt.Equal(want[0].DecidedAt.Truncate(time.Millisecond)) {
		t.Fatalf("the election read back: %+v, want %+v", e, want[0])
	}
	fresh := memstore.New()
	if err := eligibility.Apply(bg, fresh, names, reg, eligibility.Default(), imp, events.Metadata{Actor: "qpp-import", ActorRole: events.RoleSystem}); err != nil {
		t.Fatal(err)
	}
	if got, err := eligibility.LedgerDecisions(bg, fresh, reg); err != nil || len(got) != 1 || got[0] != want[0] {
		t.Fatalf("import(export(ledger)) = %+v (%v), the ledger %+v", got, err, want)
	}

	// A ledger with findings: nothing is written.
	forgeConfirmation(t, path)
	refused := filepath.Join(dir, "refused.json")
	if code, out, _ := runLedger(t, devEnv, "export", "-store", path, "-year", "MIPS-2024", "-o", refused); code != exitFindings || !strings.Contains(out, "FINDING ledger") {
		t.Fatalf("export of a ledger with findings: %d\n%s", code, out)
	}
	if _, err := os.Stat(refused); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the export of a ledger with findings was written: %v", err)
	}
	if code, _, errs := runLedger(t, devEnv, "export", "-store", path, "-year", "QIPS-2024", "-o", refused); code != exitCannot || !strings.Contains(errs, "MIPS") {
		t.Fatalf("a QPP export for another program: %d %s", code, errs)
	}
}

// TestLogPrefix: the export reads the log only as far as the replay
// verified it: a record appended since is not read.
func TestLogPrefix(t *testing.T) {
	s := memstore.New()
	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	for i := range 3 {
		p := events.Group(events.MustParseTIN(fmt.Sprintf("10000000%d", i+1)))
		d, _ := events.NewRegistry().Encode(uuid.New(), events.EligibilityDetermined{Participant: p, ProgramYear: py24, Status: events.StatusOptInEligible,
			Source: events.SourceSegment1}, events.Metadata{})
		if _, err := s.Append(bg, names.Eligibility(py24, p), events.NoStream, d); err != nil {
			t.Fatal(err)
		}
	}
	for n := range int64(4) {
		var got int64
		for _, err := range (logPrefix{Store: s, n: n}).ReadAll(bg, 0) {
			if err != nil {
				t.Fatal(err)
			}
			got++
		}
		if got != min(n, 3) {
			t.Errorf("a prefix of %d records reads %d", n, got)
		}
	}
	for _, err := range (logPrefix{Store: s, n: 3}).ReadAll(bg, 1) {
		if err == nil {
			t.Error("a prefix read from position 1")
		}
	}
}

// TestStatusAsOfInstant: -asof takes an RFC 3339 instant, its offset
// honoured, as well as a date (the end of that day, UTC); anything else
// is refused (exit 2) saying what it takes. The election was confirmed at
// 2025-03-10T15:00:00Z.
func TestStatusAsOfInstant(t *testing.T) {
	path := filepath.Join(t.TempDir(), "season.db")
	demo(t, path)
	for asof, want := range map[string]string{
		"2025-03-09":                "pending",
		"2025-03-10":                "via opt-in",
		"2025-03-10T14:59:59Z":      "pending",
		"2025-03-10T15:00:01Z":      "via opt-in",
		"2025-03-10T15:30:00+01:00": "pending", // 14:30 UTC
		"2025-03-10T17:00:00+01:00": "via opt-in",
		"2025-03-10T15:00:00.5Z":    "via opt-in",
	} {
		code, out, errs := runLedger(t, devEnv, "status", "-store", path, "-participant", tin, "-year", "MIPS-2024", "-asof", asof)
		if code != exitOK || !strings.Contains(out, "as of "+asof+": ") || !strings.Contains(out, want) {
			t.Errorf("-asof %s: exit %d, want %q\n%s%s", asof, code, want, out, errs)
		}
	}
	for _, asof := range []string{"2025-02-30", "2025-03-10T15:00", "2025-03-10 15:00:00Z", "yesterday", "20250310"} {
		code, out, errs := runLedger(t, devEnv, "status", "-store", path, "-participant", tin, "-year", "MIPS-2024", "-asof", asof)
		if code != exitCannot || !strings.Contains(errs, "want YYYY-MM-DD") || !strings.Contains(errs, "RFC 3339") || out != "" {
			t.Errorf("-asof %q: exit %d\n%s%s", asof, code, out, errs)
		}
	}
}

// TestPostgres: the tool verifies a ledger on PostgreSQL (a postgres:// URL,
// its schema named by ledger_schema), reads a status and proves a receipt
// there; a record rewritten behind the store's back (its guard triggers
// disabled by the schema's owner) is a finding (exit 1). Without
// ELECTIONLEDGER_PG_URL it skips, or fails under ELECTIONLEDGER_CI.
func TestPostgres(t *testing.T) {
	server := pgtest.URL(t)
	schema := pgtest.Schema(t)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(pgstore.SchemaParam, schema)
	u.RawQuery = q.Encode()
	spec := u.String()
	rc := demoOn(t, func(clock func() time.Time) (events.Store, error) {
		return pgstore.Open(bg, server, pgstore.WithSchema(schema), pgstore.WithClock(clock))
	})
	code, out, errs := runLedger(t, devEnv, "verify", "-store", spec)
	if code != exitOK || !strings.Contains(out, "7 records in 6 streams; tree size 7") || !strings.Contains(out, "verified: ") {
		t.Fatalf("verify on PostgreSQL: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runLedger(t, devEnv, "status", "-store", spec, "-participant", tin, "-year", "MIPS-2024", "-asof", "2025-03-10T15:00:01Z"); code != exitOK || !strings.Contains(out, "via opt-in") {
		t.Fatalf("status on PostgreSQL: exit %d\n%s", code, out)
	}
	if code, out, _ := runLedger(t, devEnv, "receipt", "-store", spec, "-confirmation", rc.Hash.String()); code != exitOK || !strings.Contains(out, "in the log's current tree") {
		t.Fatalf("receipt on PostgreSQL: exit %d\n%s", code, out)
	}
	conn, err := pgx.Connect(bg, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	table := pgx.Identifier{schema, "events"}.Sanitize()
	for _, sql := range []string{`ALTER TABLE ` + table + ` DISABLE TRIGGER USER`,
		`UPDATE ` + table + ` SET recorded_at = recorded_at + interval '1 day' WHERE type = 'election.confirmed'`,
		`ALTER TABLE ` + table + ` ENABLE TRIGGER USER`} {
		if _, err := conn.Exec(bg, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	code, out, errs = runLedger(t, devEnv, "verify", "-store", spec)
	if code != exitFindings || !strings.Contains(out, "FINDING chain: election-") {
		t.Fatalf("a rewritten record on PostgreSQL: exit %d\n%s%s", code, out, errs)
	}
}

// TestReceiptHoldsTheTIN: a receipt proof carries the confirmation
// record's bytes, the participant's full TIN among them, because checking
// it recomputes the record's hash from them (without them it would prove
// only that some hash is in the log, not which election). So the file is
// the elector's own document: written readable by its owner only, and
// receipt -h says what it holds.
func TestReceiptHoldsTheTIN(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "season.db")
	rc := demo(t, path)
	key := filepath.Join(dir, "log.key")
	cp := filepath.Join(dir, "cp.txt")
	if code, _, errs := runLedger(t, nil, "keygen", "-origin", "example.org/ledger", "-o", key); code != exitOK {
		t.Fatal(errs)
	}
	if code, _, errs := runLedger(t, nil, "checkpoint", "-store", path, "-sign-key", key, "-o", cp); code != exitOK {
		t.Fatal(errs)
	}
	receipt := filepath.Join(dir, "receipt.json")
	code, out, errs := runLedger(t, devEnv, "receipt", "-store", path, "-confirmation", rc.Hash.String(), "-checkpoint", cp, "-pubkey", key+".pub", "-o", receipt)
	if code != exitOK || !strings.Contains(out, "full TIN") {
		t.Fatalf("receipt: %d\n%s%s", code, out, errs)
	}
	info, err := os.Stat(receipt)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the receipt file's mode: %v %v, want 0600", info.Mode(), err)
	}
	b, _ := os.ReadFile(receipt)
	rp, err := chain.ParseReceipt(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rp.Record, []byte(tin)) {
		t.Fatalf("the receipt's record does not hold the TIN: the documentation would be wrong")
	}
	// The record's bytes are what the check hashes: a receipt whose record
	// says anything else does not verify.
	rp.Record = bytes.Replace(rp.Record, []byte(tin), []byte("000456788"), 1)
	if _, _, err := rp.Verify(mustVerifier(t, key+".pub")); err == nil {
		t.Fatal("a receipt whose record names another TIN verifies: the record is not needed")
	}
	_, help, _ := runLedger(t, nil, "receipt", "-h")
	if !strings.Contains(help, "full TIN") || !strings.Contains(help, "elector's own") {
		t.Errorf("receipt -h does not say the receipt holds the full TIN:\n%s", help)
	}
}

func mustVerifier(t *testing.T, pubFile string) note.Verifier {
	t.Helper()
	v, err := verifier(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
