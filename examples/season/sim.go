package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

type clinician struct {
	p       events.Participant
	group   int
	typ     eligibility.ClinicianType
	qp      bool
	partial bool // a Partial QP
	// affiliated: on its APM Entity's Affiliated Practitioner List, so
	// assessed for QP status on its own (it makes its own Partial QP
	// election).
	affiliated bool
	newly      bool // first enrolled in Medicare during the year
	seg        [2]events.Volumes
	status     events.EligibilityStatus // the final standing, both segments reconciled
}

type group struct {
	p        events.Participant
	members  []int
	mipsAPM  bool
	apm      int // APM Entity index or -1
	vg       int // virtual group index or -1
	registry int // registry index or -1
	// established: the TIN was newly established during segment 2 (no
	// segment 1 determination; judged on segment 2 alone).
	established bool
	status      [2]events.EligibilityStatus // each segment's determination
	final       events.EligibilityStatus    // the final standing
}

type vgroup struct {
	p       events.Participant
	members []int
}

type apmEntity struct {
	p      events.Participant
	groups []int
}

// tally counts outcomes from concurrent workers.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *tally) add(k string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k] += n
}

func (t *tally) get(k string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[k]
}

// sorted returns the keys in order.
func (t *tally) sorted() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ks []string
	for k := range t.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type phase struct {
	name    string
	elapsed time.Duration
	events  int
}

type sim struct {
	cfg    config
	log    io.Writer
	clock  *electiontest.Clock // the store stamps records with it too, so "as of" questions work
	opened *storeflag.Opened
	store  events.Store
	names  *events.StreamNamer
	reg    *events.Registry
	table  *eligibility.Table
	rules  eligibility.Rules
	py     events.ProgramYear
	auth   *election.MemoryAuthorizer
	svc    *election.Service
	rng    *rand.Rand
	ids    atomic.Uint64

	clinicians []clinician
	groups     []group
	vgs        []vgroup
	apms       []apmEntity
	registries int

	refusals tally // by rule
	outcomes tally // by what happened
	gate     tally // data submissions by the gate's answer
	// accepted are the data submissions the gate let through, to be
	// scored; volunteers the participants whose voluntary election was
	// confirmed.
	mu         sync.Mutex
	accepted   []submission
	volunteers []events.Participant
	appended   atomic.Int64
	phases     []phase
	startedAt  time.Time
	// seg1 holds the segment 1 determinations, by participant, to
	// reconcile segment 2 with; seg2At is when segment 2 was determined.
	seg1   map[events.Participant]events.EligibilityDetermined
	seg2At time.Time
}

func newSim(cfg config, log io.Writer) (*sim, error) {
	if cfg.quiet {
		log = io.Discard
	}
	s := &sim{cfg: cfg, log: log, clock: electiontest.NewClock(time.Time{}), reg: events.NewRegistry(), table: eligibility.Default(),
		py: events.PY(events.MIPS, cfg.year), auth: election.NewMemoryAuthorizer(),
		rng: rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)), registries: 3}
	var err error
	if s.rules, err = s.table.Rules(s.py); err != nil {
		return nil, err
	}
	if s.names, err = events.NewStreamNamer([]byte(events.DevelopmentKey)); err != nil {
		return nil, err
	}
	s.clock.Set(eligibility.Eastern(cfg.year-1, time.October, 1, 9, 0))
	if s.opened, err = storeflag.Open(cfg.store, s.clock.Now, true); err != nil {
		return nil, err
	}
	s.store = counting{Store: s.opened.Store, n: &s.appended}
	s.svc, err = election.NewService(election.Config{Store: s.store, Names: s.names, Authorizer: s.auth,
		Registry: s.reg, Table: s.table, Clock: s.clock.Now, BatchWorkers: cfg.workers})
	if err != nil {
		s.opened.Close()
		return nil, err
	}
	return s, nil
}

func (s *sim) close() { _ = s.opened.Close() }

// newID returns a deterministic command ID.
func (s *sim) newID() uuid.UUID {
	return uuid.NewSHA1(uuid.Nil, fmt.Appendf(nil, "season/%d/%d", s.cfg.seed, s.ids.Add(1)))
}

func (s *sim) progress(format string, a ...any) { fmt.Fprintf(s.log, format+"\n", a...) }

