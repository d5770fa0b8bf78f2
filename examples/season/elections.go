package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// action is what one participant does during the election window, drawn up
// front so that concurrent execution gives the same outcome every run.
type action uint8

const (
	actNone action = iota
	actOptIn
	actOptInAPP
	actVoluntary
	actWithdrawThenOptIn // request, change their mind, request again, confirm
	actPending           // request and never confirm
	actWrongPhrase       // type "confirm" first, then CONFIRM
	actRace              // eight tabs press CONFIRM at once
	actRetry             // the confirmation is sent twice with the same command ID
)

// plan is one participant's planned commands.
type plan struct {
	p       events.Participant
	meta    func() election.Meta
	act     action
	invalid []election.Request // refused attempts made first
	unauth  bool               // someone not connected tries first
	// unattested: the first try comes from a session that never accepted
	// the Statement of Truth.
	unattested bool
	// changeMind: after confirming, asks to change the election (refused:
	// a confirmed election is final).
	changeMind bool
}

func (s *sim) drawPlans() []plan {
	r := s.rng
	var plans []plan
	for i := range s.groups {
		g := &s.groups[i]
		if g.registry >= 0 {
			continue // its registry elects for it
		}
		pl := plan{p: g.p, meta: func() election.Meta { return s.repOf(i) }}
		switch {
		case g.final == events.StatusRequired && r.Float64() < 0.03:
			pl.invalid = append(pl.invalid, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional})
		case g.final != events.StatusOptInEligible:
		default:
			pl.act = drawAction(r, g.mipsAPM)
			if g.mipsAPM && r.Float64() < 0.2 {
				pl.invalid = append(pl.invalid, election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayAPP})
			}
			if !g.mipsAPM && r.Float64() < 0.03 {
				pl.invalid = append(pl.invalid, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP})
			}
			if r.Float64() < 0.02 {
				pl.invalid = append(pl.invalid, election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayMVP})
			}
			pl.unauth = r.Float64() < 0.01
		}
		pl.changeMind = (pl.act == actOptIn || pl.act == actVoluntary) && r.Float64() < 0.25
		if pl.act != actNone || len(pl.invalid) > 0 {
			plans = append(plans, pl)
		}
	}
	for i := range s.clinicians {
		c := &s.clinicians[i]
		if s.groups[c.group].registry >= 0 {
			continue
		}
		id := fmt.Sprintf("dr-%d", i)
		s.auth.RegisterClinician(id, c.p)
		pl := plan{p: c.p, meta: func() election.Meta { return s.meta(election.Actor{ID: id, Role: events.RoleClinician}) }}
		switch {
		case c.status == events.StatusExempt && r.Float64() < 0.01:
			pl.invalid = append(pl.invalid, election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional})
		case c.status != events.StatusOptInEligible:
		case s.groups[c.group].mipsAPM && r.Float64() < 0.3:
			pl.act = actOptInAPP
		case r.Float64() < 0.12:
			pl.act = actOptIn
		case r.Float64() < 0.08:
			pl.act = actVoluntary
		case r.Float64() < 0.01:
			pl.unattested = true
			pl.act = actOptIn
		}
		pl.unauth = c.status == events.StatusOptInEligible && r.Float64() < 0.01
		pl.changeMind = (pl.act == actOptIn || pl.act == actVoluntary) && r.Float64() < 0.25
		if pl.act != actNone || len(pl.invalid) > 0 {
			plans = append(plans, pl)
		}
	}
	return plans
}

func drawAction(r *rand.Rand, apm bool) action {
	x := r.Float64()
	switch {
	case x < 0.30:
		if apm && r.Float64() < 0.5 {
			return actOptInAPP
		}
		return actOptIn
	case x < 0.45:
		return actVoluntary
	case x < 0.50:
		return actWithdrawThenOptIn
	case x < 0.53:
		return actPending
	case x < 0.56:
		return actWrongPhrase
	case x < 0.58:
		return actRace
	case x < 0.60:
		return actRetry
	}
	return actNone
}

// elections runs every practice's and clinician's plan during the window.
func (s *sim) elections(ctx context.Context) error {
	w := s.rules.ElectionWindow
	s.clock.Set(w.Open.Add(time.Duration(float64(w.Close.Sub(w.Open)) * 0.4)))
	plans := s.drawPlans()
	return s.parallel(ctx, len(plans), func(i int) error { return s.runPlan(ctx, &plans[i]) })
}

