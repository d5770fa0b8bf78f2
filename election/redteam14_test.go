package election_test

// Red-team tests of issue 14.7, the command-ID promise: an ID reused with
// other content is refused with ErrCommandIDReused on every store, never
// answered with the earlier receipt; the same content gets the original
// receipt; a refused command appends nothing and changes no state. Every
// pair of command kinds shares one ID sequentially, while the first one's
// claim is in flight, after the first was interrupted on either side of its
// claim, and while the first is retried.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reuseKind is a kind of command that may share its ID with another.
type reuseKind struct {
	name string
	// scene sets the scene for one command of the kind, on participants
	// numbered from n (its own), and returns the command, run with a given
	// ID, and the streams it records in.
	scene func(t *testing.T, h *et.Harness, n int) (run func(id uuid.UUID) error, streams []string)
}

var (
	py20 = events.PY(events.MIPS, 2020)
	py23 = events.PY(events.MIPS, 2023)
	py25 = events.PY(events.MIPS, 2025)
)

// withID is m with command ID id.
func withID(m election.Meta, id uuid.UUID) election.Meta { m.CommandID = id; return m }

// setupDone runs a setup command of a scene with an ID of its own.
func setupDone(t *testing.T, err error) {
	t.Helper()
	require.NoError(t, err, "setting the scene")
}

// batchOK turns a batch's entry results into the command's error: every
// entry must end with status want.
func batchOK(want election.EntryStatus) func(election.BatchResult, error) error {
	return func(res election.BatchResult, err error) error {
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			if e.Status != want {
				return fmt.Errorf("entry %d: %v (%v)", e.Index, e.Status, e.Err)
			}
		}
		return nil
	}
}

// vgOK turns a virtual group command's member results into its error.
func vgOK(want election.MemberStatus) func(election.VirtualGroupResult, error) error {
	return func(res election.VirtualGroupResult, err error) error {
		if err != nil {
			return err
		}
		for _, m := range res.Members {
			if m.Status != want {
				return fmt.Errorf("member %v: %v (%v)", m.TIN, m.Status, m.Err)
			}
		}
		return nil
	}
}

// at runs f with the harness clock at t, then sets it back.
func at(h *et.Harness, t time.Time, f func()) {
	back := h.Clock.Now()
	h.Clock.Set(t)
	defer h.Clock.Set(back)
	f()
}