// parallel runs fn(0..n-1) on the configured number of workers; the first
// error stops it from starting more.
func (s *sim) parallel(ctx context.Context, n int, fn func(i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.workers)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func (s *sim) timed(name string, fn func() error) error {
	start, before := time.Now(), s.appended.Load()
	err := fn()
	s.phases = append(s.phases, phase{name, time.Since(start), int(s.appended.Load() - before)})
	s.progress("  %-28s %8d events  %v", name, s.appended.Load()-before, time.Since(start).Round(time.Millisecond))
	return err
}

func (s *sim) simulate(ctx context.Context) error {
	s.startedAt = time.Now()
	s.progress("season: simulating %v with %d clinicians in %d practices (seed %d) on the %s store",
		s.py, s.cfg.clinicians, s.cfg.groups, s.cfg.seed, s.opened.Kind)
	s.populate()
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"segment 1 determinations (initial)", func(ctx context.Context) error { return s.determine(ctx, 0) }},
		{"virtual group elections", s.virtualGroups},
		{"APM snapshots and QP determinations", s.apmSnapshots},
		{"segment 2 determinations (final)", func(ctx context.Context) error { return s.determine(ctx, 1) }},
		{"practice and clinician elections", s.elections},
		{"registry bulk elections", s.registryBatches},
		{"Partial QP elections", s.partialQPElections},
		{"data submissions (the gate)", func(ctx context.Context) error { return s.submissions(ctx, false) }},
		{"late elections", s.late},
		{"late data submissions", func(ctx context.Context) error { return s.submissions(ctx, true) }},
		{"scores", s.scores},
		{"public-reporting opt-outs", s.optOuts},
	}
	for _, st := range steps {
		if err := s.timed(st.name, func() error { return st.fn(ctx) }); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}

// populate draws the practices, clinicians, APM Entities, virtual groups and
// registry clients.
func (s *sim) populate() {
	r := s.rng
	s.groups = make([]group, s.cfg.groups)
	for i := range s.groups {
		s.groups[i] = group{p: events.Group(tinOf(i)), apm: -1, vg: -1, registry: -1, mipsAPM: r.Float64() < 0.10,
			established: r.Float64() < 0.03}
	}
	s.clinicians = make([]clinician, s.cfg.clinicians)
	for i := range s.clinicians {
		s.drawClinician(i)
	}
	s.formAPMEntities()
	s.formVirtualGroups()
}

// drawClinician draws clinician i: its practice, type, QP standing and the
// volumes of both segments.
func (s *sim) drawClinician(i int) {
	r := s.rng
	g := i
	if i >= len(s.groups) {
		// Skewed practice sizes: a few large practices, many small ones.
		g = int(math.Pow(r.Float64(), 3) * float64(len(s.groups)))
	}
	c := &s.clinicians[i]
	c.group = g
	c.p = events.Individual(s.groups[g].p.TIN, npiOf(i))
	c.typ = drawType(r)
	c.newly = r.Float64() < 0.02
	switch x := r.Float64(); {
	case !s.groups[g].mipsAPM:
	case x < 0.25:
		c.qp = true
	case x < 0.35:
		c.partial = true // a Partial QP: out of MIPS unless it elects
	}
	c.affiliated = i%7 == 0 // the snapshots list every seventh clinician as an affiliated practitioner
	// Per-clinician volumes are log-normal around 40% of each
	// threshold: solo clinicians mostly fall below some criterion, and
	// practices of a few straddle the threshold.
	size := 0.4 * math.Exp(r.NormFloat64()*0.9)
	c.seg[0] = events.Volumes{
		AllowedChargesCents: int64(90_000_00 * size * (0.7 + 0.6*r.Float64())),
		PartBPatients:       int(200 * size * (0.6 + 0.8*r.Float64())),
		CoveredServices:     int(200 * size * (0.5 + 1.5*r.Float64())),
	}
	f := 0.9 + 0.2*r.Float64()
	if r.Float64() < 0.08 {
		f = 0.3 + 2.5*r.Float64() // the practice grew or shrank: the segments may disagree
	}
	c.seg[1] = events.Volumes{AllowedChargesCents: int64(float64(c.seg[0].AllowedChargesCents) * f),
		PartBPatients: int(float64(c.seg[0].PartBPatients) * f), CoveredServices: int(float64(c.seg[0].CoveredServices) * (f + 0.05))}
	s.groups[g].members = append(s.groups[g].members, i)
}