// runPlan runs one participant's plan: the attempts the service refuses,
// then the plan's act, then (if the plan says so) an attempt to change a
// confirmed election.
func (s *sim) runPlan(ctx context.Context, pl *plan) error {
	if err := s.refusedAttempts(ctx, pl); err != nil {
		return err
	}
	if err := s.act(ctx, pl); err != nil {
		return err
	}
	if pl.changeMind {
		// After confirming, the participant asks to change its mind: refused,
		// a confirmed election is final.
		return s.record("")(s.req(ctx, pl.meta(), pl.p, events.ChoiceVoluntary, events.PathwayTraditional))
	}
	return nil
}

// refusedAttempts makes the requests the plan expects to be refused: by
// someone not authorized, without an attestation, malformed.
func (s *sim) refusedAttempts(ctx context.Context, pl *plan) error {
	if pl.unauth {
		m := s.meta(election.Actor{ID: "rep-elsewhere", Role: events.RolePracticeRepresentative})
		if err := s.record("")(s.req(ctx, m, pl.p, events.ChoiceOptIn, events.PathwayTraditional)); err != nil {
			return err
		}
	}
	if pl.unattested {
		m := pl.meta()
		m.Actor.AttestedAt = time.Time{}
		if err := s.record("")(s.req(ctx, m, pl.p, events.ChoiceOptIn, events.PathwayTraditional)); err != nil {
			return err
		}
	}
	for _, r := range pl.invalid {
		rc, err := s.svc.Request(ctx, pl.meta(), s.py, pl.p, r)
		if err := s.record("")(rc, err); err != nil {
			return err
		}
	}
	return nil
}

