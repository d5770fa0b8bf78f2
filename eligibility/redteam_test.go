package eligibility_test

// Red-team tests: promises of issue 13 tried as an attacker or a careful
// auditor would. A test skipped with "red-team:" shows a defect the library
// still has (the skip names it); the others are promises that held.

import (
	"bytes"
	stdjson "encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedRulesReturnsACopy: Table.Rules "returns a copy of a program
// year's rules", the form a caller changes before Table.Set (Set
// validates). The copy shares its ClinicianTypes (and Unconfirmed) with the
// table's row, so changing the copy changes the live table, unvalidated,
// under every concurrent reader: a data race, and (below) every physician
// of PY2024 excluded as an ineligible type.
func TestRedRulesReturnsACopy(t *testing.T) {
	table := eligibility.Default()
	py := events.PY(events.MIPS, 2024)
	r, err := table.Rules(py)
	require.NoError(t, err)
	r.ClinicianTypes[0] = eligibility.OtherClinicianType // a caller preparing an override it may never Set
	r.Unconfirmed[0] = "changed"
	again, err := table.Lookup(py)
	require.NoError(t, err)
	assert.True(t, again.EligibleType(eligibility.Physician), "the table's row is unchanged until Set")
	assert.NotEqual(t, "changed", again.Unconfirmed[0])
}

// TestRedStandingJSONMasksTheTIN: a Standing is the answer to "may it
// elect, must it participate" (eligibility.Current, issue 13.3), the read
// a service serves. Its LogValue masks the TIN, but json.Marshal (and so a
// struct holding it, logged by slog's JSON handler) writes it in full:
// events.Participant's JSON form is the payload codec's. Rules §2: a TIN
// never appears in full outside the payload codec and the QPP export.
func TestRedStandingJSONMasksTheTIN(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	p := events.Group(events.MustParseTIN("987654321"))
	d := events.EligibilityDetermined{Participant: p, ProgramYear: r.ProgramYear, Status: events.StatusOptInEligible,
		Exceeded: events.CriterionCharges, Source: events.SourceSegment1, DeterminedAt: time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)}
	s := eligibility.Reconcile(&r, p, []events.EligibilityDetermined{d}, time.Time{})
	b, err := stdjson.Marshal(s)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "987654321", "JSON: %s", b)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("standing", "reply", struct{ Standing eligibility.Standing }{s})
	assert.NotContains(t, buf.String(), "987654321", "log: %s", buf.String())
}

// TestRedTableUnderConcurrentUse: the table is safe for concurrent use:
// readers (Lookup, Rules, ProgramYears) while writers Set rows; run with
// -race (promise held, for the methods that do not share slices).
func TestRedTableUnderConcurrentUse(t *testing.T) {
	table := eligibility.Default()
	py := events.PY(events.MIPS, 2024)
	base, err := table.Rules(py)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				if w == 0 {
					r := base
					r.PerformanceThreshold = float64(70 + i%6)
					assert.NoError(t, table.Set(r))
					continue
				}
				got, err := table.Lookup(py)
				if assert.NoError(t, err) {
					assert.True(t, got.PerformanceThreshold >= 70 && got.PerformanceThreshold <= 75)
				}
				_ = table.ProgramYears()
			}
		})
	}
	wg.Wait()
}

// TestRedReconcileEveryCombination: the reconciled status over every
// combination of the two segments' levels, each segment absent or present,
// the newly-established flag on segment 2, and a later QP finding of QP,
// Partial QP or neither, for a clinician in PY2024, checked against the
// rules as docs/rules.md §3 states them (promise held).
func TestRedReconcileEveryCombination(t *testing.T) {
	r := rules(t, events.MIPS, 2024)
	levels := []eligibility.Level{eligibility.LevelBelow, eligibility.LevelOptIn, eligibility.LevelAbove}
	status := func(l eligibility.Level) events.EligibilityStatus {
		return [...]events.EligibilityStatus{events.StatusExempt, events.StatusOptInEligible, events.StatusRequired}[l]
	}
	crit := func(l eligibility.Level) events.Criteria {
		return [...]events.Criteria{0, events.CriterionCharges, r.LVT.Criteria}[l]
	}
	det := func(src events.Source, l eligibility.Level, at time.Time) events.EligibilityDetermined {
		return events.EligibilityDetermined{Participant: clinician, ProgramYear: r.ProgramYear, Status: status(l), Exceeded: crit(l),
			Source: src, DeterminedAt: at}
	}
	at1, at2, atQP := time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, has1 := range []bool{false, true} {
		for _, l1 := range levels {
			for _, l2 := range levels {
				for _, newly := range []bool{false, true} {
					for qp := range 4 { // none, QP, Partial QP, neither
						var dets []events.EligibilityDetermined
						if has1 {
							dets = append(dets, det(events.SourceSegment1, l1, at1))
						}
						d2 := det(events.SourceSegment2, l2, at2)
						d2.NewlyEstablished = newly
						dets = append(dets, d2)
						switch qp {
						case 1:
							q := det(events.SourceAPMSnapshot, l2, atQP)
							q.Status, q.Exclusion = events.StatusExcluded, events.ExclusionQP
							dets = append(dets, q)
						case 2:
							q := det(events.SourceAPMSnapshot, l2, atQP)
							q.Status = events.StatusPartialQP
							dets = append(dets, q)
						case 3:
							dets = append(dets, det(events.SourceAPMSnapshot, l2, atQP))
						}
						got := eligibility.Reconcile(&r, clinician, dets, time.Time{})
						// The rules, stated afresh.
						b1, b2 := eligibility.LevelBelow, l2
						if has1 {
							b1 = l1
						}
						var want events.EligibilityStatus
						switch {
						case newly:
							want = status(l2)
						case b1 == eligibility.LevelAbove && b2 == eligibility.LevelAbove:
							want = events.StatusRequired
						case b1 >= eligibility.LevelOptIn && b2 >= eligibility.LevelOptIn:
							want = events.StatusOptInEligible
						default:
							want = events.StatusExempt
						}
						switch qp {
						case 1:
							want = events.StatusExcluded
						case 2:
							want = events.StatusPartialQP
						}
						name := func() string {
							return "has1=" + map[bool]string{true: "y", false: "n"}[has1] + " " + l1.String() + "/" + l2.String() +
								" newly=" + map[bool]string{true: "y", false: "n"}[newly] + " qp=" + [...]string{"none", "QP", "PQP", "neither"}[qp]
						}
						assert.Equal(t, want, got.Status, name())
						assert.Equal(t, eligibility.PhaseFinal, got.Phase, name())
						assert.Equal(t, qp == 1, got.QP, name())
					}
				}
			}
		}
	}
}