// formAPMEntities forms APM Entities of about five MIPS APM practices each.
func (s *sim) formAPMEntities() {
	for i := range s.groups {
		g := &s.groups[i]
		if !g.mipsAPM {
			continue
		}
		if len(s.apms) == 0 || len(s.apms[len(s.apms)-1].groups) >= 5 {
			p, _ := events.NewAPMEntity(fmt.Sprintf("A%05d", len(s.apms)+1))
			s.apms = append(s.apms, apmEntity{p: p})
		}
		g.apm = len(s.apms) - 1
		s.apms[g.apm].groups = append(s.apms[g.apm].groups, i)
	}
}

// formVirtualGroups forms virtual groups of four small practices, most of
// them above the threshold or in the opt-in range in segment 1 (one in ten
// is below and is refused as a member), and draws registries' clients.
func (s *sim) formVirtualGroups() {
	r := s.rng
	var small []int
	for i := range s.groups {
		g := &s.groups[i]
		var v events.Volumes
		for _, m := range g.members {
			v = sum(v, s.clinicians[m].seg[0])
		}
		candidate := !g.mipsAPM && !g.established && len(g.members) <= 10 && (s.rules.LVT.Exceeded(v) != 0 || r.Float64() < 0.1)
		switch {
		case candidate && r.Float64() < 0.15:
			small = append(small, i)
		case r.Float64() < 0.25:
			g.registry = r.IntN(s.registries)
		}
	}
	for len(small) >= 4 {
		p, _ := events.NewVirtualGroup(fmt.Sprintf("VG-%d-%03d", s.cfg.year, len(s.vgs)+1))
		v := vgroup{p: p, members: small[:4]}
		for _, m := range v.members {
			s.groups[m].vg = len(s.vgs)
		}
		s.vgs = append(s.vgs, v)
		small = small[4:]
	}
}

func tinOf(i int) events.TIN { return events.MustParseTIN(fmt.Sprintf("%09d", 100_000_000+i*7)) }

func npiOf(i int) events.NPI {
	base := fmt.Sprintf("1%08d", i)
	return events.MustParseNPI(base + string(events.NPICheckDigit(base)))
}

func drawType(r *rand.Rand) eligibility.ClinicianType {
	x := r.Float64()
	for _, t := range []struct {
		p   float64
		typ eligibility.ClinicianType
	}{
		{0.80, eligibility.Physician}, {0.06, eligibility.NursePractitioner}, {0.04, eligibility.PhysicianAssistant},
		{0.03, eligibility.PhysicalTherapist}, {0.02, eligibility.ClinicalSocialWorker}, {0.02, eligibility.CertifiedNurseMidwife},
		{0.01, eligibility.ClinicalPsychologist},
	} {
		if x < t.p {
			return t.typ
		}
		x -= t.p
	}
	return eligibility.OtherClinicianType
}

func (s *sim) system() events.Metadata {
	return events.Metadata{Actor: "cms-eligibility", ActorRole: events.RoleSystem}
}

// determine records one segment's determinations for every clinician,
// practice and APM Entity. A TIN newly established during segment 2 (and
// its clinicians) has none in segment 1 and is marked so in segment 2.
// After segment 2 each participant's final standing is reconciled from both.
func (s *sim) determine(ctx context.Context, seg int) error {
	at := eligibility.Eastern(s.cfg.year-1+seg, time.November, 15, 9, 0)
	s.clock.Set(at)
	if seg == 1 {
		s.seg2At = at
	} else {
		s.seg1 = map[events.Participant]events.EligibilityDetermined{}
	}
	d := &segmentRun{sim: s, seg: seg, at: at,
		end: time.Date(s.cfg.year-1+seg, time.September, 30, 0, 0, 0, 0, time.UTC),
		src: []events.Source{events.SourceSegment1, events.SourceSegment2}[seg]}
	if err := d.determineClinicians(); err != nil {
		return err
	}
	if err := d.determineGroups(); err != nil {
		return err
	}
	if err := d.determineAPMEntities(); err != nil {
		return err
	}
	return s.parallel(ctx, len(d.dets), func(i int) error {
		_, err := eligibility.Record(ctx, s.store, s.names, s.reg, s.table, d.dets[i], s.system())
		return err
	})
}

// segmentRun draws one segment's determinations.
type segmentRun struct {
	*sim
	seg     int           // 0 for segment 1, 1 for segment 2
	end, at time.Time     // the segment's end; when it is determined
	src     events.Source // the segment, as determinations name it
	dets    []events.EligibilityDetermined
}

