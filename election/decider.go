package election

import (
	"fmt"
	"strings"
	"time"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// ConfirmPhrase is the exact text that makes a selection binding.
const ConfirmPhrase = "CONFIRM"

// Phase is where one participant's election for one year stands.
type Phase uint8

// Phases. Final has no way out: every command against it is refused with
// ErrElectionFinal and every event after it is a ledger violation.
const (
	PhaseNone    Phase = iota // no election, or the last request was withdrawn
	PhasePending              // a selection awaits confirmation
	PhaseFinal                // confirmed: final forever
)

// String returns the Phase in words.
func (p Phase) String() string {
	return [...]string{"no election", "pending confirmation", "final"}[p]
}

// Selection is a requested or confirmed election.
type Selection struct {
	Choice           events.Choice
	Pathway          events.Pathway
	At               time.Time // requested or confirmed at
	Revision         uint64    // stream revision of the request (or confirmation)
	BatchID          string
	VirtualGroupID   string
	OfficeChampion   *events.Champion
	ClinicalChampion *events.Champion
	Imported         bool
}

// State is one participant's election stream folded: the decider's input.
// The zero State is the initial state (no events).
type State struct {
	Phase     Phase
	Pending   Selection // when PhasePending
	Confirmed Selection // when PhaseFinal
	// Next is the revision the next event takes (the number of events).
	Next uint64
}

// Evolve applies one recorded event. It refuses, with a *ViolationError, an
// event that cannot follow the state: anything after ElectionConfirmed, a
// confirmation without a pending request (unless imported), a withdrawal
// with nothing pending, or a second request while one is pending.
func Evolve(s State, e events.Event) (State, error) {
	bad := func(problem string) (State, error) {
		return s, &ViolationError{Revision: s.Next, Type: e.EventType(), Problem: problem}
	}
	if s.Phase == PhaseFinal {
		return bad("event after the election was confirmed")
	}
	switch e := e.(type) {
	case events.ElectionRequested:
		if s.Phase == PhasePending {
			return bad("a second request while one is pending")
		}
		s.Phase = PhasePending
		s.Pending = Selection{Choice: e.Choice, Pathway: e.Pathway, At: e.RequestedAt, Revision: s.Next,
			BatchID: e.BatchID, VirtualGroupID: e.VirtualGroupID, OfficeChampion: e.OfficeChampion, ClinicalChampion: e.ClinicalChampion}
	case events.ElectionRequestWithdrawn:
		if s.Phase != PhasePending {
			return bad("a withdrawal with nothing pending")
		}
		s.Phase, s.Pending = PhaseNone, Selection{}
	case events.ElectionConfirmed:
		switch {
		case s.Phase == PhasePending:
			if e.RequestRevision != s.Pending.Revision {
				return bad(fmt.Sprintf("confirms revision %d, the pending request is at %d", e.RequestRevision, s.Pending.Revision))
			}
		case !e.Imported:
			return bad("a confirmation with nothing pending")
		}
		s.Phase = PhaseFinal
		s.Confirmed = Selection{Choice: e.Choice, Pathway: e.Pathway, At: e.ConfirmedAt, Revision: s.Next,
			BatchID: e.BatchID, VirtualGroupID: e.VirtualGroupID, Imported: e.Imported,
			OfficeChampion: s.Pending.OfficeChampion, ClinicalChampion: s.Pending.ClinicalChampion}
		s.Pending = Selection{}
	default:
		return bad("not an election event")
	}
	s.Next++
	return s, nil
}

// ElectionKind says which election a stream holds: the opt-in election
// (opt in or report voluntarily) or the Partial QP election. Each has its own
// stream, sealed by its own confirmation.
type ElectionKind uint8

// Election kinds.
const (
	// OptInElection: opt in or report voluntarily (docs/rules.md §4), in the
	// election window; an APM Entity's opt-in (PY2019-2020) too.
	OptInElection ElectionKind = iota
	// PartialQPElection: a Partial QP's election to participate in MIPS,
	// made by its APM Entity or, when individually assessed, by the
	// clinician, by the Partial QP election deadline (docs/rules.md §3).
	PartialQPElection
)

// String names the kind.
func (k ElectionKind) String() string {
	return [...]string{"opt-in election", "Partial QP election"}[min(k, 1)]
}

// Command is a command against one participant's election for one year.
type Command interface{ command() }

// Request selects an election (not yet binding).
type Request struct {
	Choice           events.Choice // ChoiceOptIn or ChoiceVoluntary
	Pathway          events.Pathway
	BatchID          string // the registry upload, if any
	VirtualGroupID   string // the virtual group election, if any
	OfficeChampion   *events.Champion
	ClinicalChampion *events.Champion
}

// Confirm makes the pending selection binding; Phrase must be exactly
// CONFIRM. BatchID, if set, must match the pending request's. The standing
// is checked again: a participant no longer opt-in eligible (or, in a
// Partial QP election, no longer a Partial QP that elects) is refused, and
// its selection stays pending. A virtual
// group's request is not confirmed by the member: it becomes final at the
// virtual group deadline, and the confirmation recorded then names the
// virtual group (VirtualGroupID) and the deadline as its time.
type Confirm struct {
	Phrase         string
	BatchID        string
	VirtualGroupID string
}

// Withdraw cancels the pending selection. A virtual group's request is
// withdrawn only by the virtual group (a revision that drops the member, or
// a retraction), before the virtual group deadline.
type Withdraw struct {
	Reason         string
	BatchID        string // if set, only a request of this batch is withdrawn
	VirtualGroupID string // set by the virtual group withdrawing its own request
}

// VirtualGroupOptIn opts a member group in through its virtual group's
// election: the virtual group's part of ElectVirtualGroup for one member
// TIN (see decideVirtualGroupOptIn).
type VirtualGroupOptIn struct {
	VirtualGroupID string
}

func (Request) command()           {}
func (Confirm) command()           {}
func (Withdraw) command()          {}
func (VirtualGroupOptIn) command() {}

// Context is everything outside the stream a decision depends on. The
// Service supplies it; the decider reads no clock and does no I/O.
type Context struct {
	Participant events.Participant
	ProgramYear events.ProgramYear
	Rules       *eligibility.Rules
	// Eligibility is the participant's standing now, reconciled from its
	// determinations (initial or final); Eligibility.Determined() is false
	// when there is none.
	Eligibility eligibility.Standing
	Now         time.Time
	// Election is the kind of election the stream holds.
	Election ElectionKind
	// Window overrides the election window (virtual group elections use the
	// virtual group window); zero means the kind's own window
	// (Rules.ElectionWindow, or the Partial QP election window).
	Window eligibility.Window
}

// Decide returns the events a command produces from state s, or a *Refusal
// naming the rule it breaks. It is pure: same inputs, same outputs.
func Decide(s State, c Command, ctx Context) ([]events.Event, error) {
	p, py := ctx.Participant, ctx.ProgramYear
	if s.Phase == PhaseFinal {
		return nil, refuse(ErrElectionFinal, p, py,
			fmt.Sprintf("%s/%s confirmed at %s", s.Confirmed.Choice, s.Confirmed.Pathway, s.Confirmed.At.UTC().Format(time.RFC3339)),
			"nothing: a confirmed election can never be undone or changed")
	}
	if vg, ok := c.(VirtualGroupOptIn); ok {
		return decideVirtualGroupOptIn(s, vg.VirtualGroupID, ctx)
	}
	if s.Phase == PhasePending && s.Pending.VirtualGroupID != "" {
		return decideVirtualGroupPending(s, c, ctx)
	}
	switch c := c.(type) {
	case Request:
		return decideRequest(s, c, ctx)
	case Confirm:
		if c.Phrase != ConfirmPhrase {
			return nil, refuse(ErrConfirmPhrase, p, py, fmt.Sprintf("got %d characters", len(c.Phrase)), "type exactly CONFIRM (upper case, nothing else)")
		}
		if s.Phase != PhasePending {
			return nil, refuse(ErrNothingPending, p, py, "nothing to confirm", "request an election first")
		}
		if c.BatchID != s.Pending.BatchID || c.VirtualGroupID != "" {
			return nil, refuse(ErrWrongBatch, p, py, "the pending request was made outside this batch", "confirm it from where it was requested")
		}
		if err := checkWindow(ctx); err != nil {
			return nil, err
		}
		if err := checkStillEligible(ctx); err != nil {
			return nil, err
		}
		return []events.Event{events.ElectionConfirmed{
			Participant: p, ProgramYear: py, Choice: s.Pending.Choice, Pathway: s.Pending.Pathway,
			ConfirmedAt: ctx.Now.UTC(), RequestRevision: s.Pending.Revision, BatchID: s.Pending.BatchID,
		}}, nil
	case Withdraw:
		if s.Phase != PhasePending {
			return nil, refuse(ErrNothingPending, p, py, "nothing to withdraw", "there is nothing to cancel")
		}
		if c.BatchID != "" && c.BatchID != s.Pending.BatchID || c.VirtualGroupID != "" {
			return nil, refuse(ErrWrongBatch, p, py, "the pending request is not part of this batch", "cancel it from where it was requested")
		}
		return []events.Event{events.ElectionRequestWithdrawn{Participant: p, ProgramYear: py,
			WithdrawnAt: ctx.Now.UTC(), Reason: c.Reason, BatchID: s.Pending.BatchID}}, nil
	}
	return nil, refuse(ErrInvalidCommand, p, py, fmt.Sprintf("unknown command %T", c), "send Request, Confirm, Withdraw or VirtualGroupOptIn")
}

// decideVirtualGroupPending decides a command against a member's pending
// opt-in through a virtual group. Before the virtual group deadline only
// the virtual group withdraws it; from the deadline it is final, and only
// its confirmation, dated at the deadline, may be recorded.
func decideVirtualGroupPending(s State, c Command, ctx Context) ([]events.Event, error) {
	p, py, vg := ctx.Participant, ctx.ProgramYear, s.Pending.VirtualGroupID
	deadline := ctx.Rules.VirtualGroupWindow.Close
	final := !deadline.IsZero() && !ctx.Now.Before(deadline)
	switch c := c.(type) {
	case Confirm:
		if c.VirtualGroupID == vg && c.Phrase == ConfirmPhrase && final {
			return []events.Event{events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: s.Pending.Choice,
				Pathway: s.Pending.Pathway, ConfirmedAt: deadline.UTC(), RequestRevision: s.Pending.Revision, VirtualGroupID: vg}}, nil
		}
	case Withdraw:
		if c.VirtualGroupID == vg && !final {
			return []events.Event{events.ElectionRequestWithdrawn{Participant: p, ProgramYear: py,
				WithdrawnAt: ctx.Now.UTC(), Reason: c.Reason}}, nil
		}
	}
	if final {
		return nil, refuse(ErrElectionFinal, p, py,
			fmt.Sprintf("opted in through virtual group %s, final since the virtual group deadline %s", vg, eligibility.FormatEastern(deadline)),
			"nothing: a virtual group's election is final from its deadline")
	}
	return nil, refuse(ErrVirtualGroupPending, p, py,
		fmt.Sprintf("opted in through virtual group %s, final at its deadline %s", vg, eligibility.FormatEastern(deadline)),
		"the virtual group may revise or retract its election until then; the member cannot change it")
}

