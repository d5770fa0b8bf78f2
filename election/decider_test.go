package election_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	py24     = events.PY(events.MIPS, 2024)
	practice = et.Group(456789)
	doc      = et.Clinician(456789, 1)
	inWindow = time.Date(2025, 2, 3, 15, 0, 0, 0, time.UTC)
)

func optInCtx(t *testing.T, p events.Participant, opts ...et.DeterminationOption) election.Context {
	d := et.OptInEligible(p, py24, opts...)
	return et.Context(t, p, py24, inWindow, &d)
}

func requested(p events.Participant, c events.Choice, pw events.Pathway) events.ElectionRequested {
	return events.ElectionRequested{Participant: p, ProgramYear: py24, Choice: c, Pathway: pw, RequestedAt: inWindow}
}

var (
	optIn     = election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional}
	voluntary = election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional}
)

func TestRequestConfirmWithdraw(t *testing.T) {
	ctx := optInCtx(t, practice)
	et.Given(t, ctx).When(optIn).Then(requested(practice, events.ChoiceOptIn, events.PathwayTraditional))
	et.Given(t, ctx).When(voluntary).Then(requested(practice, events.ChoiceVoluntary, events.PathwayTraditional))

	req := requested(practice, events.ChoiceVoluntary, events.PathwayTraditional)
	et.Given(t, ctx, req).When(election.Confirm{Phrase: "CONFIRM"}).Then(events.ElectionConfirmed{
		Participant: practice, ProgramYear: py24, Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional,
		ConfirmedAt: inWindow, RequestRevision: 0})
	et.Given(t, ctx, req).When(election.Withdraw{Reason: "went back"}).Then(events.ElectionRequestWithdrawn{
		Participant: practice, ProgramYear: py24, WithdrawnAt: inWindow, Reason: "went back"})

	// After a withdrawal the participant may request again; the new
	// confirmation names the new request's revision.
	withdrawn := events.ElectionRequestWithdrawn{Participant: practice, ProgramYear: py24, WithdrawnAt: inWindow}
	again := requested(practice, events.ChoiceOptIn, events.PathwayTraditional)
	et.Given(t, ctx, req, withdrawn).When(optIn).Then(again)
	et.Given(t, ctx, req, withdrawn, again).When(election.Confirm{Phrase: "CONFIRM"}).Then(events.ElectionConfirmed{
		Participant: practice, ProgramYear: py24, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
		ConfirmedAt: inWindow, RequestRevision: 2})

	// APP opt-in for a MIPS APM participant.
	app := optInCtx(t, doc, et.MIPSAPM())
	et.Given(t, app).When(election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP}).
		Then(requested(doc, events.ChoiceOptIn, events.PathwayAPP))
}

// TestNotOptInEligible: exempt, required, excluded, undetermined and APM
// Entities are refused, each naming the participant masked and a remedy.
func TestNotOptInEligible(t *testing.T) {
	apm, err := events.NewAPMEntity("A1234")
	require.NoError(t, err)
	for name, st := range map[string]events.EligibilityStatus{
		"exempt": events.StatusExempt, "required": events.StatusRequired, "excluded": events.StatusExcluded,
	} {
		d := et.Determination(doc, py24, st)
		r := et.Given(t, et.Context(t, doc, py24, inWindow, &d)).When(optIn).ThenRefused(election.ErrNotOptInEligible)
		assert.Contains(t, r.Error(), "*****6789", name)
		assert.NotContains(t, r.Error(), "000456789", name)
		assert.NotEmpty(t, r.Remedy, name)
		assert.Equal(t, doc, r.Participant)
	}
	et.Given(t, et.Context(t, doc, py24, inWindow, nil)).When(optIn).ThenRefused(election.ErrNotOptInEligible)
	d := et.OptInEligible(apm, py24)
	r := et.Given(t, et.Context(t, apm, py24, inWindow, &d)).When(optIn).ThenRefused(election.ErrAPMEntityOptIn)
	assert.Contains(t, r.Detail, "PY2019-2020")
}

