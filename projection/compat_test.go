package projection_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/projection"
)

// openFixture opens a copy of a ledger file written by an earlier version
// of the library (testdata/README.md says which), so the test never changes
// the fixture.
func openFixture(t *testing.T, name string) *boltstore.Store {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), name)
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func fixTIN(n string) events.TIN { return events.MustParseTIN("000000" + n) }

// TestLedgerFromNovember2026Replays replays the ledger the library wrote in
// November 2026 (testdata/README.md): every chain verifies, every record
// applies with no violation, and the read models answer as today's rules
// say, reading the old events as they were written (the v1 request is
// upcast on read, never rewritten).
func TestLedgerFromNovember2026Replays(t *testing.T) {
	ctx := context.Background()
	s := openFixture(t, "ledger-2026-11.db")
	vr, err := s.Verify(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if vr.Records != 37 || vr.Streams != 23 {
		t.Fatalf("verify saw %d records in %d streams, want 37 in 23", vr.Records, vr.Streams)
	}
	if vr, err := chain.VerifyChains(ctx, s); err != nil || vr.Records != 37 {
		t.Fatalf("VerifyChains: %+v, %v", vr, err)
	}
	models := projection.NewModels(eligibility.Default(), projection.ScoringConfig{})
	var vs []*projection.Violation
	rep, err := projection.NewRunner(s, events.NewRegistry(), models.Projections(),
		projection.WithViolations(func(v *projection.Violation) { vs = append(vs, v) })).Rebuild(ctx)
	if err != nil || rep.Applied != 37 || len(vs) != 0 {
		t.Fatalf("rebuild: applied %d, violations %v, err %v", rep.Applied, vs, err)
	}

	py := events.PY(events.MIPS, 2024)
	npi := func(s string) events.NPI { return events.MustParseNPI(s) }
	// The two segments are reconciled since December 2026 (they were not
	// when the file was written): group 000000101 was in the opt-in range
	// in segment 1 and above in segment 2, so it is opt-in eligible, not
	// required; clinician 000000101/1000000012 was below in segment 1 and
	// above in segment 2, so it is exempt, not required. The recorded
	// events are read as written; only their reading changed.
	status := []struct {
		p    events.Participant
		want projection.Kind
	}{
		{events.Group(fixTIN("101")), projection.KindOptInEligible},
		{events.Individual(fixTIN("101"), npi("1000000012")), projection.KindExempt},
		{events.Individual(fixTIN("101"), npi("1000000020")), projection.KindRequired},
		{events.Individual(fixTIN("102"), npi("1000000038")), projection.KindExcluded},
		{events.Individual(fixTIN("103"), npi("1000000046")), projection.KindOptInEligible},
		{events.Group(fixTIN("102")), projection.KindOptedIn},
		{events.Group(fixTIN("103")), projection.KindOptedIn},
		{events.Group(fixTIN("104")), projection.KindOptedIn},
		{events.Group(fixTIN("106")), projection.KindOptedIn},
	}
	for _, c := range status {
		if got := models.Status.Get(py, c.p).Kind; got != c.want {
			t.Errorf("%v: status %v, want %v", c.p, got, c.want)
		}
	}
	if got := models.Status.Get(events.PY(events.QIPS, 2021), events.Group(fixTIN("107"))).Kind; got != projection.KindOptedIn {
		t.Errorf("QIPS practice: status %v, want opted in", got)
	}
	// 000000101/1000000012 is no longer put in MIPS through a group that
	// was never required: no score applies, and no payment adjustment.
	scores := []struct {
		p     events.Participant
		score float64
		src   projection.ScoreSource
	}{
		{events.Individual(fixTIN("101"), npi("1000000012")), 0, projection.SourceNone},
		{events.Individual(fixTIN("101"), npi("1000000020")), 85, projection.SourceAPMEntity},
		{events.Individual(fixTIN("103"), npi("1000000046")), 70, projection.SourceGroup},
	}
	for _, c := range scores {
		f, err := models.Scoring.Final(py, c.p)
		if err != nil || f.Score != c.score || f.Source != c.src {
			t.Errorf("%v: final %.2f from %v (%v), want %.2f from %v", c.p, f.Score, f.Source, err, c.score, c.src)
		}
	}
	if f, _ := models.Scoring.Final(py, events.Individual(fixTIN("101"), npi("1000000012"))); f.InMIPS || f.Adjustment.Total() != 0 {
		t.Errorf("the exempt clinician of an unelected group is in MIPS (%v) with an adjustment of %v%%", f.InMIPS, f.Adjustment.Total())
	}
	// The group's standing is final, from both segments, by the policy.
	if v := models.Status.Get(py, events.Group(fixTIN("101"))); v.Phase != eligibility.PhaseFinal || v.Basis != eligibility.BasisDisagreeOptIn {
		t.Errorf("group 000000101: %v, %q", v.Phase, v.Basis)
	}
}