// electKinds are the commands taken in the PY2024 election window (Feb
// 2025): an opt-in election's three commands, a Partial QP election's (a
// clinician's and an APM Entity's), a registry batch's three, and a PY2025
// virtual group's finalization.
func electKinds() []reuseKind {
	request := func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
		p := et.Group(n)
		h.Determine(et.OptInEligible(p, py24))
		m := h.Rep(p.TIN)
		return func(id uuid.UUID) error { _, err := h.Service.Request(bg, withID(m, id), py24, p, optIn); return err },
			[]string{h.Names.Election(py24, p)}
	}
	pending := func(t *testing.T, h *et.Harness, n int) (events.Participant, election.Meta) {
		p := et.Group(n)
		h.Determine(et.OptInEligible(p, py24))
		m := h.Rep(p.TIN)
		_, err := h.Service.Request(bg, m, py24, p, voluntary)
		setupDone(t, err)
		return p, m
	}
	pqpClinician := func(t *testing.T, h *et.Harness, n int) (events.Participant, election.Meta) {
		c := et.Clinician(n, 1)
		h.Determine(et.Determination(c, py24, events.StatusPartialQP, individually()))
		h.Auth.RegisterClinician(fmt.Sprintf("dr-%d", n), c)
		return c, h.Meta(election.Actor{ID: fmt.Sprintf("dr-%d", n), Role: events.RoleClinician})
	}
	upload := func(t *testing.T, h *et.Harness, n int, submit bool) (election.Batch, election.Meta, []string) {
		a := et.Group(n)
		h.Determine(et.OptInEligible(a, py24))
		org := fmt.Sprintf("QCDR-%d", n)
		reg := h.RegistryActor(org, a.TIN)
		b := election.Batch{ID: fmt.Sprintf("up-%d", n), ProgramYear: py24, Entries: []election.BatchEntry{{Participant: a, Choice: events.ChoiceOptIn}}}
		if submit {
			setupDone(t, batchOK(election.EntrySelected)(h.Service.SubmitBatch(bg, h.RegistryActor(org), b)))
		}
		return b, reg, []string{h.Names.Election(py24, a)}
	}
	return []reuseKind{
		{"request", request},
		{"confirm", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			p, m := pending(t, h, n)
			return func(id uuid.UUID) error {
					_, err := h.Service.Confirm(bg, withID(m, id), py24, p, "CONFIRM")
					return err
				},
				[]string{h.Names.Election(py24, p)}
		}},
		{"withdraw", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			p, m := pending(t, h, n)
			return func(id uuid.UUID) error {
					_, err := h.Service.Withdraw(bg, withID(m, id), py24, p, "changed my mind")
					return err
				},
				[]string{h.Names.Election(py24, p)}
		}},
		{"partial QP request", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			c, m := pqpClinician(t, h, n)
			return func(id uuid.UUID) error {
					_, err := h.Service.ExecutePartialQP(bg, withID(m, id), py24, c, pqpReq)
					return err
				},
				[]string{h.Names.PartialQPElection(py24, c)}
		}},
		{"partial QP confirm", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			c, m := pqpClinician(t, h, n)
			_, err := h.Service.ExecutePartialQP(bg, m, py24, c, pqpReq)
			setupDone(t, err)
			return func(id uuid.UUID) error {
					_, err := h.Service.ExecutePartialQP(bg, withID(m, id), py24, c, election.Confirm{Phrase: "CONFIRM"})
					return err
				},
				[]string{h.Names.PartialQPElection(py24, c)}
		}},
		{"APM Entity partial QP request", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			apm, err := events.NewAPMEntity(fmt.Sprintf("APM-%d", n))
			require.NoError(t, err)
			rep := fmt.Sprintf("apm-rep-%d", n)
			h.Auth.ConnectAPMEntityRepresentative(rep, apm.ID)
			m := h.Meta(election.Actor{ID: rep, Role: events.RolePracticeRepresentative})
			return func(id uuid.UUID) error {
					_, err := h.Service.ExecutePartialQP(bg, withID(m, id), py24, apm, pqpReq)
					return err
				},
				[]string{h.Names.PartialQPElection(py24, apm)}
		}},
		{"batch submit", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			b, reg, streams := upload(t, h, n, false)
			return func(id uuid.UUID) error {
				return batchOK(election.EntrySelected)(h.Service.SubmitBatch(bg, withID(reg, id), b))
			}, streams
		}},
		{"batch confirm", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			b, reg, streams := upload(t, h, n, true)
			return func(id uuid.UUID) error {
				return batchOK(election.EntryConfirmed)(h.Service.ConfirmBatch(bg, withID(reg, id), b, "CONFIRM"))
			}, streams
		}},
		{"batch cancel", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			b, reg, streams := upload(t, h, n, true)
			return func(id uuid.UUID) error {
				return batchOK(election.EntryWithdrawn)(h.Service.CancelBatch(bg, withID(reg, id), b))
			}, append(streams, h.Names.Upload(py24, reg.Actor.Organization, b.ID))
		}},
		{"virtual group finalize", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			vg, m, member := electedVirtualGroup(t, h, n, py25, time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC))
			return func(id uuid.UUID) error {
				return vgOK(election.MemberConfirmed)(h.Service.FinalizeVirtualGroup(bg, withID(m(), id), vg, py25))
			}, []string{h.Names.Election(py25, member)}
		}},
	}
}

// electedVirtualGroup elects, at when (in py's virtual group window), a
// virtual group of one member numbered n, and returns the virtual group, a
// maker of its representative's Meta and the member.
func electedVirtualGroup(t *testing.T, h *et.Harness, n int, py events.ProgramYear, when time.Time) (events.Participant, func() election.Meta, events.Participant) {
	member := et.Group(n)
	h.Determine(et.OptInEligible(member, py))
	vg, err := events.NewVirtualGroup(fmt.Sprintf("VG-%d", n))
	require.NoError(t, err)
	rep := fmt.Sprintf("vg-rep-%d", n)
	h.Auth.ConnectVirtualGroupRepresentative(rep, vg.ID)
	h.Auth.ConnectRepresentative(rep, member.TIN)
	m := func() election.Meta { return h.Meta(election.Actor{ID: rep, Role: events.RolePracticeRepresentative}) }
	at(h, when, func() {
		setupDone(t, vgOK(election.MemberOptedIn)(h.Service.ElectVirtualGroup(bg, m(), election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py,
			Members: []events.TIN{member.TIN}})))
	})
	return vg, m, member
}

