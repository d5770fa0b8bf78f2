package projection

import (
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/ordered"
)

// scoreFacts is what scoring keeps per participant (32 bytes).
type scoreFacts struct {
	trad, app         float64 // reported scores by pathway
	tradCats, appCats uint8   // scored categories of each
	flags             uint8
	vg                ref // groups: the virtual group the TIN belongs to
	apm               ref // clinicians: the first APM Entity whose list names them
	// std is, for clinicians, the first APM Entity of a MIPS APM whose
	// Participation List names them: the APM scoring standard's entity
	// (PY2017-2020).
	std ref
}

const (
	sTrad        = 1 << iota // a traditional MIPS score was reported
	sAPP                     // an APP score was reported
	sOnList                  // clinician: on a MIPS APM Participation or Affiliated Practitioner List at a snapshot
	sParticipant             // clinician: on a MIPS APM's Participation List at a snapshot
)

// ScoringConfig sets the per-year factors of the payment adjustment.
type ScoringConfig struct {
	// ScalingFactor is the budget-neutrality factor SF per program year
	// (default 1).
	ScalingFactor map[events.ProgramYear]float64
	// ExceptionalFactor scales the exceptional performance adjustment per
	// program year (default 1).
	ExceptionalFactor map[events.ProgramYear]float64
}

// Scoring is the scoring read model: the candidate scores of each clinician
// and the final score that applies under docs/rules.md §5, with the payment
// adjustment it implies. It reads participants' status from the Status
// model it was built with.
type Scoring struct {
	cat    *Catalog
	mu     *sync.RWMutex
	status *Status
	table  *eligibility.Table
	cfg    ScoringConfig
	facts  []scoreFacts
	// moreAPM holds the APM Entities of clinicians on more than one.
	moreAPM map[ref][]ref
	// vgMembers holds each virtual group's current members (group refs):
	// a revision replaces them, a retraction clears them.
	vgMembers map[ref][]ref
	// models holds the APM each APM Entity belongs to, when a snapshot
	// said so.
	models map[ref]events.APMModel
	// highest holds the reasons "the highest of n candidate score(s): the
	// source score" for n up to 4.
	highest [4][len(sourceNames)]string
}

// NewScoring returns an empty scoring model sharing status's catalog.
func NewScoring(status *Status, table *eligibility.Table, cfg ScoringConfig) *Scoring {
	s := &Scoring{cat: status.cat, mu: status.mu, status: status, table: table, cfg: cfg, moreAPM: map[ref][]ref{}, vgMembers: map[ref][]ref{},
		models: map[ref]events.APMModel{}}
	for n := range s.highest {
		for src := range s.highest[n] {
			s.highest[n][src] = formatHighest(n+1, ScoreSource(src))
		}
	}
	return s
}

func (s *Scoring) get(py events.ProgramYear, p events.Participant) *scoreFacts {
	return factsFor(s.cat, &s.facts, scoreFacts{vg: noRef, apm: noRef, std: noRef}, py, p)
}

// reserve sizes the model for a log of n records before a rebuild.
func (s *Scoring) reserve(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.reserve(n)
	reserveFacts(&s.facts, n)
}

func (s *Scoring) factsOf(r ref) *scoreFacts {
	if r == noRef || int(r) >= len(s.facts) {
		return nil
	}
	return &s.facts[r]
}

