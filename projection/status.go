package projection

import (
	"fmt"
	"iter"
	"sync"
	"time"

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
	KindUnknown       Kind = iota // no determination yet
	KindExempt                    // exceeds no low-volume criterion
	KindOptInEligible             // opt-in eligible, no decision
	KindPending                   // a selection awaits confirmation
	KindOptedIn                   // MIPS eligible via opt-in (see Pathway)
	KindVoluntary                 // voluntary reporter
	KindRequired                  // required to participate
	KindExcluded                  // excluded (see Exclusion)
)

var kindNames = [...]string{"unknown", "exempt", "opt-in eligible (no decision)", "pending confirmation",
	"MIPS eligible via opt-in", "voluntary reporter", "required", "excluded"}

// String returns the Kind in words.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Kinds lists every status kind in order.
func Kinds() []Kind {
	return []Kind{KindUnknown, KindExempt, KindOptInEligible, KindPending, KindOptedIn, KindVoluntary, KindRequired, KindExcluded}
}

// facts flags.
const (
	fDetermined = 1 << iota
	fMIPSAPM
	fQP
	fPortal
	fImported
)

// statusFacts is one participant's status, packed (40 bytes).
type statusFacts struct {
	detAt     int64 // DeterminedAt of the standing determination, Unix ns
	at        int64 // when elected (confirmed, or requested while pending), Unix ns
	actor     uint32
	onBehalf  ref
	vg        ref // the virtual group whose election this is, or noRef
	status    events.EligibilityStatus
	exclusion events.ExclusionReason
	source    events.Source
	phase     uint8 // 0 none, 1 pending, 2 final
	choice    events.Choice
	pathway   events.Pathway
	flags     uint8
}

const (
	phaseNone uint8 = iota
	phasePending
	phaseFinal
)

// Status is the status read model: per participant and program year, one of
// the Kinds, with who elected, for whom, and when. It is safe for concurrent
// queries while the Runner applies events.
type Status struct {
	cat   *Catalog
	mu    *sync.RWMutex
	facts []statusFacts
}

// NewStatus returns an empty status model over cat.
func NewStatus(cat *Catalog) *Status { return &Status{cat: cat, mu: &cat.mu} }

// StatusView is one participant's status.
type StatusView struct {
	Participant                   events.Participant
	ProgramYear                   events.ProgramYear
	Kind                          Kind
	Pathway                       events.Pathway           // for KindOptedIn, KindVoluntary, KindPending
	Choice                        events.Choice            // the elected or pending choice
	Exclusion                     events.ExclusionReason   // for KindExcluded
	Eligibility                   events.EligibilityStatus // the standing determination
	Source                        events.Source            // what produced it
	DeterminedAt                  time.Time
	MIPSAPM, QP, PortalRegistered bool
	// Who elected, for whom, and when (zero when nobody did).
	ElectedBy      string
	ElectedAs      events.ActorRole
	Organization   string
	OnBehalfOf     events.Participant
	ElectedAt      time.Time
	VirtualGroupID string
	Imported       bool
}

// Apply implements Projection.
func (s *Status) Apply(rec *events.Record, e events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := e.(type) {
	case events.EligibilityDetermined:
		f := s.get(e.ProgramYear, e.Participant)
		cur := events.EligibilityDetermined{DeterminedAt: time.Unix(0, f.detAt)}
		if f.flags&fDetermined == 0 || eligibility.Supersedes(&e, &cur) {
			f.status, f.exclusion, f.source, f.detAt = e.Status, e.Exclusion, e.Source, e.DeterminedAt.UnixNano()
			f.flags = f.flags&^(fMIPSAPM|fQP|fPortal) | fDetermined
			if e.MIPSAPM {
				f.flags |= fMIPSAPM
			}
			if e.QP {
				f.flags |= fQP
			}
			if e.PortalRegistered {
				f.flags |= fPortal
			}
		}
	case events.ElectionRequested:
		f := s.get(e.ProgramYear, e.Participant)
		if err := s.check(f, rec, f.phase == phaseNone, "a request while one is pending"); err != nil {
			return err
		}
		s.elect(f, rec, e.ProgramYear, phasePending, e.Choice, e.Pathway, e.RequestedAt, e.VirtualGroupID, false)
	case events.ElectionRequestWithdrawn:
		f := s.get(e.ProgramYear, e.Participant)
		if err := s.check(f, rec, f.phase == phasePending, "a withdrawal with nothing pending"); err != nil {
			return err
		}
		*f = statusFacts{detAt: f.detAt, status: f.status, exclusion: f.exclusion, source: f.source,
			flags: f.flags &^ fImported, onBehalf: noRef, vg: noRef}
	case events.ElectionConfirmed:
		f := s.get(e.ProgramYear, e.Participant)
		if err := s.check(f, rec, f.phase == phasePending || e.Imported, "a confirmation with nothing pending"); err != nil {
			return err
		}
		s.elect(f, rec, e.ProgramYear, phaseFinal, e.Choice, e.Pathway, e.ConfirmedAt, e.VirtualGroupID, e.Imported)
	}
	return nil
}

// check refuses an election event the state cannot take; above all any
// event after the confirmation.
func (s *Status) check(f *statusFacts, rec *events.Record, ok bool, problem string) error {
	if f.phase == phaseFinal {
		return &Violation{Stream: rec.Stream, Revision: rec.Revision, Problem: "event after the election was confirmed"}
	}
	if !ok {
		return &Violation{Stream: rec.Stream, Revision: rec.Revision, Problem: problem}
	}
	return nil
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
	return factsFor(s.cat, &s.facts, statusFacts{onBehalf: noRef, vg: noRef}, py, p)
}

func (s *Status) factsOf(r ref) *statusFacts {
	if r == noRef || int(r) >= len(s.facts) {
		return nil
	}
	return &s.facts[r]
}

// kindOf resolves a participant's kind: a final election decides, then a
// pending one (while opt-in eligible), then the standing determination.
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
	v.Kind = kindOf(f)
	v.Eligibility, v.Source, v.Exclusion = f.status, f.source, f.exclusion
	if v.Kind != KindExcluded {
		v.Exclusion = events.ExclusionNone
	}
	if f.flags&fDetermined != 0 {
		v.DeterminedAt = time.Unix(0, f.detAt).UTC()
	}
	v.MIPSAPM, v.QP, v.PortalRegistered = f.flags&fMIPSAPM != 0, f.flags&fQP != 0, f.flags&fPortal != 0
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