// facts are a clinician's facts for Determine.
func (d *segmentRun) facts(c *clinician) eligibility.Clinician {
	e := eligibility.Clinician{NPI: c.p.NPI, Type: c.typ, QP: c.qp, PartialQP: c.partial, IndividuallyAssessed: c.affiliated}
	if c.newly {
		e.MedicareEnrolled = time.Date(d.cfg.year, time.March, 1, 0, 0, 0, 0, time.UTC)
	}
	return e
}

// final reconciles a segment 2 determination with its segment 1 one.
func (d *segmentRun) final(det events.EligibilityDetermined) events.EligibilityStatus {
	h := []events.EligibilityDetermined{det}
	if d1, ok := d.seg1[det.Participant]; ok {
		h = append(h, d1)
	}
	return eligibility.Reconcile(&d.rules, det.Participant, h, time.Time{}).Status
}

// determine determines in and keeps the determination (and, in segment 1,
// remembers it for reconciling segment 2).
func (d *segmentRun) determine(in eligibility.Input) (events.EligibilityDetermined, error) {
	in.Source, in.SourceDate, in.DeterminedAt = d.src, d.end, d.at
	det, err := eligibility.Determine(&d.rules, in)
	if err != nil {
		return det, err
	}
	d.dets = append(d.dets, det)
	if d.seg == 0 {
		d.seg1[det.Participant] = det
	}
	return det, nil
}

// determineClinicians determines every clinician; a TIN newly established during
// segment 2 has none in segment 1 and is marked so in segment 2.
func (d *segmentRun) determineClinicians() error {
	for i := range d.sim.clinicians {
		c := &d.sim.clinicians[i]
		established := d.sim.groups[c.group].established
		if d.seg == 0 && established {
			continue
		}
		det, err := d.determine(eligibility.Input{Participant: c.p, Volumes: c.seg[d.seg], Clinician: d.facts(c),
			MIPSAPM: d.sim.groups[c.group].mipsAPM, NewlyEstablished: established})
		if err != nil {
			return err
		}
		if d.seg == 1 {
			c.status = d.final(det)
		}
	}
	return nil
}

// determineGroups determines every practice on its clinicians' summed volumes.
func (d *segmentRun) determineGroups() error {
	for i := range d.sim.groups {
		g := &d.sim.groups[i]
		if d.seg == 0 && g.established {
			continue
		}
		in := eligibility.Input{Participant: g.p, MIPSAPM: g.mipsAPM, NewlyEstablished: g.established}
		for _, m := range g.members {
			c := &d.sim.clinicians[m]
			in.Volumes = sum(in.Volumes, c.seg[d.seg])
			in.Clinicians = append(in.Clinicians, d.facts(c))
		}
		det, err := d.determine(in)
		if err != nil {
			return err
		}
		g.status[d.seg] = det.Status
		if d.seg == 1 {
			g.final = d.final(det)
		}
	}
	return nil
}

// determineAPMEntities determines every APM Entity on its groups' volumes: judged
// against the threshold only in the years that do so (PY2017-2020); not
// assessed after.
func (d *segmentRun) determineAPMEntities() error {
	for i := range d.apms {
		a := &d.apms[i]
		in := eligibility.Input{Participant: a.p}
		for _, gi := range a.groups {
			for _, m := range d.sim.groups[gi].members {
				in.Volumes = sum(in.Volumes, d.sim.clinicians[m].seg[d.seg])
			}
		}
		if _, err := d.determine(in); err != nil {
			return err
		}
	}
	return nil
}

func sum(a, b events.Volumes) events.Volumes {
	return events.Volumes{AllowedChargesCents: a.AllowedChargesCents + b.AllowedChargesCents,
		PartBPatients: a.PartBPatients + b.PartBPatients, CoveredServices: a.CoveredServices + b.CoveredServices}
}