// Apply implements Projection.
func (s *Scoring) Apply(_ *events.Record, e events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := e.(type) {
	case events.ScoreReported:
		if e.Score < 0 || e.Score > 100 || e.Score != e.Score {
			return &Violation{Problem: fmt.Sprintf("score %v outside 0..100", e.Score)}
		}
		f := s.get(e.ProgramYear, e.Participant)
		cats := uint8(min(max(e.ScoredCategories, 0), 255))
		if e.Pathway == events.PathwayAPP {
			f.app, f.appCats, f.flags = e.Score, cats, f.flags|sAPP
		} else {
			f.trad, f.tradCats, f.flags = e.Score, cats, f.flags|sTrad
		}
	case events.VirtualGroupMembership:
		vg := s.cat.intern(e.ProgramYear, e.VirtualGroup)
		s.leaveVirtualGroup(vg)
		members := make([]ref, 0, len(e.Members))
		for _, t := range e.Members {
			s.get(e.ProgramYear, events.Group(t)).vg = vg
			members = append(members, s.cat.lookup(e.ProgramYear, events.Group(t)))
		}
		s.vgMembers[vg] = members
	case events.VirtualGroupRetracted:
		s.leaveVirtualGroup(s.cat.intern(e.ProgramYear, e.VirtualGroup))
	case events.APMParticipationSnapshot:
		entity := s.cat.intern(e.ProgramYear, e.Entity)
		if e.Model != events.ModelUnspecified {
			s.models[entity] = e.Model
		}
		for _, en := range e.Entries {
			f := s.get(e.ProgramYear, events.Individual(en.TIN, en.NPI))
			if e.MIPSAPM && (en.List == events.ListParticipation || en.List == events.ListAffiliatedPractitioner) {
				f.flags |= sOnList
			}
			if e.MIPSAPM && en.List == events.ListParticipation {
				f.flags |= sParticipant
				if f.std == noRef {
					f.std = entity
				}
			}
			switch {
			case f.apm == noRef:
				f.apm = entity
			case f.apm != entity:
				r := s.cat.lookup(e.ProgramYear, events.Individual(en.TIN, en.NPI))
				if !slices.Contains(s.moreAPM[r], entity) {
					s.moreAPM[r] = append(s.moreAPM[r], entity)
				}
			}
		}
	}
	return nil
}

// leaveVirtualGroup takes the virtual group's current members out of it
// (before a revision lists the new ones, or after a retraction).
func (s *Scoring) leaveVirtualGroup(vg ref) {
	for _, m := range s.vgMembers[vg] {
		if f := s.factsOf(m); f != nil && f.vg == vg {
			f.vg = noRef
		}
	}
	delete(s.vgMembers, vg)
}

// ScoreSource says whose score is a clinician's final score.
type ScoreSource uint8

// Score sources.
const (
	SourceNone          ScoreSource = iota // no final score (not in MIPS)
	SourceIndividual                       // the clinician's own score
	SourceGroup                            // the group's traditional MIPS score
	SourceGroupAPP                         // the group's APP score
	SourceVirtualGroup                     // the virtual group's score
	SourceAPMEntity                        // an APM Entity's score
	SourceZero                             // no candidate: an eligible clinician gets 0
	SourceIndividualAPP                    // the clinician's own APP score
)

var sourceNames = [...]string{"none", "individual", "group", "group APP", "virtual group", "APM Entity", "zero", "individual APP"}

// Through says how a clinician is in MIPS.
type Through uint8

// Ways into MIPS.
const (
	ThroughNone         Through = iota // not in MIPS
	ThroughIndividual                  // required or opted in itself (or a Partial QP that elected)
	ThroughGroup                       // its group opted in, or is required and reported as a group
	ThroughVirtualGroup                // its TIN is a member of a virtual group
	ThroughAPMEntity                   // on a MIPS APM's Participation List under the APM scoring standard (PY2017-2020)
)

var throughNames = [...]string{"not in MIPS", "individually", "through its group", "through a virtual group", "through an APM Entity"}

// String says how, in words.
func (t Through) String() string { return throughNames[min(int(t), len(throughNames)-1)] }

// String returns the ScoreSource in words.
func (s ScoreSource) String() string { return sourceNames[s] }

// Candidate is one score that could apply to a clinician.
type Candidate struct {
	Source   ScoreSource
	Of       events.Participant // whose score
	Score    float64            // after hardship reweighting
	Reported float64            // as reported
	Hardship bool               // fewer than two scored categories: the score is the threshold
}