// act runs the plan's act: the requests, confirmations and withdrawals it
// names, in order, stopping at the first error.
func (s *sim) act(ctx context.Context, pl *plan) error {
	request := func(c events.Choice, pw events.Pathway) func() error {
		return func() error { return s.record("requests")(s.req(ctx, pl.meta(), pl.p, c, pw)) }
	}
	confirm := func(phrase string) func() error {
		return func() error { return s.record("confirmations")(s.svc.Confirm(ctx, pl.meta(), s.py, pl.p, phrase)) }
	}
	optIn, confirmed := request(events.ChoiceOptIn, events.PathwayTraditional), confirm(election.ConfirmPhrase)
	voluntary := request(events.ChoiceVoluntary, events.PathwayTraditional)
	var steps []func() error
	switch pl.act {
	case actOptIn:
		steps = []func() error{optIn, confirmed}
	case actRetry:
		steps = []func() error{optIn, func() error { return s.confirmTwice(ctx, pl) }}
	case actOptInAPP:
		steps = []func() error{request(events.ChoiceOptIn, events.PathwayAPP), confirmed}
	case actVoluntary:
		steps = []func() error{voluntary, func() error { return s.confirmVoluntary(ctx, pl) }}
	case actWithdrawThenOptIn:
		withdraw := func() error { return s.record("withdrawals")(s.svc.Withdraw(ctx, pl.meta(), s.py, pl.p, "went back")) }
		steps = []func() error{voluntary, withdraw, optIn, confirmed}
	case actPending:
		steps = []func() error{optIn}
	case actWrongPhrase:
		steps = []func() error{optIn, confirm("confirm"), confirmed}
	case actRace:
		steps = []func() error{optIn, func() error { return s.confirmRace(ctx, pl) }}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// confirmVoluntary confirms a voluntary election and remembers the
// volunteer.
func (s *sim) confirmVoluntary(ctx context.Context, pl *plan) error {
	rc, err := s.svc.Confirm(ctx, pl.meta(), s.py, pl.p, election.ConfirmPhrase)
	if err == nil {
		s.mu.Lock()
		s.volunteers = append(s.volunteers, pl.p)
		s.mu.Unlock()
	}
	return s.record("confirmations")(rc, err)
}

// confirmTwice sends the same confirmation command twice: the second is
// answered from the ledger.
func (s *sim) confirmTwice(ctx context.Context, pl *plan) error {
	m := pl.meta()
	for range 2 {
		rc, err := s.svc.Confirm(ctx, m, s.py, pl.p, election.ConfirmPhrase)
		if err := s.record("confirmations")(rc, err); err != nil {
			return err
		}
	}
	return nil
}

// confirmRace sends eight confirmations at once: one wins.
func (s *sim) confirmRace(ctx context.Context, pl *plan) error {
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for k := range errs {
		m := pl.meta()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := s.svc.Confirm(ctx, m, s.py, pl.p, election.ConfirmPhrase)
			errs[k] = s.record("confirmations")(rc, err)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.outcomes.add("concurrent confirmation races (one of eight wins)", 1)
	return nil
}

func (s *sim) req(ctx context.Context, m election.Meta, p events.Participant, c events.Choice, pw events.Pathway) (election.Receipt, error) {
	return s.svc.Request(ctx, m, s.py, p, election.Request{Choice: c, Pathway: pw})
}

// registryBatches has each registry upload its clients' selections in bulk;
// the first registry cancels its first upload and sends a second.
func (s *sim) registryBatches(ctx context.Context) error {
	w := s.rules.ElectionWindow
	s.clock.Set(w.Open.Add(time.Duration(float64(w.Close.Sub(w.Open)) * 0.7)))
	r := s.rng
	for reg := range s.registries {
		org := registryName(reg)
		var entries []election.BatchEntry
		for i := range s.groups {
			g := &s.groups[i]
			if g.registry != reg {
				continue
			}
			entries = append(entries, election.BatchEntry{Participant: g.p, Choice: drawChoice(r)})
			for _, m := range g.members {
				if r.Float64() < 0.3 {
					entries = append(entries, election.BatchEntry{Participant: s.clinicians[m].p, Choice: drawChoice(r)})
				}
			}
		}
		for start := 0; start < len(entries); start += election.MaxBatchEntries {
			b := election.Batch{ID: fmt.Sprintf("%s-upload-%d", org, start/election.MaxBatchEntries+1), ProgramYear: s.py,
				Entries: entries[start:min(start+election.MaxBatchEntries, len(entries))]}
			actor := election.Actor{ID: org + "-staff", Role: events.RoleRegistry, Organization: org}
			if reg == 0 && start == 0 {
				first := b
				first.ID += "-cancelled"
				if _, err := s.svc.SubmitBatch(ctx, s.meta(actor), first); err != nil {
					return err
				}
				res, err := s.svc.CancelBatch(ctx, s.meta(actor), first)
				if err != nil {
					return err
				}
				s.outcomes.add("registry uploads cancelled before confirmation", 1)
				s.outcomes.add("registry selections withdrawn by a cancelled upload", res.Count(election.EntryWithdrawn))
			}
			prev, err := s.svc.PreviewBatch(ctx, s.meta(actor), b)
			if err != nil {
				return err
			}
			s.progress("    %s preview: %d opt-in, %d voluntary, %d no decision, %d refused",
				b.ID, prev.Counts.OptIn, prev.Counts.Voluntary, prev.Counts.NoDecision, len(prev.Refusals()))
			sub, err := s.svc.SubmitBatch(ctx, s.meta(actor), b)
			if err != nil {
				return err
			}
			for _, e := range sub.Refusals() {
				if err := s.record("")(election.Receipt{}, e.Err); err != nil {
					return err
				}
			}
			res, err := s.svc.ConfirmBatch(ctx, s.meta(actor), b, election.ConfirmPhrase)
			if err != nil {
				return err
			}
			s.outcomes.add("registry uploads confirmed", 1)
			s.outcomes.add("registry entries confirmed", res.Count(election.EntryConfirmed))
			s.outcomes.add("registry entries with no decision", res.Count(election.EntryNoDecision))
		}
	}
	return nil
}

func drawChoice(r *rand.Rand) events.Choice {
	switch x := r.Float64(); {
	case x < 0.5:
		return events.ChoiceOptIn
	case x < 0.75:
		return events.ChoiceVoluntary
	}
	return events.ChoiceNoDecision
}

// late has a few practices that made no decision try after the 8 pm close.
func (s *sim) late(ctx context.Context) error {
	s.clock.Set(s.rules.ElectionWindow.Close.Add(15 * time.Minute))
	type attempt struct {
		p events.Participant
		m func() election.Meta
	}
	var late []attempt
	for i := range s.groups {
		g := &s.groups[i]
		if g.registry < 0 && g.vg < 0 && g.final == events.StatusOptInEligible && i%40 == 3 {
			late = append(late, attempt{g.p, func() election.Meta { return s.repOf(i) }})
		}
	}
	for i := range s.clinicians {
		c := &s.clinicians[i]
		if s.groups[c.group].registry < 0 && c.status == events.StatusOptInEligible && i%100 == 7 {
			late = append(late, attempt{c.p, func() election.Meta {
				return s.meta(election.Actor{ID: fmt.Sprintf("dr-%d", i), Role: events.RoleClinician})
			}})
		}
	}
	return s.parallel(ctx, len(late), func(k int) error {
		return s.record("")(s.req(ctx, late[k].m(), late[k].p, events.ChoiceOptIn, events.PathwayTraditional))
	})
}

// partialQPElections has Partial QPs elect to participate in MIPS, in the
// Partial QP election window: individually assessed ones for themselves,
// APM Entities for the Partial QPs assessed with them.
func (s *sim) partialQPElections(ctx context.Context) error {
	w := s.rules.PartialQPElectionWindow()
	if w.IsZero() {
		return nil
	}
	s.clock.Set(w.Close.Add(-20 * 24 * time.Hour))
	type pqp struct {
		p     events.Participant
		actor election.Actor
	}
	var elections []pqp
	entities := map[int]bool{}
	for i := range s.clinicians {
		c := &s.clinicians[i]
		if !c.partial {
			continue
		}
		if !c.affiliated {
			if a := s.groups[c.group].apm; a >= 0 && a%5 != 4 { // four entities in five elect for their Partial QPs
				entities[a] = true
			}
			continue
		}
		if i%10 < 7 { // seven in ten individually assessed Partial QPs elect
			id := fmt.Sprintf("pqp-dr-%d", i)
			s.auth.RegisterClinician(id, c.p)
			elections = append(elections, pqp{c.p, election.Actor{ID: id, Role: events.RoleClinician}})
		}
	}
	for a := range entities {
		id := fmt.Sprintf("apm-rep-%d", a)
		s.auth.ConnectAPMEntityRepresentative(id, s.apms[a].p.ID)
		elections = append(elections, pqp{s.apms[a].p, election.Actor{ID: id, Role: events.RolePracticeRepresentative}})
	}
	slices.SortFunc(elections, func(a, b pqp) int { return strings.Compare(a.actor.ID, b.actor.ID) })
	return s.parallel(ctx, len(elections), func(i int) error {
		e := elections[i]
		_, err := s.svc.ExecutePartialQP(ctx, s.meta(e.actor), s.py, e.p, election.Request{Choice: events.ChoicePartialQP, Pathway: events.PathwayTraditional})
		if err != nil {
			return s.record("")(election.Receipt{}, err)
		}
		rc, err := s.svc.ExecutePartialQP(ctx, s.meta(e.actor), s.py, e.p, election.Confirm{Phrase: election.ConfirmPhrase})
		what := "Partial QP elections confirmed by clinicians"
		if e.p.Kind == events.KindAPMEntity {
			what = "Partial QP elections confirmed by APM Entities"
		}
		return s.record(what)(rc, err)
	})
}

// volunteeredWithout counts the clinicians reporting voluntarily with no
// election (not MIPS eligible: exempt, an ineligible type, a QP).
const volunteeredWithout = "voluntary without an election"

// submission is one participant's data submission on a pathway.
type submission struct {
	p      events.Participant
	pw     events.Pathway
	entity events.Participant // the APM Entity whose Partial QP election covers it, if any
}

// submissions has practices and clinicians submit data through the
// submission gate, three weeks before the data deadline (or, late, an hour
// after it): required and opted-in participants are scored, exempt ones
// report voluntarily without an election, opt-in eligible ones without an
// election and late ones are refused.
func (s *sim) submissions(ctx context.Context, late bool) error {
	deadline := s.rules.DataSubmissionDeadline
	s.clock.Set(deadline.Add(-21 * 24 * time.Hour))
	if late {
		s.clock.Set(deadline.Add(time.Hour))
	}
	r := rand.New(rand.NewPCG(s.cfg.seed, 77))
	var subs []submission
	add := func(p events.Participant, pw events.Pathway, prob float64, entity events.Participant) {
		if r.Float64() < prob && (r.Float64() < 0.03) == late {
			subs = append(subs, submission{p, pw, entity})
		}
	}
	for i := range s.groups {
		g := &s.groups[i]
		add(g.p, events.PathwayTraditional, 0.85, events.Participant{})
		if g.mipsAPM {
			add(g.p, events.PathwayAPP, 0.9, events.Participant{})
		}
	}
	for i := range s.clinicians {
		c := &s.clinicians[i]
		var entity events.Participant
		if a := s.groups[c.group].apm; c.partial && !c.affiliated && a >= 0 {
			entity = s.apms[a].p
		}
		add(c.p, events.PathwayTraditional, 0.4, entity)
	}
	outcome := make([]election.Gate, len(subs))
	err := s.parallel(ctx, len(subs), func(i int) error {
		var opts []election.GateOption
		if !subs[i].entity.IsZero() {
			opts = append(opts, election.ThroughAPMEntity(subs[i].entity))
		}
		g, err := s.svc.MaySubmit(ctx, s.py, subs[i].p, subs[i].pw, opts...)
		outcome[i] = g
		return err
	})
	if err != nil {
		return err
	}
	for i, g := range outcome {
		switch {
		case g.Allowed && g.Voluntary:
			s.gate.add("accepted: voluntary, no payment adjustment", 1)
			if subs[i].p.Kind == events.KindIndividual && g.Election.Choice == events.ChoiceNone {
				s.gate.add(volunteeredWithout, 1)
			}
		case g.Allowed:
			s.gate.add("accepted: scored, with a payment adjustment", 1)
		default:
			s.gate.add("refused: "+g.Reason.Error(), 1)
			continue
		}
		s.accepted = append(s.accepted, subs[i])
	}
	return nil
}

// scores reports final performance data after the submission deadline for
// the submissions the gate accepted, each virtual group and APM Entity.
func (s *sim) scores(ctx context.Context) error {
	s.clock.Set(eligibility.Eastern(s.cfg.year+1, time.June, 15, 9, 0))
	r := s.rng
	type rep struct {
		p  events.Participant
		pw events.Pathway
		sc float64
		ct int
	}
	draw := func() (float64, int) {
		switch x := r.Float64(); {
		case x < 0.03:
			return 100 * r.Float64(), 1 // hardship: one scored category
		case x < 0.10:
			return 30 * r.Float64(), 3
		default:
			return math.Min(100, math.Max(0, 80+12*r.NormFloat64())), 3
		}
	}
	var reps []rep
	add := func(p events.Participant, pw events.Pathway) {
		sc, ct := draw()
		reps = append(reps, rep{p, pw, math.Round(sc*100) / 100, ct})
	}
	for _, sub := range s.accepted {
		add(sub.p, sub.pw)
	}
	for i := range s.vgs {
		if len(s.vgs[i].members) > 0 {
			add(s.vgs[i].p, events.PathwayTraditional)
		}
	}
	for i := range s.apms {
		add(s.apms[i].p, events.PathwayAPP)
	}
	return s.parallel(ctx, len(reps), func(i int) error {
		x := reps[i]
		return s.appendEvent(ctx, s.names.Score(s.py, x.p), events.ScoreReported{Participant: x.p, ProgramYear: s.py,
			Pathway: x.pw, Score: x.sc, ScoredCategories: x.ct, ReportedAt: s.clock.Now()}, s.newID())
	})
}

// optOuts has a third of the voluntary reporters opt out of public
// reporting during the preview period.
func (s *sim) optOuts(ctx context.Context) error {
	w := s.rules.PublicReportingPreview
	if w.IsZero() {
		return nil
	}
	s.clock.Set(w.Open.Add(72 * time.Hour))
	all := slices.Clone(s.volunteers)
	slices.SortFunc(all, func(a, b events.Participant) int { return strings.Compare(a.String(), b.String()) })
	var who []events.Participant
	for i, p := range all {
		if i%3 == 0 {
			who = append(who, p)
		}
	}
	return s.parallel(ctx, len(who), func(i int) error {
		p := who[i]
		actor := election.Actor{ID: fmt.Sprintf("rep-%d", s.groupOf(p)), Role: events.RolePracticeRepresentative}
		rc, err := s.svc.OptOutOfPublicReporting(ctx, s.meta(actor), s.py, p)
		return s.record("voluntary reporters opting out of public reporting")(rc, err)
	})
}

// groupOf returns the index of a participant's practice (tinOf's inverse).
func (s *sim) groupOf(p events.Participant) int { return (int(p.TIN.Number()) - 100_000_000) / 7 }
