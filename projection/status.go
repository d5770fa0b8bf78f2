package projection

import (
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// Projection is a read model fed from the log. The Runner calls Apply with
// each record (its hash chain verified) and its decoded event, in log order,
// from one goroutine. An error from Apply is a ledger violation: the Runner
// reports it and the record is not applied further.
type Projection interface {
	Apply(rec *events.Record, e events.Event) error
}

// Kind is a participant's status for a program year.
type Kind uint8

// Status kinds.
const (
	KindUnknown          Kind = iota // no determination yet
	KindExempt                       // exceeds no low-volume criterion
	KindOptInEligible                // opt-in eligible, no decision
	KindPending                      // a selection awaits confirmation
	KindOptedIn                      // MIPS eligible via opt-in (see Pathway)
	KindVoluntary                    // voluntary reporter
	KindRequired                     // required to participate
	KindExcluded                     // excluded (see Exclusion)
	KindPartialQP                    // a Partial QP: not in MIPS unless a Partial QP election is made
	KindNotAssessed                  // not judged against the low-volume threshold (APM Entities from PY2021)
	KindPartialQPElected             // a Partial QP in MIPS through a confirmed Partial QP election (its own or its APM Entity's)
	// KindExpired: a selection never confirmed before the election window
	// closed (by the latest time the log's events tell, or the AsOf
	// instant): it binds nothing.
	KindExpired
)

var kindNames = [...]string{"unknown", "exempt", "opt-in eligible (no decision)", "pending confirmation",
	"MIPS eligible via opt-in", "voluntary reporter", "required", "excluded", "Partial QP (no election)",
	"not assessed against the threshold", "Partial QP, elected to participate", "selection expired unconfirmed"}

// String returns the Kind in words.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Kinds lists every status kind in order.
func Kinds() []Kind {
	return []Kind{KindUnknown, KindExempt, KindOptInEligible, KindPending, KindOptedIn, KindVoluntary, KindRequired, KindExcluded,
		KindPartialQP, KindNotAssessed, KindPartialQPElected, KindExpired}
}

// facts flags.
const (
	fDetermined = 1 << iota
	fMIPSAPM
	fQP
	fPortal
	fImported
	fPQPElected   // its own Partial QP election is confirmed
	fReportingOut // opted out of public reporting
	fIndividually // assessed individually (the standing says): it makes its own Partial QP election
)

// slotFacts is the latest determination of one kind (an eligibility.Slot,
// or the latest that speaks to QP status), packed (16 bytes): what
// reconciliation reads of it.
type slotFacts struct {
	at        int64 // DeterminedAt, Unix ns
	status    events.EligibilityStatus
	exclusion events.ExclusionReason
	exceeded  events.Criteria
	source    events.Source
	flags     uint8 // sfPresent, sfNewly, sfMIPSAPM, sfIndividually
}

const (
	sfPresent = 1 << iota
	sfNewly
	sfMIPSAPM
	sfIndividually // the determination assesses the clinician individually
)

// The slots of statusFacts: eligibility's three, and the QP one.
const (
	slotQP    = 0 // eligibility.SlotNone is never stored: its place holds the QP slot
	slotCount = 4
)

// statusFacts is one participant's status, packed (120 bytes): the latest
// determination of each kind, the standing reconciled from them, and the
// election.
type statusFacts struct {
	slots     [slotCount]slotFacts
	detAt     int64 // DeterminedAt of the latest determination, Unix ns
	at        int64 // when elected (confirmed, or requested while pending), Unix ns
	actor     uint32
	onBehalf  ref
	vg        ref                      // the virtual group whose election this is, or noRef
	apm       ref                      // clinicians, in years an exempt APM Entity exempts them: the entity whose Participation List names them
	entity    ref                      // clinicians: the APM Entity whose list names them (its Partial QP election covers its Partial QPs)
	status    events.EligibilityStatus // the reconciled standing
	exclusion events.ExclusionReason
	source    events.Source
	ephase    eligibility.Phase
	phase     uint8  // 0 none, 1 pending, 2 final: election.Phase's values
	reqRev    uint32 // the pending request's revision in its stream
	choice    events.Choice
	pathway   events.Pathway
	flags     uint8
}

// The election phases as the packed facts keep them: election.Phase's
// values.
const (
	phaseNone    = uint8(election.PhaseNone)
	phasePending = uint8(election.PhasePending)
	phaseFinal   = uint8(election.PhaseFinal)
)

// Status is the status read model: per participant and program year, one of
// the Kinds, with who elected, for whom, and when. The eligibility part is
// the standing reconciled from the participant's determinations
// (eligibility.Rules.Reconcile: segment 1 the initial status, segment 2
// reconciled with it the final one), under the program year's rules from
// the table. It is safe for concurrent queries while the Runner applies
// events.
type Status struct {
	cat   *Catalog
	mu    *sync.RWMutex
	table *eligibility.Table
	facts []statusFacts
	// rules caches the table's row of each program year, by the catalog's
	// year index, while the table's Version is rulesAt.
	rules   []*eligibility.Rules
	rulesAt uint64
	// closes holds, by the catalog's year index, when each year's election
	// window and virtual group window close (Unix ns; 0: none), for
	// queries, which hold only the read lock.
	closes [][2]int64
	// latest is the latest time an event applied says something happened
	// (Unix ns): the models tell time by the log's own events, so a copy of
	// the log into another store tells the same time.
	latest int64
	// asOf is the instant a rebuild as of a time answers for (AsOf; Unix
	// ns, 0 for none): time has reached it, whatever the events applied
	// say.
	asOf int64
}

// answerAsOf implements asOfAware: the model answers as of t (AsOf).
func (s *Status) answerAsOf(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asOf = unixOrZero(t)
}

// now is the time the model answers at (Unix ns): the latest time the
// events applied tell, or the AsOf instant when later.
func (s *Status) now() int64 { return max(s.latest, s.asOf) }

// NewStatus returns an empty status model over cat, reconciling
// determinations under table's rules. A program year the table does not
// hold (or any, with a nil table) is reconciled from the recorded statuses
// alone, no threshold being known.
func NewStatus(cat *Catalog, table *eligibility.Table) *Status {
	return &Status{cat: cat, mu: &cat.mu, table: table}
}

// lookupRules is rulesFor without the cache, for queries (which hold only
// the read lock).
func (s *Status) lookupRules(py events.ProgramYear) *eligibility.Rules {
	if s.table != nil {
		if r, err := s.table.Lookup(py); err == nil {
			return r
		}
	}
	return &eligibility.Rules{ProgramYear: py, OptIn: true, APMEntityLVT: true, APMEntityOptIn: true}
}

// rulesFor returns the program year's rules, or rules that reconcile from
// the recorded statuses when the table lacks the year. Rows are cached per
// year until the table changes. The caller holds the write lock.
func (s *Status) rulesFor(py events.ProgramYear) *eligibility.Rules {
	var version uint64
	if s.table != nil {
		version = s.table.Version()
	}
	if version != s.rulesAt {
		s.rules, s.rulesAt = s.rules[:0], version
	}
	yi := int(s.cat.year(py))
	if yi < len(s.rules) && s.rules[yi] != nil {
		return s.rules[yi]
	}
	r := s.lookupRules(py)
	for len(s.rules) <= yi {
		s.rules = append(s.rules, nil)
	}
	s.rules[yi] = r
	for len(s.closes) <= yi {
		s.closes = append(s.closes, [2]int64{})
	}
	s.closes[yi] = [2]int64{unixOrZero(r.ElectionWindow.Close), unixOrZero(r.VirtualGroupWindow.Close)}
	return r
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// StatusView is one participant's status.
type StatusView struct {
	Participant events.Participant
	ProgramYear events.ProgramYear
	Kind        Kind
	Pathway     events.Pathway           // for KindOptedIn, KindVoluntary, KindPending
	Choice      events.Choice            // the elected or pending choice
	Exclusion   events.ExclusionReason   // for KindExcluded
	Eligibility events.EligibilityStatus // the reconciled standing
	Source      events.Source            // what decided it
	// Phase says whether the standing is initial (segment 1 alone) or final
	// (segment 2 reconciled with it); Basis says how it was reached.
	Phase                         eligibility.Phase
	Basis                         string
	DeterminedAt                  time.Time // the latest determination
	MIPSAPM, QP, PortalRegistered bool
	// Who elected, for whom, and when (zero when nobody did).
	ElectedBy      string
	ElectedAs      events.ActorRole
	Organization   string
	OnBehalfOf     events.Participant
	ElectedAt      time.Time
	VirtualGroupID string
	Imported       bool
	// PublicReportingOptedOut: a voluntary reporter opted out of public
	// reporting on Care Compare during the preview period.
	PublicReportingOptedOut bool
}

// Apply implements Projection.
func (s *Status) Apply(rec *events.Record, e events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := eventTime(e); !t.IsZero() && t.UnixNano() > s.latest {
		s.latest = t.UnixNano()
	}
	switch e := e.(type) {
	case events.EligibilityDetermined:
		s.determined(&e)
	case events.APMParticipationSnapshot:
		s.snapshot(&e)
	case events.PublicReportingOptedOut:
		s.get(e.ProgramYear, e.Participant).flags |= fReportingOut
	case events.ElectionRequested, events.ElectionRequestWithdrawn, events.ElectionConfirmed:
		_, py, _, _ := events.Subject(e)
		s.rulesFor(py) // caches the year's closes for queries
		if events.StreamCategory(rec.Stream) == events.CategoryPartialQPElection {
			return s.partialQPElection(rec, e)
		}
		return s.election(rec, e)
	}
	return nil
}

// eventTime returns when an event says its fact happened (zero if it
// says nothing).
func eventTime(e events.Event) time.Time {
	switch e := e.(type) {
	case events.ElectionRequested:
		return e.RequestedAt
	case events.ElectionRequestWithdrawn:
		return e.WithdrawnAt
	case events.ElectionConfirmed:
		return e.ConfirmedAt
	case events.EligibilityDetermined:
		return e.DeterminedAt
	case events.ScoreReported:
		return e.ReportedAt
	case events.APMParticipationSnapshot:
		return e.SnapshotDate
	case events.VirtualGroupMembership:
		return e.EffectiveAt
	case events.PublicReportingOptedOut:
		return e.OptedOutAt
	case events.VirtualGroupMemberAdmitted:
		return e.AdmittedAt
	case events.VirtualGroupMemberReleased:
		return e.ReleasedAt
	case events.VirtualGroupRetracted:
		return e.RetractedAt
	case events.UploadCancelled:
		return e.CancelledAt
	case events.CommandRecorded:
		return e.RecordedAt
	}
	return time.Time{}
}

// partialQPElection applies a Partial QP election's event: only its
// confirmation changes the status (a pending one changes nothing).
func (s *Status) partialQPElection(rec *events.Record, e events.Event) error {
	if c, ok := e.(events.ElectionConfirmed); ok {
		f := s.get(c.ProgramYear, c.Participant)
		if f.flags&fPQPElected != 0 {
			return &Violation{Stream: rec.Stream, Revision: rec.Revision, Problem: "event after the election was confirmed"}
		}
		f.flags |= fPQPElected
	}
	return nil
}

// election applies an opt-in election's event.
func (s *Status) election(rec *events.Record, e events.Event) error {
	_, py, p, _ := events.Subject(e)
	f := s.get(py, p)
	// The decider's own state machine judges what may follow what: the
	// packed facts give it the phase and the pending request's revision,
	// and the record its place in the stream.
	before := election.State{Phase: election.Phase(f.phase), Pending: election.Selection{Revision: uint64(f.reqRev)}, Next: rec.Revision}
	after, err := election.Evolve(before, e)
	if err != nil {
		problem := err.Error()
		var v *election.ViolationError
		if errors.As(err, &v) {
			problem = v.Problem
		}
		return &Violation{Stream: rec.Stream, Revision: rec.Revision, Problem: problem}
	}
	switch after.Phase {
	case election.PhasePending:
		sel := after.Pending
		s.elect(f, rec, py, phasePending, sel.Choice, sel.Pathway, sel.At, sel.VirtualGroupID, false)
		f.reqRev = uint32(sel.Revision)
	case election.PhaseFinal:
		sel := after.Confirmed
		s.elect(f, rec, py, phaseFinal, sel.Choice, sel.Pathway, sel.At, sel.VirtualGroupID, sel.Imported)
	default:
		f.phase, f.choice, f.pathway, f.at, f.actor, f.reqRev = phaseNone, 0, 0, 0, 0, 0
		f.onBehalf, f.vg, f.flags = noRef, noRef, f.flags&^fImported
	}
	return nil
}

// determined files a determination in its slot and reconciles the
// participant's standing again.
func (s *Status) determined(e *events.EligibilityDetermined) {
	slot, speaksQP := eligibility.SlotOf(e.Participant.Kind, e)
	if slot == eligibility.SlotNone && !speaksQP {
		return // the virtual group assessment period: membership only
	}
	f := s.get(e.ProgramYear, e.Participant)
	at := e.DeterminedAt.UnixNano()
	file := func(i int) {
		sl := &f.slots[i]
		if sl.flags&sfPresent != 0 && at < sl.at {
			return // an earlier-dated determination arriving late does not supersede
		}
		*sl = slotFacts{at: at, status: e.Status, exclusion: e.Exclusion, exceeded: e.Exceeded, source: e.Source, flags: sfPresent}
		if e.NewlyEstablished {
			sl.flags |= sfNewly
		}
		if e.MIPSAPM {
			sl.flags |= sfMIPSAPM
		}
		if e.IndividuallyAssessed {
			sl.flags |= sfIndividually
		}
	}
	if slot != eligibility.SlotNone {
		file(int(slot))
	}
	if speaksQP {
		file(slotQP)
	}
	if f.flags&fDetermined == 0 || at >= f.detAt {
		f.detAt = at
		f.flags &^= fPortal
		if e.PortalRegistered {
			f.flags |= fPortal
		}
	}
	f.flags |= fDetermined
	st := s.standing(s.rulesFor(e.ProgramYear), e.Participant, f)
	f.status, f.exclusion, f.source, f.ephase = st.Status, st.Exclusion, st.Source, st.Phase
	f.flags &^= fMIPSAPM | fQP | fIndividually
	if st.IndividuallyAssessed {
		f.flags |= fIndividually
	}
	if st.MIPSAPM {
		f.flags |= fMIPSAPM
	}
	if st.QP {
		f.flags |= fQP
	}
}

// standing reconciles a participant's standing from its slots.
func (s *Status) standing(rules *eligibility.Rules, p events.Participant, f *statusFacts) eligibility.Standing {
	var fs [slotCount]eligibility.Finding
	var ptr [slotCount]*eligibility.Finding
	mipsAPM := false
	for i := range f.slots {
		sl := &f.slots[i]
		if sl.flags&sfPresent == 0 {
			continue
		}
		fs[i] = eligibility.Finding{Status: sl.status, Exclusion: sl.exclusion, Exceeded: sl.exceeded, Source: sl.source,
			NewlyEstablished: sl.flags&sfNewly != 0, DeterminedAt: time.Unix(0, sl.at)}
		ptr[i] = &fs[i]
		mipsAPM = mipsAPM || sl.flags&sfMIPSAPM != 0
	}
	st := rules.Reconcile(p, eligibility.Findings{Segment1: ptr[eligibility.SlotSegment1], Segment2: ptr[eligibility.SlotSegment2],
		Reported: ptr[eligibility.SlotReported], QP: ptr[slotQP]})
	st.MIPSAPM = mipsAPM
	if qp := &f.slots[slotQP]; st.Determined() && qp.flags&sfPresent != 0 {
		st.IndividuallyAssessed = qp.flags&sfIndividually != 0 // as eligibility.Current has it
	}
	return st
}

// snapshot links each clinician on an APM Entity's Participation List of a
// MIPS APM to the entity, in the years when an exempt APM Entity group
// exempts its clinicians (PY2017-2020).
func (s *Status) snapshot(e *events.APMParticipationSnapshot) {
	covers := e.MIPSAPM && s.rulesFor(e.ProgramYear).APMEntityExemptionCoversClinicians
	entity := s.cat.intern(e.ProgramYear, e.Entity)
	for _, en := range e.Entries {
		f := s.get(e.ProgramYear, events.Individual(en.TIN, en.NPI))
		f.entity = entity
		if covers && en.List == events.ListParticipation {
			f.apm = entity
		}
	}
}

// partialQPElected reports whether a Partial QP is in MIPS through a
// confirmed Partial QP election: its own, or (assessed with its APM
// Entity) the entity's. One assessed individually makes its own election
// (42 CFR 414.1310(b)(1)(ii)): its entity's does not cover it.
func (s *Status) partialQPElected(f *statusFacts) bool {
	if f.flags&fPQPElected != 0 {
		return true
	}
	if f.flags&fIndividually != 0 {
		return false
	}
	ef := s.factsOf(f.entity)
	return ef != nil && ef.flags&fPQPElected != 0
}

func (s *Status) elect(f *statusFacts, rec *events.Record, py events.ProgramYear, phase uint8, c events.Choice, pw events.Pathway, at time.Time, vg string, imported bool) {
	f.phase, f.choice, f.pathway, f.at = phase, c, pw, at.UnixNano()
	f.actor = s.cat.actor(&rec.Metadata) + 1
	f.onBehalf = noRef
	if !rec.Metadata.OnBehalfOf.IsZero() {
		// Interning adds no facts entry (only get does), so f stays valid.
		f.onBehalf = s.cat.intern(py, rec.Metadata.OnBehalfOf)
	}
	f.vg = noRef
	if vg != "" {
		if p, err := events.NewVirtualGroup(vg); err == nil {
			f.vg = s.cat.intern(py, p)
		}
	}
	if imported {
		f.flags |= fImported
	}
}

// reserve sizes the model for a log of n records before a rebuild (every
// record names at most one new participant).
func (s *Status) reserve(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.reserve(n)
	reserveFacts(&s.facts, n)
}

// warm implements warmer: it warms the catalog the models share.
func (s *Status) warm(evs []events.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.warm(evs)
}

// get returns the participant's facts, adding them if new.
func (s *Status) get(py events.ProgramYear, p events.Participant) *statusFacts {
	return factsFor(s.cat, &s.facts, statusFacts{onBehalf: noRef, vg: noRef, apm: noRef, entity: noRef}, py, p)
}

func (s *Status) factsOf(r ref) *statusFacts {
	if r == noRef || int(r) >= len(s.facts) {
		return nil
	}
	return &s.facts[r]
}

// kind resolves the kind of the participant at r: kindOf, and in the years
// an exempt APM Entity group exempts its clinicians (PY2017-2020), a
// clinician required or opt-in eligible by its own standing is exempt when
// the APM Entity whose Participation List names it is exempt.
func (s *Status) kind(r ref) Kind {
	f := s.factsOf(r)
	k := kindOf(f)
	if f != nil && f.phase == phasePending {
		// A pending opt-in through a virtual group is final from the
		// virtual group deadline whatever the standing (as a recorded
		// confirmation would be, and FinalizeVirtualGroup records one
		// whenever it runs); any other pending selection shows while the
		// standing is opt-in eligible, and expires with the window.
		if pk := s.pendingKind(r, f); pk == KindOptedIn || k == KindPending {
			k = pk
		}
	}
	switch {
	case (k == KindRequired || k == KindOptInEligible) && s.exemptThroughAPM(f):
		return KindExempt
	case k == KindPartialQP && s.partialQPElected(f):
		return KindPartialQPElected
	}
	return k
}

// pendingKind tells a pending selection by the model's time (now):
// one made through a virtual group is final from the virtual group deadline
// (opted in, whether or not its confirmation is recorded yet); any other
// one, never confirmed before the election window closed, has expired.
func (s *Status) pendingKind(r ref, f *statusFacts) Kind {
	yi, now := int(s.cat.keys[r].py), s.now()
	if yi >= len(s.closes) || now == 0 {
		return KindPending
	}
	election, vg := s.closes[yi][0], s.closes[yi][1]
	switch {
	case f.vg != noRef && vg != 0 && now >= vg:
		return KindOptedIn
	case f.vg == noRef && election != 0 && now >= election:
		return KindExpired
	}
	return KindPending
}

// exemptThroughAPM reports whether the clinician with facts f is on the
// Participation List of an exempt APM Entity in a year when that exempts it
// (the link is kept only in such years).
func (s *Status) exemptThroughAPM(f *statusFacts) bool {
	if f == nil || f.apm == noRef {
		return false
	}
	ef := s.factsOf(f.apm)
	return ef != nil && ef.flags&fDetermined != 0 && ef.status == events.StatusExempt
}

// kindOf resolves a participant's kind from its own facts: a final election
// decides, then a pending one (while opt-in eligible), then the standing.
func kindOf(f *statusFacts) Kind {
	if f == nil {
		return KindUnknown
	}
	switch {
	case f.phase == phaseFinal && f.choice == events.ChoiceOptIn:
		return KindOptedIn
	case f.phase == phaseFinal:
		return KindVoluntary
	case f.phase == phasePending && (f.flags&fDetermined == 0 || f.status == events.StatusOptInEligible):
		return KindPending
	case f.flags&fDetermined == 0:
		return KindUnknown
	}
	switch f.status {
	case events.StatusRequired:
		return KindRequired
	case events.StatusOptInEligible:
		return KindOptInEligible
	case events.StatusExempt:
		return KindExempt
	case events.StatusExcluded:
		return KindExcluded
	case events.StatusPartialQP:
		return KindPartialQP
	case events.StatusNotAssessed:
		return KindNotAssessed
	}
	return KindUnknown
}

func (s *Status) view(r ref) StatusView {
	py, p := s.cat.key(r)
	v := StatusView{Participant: p, ProgramYear: py}
	f := s.factsOf(r)
	if f == nil {
		return v
	}
	v.Kind = s.kind(r)
	v.Eligibility, v.Source, v.Exclusion, v.Phase = f.status, f.source, f.exclusion, f.ephase
	if v.Kind != KindExcluded {
		v.Exclusion = events.ExclusionNone
	}
	if f.flags&fDetermined != 0 {
		v.DeterminedAt = time.Unix(0, f.detAt).UTC()
		v.Basis = s.standing(s.lookupRules(py), p, f).Basis
		if v.Kind == KindExempt && v.Eligibility != events.StatusExempt && f.apm != noRef {
			_, entity := s.cat.key(f.apm)
			v.Basis = "exempt: its APM Entity " + entity.ID + " is exempt, and an exempt APM Entity group exempts its clinicians this year"
		}
	}
	v.MIPSAPM, v.QP, v.PortalRegistered = f.flags&fMIPSAPM != 0, f.flags&fQP != 0, f.flags&fPortal != 0
	v.PublicReportingOptedOut = f.flags&fReportingOut != 0
	if f.phase != phaseNone {
		v.Choice, v.Pathway, v.ElectedAt, v.Imported = f.choice, f.pathway, time.Unix(0, f.at).UTC(), f.flags&fImported != 0
		if f.actor > 0 {
			a := s.cat.actors.vals[f.actor-1]
			v.ElectedBy, v.ElectedAs, v.Organization = a.id, a.role, a.org
		}
		if f.onBehalf != noRef {
			_, v.OnBehalfOf = s.cat.key(f.onBehalf)
		}
		if f.vg != noRef {
			_, vg := s.cat.key(f.vg)
			v.VirtualGroupID = vg.ID
		}
	}
	return v
}

// Get returns a participant's status for a program year.
func (s *Status) Get(py events.ProgramYear, p events.Participant) StatusView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.cat.lookup(py, p)
	if r == noRef {
		return StatusView{Participant: p, ProgramYear: py}
	}
	return s.view(r)
}

// All yields the status of every participant with facts for py (of every
// kind except virtual groups and APM Entities known only by reference). The
// read lock is held while iterating: do not apply events from the loop.
func (s *Status) All(py events.ProgramYear) iter.Seq[StatusView] {
	return func(yield func(StatusView) bool) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		yi, ok := s.cat.yearOf(py)
		if !ok {
			return
		}
		for r := range s.facts {
			if s.cat.keys[r].py != yi || s.facts[r].flags&fDetermined == 0 && s.facts[r].phase == phaseNone {
				continue
			}
			if !yield(s.view(ref(r))) {
				return
			}
		}
	}
}

// Counts returns how many participants of py have each kind.
func (s *Status) Counts(py events.ProgramYear) map[Kind]int {
	out := map[Kind]int{}
	for v := range s.All(py) {
		out[v.Kind]++
	}
	return out
}