// checkStillEligible rechecks, at confirmation, the standing the request
// was judged on: a selection becomes binding only while the participant may
// still make it (only an opt-in eligible participant elects, docs/rules.md
// §4; only a Partial QP, or its APM Entity, makes a Partial QP election,
// §3). A determination recorded between the two steps (a QP found, an
// exemption) refuses the confirmation; the request stays pending until
// withdrawn or the window closes.
func checkStillEligible(ctx Context) error {
	if ctx.Election == PartialQPElection {
		return checkPartialQPElector(ctx)
	}
	return checkOptInEligible(ctx)
}

func checkWindow(ctx Context) error {
	w, what := ctx.Window, "virtual group election window"
	switch {
	case !w.IsZero():
	case ctx.Election == PartialQPElection:
		w, what = ctx.Rules.PartialQPElectionWindow(), "Partial QP election window"
	default:
		w, what = ctx.Rules.ElectionWindow, "election window"
	}
	switch {
	case w.IsZero():
		return refuse(ErrOutsideWindow, ctx.Participant, ctx.ProgramYear, "the program year has no "+what, "elect in a program year that has one")
	case ctx.Now.Before(w.Open):
		return refuse(ErrOutsideWindow, ctx.Participant, ctx.ProgramYear,
			fmt.Sprintf("the %v %s opens %s and closes %s; now is %s", ctx.ProgramYear, what, eligibility.FormatEastern(w.Open), eligibility.FormatEastern(w.Close), eligibility.FormatEastern(ctx.Now)),
			"elect once the window opens, at "+eligibility.FormatEastern(w.Open))
	case !w.Contains(ctx.Now):
		return refuse(ErrOutsideWindow, ctx.Participant, ctx.ProgramYear,
			fmt.Sprintf("the %v %s closed %s; now is %s", ctx.ProgramYear, what, eligibility.FormatEastern(w.Close), eligibility.FormatEastern(ctx.Now)),
			"nothing: elections are taken only inside the window")
	}
	return nil
}