// TestAPMEntityOptInPY2019And2020: an APM Entity group in the opt-in range
// opts in through an election made for the entity in PY2019-2020 (two
// steps, final); it cannot report voluntarily; other years refuse it with
// the rule named.
func TestAPMEntityOptInPY2019And2020(t *testing.T) {
	apm, _ := events.NewAPMEntity("APM-19")
	for _, year := range []int{2019, 2020} {
		py := events.PY(events.MIPS, year)
		r, _ := eligibility.Default().Rules(py)
		now := r.ElectionWindow.Open.Add(24 * time.Hour)
		d := et.OptInEligible(apm, py)
		d.Exceeded = events.CriterionCharges
		ctx := et.Context(t, apm, py, now, &d)
		require.Equal(t, events.StatusOptInEligible, ctx.Eligibility.Status, "PY%d", year)
		req := events.ElectionRequested{Participant: apm, ProgramYear: py, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: now.UTC()}
		et.Given(t, ctx).When(optIn).Then(req)
		et.Given(t, ctx, req).When(election.Confirm{Phrase: "CONFIRM"}).Then(events.ElectionConfirmed{Participant: apm, ProgramYear: py,
			Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, ConfirmedAt: now.UTC()})
		et.Given(t, ctx).When(election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayTraditional}).ThenRefused(election.ErrInvalidChoice)
	}
	for _, year := range []int{2021, 2024, 2026} {
		py := events.PY(events.MIPS, year)
		r, _ := eligibility.Default().Rules(py)
		d := et.OptInEligible(apm, py)
		ref := et.Given(t, et.Context(t, apm, py, r.ElectionWindow.Open.Add(time.Hour), &d)).When(optIn).ThenRefused(election.ErrAPMEntityOptIn)
		assert.Contains(t, ref.Detail, "PY2019-2020", "PY%d", year)
	}
}

// TestElectionWindow: one second before it opens and at and after the 8 pm
// Eastern close are refused; the last second before the close is not.
func TestElectionWindow(t *testing.T) {
	r, _ := eligibility.Default().Rules(py24)
	d := et.OptInEligible(practice, py24)
	at := func(now time.Time) election.Context { return et.Context(t, practice, py24, now, &d) }
	w := r.ElectionWindow
	early := et.Given(t, at(w.Open.Add(-time.Second))).When(optIn).ThenRefused(election.ErrOutsideWindow)
	assert.Contains(t, early.Detail, "opens Thu Jan 2 2025 12:00 am EST (2025-01-02T05:00:00Z)", "a request before the window names when it opens")
	assert.Contains(t, early.Remedy, "once the window opens")
	et.Given(t, at(w.Open)).When(optIn).Then(events.ElectionRequested{Participant: practice, ProgramYear: py24,
		Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: w.Open.UTC()})
	et.Given(t, at(w.Close.Add(-time.Second))).When(optIn).Then(events.ElectionRequested{Participant: practice, ProgramYear: py24,
		Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, RequestedAt: w.Close.Add(-time.Second).UTC()})
	ref := et.Given(t, at(w.Close)).When(optIn).ThenRefused(election.ErrOutsideWindow)
	assert.Contains(t, ref.Detail, "closed Mon Mar 31 2025 8:00 pm EDT")
	et.Given(t, at(w.Close.Add(time.Hour))).When(optIn).ThenRefused(election.ErrOutsideWindow)
	// A selection made in time cannot be confirmed after the close.
	et.Given(t, at(w.Close), requested(practice, events.ChoiceOptIn, events.PathwayTraditional)).
		When(election.Confirm{Phrase: "CONFIRM"}).ThenRefused(election.ErrOutsideWindow)
	// PY2018 had no opt-in at all.
	py18 := events.PY(events.MIPS, 2018)
	d18 := et.OptInEligible(practice, py18)
	et.Given(t, et.Context(t, practice, py18, time.Date(2019, 2, 1, 0, 0, 0, 0, time.UTC), &d18)).When(optIn).ThenRefused(election.ErrNoOptInThisYear)
}