// FinalScore is a clinician's final score for a program year, which score
// applied and why, and the payment adjustment it implies.
type FinalScore struct {
	Clinician   events.Participant
	ProgramYear events.ProgramYear
	// InMIPS: in MIPS (see Through); only then does a payment adjustment
	// apply.
	InMIPS bool
	// Through says how the clinician is in MIPS.
	Through Through
	// PaymentYear is the year the adjustment applies to (PY + 2 for MIPS).
	PaymentYear int
	// Informational: a voluntary reporter's score, with no adjustment.
	Informational bool
	// Phase says whether the eligibility standing this rests on (the
	// clinician's own, else its group's) is initial or final.
	Phase      eligibility.Phase
	Score      float64
	Source     ScoreSource
	Of         events.Participant // whose score applied
	Hardship   bool
	Reason     string
	Candidates []Candidate
	Adjustment Adjustment
}

// Final returns a clinician's final score for py.
func (s *Scoring) Final(py events.ProgramYear, clinician events.Participant) (FinalScore, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.final(py, clinician)
}

// All yields the final score of every clinician (TIN/NPI) the model knows
// for py, in the order the model learned of them. The read lock is held
// while iterating. Large models are scored on several goroutines ahead of
// the caller, which still receives the scores one at a time, in order.
func (s *Scoring) All(py events.ProgramYear) iter.Seq2[FinalScore, error] {
	return func(yield func(FinalScore, error) bool) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		yi, ok := s.cat.yearOf(py)
		if !ok {
			return
		}
		rules, err := s.table.Lookup(py)
		w := &allScores{s: s, py: py, yi: yi, rules: rules, err: err}
		// each yields one score; a missing rules table ends the walk.
		each := func(x scored) bool { return yield(x.FinalScore, x.err) && (x.err == nil || err == nil) }
		n := len(s.cat.keys)
		workers := min(runtime.GOMAXPROCS(0), 8)
		if workers < 2 || n < 4*scoreChunkSize {
			for _, x := range w.score(0, n, nil) {
				if !each(x) {
					return
				}
			}
			return
		}
		parallelChunks(n, workers, w.score, each)
	}
}

// allScores is one walk of All: the final scores of one program year's
// clinicians.
type allScores struct {
	s     *Scoring
	py    events.ProgramYear
	yi    uint16
	rules *eligibility.Rules
	err   error // the rules table's, given for the first clinician
}

// score appends the final scores of refs [from, to) to out, a block at a
// time: first the groups' slots in the participant table are prefetched,
// so that their cache misses are in flight at once, then the block is
// scored. Several goroutines may run it at once (under the read lock).
func (w *allScores) score(from, to int, out []scored) []scored {
	var hashes []uint64
	for lo := from; lo < to; lo += warmBlock {
		hi := min(lo+warmBlock, to)
		hashes = w.s.cat.prefetchGroups(w.yi, lo, hi, hashes)
		out = w.scoreBlock(lo, hi, out)
	}
	return out
}

// scoreBlock appends the final scores of the clinicians among refs
// [lo, hi) that the models know something of.
func (w *allScores) scoreBlock(lo, hi int, out []scored) []scored {
	s := w.s
	for r := lo; r < hi; r++ {
		k := s.cat.keys[r]
		if k.py != w.yi || k.p.Kind != events.KindIndividual {
			continue
		}
		if sf := s.status.factsOf(ref(r)); (sf == nil || sf.flags&fDetermined == 0) && s.factsOf(ref(r)) == nil {
			continue
		}
		if w.err != nil {
			return append(out, scored{FinalScore{Clinician: k.p, ProgramYear: w.py}, w.err})
		}
		f, ferr := s.finalAt(w.rules, w.py, ref(r), k.p)
		out = append(out, scored{f, ferr})
	}
	return out
}

// scored is a final score and its error, as All yields them.
type scored struct {
	FinalScore
	err error
}

// scoreChunkSize is how many refs a scoring goroutine takes at a time, and
// warmBlock how many of them it warms before scoring them (few enough that
// what it read is still in the cache when it gets there).
const (
	scoreChunkSize = 4096
	warmBlock      = 256
)

// scoreChunk is a run of refs scored together, and their scores.
type scoreChunk struct {
	from, to int
	out      []scored
}