// decideRequest decides a request for opt-in or voluntary reporting (or,
// in a Partial QP election, for the Partial QP election). The checks run in
// a fixed order, so a request failing two rules is refused by the first:
// the form of the request, then the participant's eligibility, then what
// the pathway and the program require.
func decideRequest(s State, c Request, ctx Context) ([]events.Event, error) {
	if s.Phase == PhasePending {
		return nil, refuse(ErrAlreadyPending, ctx.Participant, ctx.ProgramYear,
			fmt.Sprintf("%s/%s requested at %s", s.Pending.Choice, s.Pending.Pathway, s.Pending.At.UTC().Format(time.RFC3339)),
			"confirm or withdraw the pending request first")
	}
	if ctx.Election == PartialQPElection {
		return decidePartialQPRequest(c, ctx)
	}
	if err := checkRequestForm(c, ctx); err != nil {
		return nil, err
	}
	if err := checkOptInEligible(ctx); err != nil {
		return nil, err
	}
	if err := checkRequestPathway(c, ctx); err != nil {
		return nil, err
	}
	return []events.Event{events.ElectionRequested{
		Participant: ctx.Participant, ProgramYear: ctx.ProgramYear, Choice: c.Choice, Pathway: c.Pathway, RequestedAt: ctx.Now.UTC(),
		BatchID: c.BatchID, VirtualGroupID: c.VirtualGroupID,
		OfficeChampion: c.OfficeChampion, ClinicalChampion: c.ClinicalChampion,
	}}, nil
}

