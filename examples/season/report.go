package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/projection"
)

// PerformanceHeading starts the one section of the summary that varies from
// run to run.
const PerformanceHeading = "Performance (this machine, this run)"

func (s *sim) report(ctx context.Context, out io.Writer) error {
	s.progress("season: rebuilding every projection from position 0")
	models := projection.NewModels(s.table, projection.ScoringConfig{})
	start := time.Now()
	rep, err := projection.NewRunner(s.opened.Store, s.reg, models.Projections(),
		projection.WithProgress(func(p projection.Progress) {
			s.progress("  rebuilt %d records (%.0f/s)", p.Applied, float64(p.Applied)/max(p.Elapsed.Seconds(), 1e-9))
		})).Rebuild(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	rebuild := time.Since(start)
	s.progress("season: verifying the hash chain")
	start = time.Now()
	audit, auditErr := s.opened.Verify()
	verify := time.Since(start)

	w := bufio.NewWriter(out)
	defer w.Flush()
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("electionledger season — %v, seed %d", s.py, s.cfg.seed)
	p("")
	p("Population: %s clinicians in %s practices; %d virtual groups; %d APM Entities; %d registries",
		num(len(s.clinicians)), num(len(s.groups)), len(s.vgs), len(s.apms), s.registries)

	if err := s.reportEligibility(ctx, p, models); err != nil {
		return err
	}

	s.reportStatus(p, models)
	s.reportActivity(p)

	if err := s.reportScores(p, models); err != nil {
		return err
	}
	s.reportAudit(p, rep, audit, auditErr, rebuild, verify)
	if auditErr != nil || len(rep.Violations) > 0 {
		return fmt.Errorf("the audit failed")
	}
	return nil
}

// printer writes one line of the summary.
type printer func(format string, a ...any)

// reportStatus writes the eligibility and election status table,
// clinicians and practices apart, and the confirmed elections.
func (s *sim) reportStatus(p printer, models *projection.Models) {
	counts := map[events.ParticipantKind]map[projection.Kind]int{}
	excl := map[events.ParticipantKind]map[events.ExclusionReason]int{}
	type elKey struct {
		kind    projection.Kind
		pathway events.Pathway
	}
	elections := map[elKey]int{}
	channels := map[string]int{}
	for v := range models.Status.All(s.py) {
		k := v.Participant.Kind
		if counts[k] == nil {
			counts[k], excl[k] = map[projection.Kind]int{}, map[events.ExclusionReason]int{}
		}
		counts[k][v.Kind]++
		if v.Kind == projection.KindExcluded {
			excl[k][v.Exclusion]++
		}
		if v.Kind == projection.KindOptedIn || v.Kind == projection.KindVoluntary {
			elections[elKey{v.Kind, v.Pathway}]++
			switch {
			case v.VirtualGroupID != "":
				channels["by a virtual group's election"]++
			case v.ElectedAs == events.RoleRegistry:
				channels["by a registry's bulk upload"]++
			case v.ElectedAs == events.RoleClinician:
				channels["by the clinician"]++
			default:
				channels["by a practice representative"]++
			}
		}
	}
	p("")
	p("Status at the end of the year              clinicians   practices  APM Entities")
	for _, k := range projection.Kinds() {
		c, g, a := counts[events.KindIndividual][k], counts[events.KindGroup][k], counts[events.KindAPMEntity][k]
		if c+g+a == 0 {
			continue
		}
		p("  %-40s %10s  %10s  %12s", k, num(c), num(g), num(a))
		if k == projection.KindExcluded {
			for _, r := range []events.ExclusionReason{events.ExclusionQP, events.ExclusionNewlyEnrolled,
				events.ExclusionIneligibleClinicianType, events.ExclusionNoEligibleClinician} {
				if c, g := excl[events.KindIndividual][r], excl[events.KindGroup][r]; c+g > 0 {
					p("    %-38s %10s  %10s", r, num(c), num(g))
				}
			}
		}
	}
	p("")
	p("Confirmed elections (final), by choice")
	for _, k := range []elKey{{projection.KindOptedIn, events.PathwayTraditional}, {projection.KindOptedIn, events.PathwayAPP},
		{projection.KindVoluntary, events.PathwayTraditional}} {
		p("  %-40s %10s", fmt.Sprintf("%s, %s", map[projection.Kind]string{projection.KindOptedIn: "opt-in", projection.KindVoluntary: "voluntary"}[k.kind], k.pathway), num(elections[k]))
	}
	p("Confirmed elections (final), by who made them")
	for _, c := range []string{"by a practice representative", "by the clinician", "by a registry's bulk upload", "by a virtual group's election"} {
		p("  %-40s %10s", c, num(channels[c]))
	}
}

// reportActivity writes the commands run, the refusals by rule and the
// data submissions through the gate.
func (s *sim) reportActivity(p printer) {
	p("")
	p("Activity")
	for _, k := range s.outcomes.sorted() {
		p("  %-64s %8s", k, num(s.outcomes.get(k)))
	}
	p("")
	p("Refusals by rule (each appended nothing)")
	total := 0
	for _, k := range s.refusals.sorted() {
		p("  %-56s %8s", k, num(s.refusals.get(k)))
		total += s.refusals.get(k)
	}
	p("  %-56s %8s", "total", num(total))
	p("")
	p("Data submissions through the submission gate")
	for _, k := range s.gate.sorted() {
		if strings.HasPrefix(k, "accepted") {
			p("  %-64s %8s", k, num(s.gate.get(k)))
		}
	}
	p("    %-62s %8s", "of which clinicians not MIPS eligible, without an election", num(s.gate.get(volunteeredWithout)))
	for _, k := range s.gate.sorted() {
		if strings.HasPrefix(k, "refused") {
			p("  %-64s %8s", k, num(s.gate.get(k)))
		}
	}
}

// reportScores writes final scores and payment adjustments of clinicians.
func (s *sim) reportScores(p printer, models *projection.Models) error {
	var inMIPS, informational, zero, hardship int
	through := map[projection.Through]int{}
	ownKinds := map[projection.Through]map[projection.Kind]int{} // the clinicians' own status, by channel
	scoreBuckets := make([]int, 5)
	adjBuckets := map[string]int{}
	var sumAdj float64
	for fs, err := range models.Scoring.All(s.py) {
		if err != nil {
			return err
		}
		switch {
		case fs.Informational:
			informational++
			continue
		case !fs.InMIPS:
			continue
		}
		inMIPS++
		through[fs.Through]++
		if ownKinds[fs.Through] == nil {
			ownKinds[fs.Through] = map[projection.Kind]int{}
		}
		ownKinds[fs.Through][models.Status.Get(s.py, fs.Clinician).Kind]++
		if fs.Source == projection.SourceZero {
			zero++
		}
		if fs.Hardship {
			hardship++
		}
		scoreBuckets[min(int(fs.Score/20), 4)]++
		sumAdj += fs.Adjustment.Total()
		adjBuckets[adjBucket(fs.Adjustment, s.rules.ApplicablePercent)]++
	}
	p("")
	p("Clinicians in MIPS: %s", num(inMIPS))
	for _, th := range []projection.Through{projection.ThroughIndividual, projection.ThroughGroup, projection.ThroughVirtualGroup, projection.ThroughAPMEntity} {
		p("  %-40s %10s", th, num(through[th]))
		for _, k := range projection.Kinds() {
			if n := ownKinds[th][k]; n > 0 {
				p("    %-38s %10s", k.String(), num(n))
			}
		}
	}
	p("  (individually: required, opted in, or a Partial QP that elected; through a group: its group opted in, or is required and reported as a group)")
	p("  (under each way in, its clinicians by their own status at the end of the year, as the status table counts them)")
	p("")
	p("Final scores of clinicians in MIPS: %s", num(inMIPS))
	for i, n := range scoreBuckets {
		hi := fmt.Sprintf("%d)", (i+1)*20)
		if i == 4 {
			hi = "100]"
		}
		p("  [%3d, %-5s %s %8s", i*20, hi, bar(n, inMIPS), num(n))
	}
	p("  no score (final score 0): %s; hardship (score set to the threshold %v): %s; informational (voluntary): %s",
		num(zero), s.rules.PerformanceThreshold, num(hardship), num(informational))
	p("Payment adjustments in %d (applicable percent %v%%; assuming a budget-neutrality scaling factor of 1, which CMS sets after the year)", s.rules.PaymentYear, s.rules.ApplicablePercent)
	for _, b := range adjOrder(s.rules.ApplicablePercent) {
		p("  %-22s %s %8s", b, bar(adjBuckets[b], inMIPS), num(adjBuckets[b]))
	}
	if inMIPS > 0 {
		p("  mean adjustment %+.3f%%", sumAdj/float64(inMIPS))
	}
	return nil
}

// reportAudit writes the audit's verdict and this run's performance.
func (s *sim) reportAudit(p printer, rep projection.Report, audit chain.ChainsReport, auditErr error, rebuild, verify time.Duration) {
	p("")
	switch {
	case auditErr != nil:
		p("Audit: FAILED: %v", auditErr)
	case len(rep.Violations) > 0:
		p("Audit: %d ledger violations, first: %v", len(rep.Violations), rep.Violations[0])
	default:
		p("Audit: %s records in %s streams; every hash chain verifies; no ledger violations", num(audit.Records), num(audit.Streams))
	}
	p("")
	p("%s", PerformanceHeading)
	p("  store: %s (%s)", s.opened.Kind, s.opened.Where)
	for _, ph := range s.phases {
		rate := float64(ph.events) / max(ph.elapsed.Seconds(), 1e-9)
		p("  %-34s %9s events %9v  %9s events/s", ph.name, num(ph.events), ph.elapsed.Round(time.Millisecond), num(int(rate)))
	}
	p("  %-34s %9s events %9v  %9s events/s", "rebuild every projection", num(rep.Applied), rebuild.Round(time.Millisecond), num(int(float64(rep.Applied)/max(rebuild.Seconds(), 1e-9))))
	p("  %-34s %9s records %8v", "hash-chain audit", num(audit.Records), verify.Round(time.Millisecond))
	p("  total %v; peak memory %s", time.Since(s.startedAt).Round(time.Millisecond), peakMemory())
}

// basisLabel shortens a way a final standing is reached
// (eligibility.Standing.Basis) for the summary; a basis it does not know is
// shown as it is.
func basisLabel(basis string) string {
	switch basis {
	case eligibility.BasisBothAbove:
		return "above the threshold in both segments: required"
	case eligibility.BasisBothOptIn:
		return "in the opt-in range in both: opt-in eligible"
	case eligibility.BasisBothBelow:
		return "below the threshold in both: exempt"
	case eligibility.BasisDisagreeOptIn:
		return "segments disagree, not above in both: opt-in eligible"
	case eligibility.BasisDisagreeExempt:
		return "segments disagree, not above in both: exempt"
	case eligibility.BasisNoOptInThisYear:
		return "not above in both, no opt-in this year: exempt"
	case eligibility.BasisNewlyEstablished:
		return "newly established in segment 2: judged on it alone"
	case eligibility.BasisNoSegment1:
		return "no segment 1 determination: billed nothing then"
	case eligibility.BasisSegmentExcluded:
		return "the latest segment finds it not otherwise eligible"
	case eligibility.BasisReported:
		return "as a later import or snapshot reported it"
	case eligibility.BasisAPMNotAssessed:
		return "APM Entity, not judged against the threshold"
	case eligibility.BasisAPMNoOptIn:
		return "APM Entity that may not opt in this year: exempt"
	case eligibility.BasisQP:
		return "a Qualifying APM Participant (latest snapshot)"
	case eligibility.BasisPartialQP:
		return "a Partial QP (latest snapshot)"
	case eligibility.BasisInitial:
		return "segment 1 alone (initial)"
	}
	return basis
}

// reportEligibility prints each participant kind's eligibility status as of
// just before segment 2 was determined (the initial status, from segment 1
// alone) and at the end of the year (the final one, both segments
// reconciled), and how the final standings were reached.
func (s *sim) reportEligibility(ctx context.Context, p func(string, ...any), final *projection.Models) error {
	initial := projection.NewModels(s.table, projection.ScoringConfig{})
	if _, err := projection.NewRunner(s.opened.Store, s.reg, initial.Projections(), projection.AsOf(s.seg2At.Add(-time.Second))).Rebuild(ctx); err != nil {
		return fmt.Errorf("rebuild as of segment 1: %w", err)
	}
	type key struct {
		kind events.ParticipantKind
		st   events.EligibilityStatus
	}
	count := func(m *projection.Models, phase eligibility.Phase) map[key]int {
		out := map[key]int{}
		for v := range m.Status.All(s.py) {
			if v.Phase == phase {
				out[key{v.Participant.Kind, v.Eligibility}]++
			}
		}
		return out
	}
	ini, fin := count(initial, eligibility.PhaseInitial), count(final, eligibility.PhaseFinal)
	kinds := []events.ParticipantKind{events.KindIndividual, events.KindGroup, events.KindAPMEntity}
	p("")
	p("Eligibility: initial (segment 1 alone) and final (both segments reconciled)")
	p("  %-28s %19s  %19s  %19s", "", "clinicians", "practices", "APM Entities")
	p("  %-28s %10s %8s  %10s %8s  %10s %8s", "", "initial", "final", "initial", "final", "initial", "final")
	for _, st := range []events.EligibilityStatus{events.StatusRequired, events.StatusOptInEligible, events.StatusExempt,
		events.StatusExcluded, events.StatusPartialQP, events.StatusNotAssessed} {
		row := fmt.Sprintf("  %-28s", st)
		for _, k := range kinds {
			row += fmt.Sprintf(" %10s %8s ", num(ini[key{k, st}]), num(fin[key{k, st}]))
		}
		p("%s", strings.TrimRight(row, " "))
	}
	tot := func(m map[key]int, k events.ParticipantKind) (n int) {
		for kk, c := range m {
			if kk.kind == k {
				n += c
			}
		}
		return n
	}
	row := fmt.Sprintf("  %-28s", "determined")
	for _, k := range kinds {
		row += fmt.Sprintf(" %10s %8s ", num(tot(ini, k)), num(tot(fin, k)))
	}
	p("%s", strings.TrimRight(row, " "))

	bases := map[string][2]int{}
	for v := range final.Status.All(s.py) {
		if v.Phase != eligibility.PhaseFinal || v.Participant.Kind == events.KindAPMEntity {
			continue
		}
		label := basisLabel(v.Basis)
		c := bases[label]
		if v.Participant.Kind == events.KindIndividual {
			c[0]++
		} else {
			c[1]++
		}
		bases[label] = c
	}
	p("  How the final standings were reached                         clinicians   practices")
	p("  (when the segments disagree: %s)", s.rules.SegmentPolicy)
	labels := make([]string, 0, len(bases))
	for l := range bases {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	for _, l := range labels {
		p("    %-58s %10s  %10s", l, num(bases[l][0]), num(bases[l][1]))
	}
	return nil
}

func adjBucket(a projection.Adjustment, max float64) string {
	t := a.Total()
	switch {
	case t <= -max+1e-9:
		return fmt.Sprintf("-%v%% (maximum)", max)
	case t < 0:
		return "negative"
	case t == 0:
		return "neutral (0)"
	case a.Exceptional > 0:
		return "positive + exceptional"
	}
	return "positive"
}

func adjOrder(max float64) []string {
	return []string{fmt.Sprintf("-%v%% (maximum)", max), "negative", "neutral (0)", "positive", "positive + exceptional"}
}

func bar(n, total int) string {
	if total == 0 {
		return strings.Repeat(" ", 30)
	}
	w := n * 30 / total
	return strings.Repeat("#", w) + strings.Repeat(".", 30-w)
}

// num formats an integer with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// peakMemory reads the process's peak resident set (Linux), else the Go
// runtime's view.
func peakMemory() string {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))); err == nil {
					return fmt.Sprintf("%.0f MiB RSS", float64(kb)/1024)
				}
			}
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return fmt.Sprintf("%.0f MiB from the OS (Go runtime)", float64(m.Sys)/(1<<20))
}