func TestPathways(t *testing.T) {
	app := optInCtx(t, doc, et.MIPSAPM())
	et.Given(t, app).When(election.Request{Choice: events.ChoiceVoluntary, Pathway: events.PathwayAPP}).ThenRefused(election.ErrVoluntaryAPP)
	et.Given(t, optInCtx(t, doc)).When(election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP}).ThenRefused(election.ErrAPPUnavailable)
	et.Given(t, app).When(election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayMVP}).ThenRefused(election.ErrMVPNotForOptIn)
	et.Given(t, app).When(election.Request{Choice: events.ChoiceNoDecision, Pathway: events.PathwayTraditional}).ThenRefused(election.ErrInvalidChoice)
	et.Given(t, app).When(election.Request{Choice: events.ChoiceOptIn}).ThenRefused(election.ErrInvalidChoice)
	// The APP did not exist before PY2021.
	py20 := events.PY(events.MIPS, 2020)
	d20 := et.OptInEligible(doc, py20, et.MIPSAPM())
	et.Given(t, et.Context(t, doc, py20, time.Date(2021, 2, 1, 15, 0, 0, 0, time.UTC), &d20)).
		When(election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayAPP}).ThenRefused(election.ErrAPPUnavailable)
}

func TestQIPS(t *testing.T) {
	qips := events.PY(events.QIPS, 2021)
	now := time.Date(2020, 11, 2, 15, 0, 0, 0, time.UTC)
	reg := et.Determination(practice, qips, events.StatusOptInEligible, et.PortalRegistered())
	ctx := et.Context(t, practice, qips, now, &reg)
	office := &events.Champion{Name: "Ada Admin", Role: election.RoleAdministrator}
	clinical := &events.Champion{Name: "Dr. Bo", Role: election.RolePhysician, NPI: et.NPI(7)}
	good := election.Request{Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional, OfficeChampion: office, ClinicalChampion: clinical}
	et.Given(t, ctx).When(good).Then(events.ElectionRequested{Participant: practice, ProgramYear: qips, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, RequestedAt: now, OfficeChampion: office, ClinicalChampion: clinical})

	vol := good
	vol.Choice = events.ChoiceVoluntary
	et.Given(t, ctx).When(vol).ThenRefused(election.ErrNoVoluntaryChoice)

	for name, mutate := range map[string]func(*election.Request){
		"no office champion":   func(r *election.Request) { r.OfficeChampion = nil },
		"no clinical champion": func(r *election.Request) { r.ClinicalChampion = nil },
		"office not administrator": func(r *election.Request) {
			r.OfficeChampion = &events.Champion{Name: "X", Role: election.RolePhysician}
		},
		"clinical not a physician": func(r *election.Request) {
			r.ClinicalChampion = &events.Champion{Name: "Y", Role: "nurse", NPI: et.NPI(7)}
		},
		"clinical without an NPI": func(r *election.Request) {
			r.ClinicalChampion = &events.Champion{Name: "Y", Role: election.RolePhysician}
		},
		"office champion unnamed": func(r *election.Request) {
			r.OfficeChampion = &events.Champion{Name: " ", Role: election.RoleAdministrator}
		},
	} {
		r := good
		mutate(&r)
		ref := et.Given(t, ctx).When(r).ThenRefused(election.ErrChampions)
		assert.NotEmpty(t, ref.Remedy, name)
	}
	unregistered := et.Determination(practice, qips, events.StatusOptInEligible)
	et.Given(t, et.Context(t, practice, qips, now, &unregistered)).When(good).ThenRefused(election.ErrPortalRegistration)
	// QIPS runs through the end of Dec 31 2020, Eastern (EST: 5 am UTC).
	late := et.Context(t, practice, qips, time.Date(2021, 1, 1, 5, 0, 0, 0, time.UTC), &reg)
	et.Given(t, late).When(good).ThenRefused(election.ErrOutsideWindow)
	et.Given(t, et.Context(t, practice, qips, time.Date(2021, 1, 1, 4, 59, 59, 0, time.UTC), &reg)).When(good).
		Then(events.ElectionRequested{Participant: practice, ProgramYear: qips, Choice: events.ChoiceOptIn, Pathway: events.PathwayTraditional,
			RequestedAt: time.Date(2021, 1, 1, 4, 59, 59, 0, time.UTC), OfficeChampion: office, ClinicalChampion: clinical})
}