// decemberKinds are the commands taken on Dec 10 2024: a PY2025 virtual
// group's election and retraction, a PY2024 virtual group's finalization,
// and a PY2023 voluntary reporter's public-reporting opt-out.
func decemberKinds() []reuseKind {
	return []reuseKind{
		{"virtual group elect", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			member := et.Group(n)
			h.Determine(et.OptInEligible(member, py25))
			vg, err := events.NewVirtualGroup(fmt.Sprintf("VG-%d", n))
			require.NoError(t, err)
			rep := fmt.Sprintf("vg-rep-%d", n)
			h.Auth.ConnectVirtualGroupRepresentative(rep, vg.ID)
			h.Auth.ConnectRepresentative(rep, member.TIN)
			return func(id uuid.UUID) error {
					m := withID(h.Meta(election.Actor{ID: rep, Role: events.RolePracticeRepresentative}), id)
					return vgOK(election.MemberOptedIn)(h.Service.ElectVirtualGroup(bg, m, election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25,
						Members: []events.TIN{member.TIN}}))
				}, []string{h.Names.VirtualGroup(py25, vg), h.Names.VirtualGroupMember(py25, member.TIN),
					h.Names.Election(py25, member)}
		}},
		{"virtual group retract", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			vg, m, member := electedVirtualGroup(t, h, n, py25, h.Clock.Now())
			return func(id uuid.UUID) error {
					return vgOK(election.MemberDropped)(h.Service.RetractVirtualGroup(bg, withID(m(), id), vg, py25))
				}, []string{h.Names.VirtualGroup(py25, vg), h.Names.VirtualGroupMember(py25, member.TIN),
					h.Names.Election(py25, member)}
		}},
		{"virtual group finalize", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			vg, m, member := electedVirtualGroup(t, h, n, py24, time.Date(2023, 12, 11, 15, 0, 0, 0, time.UTC))
			return func(id uuid.UUID) error {
				return vgOK(election.MemberConfirmed)(h.Service.FinalizeVirtualGroup(bg, withID(m(), id), vg, py24))
			}, []string{h.Names.Election(py24, member)}
		}},
		{"public-reporting opt-out", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			p := et.Group(n)
			h.Determine(et.OptInEligible(p, py23))
			at(h, eligibility.Eastern(2024, time.February, 5, 10, 0), func() {
				m := h.Rep(p.TIN)
				_, err := h.Service.Request(bg, m, py23, p, voluntary)
				setupDone(t, err)
				_, err = h.Service.Confirm(bg, withID(m, h.IDs.New()), py23, p, "CONFIRM")
				setupDone(t, err)
			})
			return func(id uuid.UUID) error {
				_, err := h.Service.OptOutOfPublicReporting(bg, withID(h.Rep(p.TIN), id), py23, p)
				return err
			}, []string{h.Names.Reporting(py23, p)}
		}},
	}
}

// apmKinds are the commands taken in the PY2020 election window (Feb
// 2021), when APM Entities opted in: an entity's request and confirmation,
// a practice's request, and a registry's upload.
func apmKinds() []reuseKind {
	entity := func(t *testing.T, h *et.Harness, n int) (events.Participant, election.Meta) {
		apm, err := events.NewAPMEntity(fmt.Sprintf("APM-%d", n))
		require.NoError(t, err)
		d := et.OptInEligible(apm, py20)
		d.Exceeded = events.CriterionCharges
		h.Determine(d)
		rep := fmt.Sprintf("apm-rep-%d", n)
		h.Auth.ConnectAPMEntityRepresentative(rep, apm.ID)
		return apm, h.Meta(election.Actor{ID: rep, Role: events.RolePracticeRepresentative})
	}
	return []reuseKind{
		{"APM Entity opt-in request", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			apm, m := entity(t, h, n)
			return func(id uuid.UUID) error { _, err := h.Service.Request(bg, withID(m, id), py20, apm, optIn); return err },
				[]string{h.Names.Election(py20, apm)}
		}},
		{"APM Entity opt-in confirm", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			apm, m := entity(t, h, n)
			_, err := h.Service.Request(bg, m, py20, apm, optIn)
			setupDone(t, err)
			return func(id uuid.UUID) error {
					_, err := h.Service.Confirm(bg, withID(m, id), py20, apm, "CONFIRM")
					return err
				},
				[]string{h.Names.Election(py20, apm)}
		}},
		{"request", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			p := et.Group(n)
			h.Determine(et.OptInEligible(p, py20))
			m := h.Rep(p.TIN)
			return func(id uuid.UUID) error { _, err := h.Service.Request(bg, withID(m, id), py20, p, optIn); return err },
				[]string{h.Names.Election(py20, p)}
		}},
		{"batch submit", func(t *testing.T, h *et.Harness, n int) (func(uuid.UUID) error, []string) {
			a := et.Group(n)
			h.Determine(et.OptInEligible(a, py20))
			reg := h.RegistryActor(fmt.Sprintf("QCDR-%d", n), a.TIN)
			b := election.Batch{ID: fmt.Sprintf("up-%d", n), ProgramYear: py20, Entries: []election.BatchEntry{{Participant: a, Choice: events.ChoiceOptIn}}}
			return func(id uuid.UUID) error {
				return batchOK(election.EntrySelected)(h.Service.SubmitBatch(bg, withID(reg, id), b))
			}, []string{h.Names.Election(py20, a)}
		}},
	}
}