// parallelChunks scores [0, n) in chunks on workers goroutines and passes
// the scores to each, in order, until each returns false.
func parallelChunks(n, workers int, score func(from, to int, out []scored) []scored, each func(scored) bool) {
	cfg := ordered.Config[scoreChunk]{Workers: workers,
		New:  func() *scoreChunk { return &scoreChunk{out: make([]scored, 0, scoreChunkSize)} },
		Work: func(c *scoreChunk, _ int) { c.out = score(c.from, c.to, c.out[:0]) }}
	chunks := func(take ordered.Take[scoreChunk], send ordered.Send[scoreChunk]) {
		for from := 0; from < n; from += scoreChunkSize {
			c, ok := take()
			if !ok {
				return
			}
			c.from, c.to = from, min(from+scoreChunkSize, n)
			if !send(c) {
				return
			}
		}
	}
	for c := range ordered.Run(cfg, chunks) {
		for _, x := range c.out {
			if !each(x) {
				return
			}
		}
		clear(c.out) // drop the scores' references before reuse
	}
}

func (s *Scoring) final(py events.ProgramYear, c events.Participant) (FinalScore, error) {
	out := FinalScore{Clinician: c, ProgramYear: py}
	if c.Kind != events.KindIndividual {
		return out, fmt.Errorf("projection: final scores are per clinician (TIN/NPI), not %v", c)
	}
	rules, err := s.table.Lookup(py)
	if err != nil {
		return out, err
	}
	return s.finalAt(rules, py, s.cat.lookup(py, c), c)
}

// scoring is what a clinician's final score is decided from.
type scoring struct {
	rules    *eligibility.Rules
	c        events.Participant
	cr, gr   ref
	own, grp Kind // the clinician's and its group's status
	cf, gf   *scoreFacts
	vg       ref // the virtual group of the clinician's TIN, if it is a member under the rules
}

// pick makes a candidate of a reported score: fewer than two scored
// categories set it to the performance threshold.
func (in *scoring) pick(src ScoreSource, of events.Participant, score float64, cats uint8) Candidate {
	c := Candidate{Source: src, Of: of, Score: score, Reported: score}
	if cats < 2 {
		c.Score, c.Hardship = in.rules.PerformanceThreshold, true
	}
	return c
}

// groupReported: the group submitted data as a group (a score is recorded
// for it).
func (in *scoring) groupReported() bool { return in.gf != nil && in.gf.flags&(sTrad|sAPP) != 0 }

// finalAt is final for the clinician c, whose ref is cr (noRef when the
// catalog does not know it), under the program year's rules
// (docs/rules.md §5).
func (s *Scoring) finalAt(rules *eligibility.Rules, py events.ProgramYear, cr ref, c events.Participant) (FinalScore, error) {
	in := scoring{rules: rules, c: c, cr: cr, gr: s.cat.lookup(py, events.Group(c.TIN)), vg: noRef}
	in.own, in.grp = s.ownKind(rules, in.cr), s.status.kind(in.gr)
	in.cf, in.gf = s.factsOf(in.cr), s.factsOf(in.gr)
	if in.gf != nil && in.gf.vg != noRef && memberUnderTheRules(in.grp) {
		in.vg = in.gf.vg
	}
	out := FinalScore{Clinician: c, ProgramYear: py, PaymentYear: rules.PaymentYear}
	if sf := s.status.factsOf(cr); sf != nil && sf.flags&fDetermined != 0 {
		out.Phase = sf.ephase
	} else if gsf := s.status.factsOf(in.gr); gsf != nil && gsf.flags&fDetermined != 0 {
		out.Phase = gsf.ephase
	}
	if done, ok := s.outOfMIPS(&in, out); ok {
		return done, nil
	}
	if rules.APMEntityScoreOverrides && in.cf != nil && in.cf.std != noRef {
		return s.apmStandard(&in, out)
	}
	out.InMIPS, out.Through = s.inMIPS(&in)
	if !out.InMIPS {
		return s.notInMIPS(&in, out), nil
	}
	if in.vg != noRef {
		return s.virtualGroupScore(&in, out)
	}
	return s.bestCandidate(&in, out)
}