// checkRequestForm refuses a request the program year cannot take at all:
// no opt-in that year, outside the window, an unknown choice or pathway, an
// APM Entity electing where APM Entities do not.
func checkRequestForm(c Request, ctx Context) error {
	p, py, r := ctx.Participant, ctx.ProgramYear, ctx.Rules
	if c.Choice == events.ChoicePartialQP {
		return refuse(ErrInvalidChoice, p, py, "a Partial QP election is made in its own election (ExecutePartialQP)", "request opt-in or voluntary reporting here")
	}
	if !r.OptIn {
		return refuse(ErrNoOptInThisYear, p, py, "", "elect in a program year that has opt-in (MIPS PY2019 on)")
	}
	if err := checkWindow(ctx); err != nil {
		return err
	}
	if c.Choice != events.ChoiceOptIn && c.Choice != events.ChoiceVoluntary {
		return refuse(ErrInvalidChoice, p, py, fmt.Sprintf("choice %q", c.Choice), "request opt-in or voluntary reporting (no decision records nothing)")
	}
	if c.Pathway != events.PathwayTraditional && c.Pathway != events.PathwayAPP && c.Pathway != events.PathwayMVP {
		return refuse(ErrInvalidChoice, p, py, fmt.Sprintf("pathway %q", c.Pathway), "name the traditional MIPS or APP pathway")
	}
	if p.Kind != events.KindAPMEntity {
		return nil
	}
	switch {
	case !r.APMEntityOptIn:
		return refuse(ErrAPMEntityOptIn, p, py, fmt.Sprintf("%v: APM Entities are not judged against the low-volume threshold and cannot opt in (they may opt in only in PY2019-2020)", py),
			"elect as the group or the clinician instead")
	case c.Choice != events.ChoiceOptIn:
		return refuse(ErrInvalidChoice, p, py, "an APM Entity's election is an opt-in", "request opt-in for the entity")
	}
	return nil
}