// reuseEpoch is the kinds of command taken at one instant; reps names a
// single command and a compound one among them (see
// TestRed14CommandIDReusedAcrossKinds).
type reuseEpoch struct {
	name  string
	now   time.Time
	kinds []reuseKind
	reps  []string
}

// reuseEpochs are the kinds grouped by the instant they are taken at.
func reuseEpochs() []reuseEpoch {
	return []reuseEpoch{
		{"Feb 2025", eligibility.Eastern(2025, time.February, 3, 10, 0), electKinds(), []string{"request", "batch submit"}},
		{"Dec 2024", time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC), decemberKinds(), []string{"public-reporting opt-out", "virtual group elect"}},
		{"Feb 2021", eligibility.Eastern(2021, time.February, 3, 10, 0), apmKinds(), []string{"request", "batch submit"}},
	}
}

// reuseScenario is one way two commands come to share an ID: first and
// second run the two (first's streams and second's given for the checks).
type reuseScenario struct {
	name string
	// concurrent: the scenario turns on the store's behaviour under
	// concurrency or failure (see TestRed14CommandIDReusedAcrossKinds).
	concurrent bool
	run        func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (firstErr, secondErr error)
}

// reuseScenarios: the second command comes after the first; while the
// first's claim is in flight; after a store failure interrupted the first
// on either side of its claim (the first retried after the second); and
// while the first is retried.
func reuseScenarios(names *events.StreamNamer) []reuseScenario {
	return []reuseScenario{
		{"sequential, the first retried after the second", false, func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (error, error) {
			ferr := first(id)
			n := logLenOf(t, hs)
			serr := second(id)
			if errors.Is(serr, election.ErrCommandIDReused) {
				assert.Equal(t, n, logLenOf(t, hs), "the refused second command appends nothing at all")
			}
			return errors.Join(ferr, first(id)), serr
		}},
		{"while the first's claim is in flight", true, func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (error, error) {
			reached, release := holdFirstAppend(hs, names.Command(id))
			var ferr error
			done := make(chan struct{})
			go func() { defer close(done); ferr = first(id) }()
			select {
			case <-reached:
			case <-done:
			}
			serr := second(id)
			release()
			<-done
			return ferr, serr
		}},
		{"the first interrupted at its claim", true, func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (error, error) {
			failFirstAppend(hs, func(stream string) bool { return stream == names.Command(id) })
			_ = first(id)
			hs.hook = nil
			serr := second(id)
			return first(id), serr
		}},
		{"the first interrupted at its claim and retried, then the second", false, func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (error, error) {
			failFirstAppend(hs, func(stream string) bool { return stream == names.Command(id) })
			_ = first(id)
			hs.hook = nil
			ferr := first(id)
			return ferr, second(id)
		}},
		{"the first interrupted at its events", false, func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (error, error) {
			failFirstAppend(hs, func(stream string) bool { return stream != names.Command(id) })
			_ = first(id)
			hs.hook = nil
			serr := second(id)
			return first(id), serr
		}},
		{"while the first is retried", true, func(t *testing.T, hs *hookStore, id uuid.UUID, first, second func(uuid.UUID) error) (error, error) {
			errs := make([]error, 3)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, run := range []func(uuid.UUID) error{first, first, second} {
				wg.Go(func() { <-start; errs[i] = run(id) })
			}
			close(start)
			wg.Wait()
			if (errs[0] == nil) != (errs[1] == nil) {
				t.Errorf("the first and its retry disagree: %v / %v", errs[0], errs[1])
			}
			return errors.Join(errs[0], errs[1]), errs[2]
		}},
	}
}

// logLenOf counts the records of the log of s.
func logLenOf(t *testing.T, s events.Store) int {
	t.Helper()
	n := 0
	for _, err := range s.ReadAll(bg, 0) {
		require.NoError(t, err)
		n++
	}
	return n
}