// rules returns the program year's rules, or nil when the table lacks it.
func (s *Scoring) rules(py events.ProgramYear) *eligibility.Rules {
	if s.table == nil {
		return nil
	}
	r, err := s.table.Lookup(py)
	if err != nil {
		return nil
	}
	return r
}

// ownKind is the status kind of the clinician at r, with what only the
// scores tell: in a year whose Partial QPs elect by submitting data
// (PY2017, Rules.PartialQPReportingElects), a Partial QP that reported a
// score of its own made its Partial QP election (docs/rules.md §3), as the
// submission gate says. The caller holds the lock.
func (s *Scoring) ownKind(rules *eligibility.Rules, r ref) Kind {
	k := s.status.kind(r)
	if k == KindPartialQP && rules != nil && rules.PartialQPReportingElects {
		if f := s.factsOf(r); f != nil && f.flags&(sTrad|sAPP) != 0 {
			return KindPartialQPElected
		}
	}
	return k
}

// memberUnderTheRules: a TIN takes its virtual group's score only while it
// is a member under the membership rules: never an exempt or excluded TIN,
// nor one whose own final election is voluntary reporting.
func memberUnderTheRules(grp Kind) bool {
	switch grp {
	case KindExempt, KindExcluded, KindVoluntary, KindUnknown:
		return false
	}
	return true
}

// outOfMIPS answers for a clinician that is out of MIPS whatever its
// groups do and whatever it elected: excluded (its reconciled standing), a
// Partial QP without an election, or (PY2017-2020) exempt through its APM
// Entity. One reporting voluntarily gets its score
// for information.
func (s *Scoring) outOfMIPS(in *scoring, out FinalScore) (FinalScore, bool) {
	sf := s.status.factsOf(in.cr)
	switch {
	case sf != nil && sf.flags&fDetermined != 0 && sf.status == events.StatusExcluded:
		// The standing, not the status kind: an exclusion found after a
		// confirmed election (a QP at a later snapshot) still takes the
		// clinician out of MIPS, as the submission gate says.
		excl := sf.exclusion
		reason := "excluded (" + excl.String() + "): no MIPS payment adjustment"
		if in.rules.VoluntaryReporting && (excl == events.ExclusionQP || excl == events.ExclusionNewlyEnrolled || excl == events.ExclusionIneligibleClinicianType) {
			return s.informational(in, out, reason), true
		}
		out.Reason = reason
		return out, true
	case in.own == KindPartialQP:
		reason := "a Partial QP without a Partial QP election: not in MIPS, no payment adjustment"
		if in.rules.PartialQPMayReportVoluntarily {
			return s.informational(in, out, reason), true
		}
		out.Reason = reason
		return out, true
	case s.status.exemptThroughAPM(s.status.factsOf(in.cr)):
		_, entity := s.cat.key(s.status.factsOf(in.cr).apm)
		out.Reason = fmt.Sprintf("%v: exempt, because its APM Entity %s is exempt: no payment adjustment", out.ProgramYear, entity.ID)
		return out, true
	}
	return out, false
}

// informational gives a clinician reporting voluntarily without an
// election its own score, for information only.
func (s *Scoring) informational(in *scoring, out FinalScore, reason string) FinalScore {
	if in.cf != nil && in.cf.flags&sTrad != 0 {
		cand := in.pick(SourceIndividual, in.c, in.cf.trad, in.cf.tradCats)
		out.Informational, out.Score, out.Source, out.Of, out.Hardship = true, cand.Score, cand.Source, in.c, cand.Hardship
		out.Candidates = []Candidate{cand}
		reason += "; its voluntary report's score is for information only"
	}
	out.Reason = reason
	return out
}