// notOptInEligibleRemedy says, for each status that is not opt-in
// eligible, what the participant may do instead.
func notOptInEligibleRemedy(st events.EligibilityStatus) string {
	switch st {
	case events.StatusRequired:
		return "none needed: a required participant participates without electing"
	case events.StatusExempt:
		return "none: an exempt participant may report voluntarily without an election, with no payment adjustment"
	case events.StatusPartialQP:
		return "a Partial QP joins MIPS through a Partial QP election, not an opt-in"
	case events.StatusNotAssessed:
		return "none: the participant is not judged against the low-volume threshold this year"
	}
	return "only opt-in eligible participants elect"
}

// checkOptInEligible refuses a participant whose standing is not opt-in
// eligible, naming the status, the phase and the basis of the standing.
func checkOptInEligible(ctx Context) error {
	e := ctx.Eligibility
	if !e.Determined() {
		return refuse(ErrNotOptInEligible, ctx.Participant, ctx.ProgramYear, "no eligibility determination", "wait for a determination that finds the participant opt-in eligible")
	}
	if e.Status == events.StatusOptInEligible {
		return nil
	}
	detail := "status " + e.Status.String()
	if e.Exclusion != events.ExclusionNone {
		detail += " (" + e.Exclusion.String() + ")"
	}
	detail += ", " + e.Phase.String() + ": " + e.Basis
	return refuse(ErrNotOptInEligible, ctx.Participant, ctx.ProgramYear, detail, notOptInEligibleRemedy(e.Status))
}

// checkRequestPathway refuses what the choice and pathway need and the
// program year or the participant lacks: voluntary reporting, the APP, MVPs,
// portal registration, champions.
func checkRequestPathway(c Request, ctx Context) error {
	p, py, r := ctx.Participant, ctx.ProgramYear, ctx.Rules
	if c.Choice == events.ChoiceVoluntary && !r.VoluntaryReporting {
		return refuse(ErrNoVoluntaryChoice, p, py, "", "opt in, or make no election")
	}
	switch {
	case c.Pathway == events.PathwayAPP && c.Choice == events.ChoiceVoluntary:
		return refuse(ErrVoluntaryAPP, p, py, "", "opt in to the APP, or report voluntarily on traditional MIPS")
	case c.Pathway == events.PathwayAPP && !r.APP:
		return refuse(ErrAPPUnavailable, p, py, "the program year has no APP", "choose traditional MIPS")
	case c.Pathway == events.PathwayAPP && !ctx.Eligibility.MIPSAPM:
		return refuse(ErrAPPUnavailable, p, py, "the participant is in no MIPS APM", "choose traditional MIPS")
	case c.Pathway == events.PathwayMVP && !r.MVPForOptIn:
		return refuse(ErrMVPNotForOptIn, p, py, "", "choose traditional MIPS or the APP")
	}
	if r.PortalRegistrationRequired && !ctx.Eligibility.PortalRegistered {
		return refuse(ErrPortalRegistration, p, py, "", "register the practice on the program's provider portal first")
	}
	if r.ChampionsRequired {
		return checkChampions(c, ctx)
	}
	return nil
}

// Champion roles a program requiring champions accepts.
const (
	RoleAdministrator = "administrator" // the Office Champion
	RolePhysician     = "physician"     // the Clinical Champion: a practicing physician
)