// holdFirstAppend holds the first append to stream until release is called
// (or five seconds pass); reached is closed when it arrives.
func holdFirstAppend(hs *hookStore, stream string) (reached <-chan struct{}, release func()) {
	r, rel := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	hs.hook = func(_ context.Context, s string) error {
		if s == stream && once.CompareAndSwap(false, true) {
			close(r)
			select {
			case <-rel:
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	}
	return r, sync.OnceFunc(func() { close(rel) })
}

// failFirstAppend fails the first append to a stream match accepts.
func failFirstAppend(hs *hookStore, match func(stream string) bool) {
	var once atomic.Bool
	hs.hook = func(_ context.Context, s string) error {
		if match(s) && once.CompareAndSwap(false, true) {
			return errDisk
		}
		return nil
	}
}

// TestRed14CommandIDReusedAcrossKinds: two commands share one command ID,
// in every scenario (reuseScenarios), on every store. Exactly one of the
// two is refused, with ErrCommandIDReused, and the refused one's streams
// hold nothing more than before the scenario (not even events recorded by
// an interrupted first attempt); the other goes through. On the memory
// stores, which play both scopes of event IDs (unique across the log, and
// per stream as EventStoreDB's), every pair of kinds taken at one instant
// (a kind with itself: another participant) meets in every scenario. On
// the file store, EventStoreDB and PostgreSQL, which the race detector
// makes slow, every kind meets a single command and a compound one (the
// epoch's reps), both ways round, in the scenarios that turn on the store's
// behaviour under concurrency and failure.
func TestRed14CommandIDReusedAcrossKinds(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			h, hs := storeHarness(t, open)
			every := strings.HasPrefix(name, "memory")
			n := 1000
			for _, ep := range reuseEpochs() {
				h.Clock.Set(ep.now)
				for _, sc := range reuseScenarios(h.Names) {
					for _, a := range ep.kinds {
						for _, b := range ep.kinds {
							if !every && (!sc.concurrent || !slices.Contains(ep.reps, a.name) && !slices.Contains(ep.reps, b.name)) {
								continue
							}
							n += 10
							what := fmt.Sprintf("%s: %s, then %s: %s", ep.name, a.name, b.name, sc.name)
							first, fs := a.scene(t, h, n)
							second, ss := b.scene(t, h, n+5)
							checkReuse(t, h, what, fs, ss, func() (error, error) { return sc.run(t, hs, h.IDs.New(), first, second) })
						}
					}
				}
			}
		})
	}
}

// storeHarness opens a harness over open's store (a memstore for nil),
// its appends going through the returned hookStore.
func storeHarness(t *testing.T, open func(*testing.T) events.Store) (*et.Harness, *hookStore) {
	clock := et.NewClock(eligibility.Eastern(2025, time.February, 3, 10, 0))
	var inner events.Store = memstore.New(memstore.WithClock(clock.Now))
	if open != nil {
		inner = open(t)
	}
	hs := &hookStore{Store: inner}
	return et.New(t, et.WithStore(hs)), hs
}

// checkReuse runs two commands sharing an ID (run) and checks that exactly
// one is refused with ErrCommandIDReused, recording nothing in its streams,
// and the other records in its own.
func checkReuse(t *testing.T, h *et.Harness, what string, firstStreams, secondStreams []string, run func() (error, error)) {
	t.Helper()
	count := func(streams []string) []int {
		var out []int
		for _, s := range streams {
			out = append(out, streamLen(t, h, s))
		}
		return out
	}
	before := [][]int{count(firstStreams), count(secondStreams)}
	ferr, serr := run()
	after := [][]int{count(firstStreams), count(secondStreams)}
	refused := 0
	for i, err := range []error{ferr, serr} {
		if errors.Is(err, election.ErrCommandIDReused) {
			refused++
			assert.Equal(t, before[i], after[i], "%s: the refused command %d recorded nothing", what, i)
			continue
		}
		if !assert.NoError(t, err, "%s: command %d", what, i) {
			continue
		}
		for k := range before[i] {
			assert.Greater(t, after[i][k], before[i][k], "%s: command %d recorded in its stream %d", what, i, k)
		}
	}
	assert.Equal(t, 1, refused, "%s: exactly one of the two is refused with ErrCommandIDReused (%v / %v)", what, ferr, serr)
}

// TestRed14ReuseOnTheSameElection: a request and another request for the
// same participant (another choice; another pathway) share one ID, while
// the first's claim is in flight, after the first was interrupted at its
// claim and then retried, and with the first retried at once, on every
// store: exactly one is recorded and the other refused with
// ErrCommandIDReused, never answered with the first's receipt.
func TestRed14ReuseOnTheSameElection(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			h, hs := storeHarness(t, open)
			n := 2000
			for _, sc := range reuseScenarios(h.Names) {
				for _, other := range []election.Request{voluntary, {Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP}} {
					n++
					p := et.Group(n)
					h.Determine(et.OptInEligible(p, py24, et.MIPSAPM()))
					m := h.Rep(p.TIN)
					with := func(r election.Request) func(uuid.UUID) error {
						return func(id uuid.UUID) error { _, err := h.Service.Request(bg, withID(m, id), py24, p, r); return err }
					}
					stream := h.Names.Election(py24, p)
					what := fmt.Sprintf("%s, then %s/%s: %s", optIn.Choice, other.Choice, other.Pathway, sc.name)
					checkSameElection(t, h, what, stream, func() (error, error) { return sc.run(t, hs, h.IDs.New(), with(optIn), with(other)) })
				}
			}
		})
	}
}