// inMIPS says whether, and through whom, a clinician is in MIPS: required
// or opted in itself (or a Partial QP that elected); its TIN a member of a
// virtual group; its group opted in (the election is its participation: 0
// when it submitted nothing); its group required and reporting as a group.
// A required group that did not report puts none of its individually exempt
// clinicians in MIPS.
func (s *Scoring) inMIPS(in *scoring) (bool, Through) {
	switch {
	case in.own == KindRequired || in.own == KindOptedIn || in.own == KindPartialQPElected:
		return true, ThroughIndividual
	case in.vg != noRef && s.status.kind(in.vg) != KindVoluntary:
		return true, ThroughVirtualGroup
	case in.grp == KindOptedIn:
		return true, ThroughGroup
	case in.grp == KindRequired && in.groupReported():
		return true, ThroughGroup
	}
	return false, ThroughNone
}

// notInMIPS answers for a clinician in no way in MIPS: a voluntary
// reporter's score (its own, or its group's) is informational.
func (s *Scoring) notInMIPS(in *scoring, out FinalScore) FinalScore {
	switch {
	case in.own == KindVoluntary && in.cf != nil && in.cf.flags&sTrad != 0:
		cand := in.pick(SourceIndividual, in.c, in.cf.trad, in.cf.tradCats)
		out.Informational, out.Score, out.Source, out.Of, out.Hardship = true, cand.Score, cand.Source, in.c, cand.Hardship
		out.Candidates = []Candidate{cand}
		out.Reason = "voluntary reporter: the score is for information only, with no payment adjustment"
	case in.grp == KindVoluntary && in.gf != nil && in.gf.flags&sTrad != 0:
		g := events.Group(in.c.TIN)
		cand := in.pick(SourceGroup, g, in.gf.trad, in.gf.tradCats)
		out.Informational, out.Score, out.Source, out.Of, out.Hardship = true, cand.Score, cand.Source, g, cand.Hardship
		out.Candidates = []Candidate{cand}
		out.Reason = "the group reports voluntarily: informational score, no payment adjustment"
	case in.own == KindExempt:
		reason := "exempt: no payment adjustment"
		if in.grp == KindRequired {
			reason = "exempt, and its required group did not report as a group: no payment adjustment"
		}
		return s.informational(in, out, reason)
	default:
		out.Reason = "neither required nor opted in: no payment adjustment"
	}
	return out
}

// virtualGroupScore: a member TIN's clinicians take the virtual group's
// score, always (0 when it has none).
func (s *Scoring) virtualGroupScore(in *scoring, out FinalScore) (FinalScore, error) {
	_, vgp := s.cat.key(in.vg)
	out.Source, out.Of, out.Reason = SourceZero, vgp, "the TIN is in virtual group "+vgp.ID+", which has no score: 0"
	if vf := s.factsOf(in.vg); vf != nil && vf.flags&sTrad != 0 {
		cand := in.pick(SourceVirtualGroup, vgp, vf.trad, vf.tradCats)
		out.Candidates = []Candidate{cand}
		out.Score, out.Source, out.Hardship = cand.Score, SourceVirtualGroup, cand.Hardship
		out.Reason = "the TIN is in virtual group " + vgp.ID + ": its score applies, always"
	}
	return s.adjust(out, in.rules)
}

// apmStandard is the APM scoring standard (PY2017-2020): a clinician on the
// Participation List of an APM Entity in a MIPS APM is scored solely on the
// entity's score, which overrides every other score, the virtual group's
// included (0 when the entity has none).
func (s *Scoring) apmStandard(in *scoring, out FinalScore) (FinalScore, error) {
	_, ep := s.cat.key(in.cf.std)
	out.InMIPS, out.Through, out.Of, out.Source = true, ThroughAPMEntity, ep, SourceZero
	out.Reason = fmt.Sprintf("%v, the APM scoring standard: APM Entity %s has no score: 0", out.ProgramYear, ep.ID)
	ef := s.factsOf(in.cf.std)
	var cand Candidate
	switch {
	case ef != nil && ef.flags&sAPP != 0:
		cand = in.pick(SourceAPMEntity, ep, ef.app, ef.appCats)
	case ef != nil && ef.flags&sTrad != 0:
		cand = in.pick(SourceAPMEntity, ep, ef.trad, ef.tradCats)
	default:
		return s.adjust(out, in.rules)
	}
	out.Candidates = []Candidate{cand}
	out.Score, out.Source, out.Hardship = cand.Score, SourceAPMEntity, cand.Hardship
	out.Reason = fmt.Sprintf("%v, the APM scoring standard: APM Entity %s's score overrides every other", out.ProgramYear, ep.ID)
	return s.adjust(out, in.rules)
}