func TestConfirmation(t *testing.T) {
	ctx := optInCtx(t, practice)
	req := requested(practice, events.ChoiceOptIn, events.PathwayTraditional)
	for _, phrase := range []string{"", "confirm", "Confirm", " CONFIRM", "CONFIRM ", "CONFIRMED", "CONFIRM\n", "ＣＯＮＦＩＲＭ"} {
		r := et.Given(t, ctx, req).When(election.Confirm{Phrase: phrase}).ThenRefused(election.ErrConfirmPhrase)
		assert.Contains(t, r.Remedy, "exactly CONFIRM")
	}
	et.Given(t, ctx).When(election.Confirm{Phrase: "CONFIRM"}).ThenRefused(election.ErrNothingPending)
	et.Given(t, ctx).When(election.Withdraw{}).ThenRefused(election.ErrNothingPending)
	et.Given(t, ctx, req).When(optIn).ThenRefused(election.ErrAlreadyPending)
	et.Given(t, ctx, req).When(election.Confirm{Phrase: "CONFIRM", BatchID: "b-1"}).ThenRefused(election.ErrWrongBatch)
}

// TestFinal: every command after confirmation is refused with
// ErrElectionFinal, and Evolve refuses any event after it.
func TestFinal(t *testing.T) {
	ctx := optInCtx(t, practice)
	req := requested(practice, events.ChoiceOptIn, events.PathwayTraditional)
	conf := events.ElectionConfirmed{Participant: practice, ProgramYear: py24, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, ConfirmedAt: inWindow, RequestRevision: 0}
	for _, c := range []election.Command{optIn, voluntary, election.Confirm{Phrase: "CONFIRM"}, election.Confirm{Phrase: "x"},
		election.Withdraw{}, election.Request{}} {
		et.Given(t, ctx, req, conf).When(c).ThenRefused(election.ErrElectionFinal)
	}
	// Even outside the window or with eligibility gone, finality is what is reported.
	gone := et.Context(t, practice, py24, inWindow.AddDate(1, 0, 0), nil)
	et.Given(t, gone, req, conf).When(optIn).ThenRefused(election.ErrElectionFinal)
	var s election.State
	var err error
	for _, e := range []events.Event{req, conf} {
		s, err = election.Evolve(s, e)
		require.NoError(t, err)
	}
	_, err = election.Decide(s, election.VirtualGroupOptIn{VirtualGroupID: "VG-1"}, ctx)
	assert.ErrorIs(t, err, election.ErrElectionFinal)
	assert.Equal(t, election.PhaseFinal, s.Phase)
	for _, e := range []events.Event{req, conf, events.ElectionRequestWithdrawn{}} {
		_, err := election.Evolve(s, e)
		assert.ErrorIs(t, err, election.ErrLedgerViolation, e.EventType())
	}
}

func TestEvolveViolations(t *testing.T) {
	req := requested(practice, events.ChoiceOptIn, events.PathwayTraditional)
	cases := map[string][]events.Event{
		"confirm with nothing pending":  {events.ElectionConfirmed{}},
		"withdraw with nothing pending": {events.ElectionRequestWithdrawn{}},
		"second request while pending":  {req, req},
		"confirm of another revision":   {req, events.ElectionConfirmed{RequestRevision: 5}},
		"not an election event":         {events.ScoreReported{}},
	}
	for name, evs := range cases {
		var s election.State
		var err error
		for _, e := range evs {
			if s, err = election.Evolve(s, e); err != nil {
				break
			}
		}
		assert.ErrorIs(t, err, election.ErrLedgerViolation, name)
	}
	// An imported confirmation starts a stream.
	s, err := election.Evolve(election.State{}, events.ElectionConfirmed{Imported: true, Choice: events.ChoiceOptIn})
	require.NoError(t, err)
	assert.Equal(t, election.PhaseFinal, s.Phase)
	assert.True(t, s.Confirmed.Imported)
}

func TestRefusalMessages(t *testing.T) {
	d := et.Determination(doc, py24, events.StatusExempt)
	_, err := election.Decide(election.State{}, optIn, et.Context(t, doc, py24, inWindow, &d))
	var r *election.Refusal
	require.True(t, errors.As(err, &r))
	msg := err.Error()
	for _, want := range []string{"individual *****6789/", "MIPS-2024", "not opt-in eligible", "to pass:"} {
		assert.True(t, strings.Contains(msg, want), "%q lacks %q", msg, want)
	}
}