// checkSameElection runs two requests for one election sharing an ID
// (run) and checks that exactly one is refused with ErrCommandIDReused and
// the stream holds one request more than before.
func checkSameElection(t *testing.T, h *et.Harness, what, stream string, run func() (error, error)) {
	t.Helper()
	before := streamLen(t, h, stream)
	ferr, serr := run()
	refused := 0
	for i, err := range []error{ferr, serr} {
		if errors.Is(err, election.ErrCommandIDReused) {
			refused++
		} else {
			assert.NoError(t, err, "%s: command %d", what, i)
		}
	}
	assert.Equal(t, 1, refused, "%s: exactly one of the two is refused with ErrCommandIDReused (%v / %v)", what, ferr, serr)
	assert.Equal(t, before+1, streamLen(t, h, stream), "%s: one request recorded", what)
}

// TestRed14RetryGetsTheOriginalReceipt: every kind of command, run again
// with its ID once it went through, on every store, goes through again
// and appends nothing.
func TestRed14RetryGetsTheOriginalReceipt(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			h, _ := storeHarness(t, open)
			n := 3000
			for _, ep := range reuseEpochs() {
				h.Clock.Set(ep.now)
				for _, k := range ep.kinds {
					n += 10
					run, _ := k.scene(t, h, n)
					id := h.IDs.New()
					require.NoError(t, run(id), "%s: %s", ep.name, k.name)
					before := logLen(t, h)
					assert.NoError(t, run(id), "%s: %s retried", ep.name, k.name)
					assert.Equal(t, before, logLen(t, h), "%s: %s retried appends nothing", ep.name, k.name)
				}
			}
		})
	}
}

// lateRetryScene is a PY2025 virtual group, three opt-in eligible TINs its
// representative is authorized for, on Dec 10 2024: elect elects or
// revises it, pendingThrough names the virtual group a TIN's opt-in is
// pending through.
type lateRetryScene struct {
	h              *et.Harness
	vg             events.Participant
	a, b, c        events.Participant
	meta           func() election.Meta
	elect          func(m election.Meta, tins ...events.TIN) (election.VirtualGroupResult, error)
	pendingThrough func(p events.Participant) string
}

func newLateRetryScene(t *testing.T, open func(*testing.T) events.Store) *lateRetryScene {
	h, _ := storeHarness(t, open)
	h.Clock.Set(time.Date(2024, 12, 10, 15, 0, 0, 0, time.UTC))
	vg, err := events.NewVirtualGroup("VG-LATE")
	require.NoError(t, err)
	sc := &lateRetryScene{h: h, vg: vg, a: et.Group(4001), b: et.Group(4002), c: et.Group(4003)}
	h.Auth.ConnectVirtualGroupRepresentative("vg-rep", vg.ID)
	for _, p := range []events.Participant{sc.a, sc.b, sc.c} {
		h.Determine(et.OptInEligible(p, py25))
		h.Auth.ConnectRepresentative("vg-rep", p.TIN)
	}
	sc.meta = func() election.Meta {
		return h.Meta(election.Actor{ID: "vg-rep", Role: events.RolePracticeRepresentative})
	}
	sc.elect = func(m election.Meta, tins ...events.TIN) (election.VirtualGroupResult, error) {
		return h.Service.ElectVirtualGroup(bg, m, election.VirtualGroupElection{VirtualGroup: vg, ProgramYear: py25, Members: tins})
	}
	sc.pendingThrough = func(p events.Participant) string {
		st, err := h.Service.State(bg, py25, p)
		require.NoError(t, err)
		return st.Pending.VirtualGroupID
	}
	return sc
}