// bestCandidate picks the highest candidate (PY2021 on, or a clinician outside
// the APM scoring standard): its own score, traditional or APP, if it
// reported and is required or opted in; its group's traditional score, if
// the group reported and is required or opted in; the group's APP score
// only if the clinician was on a MIPS APM list at a snapshot; each APM
// Entity's score. No candidate: 0.
func (s *Scoring) bestCandidate(in *scoring, out FinalScore) (FinalScore, error) {
	var cands []Candidate
	if in.cf != nil && (in.own == KindRequired || in.own == KindOptedIn || in.own == KindPartialQPElected) {
		if in.cf.flags&sTrad != 0 {
			cands = append(cands, in.pick(SourceIndividual, in.c, in.cf.trad, in.cf.tradCats))
		}
		if in.cf.flags&sAPP != 0 {
			cands = append(cands, in.pick(SourceIndividualAPP, in.c, in.cf.app, in.cf.appCats))
		}
	}
	if in.gf != nil && (in.grp == KindRequired || in.grp == KindOptedIn) {
		g := events.Group(in.c.TIN)
		if in.gf.flags&sTrad != 0 {
			cands = append(cands, in.pick(SourceGroup, g, in.gf.trad, in.gf.tradCats))
		}
		if in.gf.flags&sAPP != 0 && in.cf != nil && in.cf.flags&sOnList != 0 {
			cands = append(cands, in.pick(SourceGroupAPP, g, in.gf.app, in.gf.appCats))
		}
	}
	if in.cf != nil && in.cf.apm != noRef {
		for _, e := range append([]ref{in.cf.apm}, s.moreAPM[in.cr]...) {
			ef := s.factsOf(e)
			if ef == nil {
				continue
			}
			_, ep := s.cat.key(e)
			switch {
			case ef.flags&sAPP != 0:
				cands = append(cands, in.pick(SourceAPMEntity, ep, ef.app, ef.appCats))
			case ef.flags&sTrad != 0:
				cands = append(cands, in.pick(SourceAPMEntity, ep, ef.trad, ef.tradCats))
			}
		}
	}
	out.Candidates = cands
	if len(cands) == 0 {
		out.Source, out.Reason = SourceZero, "in MIPS with no score: final score 0"
		return s.adjust(out, in.rules)
	}
	best := cands[0]
	for _, x := range cands[1:] {
		if x.Score > best.Score {
			best = x
		}
	}
	out.Score, out.Source, out.Of, out.Hardship = best.Score, best.Source, best.Of, best.Hardship
	out.Reason = s.highestReason(len(cands), best.Source)
	if best.Hardship {
		out.Reason += " (fewer than two scored categories: set to the performance threshold)"
	}
	return s.adjust(out, in.rules)
}

func (s *Scoring) adjust(out FinalScore, rules *eligibility.Rules) (FinalScore, error) {
	sf, ef := 1.0, 1.0
	if v, ok := s.cfg.ScalingFactor[out.ProgramYear]; ok {
		sf = v
	}
	if v, ok := s.cfg.ExceptionalFactor[out.ProgramYear]; ok {
		ef = v
	}
	adj, err := PaymentAdjustment(rules, out.Score, sf, ef)
	out.Adjustment = adj
	return out, err
}

func formatHighest(n int, src ScoreSource) string {
	return "the highest of " + strconv.Itoa(n) + " candidate score(s): the " + src.String() + " score"
}

// highestReason returns the "highest of" reason, from the model's table of
// the common ones so that a million final scores do not format a million
// strings.
func (s *Scoring) highestReason(n int, src ScoreSource) string {
	if n >= 1 && n <= len(s.highest) && int(src) < len(sourceNames) {
		return s.highest[n-1][src]
	}
	return formatHighest(n, src)
}