// apmSnapshots records each APM Entity's participation lists on the four
// snapshot dates; clinicians join over the year.
func (s *sim) apmSnapshots(ctx context.Context) error {
	dates := []time.Time{
		time.Date(s.cfg.year, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(s.cfg.year, 6, 30, 0, 0, 0, 0, time.UTC),
		time.Date(s.cfg.year, 8, 31, 0, 0, 0, 0, time.UTC), time.Date(s.cfg.year, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	for k, d := range dates {
		s.clock.Set(d.Add(12 * time.Hour))
		if k == 2 {
			// QP status is determined at the Aug 31 snapshot: each APM
			// clinician gets a determination naming that snapshot.
			if err := s.snapshotDeterminations(ctx, d); err != nil {
				return err
			}
		}
		err := s.parallel(ctx, len(s.apms), func(i int) error {
			return s.appendEvent(ctx, s.names.APM(s.py, s.apms[i].p), s.snapshot(&s.apms[i], k, d), s.newID())
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// snapshot is APM Entity a's participation list on snapshot k (dated d):
// clinician j of a practice appears from snapshot j%4 on; every seventh is
// an affiliated practitioner.
func (s *sim) snapshot(a *apmEntity, k int, d time.Time) events.APMParticipationSnapshot {
	snap := events.APMParticipationSnapshot{Entity: a.p, ProgramYear: s.py, SnapshotDate: d, MIPSAPM: true}
	for _, gi := range a.groups {
		for j, m := range s.groups[gi].members {
			if j%4 > k {
				continue
			}
			list := events.ListParticipation
			if s.clinicians[m].affiliated {
				list = events.ListAffiliatedPractitioner
			}
			c := s.clinicians[m].p
			snap.Entries = append(snap.Entries, events.APMListEntry{TIN: c.TIN, NPI: c.NPI, List: list})
		}
	}
	return snap
}

// snapshotDeterminations records, for every clinician of an APM Entity, a
// determination made at the APM snapshot date (from the first segment's
// volumes, with the QP status the snapshot decides).
func (s *sim) snapshotDeterminations(ctx context.Context, snapshot time.Time) error {
	var dets []events.EligibilityDetermined
	for i := range s.apms {
		for _, g := range s.apms[i].groups {
			for _, m := range s.groups[g].members {
				c := &s.clinicians[m]
				in := eligibility.Input{Participant: c.p, Volumes: c.seg[0], MIPSAPM: true,
					Clinician: eligibility.Clinician{NPI: c.p.NPI, Type: c.typ, QP: c.qp, PartialQP: c.partial, IndividuallyAssessed: c.affiliated},
					Source:    events.SourceAPMSnapshot, SourceDate: snapshot, DeterminedAt: s.clock.Now()}
				if c.newly {
					in.Clinician.MedicareEnrolled = time.Date(s.cfg.year, time.March, 1, 0, 0, 0, 0, time.UTC)
				}
				d, err := eligibility.Determine(&s.rules, in)
				if err != nil {
					return err
				}
				dets = append(dets, d)
			}
		}
	}
	return s.parallel(ctx, len(dets), func(i int) error {
		_, err := eligibility.Record(ctx, s.store, s.names, s.reg, s.table, dets[i], s.system())
		return err
	})
}

func (s *sim) appendEvent(ctx context.Context, stream string, e events.Event, id uuid.UUID) error {
	d, err := s.reg.Encode(id, e, s.system())
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, stream, events.Any, d)
	return err
}

// counting counts the events a store appends.
type counting struct {
	events.Store
	n *atomic.Int64
}

// IDsPerStream forwards events.IDScope, so that the Service sees what the
// store underneath says of its event IDs.
func (c counting) IDsPerStream() bool { return events.EventIDsPerStream(c.Store) }

func (c counting) Append(ctx context.Context, stream string, exp events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	r, err := c.Store.Append(ctx, stream, exp, evs...)
	if err == nil {
		c.n.Add(int64(len(evs)))
	}
	return r, err
}

// meta returns a command Meta for an actor, attested a minute ago.
func (s *sim) meta(actor election.Actor) election.Meta {
	actor.AttestedAt = s.clock.Now().Add(-time.Minute)
	return election.Meta{CommandID: s.newID(), Actor: actor}
}

func (s *sim) repOf(g int) election.Meta {
	return s.meta(election.Actor{ID: fmt.Sprintf("rep-%d", g), Role: events.RolePracticeRepresentative})
}

// record returns a function counting a command's outcome: a refusal by its
// rule, or a success under what. Other errors are returned.
func (s *sim) record(what string) func(election.Receipt, error) error {
	return func(rc election.Receipt, err error) error { return s.count(what, rc, err) }
}

func (s *sim) count(what string, rc election.Receipt, err error) error {
	var ref *election.Refusal
	switch {
	case err == nil:
		if rc.Replayed {
			s.outcomes.add("retried commands answered with their original receipt", 1)
			return nil
		}
		s.outcomes.add(what, 1)
		return nil
	case errors.As(err, &ref):
		s.refusals.add(ref.Rule.Error(), 1)
		return nil
	}
	return err
}

// virtualGroups forms the virtual groups before the performance year: the
// elections in December, revisions and retractions just before the
// deadline, and the opt-ins final at the deadline.
func (s *sim) virtualGroups(ctx context.Context) error {
	s.clock.Set(eligibility.Eastern(s.cfg.year-1, time.December, 10, 11, 0))
	s.connectRepresentatives()
	if err := s.parallel(ctx, len(s.vgs), func(i int) error { return s.electVirtualGroup(ctx, i, s.vgs[i].members) }); err != nil {
		return err
	}
	// Before the deadline (11:59 pm ET, Dec 31) every third virtual group
	// revises its election, dropping its last member, and every seventh
	// retracts it.
	s.clock.Set(eligibility.Eastern(s.cfg.year-1, time.December, 31, 23, 30))
	if err := s.parallel(ctx, len(s.vgs), func(i int) error { return s.reviseVirtualGroup(ctx, i) }); err != nil {
		return err
	}
	// After the deadline every member's opt-in is final at once: the
	// confirmations are recorded, dated at the deadline.
	s.clock.Set(eligibility.Eastern(s.cfg.year, time.January, 2, 9, 0))
	return s.parallel(ctx, len(s.vgs), func(i int) error {
		res, err := s.svc.FinalizeVirtualGroup(ctx, s.vgMeta(i), s.vgs[i].p, s.py)
		if err != nil {
			return s.record("")(election.Receipt{}, err)
		}
		for _, mr := range res.Members {
			if mr.Status == election.MemberConfirmed {
				s.outcomes.add("virtual group opt-ins final at the deadline", 1)
			}
		}
		return nil
	})
}

// vgMeta is the metadata of virtual group i's representative.
func (s *sim) vgMeta(i int) election.Meta {
	return s.meta(election.Actor{ID: fmt.Sprintf("vg-rep-%d", i), Role: events.RolePracticeRepresentative})
}

// connectRepresentatives connects each practice's representative and
// registry, and each virtual group's representative to the virtual group
// and to its members' TINs; but one TIN of every fifth virtual group does
// not authorize it, and is refused by name.
func (s *sim) connectRepresentatives() {
	for i := range s.groups {
		g := &s.groups[i]
		for _, m := range g.members {
			s.auth.ConnectRepresentative(fmt.Sprintf("rep-%d", i), s.clinicians[m].p.TIN)
		}
		if g.registry >= 0 {
			s.auth.AuthorizeRegistry(registryName(g.registry), g.p.TIN)
		}
	}
	for i := range s.vgs {
		v := &s.vgs[i]
		rep := fmt.Sprintf("vg-rep-%d", i)
		s.auth.ConnectVirtualGroupRepresentative(rep, v.p.ID)
		for k, m := range v.members {
			if i%5 != 4 || k != 0 {
				s.auth.ConnectRepresentative(rep, s.groups[m].p.TIN)
			}
		}
	}
}

// electVirtualGroup elects (or revises) virtual group i with the given
// member practices, counting each member's outcome.
func (s *sim) electVirtualGroup(ctx context.Context, i int, members []int) error {
	e := election.VirtualGroupElection{VirtualGroup: s.vgs[i].p, ProgramYear: s.py}
	for _, m := range members {
		e.Members = append(e.Members, s.groups[m].p.TIN)
	}
	res, err := s.svc.ElectVirtualGroup(ctx, s.vgMeta(i), e)
	for _, mr := range res.Members {
		s.outcomes.add("virtual group members: "+mr.Status.String(), 1)
	}
	if err != nil {
		return s.record("")(election.Receipt{}, err)
	}
	s.outcomes.add("virtual group elections (and revisions)", 1)
	return nil
}

// reviseVirtualGroup retracts every seventh virtual group's election and
// revises every third one's, dropping its last member.
func (s *sim) reviseVirtualGroup(ctx context.Context, i int) error {
	v := &s.vgs[i]
	switch {
	case i%7 == 6:
		res, err := s.svc.RetractVirtualGroup(ctx, s.vgMeta(i), v.p, s.py)
		if err != nil {
			return s.record("")(election.Receipt{}, err)
		}
		s.outcomes.add("virtual group elections retracted before the deadline", 1)
		s.outcomes.add("virtual group members released by a retraction", len(res.Members))
		v.members = nil
	case i%3 == 0 && len(v.members) > 1:
		v.members = v.members[:len(v.members)-1]
		return s.electVirtualGroup(ctx, i, v.members)
	}
	return nil
}

func registryName(i int) string { return fmt.Sprintf("QCDR-%d", i+1) }