// TestRed14LateRetryOfARetraction: a virtual group's retraction retried
// with its ID a minute after it went through, then again after the virtual group
// elected again (a lost answer, a client's retry queue), on every store:
// each retry goes through as the original did (not refused as "no election
// to retract"), appends nothing and changes nothing: it does not retract
// the later election.
func TestRed14LateRetryOfARetraction(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			sc := newLateRetryScene(t, open)
			h := sc.h
			_, err := sc.elect(sc.meta(), sc.a.TIN)
			require.NoError(t, err)
			retract := sc.meta()
			first, err := h.Service.RetractVirtualGroup(bg, retract, sc.vg, py25)
			require.NoError(t, err)
			h.Clock.Advance(time.Minute)
			n := logLen(t, h)
			again, err := h.Service.RetractVirtualGroup(bg, retract, sc.vg, py25)
			if assert.NoError(t, err, "the retraction retried at once") {
				assert.Equal(t, first.Membership.Hash, again.Membership.Hash, "the original receipt")
				assert.True(t, again.Membership.Replayed)
			}
			assert.Equal(t, n, logLen(t, h), "a retry appends nothing")

			_, err = sc.elect(sc.meta(), sc.b.TIN)
			require.NoError(t, err)
			h.Clock.Advance(time.Hour)
			n = logLen(t, h)
			_, err = h.Service.RetractVirtualGroup(bg, retract, sc.vg, py25)
			assert.NoError(t, err, "the retraction retried after the virtual group elected again")
			assert.Equal(t, n, logLen(t, h), "a late retry of the retraction appends nothing")
			assert.Equal(t, sc.vg.ID, sc.pendingThrough(sc.b), "a retry of the retraction does not retract the later election")
		})
	}
}

// TestRed14LateRetryOfAnElection: a virtual group's election (a and b)
// retried with its ID after a revision (a and c) replaced it, an hour
// later, on every store: the retry goes through as the original did (not
// "gave up admitting after 8 conflicting attempts"), appends nothing and
// changes nothing: b stays dropped and c stays in.
func TestRed14LateRetryOfAnElection(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			sc := newLateRetryScene(t, open)
			h := sc.h
			first := sc.meta()
			_, err := sc.elect(first, sc.a.TIN, sc.b.TIN)
			require.NoError(t, err)
			_, err = sc.elect(sc.meta(), sc.a.TIN, sc.c.TIN)
			require.NoError(t, err)
			h.Clock.Advance(time.Hour)
			n := logLen(t, h)
			_, err = sc.elect(first, sc.a.TIN, sc.b.TIN)
			assert.NoError(t, err, "a retry of the first election")
			assert.Equal(t, n, logLen(t, h), "a late retry of the first election appends nothing")
			assert.Equal(t, "", sc.pendingThrough(sc.b), "the revision dropped b; a retry of the first election does not add it back")
			assert.Equal(t, sc.vg.ID, sc.pendingThrough(sc.c), "the revision added c; a retry of the first election does not drop it")
		})
	}
}

// TestRed14DerivedIDsAreTaken: a batch entry's command ID (derived from the
// upload's, and readable in its record's metadata) used for a command of
// one's own, on every store: for a request of the same participant with
// other content (it was answered with the entry's receipt on every store
// until commands held under an unclaimed ID were compared with their
// record), for another participant's request, and for an upload of one's
// own; each is refused with ErrCommandIDReused and appends nothing. On a
// store whose event IDs are unique per stream only the last two are not
// refused (skipped, red-team): a part binds its ID through its parent's
// claim only, and there nothing else marks it as used.
func TestRed14DerivedIDsAreTaken(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			h, _ := storeHarness(t, open)
			n, q, r := 5000, et.Group(5901), et.Group(5902)
			h.Determine(et.OptInEligible(q, py24), et.OptInEligible(r, py24))
			for _, c := range []struct {
				what        string
				crossStream bool
				use         func(id uuid.UUID, p events.Participant) error
			}{
				{"the same participant, other content", false, func(id uuid.UUID, p events.Participant) error {
					_, err := h.Service.Request(bg, withID(h.Rep(p.TIN), id), py24, p, voluntary)
					return err
				}},
				{"another participant", true, func(id uuid.UUID, _ events.Participant) error {
					_, err := h.Service.Request(bg, withID(h.Rep(q.TIN), id), py24, q, optIn)
					return err
				}},
				{"an upload of one's own", true, func(id uuid.UUID, _ events.Participant) error {
					mine := election.Batch{ID: "up-mine", ProgramYear: py24, Entries: []election.BatchEntry{{Participant: r, Choice: events.ChoiceOptIn}}}
					return batchOK(election.EntrySelected)(h.Service.SubmitBatch(bg, withID(h.RegistryActor("QCDR-MINE", r.TIN), id), mine))
				}},
			} {
				t.Run(c.what, func(t *testing.T) {
					// The known limit (docs/decisions.md): a part's ID is bound
					// through its parent's claim only, so where event IDs are
					// unique per stream (EventStoreDB; memory only plays it, its
					// IDs still unique across the log) a use for another stream
					// goes through.
					limit := c.crossStream && name == "eventstoredb"
					n += 10
					p := et.Group(n)
					h.Determine(et.OptInEligible(p, py24))
					batch := election.Batch{ID: fmt.Sprintf("up-%d", n), ProgramYear: py24, Entries: []election.BatchEntry{{Participant: p, Choice: events.ChoiceOptIn}}}
					require.NoError(t, batchOK(election.EntrySelected)(h.Service.SubmitBatch(bg, h.RegistryActor(fmt.Sprintf("QCDR-%d", n), p.TIN), batch)))
					recs := h.Stream(py24, p)
					require.Len(t, recs, 1)
					before := logLen(t, h)
					err := c.use(recs[0].Metadata.CommandID, p)
					if limit {
						assert.NoError(t, err, "the documented limit changed: update docs/decisions.md")
						return
					}
					assert.ErrorIs(t, err, election.ErrCommandIDReused)
					if events.EventIDsPerStream(h.Store) {
						// Claims first: refused by the store after its claim,
						// the command leaves that (docs/decisions.md).
						assert.LessOrEqual(t, logLen(t, h), before+1, "the refused command appends at most its claim")
						return
					}
					assert.Equal(t, before, logLen(t, h), "the refused command appends nothing")
				})
			}
		})
	}
}

