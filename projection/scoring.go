package projection

import (
	"fmt"
	"iter"
	"runtime"
	"strconv"
	"sync"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// scoreFacts is what scoring keeps per participant (32 bytes).
type scoreFacts struct {
	trad, app         float64 // reported scores by pathway
	tradCats, appCats uint8   // scored categories of each
	flags             uint8
	vg                ref // groups: the virtual group the TIN belongs to
	apm               ref // clinicians: the first APM Entity whose list names them
}

const (
	sTrad   = 1 << iota // a traditional MIPS score was reported
	sAPP                // an APP score was reported
	sOnList             // clinician: on a MIPS APM Participation or Affiliated Practitioner List at a snapshot
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
	// highest holds the reasons "the highest of n candidate score(s): the
	// source score" for n up to 4.
	highest [4][len(sourceNames)]string
}

// NewScoring returns an empty scoring model sharing status's catalog.
func NewScoring(status *Status, table *eligibility.Table, cfg ScoringConfig) *Scoring {
	s := &Scoring{cat: status.cat, mu: status.mu, status: status, table: table, cfg: cfg, moreAPM: map[ref][]ref{}, vgMembers: map[ref][]ref{}}
	for n := range s.highest {
		for src := range s.highest[n] {
			s.highest[n][src] = formatHighest(n+1, ScoreSource(src))
		}
	}
	return s
}

func (s *Scoring) get(py events.ProgramYear, p events.Participant) *scoreFacts {
	return factsFor(s.cat, &s.facts, scoreFacts{vg: noRef, apm: noRef}, py, p)
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
		for _, en := range e.Entries {
			f := s.get(e.ProgramYear, events.Individual(en.TIN, en.NPI))
			if e.MIPSAPM && (en.List == events.ListParticipation || en.List == events.ListAffiliatedPractitioner) {
				f.flags |= sOnList
			}
			switch {
			case f.apm == noRef:
				f.apm = entity
			case f.apm != entity:
				r := s.cat.lookup(e.ProgramYear, events.Individual(en.TIN, en.NPI))
				if !containsRef(s.moreAPM[r], entity) {
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

func containsRef(rs []ref, r ref) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// ScoreSource says whose score is a clinician's final score.
type ScoreSource uint8

// Score sources.
const (
	SourceNone         ScoreSource = iota // no final score (not in MIPS)
	SourceIndividual                      // the clinician's own score
	SourceGroup                           // the group's traditional MIPS score
	SourceGroupAPP                        // the group's APP score
	SourceVirtualGroup                    // the virtual group's score
	SourceAPMEntity                       // an APM Entity's score
	SourceZero                            // no candidate: an eligible clinician gets 0
)

var sourceNames = [...]string{"none", "individual", "group", "group APP", "virtual group", "APM Entity", "zero"}

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
	// InMIPS: required or opted in (own, group's or virtual group's
	// election); only then does a payment adjustment apply.
	InMIPS bool
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
		// score appends the final scores of refs [from, to) to out.
		score := func(from, to int, out []scored) []scored {
			for lo := from; lo < to; lo += warmBlock {
				hi := min(lo+warmBlock, to)
				// First read the groups' slots in the participant table,
				// in a loop of their own, so that their cache misses are
				// in flight at once.
				if t := &s.cat.nums; len(t.slots) > 0 {
					var sink uint64
					for r := lo; r < hi; r++ {
						if k := &s.cat.keys[r]; k.py == yi && k.p.Kind == events.KindIndividual {
							sink += t.slots[t.home(yi, numKey(events.Group(k.p.TIN)))].k
						}
					}
					runtime.KeepAlive(sink)
				}
				for r := lo; r < hi; r++ {
					k := s.cat.keys[r]
					if k.py != yi || k.p.Kind != events.KindIndividual {
						continue
					}
					if sf := s.status.factsOf(ref(r)); (sf == nil || sf.flags&fDetermined == 0) && s.factsOf(ref(r)) == nil {
						continue
					}
					if err != nil {
						return append(out, scored{FinalScore{Clinician: k.p, ProgramYear: py}, err})
					}
					f, ferr := s.finalAt(rules, py, ref(r), k.p)
					out = append(out, scored{f, ferr})
				}
			}
			return out
		}
		// each yields one score; a missing rules table ends the walk.
		each := func(x scored) bool { return yield(x.FinalScore, x.err) && (x.err == nil || err == nil) }
		n := len(s.cat.keys)
		workers := min(runtime.GOMAXPROCS(0), 8)
		if workers < 2 || n < 4*scoreChunk {
			for _, x := range score(0, n, nil) {
				if !each(x) {
					return
				}
			}
			return
		}
		parallelChunks(n, workers, score, each)
	}
}

// scored is a final score and its error, as All yields them.
type scored struct {
	FinalScore
	err error
}

// scoreChunk is how many refs a scoring goroutine takes at a time, and
// warmBlock how many of them it warms before scoring them (few enough that
// what it read is still in the cache when it gets there).
const (
	scoreChunk = 4096
	warmBlock  = 256
)

// parallelChunks splits [0, n) into chunks, runs score on each chunk on
// workers goroutines, at most 2*workers chunks ahead of the consumer (their
// buffers are reused), and passes the results to each in order until each
// returns false. It returns only when the workers have stopped.
func parallelChunks(n, workers int, score func(from, to int, out []scored) []scored, each func(scored) bool) {
	type chunk struct {
		from, to int
		out      []scored
		done     chan struct{}
	}
	ahead := 2 * workers
	free := make(chan *chunk, ahead)
	for range ahead {
		free <- &chunk{out: make([]scored, 0, scoreChunk)}
	}
	jobs := make(chan *chunk, ahead)
	pending := make(chan *chunk, ahead) // the same chunks, in order, for the consumer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				select {
				case <-stop:
				default:
					c.out = score(c.from, c.to, c.out[:0])
				}
				close(c.done)
			}
		})
	}
	wg.Go(func() { // the dispatcher
		defer close(jobs)
		defer close(pending)
		for from := 0; from < n; from += scoreChunk {
			var c *chunk
			select {
			case c = <-free:
			case <-stop:
				return
			}
			c.from, c.to, c.done = from, min(from+scoreChunk, n), make(chan struct{})
			pending <- c // neither blocks: only the pool's chunks circulate
			jobs <- c
		}
	})
	defer wg.Wait()
	defer close(stop)
	for c := range pending {
		<-c.done
		for _, x := range c.out {
			if !each(x) {
				return
			}
		}
		clear(c.out) // drop the scores' references before reuse
		free <- c
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

// finalAt is final for the clinician c, whose ref is cr (noRef when the
// catalog does not know it), under the program year's rules.
func (s *Scoring) finalAt(rules *eligibility.Rules, py events.ProgramYear, cr ref, c events.Participant) (FinalScore, error) {
	out := FinalScore{Clinician: c, ProgramYear: py}
	gr := s.cat.lookup(py, events.Group(c.TIN))
	own, grp := s.status.kind(cr), s.status.kind(gr)
	cf, gf := s.factsOf(cr), s.factsOf(gr)
	vg := noRef
	if gf != nil {
		vg = gf.vg
	}
	vgKind := s.status.kind(vg)
	if sf := s.status.factsOf(cr); sf != nil && sf.flags&fDetermined != 0 {
		out.Phase = sf.ephase
	} else if gsf := s.status.factsOf(gr); gsf != nil && gsf.flags&fDetermined != 0 {
		out.Phase = gsf.ephase
	}

	pick := func(src ScoreSource, of events.Participant, score float64, cats uint8) Candidate {
		c := Candidate{Source: src, Of: of, Score: score, Reported: score}
		if cats < 2 {
			c.Score, c.Hardship = rules.PerformanceThreshold, true
		}
		return c
	}
	// informational gives a clinician reporting voluntarily without an
	// election its own score, for information only.
	informational := func(reason string) (FinalScore, error) {
		if cf != nil && cf.flags&sTrad != 0 {
			cand := pick(SourceIndividual, c, cf.trad, cf.tradCats)
			out.Informational, out.Score, out.Source, out.Of, out.Hardship = true, cand.Score, cand.Source, c, cand.Hardship
			out.Candidates = []Candidate{cand}
			reason += "; its voluntary report's score is for information only"
		}
		out.Reason = reason
		return out, nil
	}
	switch {
	case own == KindExcluded:
		excl := s.status.view(cr).Exclusion
		reason := "excluded (" + excl.String() + "): no MIPS payment adjustment"
		if rules.VoluntaryReporting && (excl == events.ExclusionQP || excl == events.ExclusionNewlyEnrolled || excl == events.ExclusionIneligibleClinicianType) {
			return informational(reason)
		}
		out.Reason = reason
		return out, nil
	case own == KindPartialQP:
		reason := "a Partial QP without a Partial QP election: not in MIPS, no payment adjustment"
		if rules.PartialQPMayReportVoluntarily {
			return informational(reason)
		}
		out.Reason = reason
		return out, nil
	case s.status.exemptThroughAPM(s.status.factsOf(cr)):
		_, entity := s.cat.key(s.status.factsOf(cr).apm)
		out.Reason = fmt.Sprintf("%v: exempt, because its APM Entity %s is exempt: no payment adjustment", py, entity.ID)
		return out, nil
	}
	ownIn := own == KindRequired || own == KindOptedIn || own == KindPartialQPElected
	out.InMIPS = ownIn || grp == KindRequired || grp == KindOptedIn || vg != noRef && vgKind != KindVoluntary
	if !out.InMIPS {
		switch {
		case own == KindVoluntary && cf != nil && cf.flags&sTrad != 0:
			cand := pick(SourceIndividual, c, cf.trad, cf.tradCats)
			out.Informational, out.Score, out.Source, out.Of, out.Hardship = true, cand.Score, cand.Source, c, cand.Hardship
			out.Candidates = []Candidate{cand}
			out.Reason = "voluntary reporter: the score is for information only, with no payment adjustment"
		case grp == KindVoluntary && gf != nil && gf.flags&sTrad != 0:
			g := events.Group(c.TIN)
			cand := pick(SourceGroup, g, gf.trad, gf.tradCats)
			out.Informational, out.Score, out.Source, out.Of, out.Hardship = true, cand.Score, cand.Source, g, cand.Hardship
			out.Candidates = []Candidate{cand}
			out.Reason = "the group reports voluntarily: informational score, no payment adjustment"
		case own == KindExempt:
			return informational("exempt: no payment adjustment")
		default:
			out.Reason = "neither required nor opted in: no payment adjustment"
		}
		return out, nil
	}

	if vg != noRef {
		_, vgp := s.cat.key(vg)
		out.Source, out.Of, out.Reason = SourceZero, vgp, "the TIN is in virtual group "+vgp.ID+", which has no score: 0"
		if vf := s.factsOf(vg); vf != nil && vf.flags&sTrad != 0 {
			cand := pick(SourceVirtualGroup, vgp, vf.trad, vf.tradCats)
			out.Candidates = []Candidate{cand}
			out.Score, out.Source, out.Hardship = cand.Score, SourceVirtualGroup, cand.Hardship
			out.Reason = "the TIN is in virtual group " + vgp.ID + ": its score applies, always"
		}
		return s.adjust(out, rules)
	}

	var cands []Candidate
	if cf != nil && cf.flags&sTrad != 0 && ownIn {
		cands = append(cands, pick(SourceIndividual, c, cf.trad, cf.tradCats))
	}
	if gf != nil && (grp == KindRequired || grp == KindOptedIn) {
		g := events.Group(c.TIN)
		if gf.flags&sTrad != 0 {
			cands = append(cands, pick(SourceGroup, g, gf.trad, gf.tradCats))
		}
		if gf.flags&sAPP != 0 && cf != nil && cf.flags&sOnList != 0 {
			cands = append(cands, pick(SourceGroupAPP, g, gf.app, gf.appCats))
		}
	}
	var apm []Candidate
	if cf != nil && cf.apm != noRef {
		for _, e := range append([]ref{cf.apm}, s.moreAPM[cr]...) {
			ef := s.factsOf(e)
			if ef == nil {
				continue
			}
			_, ep := s.cat.key(e)
			switch {
			case ef.flags&sAPP != 0:
				apm = append(apm, pick(SourceAPMEntity, ep, ef.app, ef.appCats))
			case ef.flags&sTrad != 0:
				apm = append(apm, pick(SourceAPMEntity, ep, ef.trad, ef.tradCats))
			}
		}
	}
	cands = append(cands, apm...)
	out.Candidates = cands
	if rules.APMEntityScoreOverrides && len(apm) > 0 {
		cands = apm // PY2017-2020: an APM Entity score overrides the others
	}
	if len(cands) == 0 {
		out.Source, out.Reason = SourceZero, "eligible clinician with no score: final score 0"
		return s.adjust(out, rules)
	}
	best := cands[0]
	for _, x := range cands[1:] {
		if x.Score > best.Score {
			best = x
		}
	}
	out.Score, out.Source, out.Of, out.Hardship = best.Score, best.Source, best.Of, best.Hardship
	out.Reason = s.highestReason(len(cands), best.Source)
	if rules.APMEntityScoreOverrides && len(apm) > 0 {
		out.Reason = fmt.Sprintf("%v: the APM Entity score overrides the others", py)
	}
	if best.Hardship {
		out.Reason += " (fewer than two scored categories: set to the performance threshold)"
	}
	return s.adjust(out, rules)
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