func checkChampions(c Request, ctx Context) error {
	p, py := ctx.Participant, ctx.ProgramYear
	o, cl := c.OfficeChampion, c.ClinicalChampion
	switch {
	case o == nil || strings.TrimSpace(o.Name) == "":
		return refuse(ErrChampions, p, py, "no Office Champion", "name an Office Champion (an administrator)")
	case o.Role != RoleAdministrator:
		return refuse(ErrChampions, p, py, fmt.Sprintf("the Office Champion's role is %q", o.Role), "the Office Champion must be an administrator")
	case cl == nil || strings.TrimSpace(cl.Name) == "":
		return refuse(ErrChampions, p, py, "no Clinical Champion", "name a Clinical Champion (a practicing physician)")
	case cl.Role != RolePhysician:
		return refuse(ErrChampions, p, py, fmt.Sprintf("the Clinical Champion's role is %q", cl.Role), "the Clinical Champion must be a practicing physician")
	case cl.NPI.IsZero():
		return refuse(ErrChampions, p, py, "the Clinical Champion has no NPI", "give the Clinical Champion's valid NPI")
	}
	return nil
}

// decidePartialQPRequest decides a Partial QP election's request: made by
// an APM Entity for its Partial QPs, or by a clinician who is a Partial QP
// assessed individually, in the Partial QP election window.
func decidePartialQPRequest(c Request, ctx Context) ([]events.Event, error) {
	p, py, r := ctx.Participant, ctx.ProgramYear, ctx.Rules
	no := func(rule error, detail, remedy string) ([]events.Event, error) {
		return nil, refuse(rule, p, py, detail, remedy)
	}
	if r.PartialQPElectionDeadline.IsZero() {
		detail := fmt.Sprintf("%v has no separate Partial QP election", py)
		if r.PartialQPReportingElects {
			detail += " (submitting data counts as the election)"
		}
		return no(ErrNoPartialQPElection, detail, "submit data instead, or elect in a year that has the election")
	}
	if c.Choice != events.ChoicePartialQP {
		return no(ErrInvalidChoice, fmt.Sprintf("choice %q", c.Choice), "a Partial QP election's choice is partial-qp (participate in MIPS)")
	}
	if c.Pathway != events.PathwayTraditional && c.Pathway != events.PathwayAPP {
		return no(ErrInvalidChoice, fmt.Sprintf("pathway %q", c.Pathway), "name the traditional MIPS or APP pathway")
	}
	if err := checkPartialQPElector(ctx); err != nil {
		return nil, err
	}
	if err := checkWindow(ctx); err != nil {
		return nil, err
	}
	return []events.Event{events.ElectionRequested{Participant: p, ProgramYear: py, Choice: events.ChoicePartialQP,
		Pathway: c.Pathway, RequestedAt: ctx.Now.UTC()}}, nil
}

// checkPartialQPElector refuses a participant that makes no Partial QP
// election: the APM Entity elects for all its Partial QPs; a clinician
// elects only when it is a Partial QP assessed individually.
func checkPartialQPElector(ctx Context) error {
	p, py := ctx.Participant, ctx.ProgramYear
	switch p.Kind {
	case events.KindAPMEntity:
		// The entity elects for all its Partial QPs.
	case events.KindIndividual:
		switch {
		case !ctx.Eligibility.Determined() || ctx.Eligibility.Status != events.StatusPartialQP:
			return refuse(ErrNotPartialQP, p, py, "status "+ctx.Eligibility.Status.String(), "only a Partial QP makes a Partial QP election")
		case !ctx.Eligibility.IndividuallyAssessed:
			return refuse(ErrNotPartialQP, p, py, "assessed as part of its APM Entity", "the APM Entity makes the Partial QP election for its Partial QPs")
		}
	default:
		return refuse(ErrNotPartialQP, p, py, "a "+p.Kind.String()+" makes no Partial QP election", "the APM Entity, or an individually assessed clinician, elects")
	}
	return nil
}