// TestRed14ReuseThroughAnotherService: a request through one Service, its
// claim held in flight, and another request with its ID for the same
// election through a second Service (another process) whose cached state
// predates the first, on every store: the second is refused with
// ErrCommandIDReused and appends nothing; the first goes through.
func TestRed14ReuseThroughAnotherService(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			h, hs := storeHarness(t, open)
			other, err := election.NewService(election.Config{Store: h.Store, Names: h.Names, Authorizer: h.Auth,
				Registry: h.Registry, Table: h.Table, Clock: h.Clock.Now})
			require.NoError(t, err)
			p := et.Group(6001)
			h.Determine(et.OptInEligible(p, py24))
			m := h.Rep(p.TIN)
			// The second Service caches the election as it stands: withdrawn.
			_, err = other.Request(bg, withID(m, h.IDs.New()), py24, p, optIn)
			require.NoError(t, err)
			_, err = other.Withdraw(bg, withID(m, h.IDs.New()), py24, p, "start over")
			require.NoError(t, err)
			stream := h.Names.Election(py24, p)
			checkSameElection(t, h, "through another Service", stream, func() (error, error) {
				id := h.IDs.New()
				reached, release := holdFirstAppend(hs, h.Names.Command(id))
				var ferr error
				done := make(chan struct{})
				go func() { defer close(done); _, ferr = h.Service.Request(bg, withID(m, id), py24, p, optIn) }()
				select {
				case <-reached:
				case <-done:
				}
				n := logLen(t, h)
				_, serr := other.Request(bg, withID(m, id), py24, p, voluntary)
				if errors.Is(serr, election.ErrCommandIDReused) {
					assert.Equal(t, n, logLen(t, h), "the refused request appends nothing")
				}
				release()
				<-done
				return ferr, serr
			})
		})
	}
}

// TestRed14ReuseWhileTheFirstRetriesAConflict: a request's first append
// loses a race (ErrWrongExpectedRevision), and before its retry another
// command of each kind takes its ID, on every store: exactly one of the two
// goes through and the other is refused with ErrCommandIDReused (typed, not
// "gave up after N conflicting attempts"), recording nothing. (Where claims
// come first, the request's claim was recorded before its append lost the
// race, and the other command is refused; elsewhere the other command
// goes through and the request's retry is refused.)
func TestRed14ReuseWhileTheFirstRetriesAConflict(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			h, hs := storeHarness(t, open)
			n := 7000
			for _, k := range electKinds() {
				n += 10
				p := et.Group(n)
				h.Determine(et.OptInEligible(p, py24))
				m := h.Rep(p.TIN)
				other, streams := k.scene(t, h, n+5)
				stream := h.Names.Election(py24, p)
				checkReuse(t, h, k.name+" during the request's conflict", []string{stream}, streams, func() (error, error) {
					id := h.IDs.New()
					var once atomic.Bool
					var oerr error
					hs.hook = func(_ context.Context, s string) error {
						if s != stream || !once.CompareAndSwap(false, true) {
							return nil
						}
						oerr = other(id)
						return fmt.Errorf("another writer got there first: %w", events.ErrWrongExpectedRevision)
					}
					defer func() { hs.hook = nil }()
					_, err := h.Service.Request(bg, withID(m, id), py24, p, optIn)
					return err, oerr
				})
			}
		})
	}
}
