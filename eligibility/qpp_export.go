package eligibility

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/electionledger/ledger/events"
)

// ErrExport matches an ExportError.
var ErrExport = errors.New("eligibility: QPP export refused")

// ExportError is a decision WriteDecisions cannot write. It names the
// participant masked.
type ExportError struct {
	Index       int // the decision's index
	Participant events.Participant
	Reason      string
}

// Error implements error.
func (e *ExportError) Error() string {
	return fmt.Sprintf("eligibility: QPP export refused: decision %d (%v): %s", e.Index, e.Participant, e.Reason)
}

// Is matches ErrExport.
func (e *ExportError) Is(target error) bool { return target == ErrExport }

// Decision is one opt-in or voluntary decision as QPP's decision records
// carry it (docs/rules.md §6).
type Decision struct {
	Participant events.Participant // a group (TIN) or a clinician (TIN/NPI)
	ProgramYear events.ProgramYear // a MIPS year
	Choice      events.Choice      // events.ChoiceOptIn or events.ChoiceVoluntary
	// DecidedAt is when the election was confirmed. The records keep
	// milliseconds: a decision read back is DecidedAt truncated to the
	// millisecond.
	DecidedAt time.Time
	// RunNum is the QPP eligibility run of the participant's latest
	// imported determination that year; 0 without one.
	RunNum int
}

// decisionTimeLayout is the records' date form: ISO 8601 in UTC with
// milliseconds and Z.
const decisionTimeLayout = "2006-01-02T15:04:05.000Z"

// LedgerDecisions reads the store's log once and returns every confirmed
// opt-in and voluntary election of a group or clinician for a MIPS year
// (the ledger's own, imported ones and the opt-ins a virtual group election
// confirmed) as decisions, sorted by year, TIN and NPI. Elections of APM
// Entities and virtual groups, Partial QP elections and other programs'
// elections are not decision records and are left out.
func LedgerDecisions(ctx context.Context, store events.Store, reg *events.Registry) ([]Decision, error) {
	type key struct {
		p    events.Participant
		year int
	}
	var out []Decision
	runs := map[key]events.EligibilityDetermined{}
	for rec, err := range store.ReadAll(ctx, 0) {
		if err != nil {
			return nil, err
		}
		if rec.Type != events.TypeElectionConfirmed && rec.Type != events.TypeEligibilityDetermined {
			continue
		}
		ev, err := reg.Decode(&rec)
		if err != nil {
			return nil, err
		}
		switch e := ev.(type) {
		case events.ElectionConfirmed:
			if exportable(e.Participant, e.ProgramYear) && (e.Choice == events.ChoiceOptIn || e.Choice == events.ChoiceVoluntary) {
				out = append(out, Decision{Participant: e.Participant, ProgramYear: e.ProgramYear, Choice: e.Choice, DecidedAt: e.ConfirmedAt.UTC()})
			}
		case events.EligibilityDetermined:
			k := key{e.Participant, e.ProgramYear.Year}
			if prev, ok := runs[k]; e.Source == events.SourceImport && exportable(e.Participant, e.ProgramYear) && (!ok || Supersedes(&e, &prev)) {
				runs[k] = e
			}
		}
	}
	for i := range out {
		out[i].RunNum = runs[key{out[i].Participant, out[i].ProgramYear.Year}].Run
	}
	slices.SortFunc(out, compareDecisions)
	return out, nil
}

func exportable(p events.Participant, py events.ProgramYear) bool {
	return py.Program == events.MIPS && (p.Kind == events.KindGroup || p.Kind == events.KindIndividual)
}

func compareDecisions(a, b Decision) int {
	return cmp.Or(cmp.Compare(a.ProgramYear.Year, b.ProgramYear.Year), cmp.Compare(a.Participant.TIN.Number(), b.Participant.TIN.Number()),
		cmp.Compare(a.Participant.NPI.Number(), b.Participant.NPI.Number()), a.DecidedAt.Compare(b.DecidedAt))
}

// WriteDecisions writes ds to w as QPP decision records, {"data": [...]}:
// tin, npi (absent for a group), isOptInEligible (true: only an opt-in
// eligible participant elects), isOptedIn (true: opted in; false: reports
// voluntarily), optInDecisionDate (UTC, milliseconds, Z), year and runNum.
// ReadDecisions reads it back to the same decisions (to the millisecond).
// A decision that is not a group's or clinician's opt-in or voluntary
// election for a MIPS year is refused (*ExportError) before anything is
// written.
//
// The output holds full TINs: the QPP export is the one place a full TIN
// belongs (docs/rules.md §2). Send it to CMS; never log it.
func WriteDecisions(w io.Writer, ds []Decision) error {
	for i := range ds {
		if err := checkExport(i, &ds[i]); err != nil {
			return err
		}
	}
	bw := bufio.NewWriter(w)
	b := make([]byte, 0, 256)
	b = append(b, `{"data":[`...)
	for i := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDecision(b, &ds[i])
		if len(b) > 64<<10 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "]}\n"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func checkExport(i int, d *Decision) error {
	bad := func(reason string) error { return &ExportError{Index: i, Participant: d.Participant, Reason: reason} }
	switch {
	case d.Participant.Validate() != nil || !exportable(d.Participant, d.ProgramYear):
		return bad("decision records are for groups (TIN) and clinicians (TIN/NPI) in a MIPS year")
	case d.Choice != events.ChoiceOptIn && d.Choice != events.ChoiceVoluntary:
		return bad("the choice must be opt-in or voluntary")
	case d.DecidedAt.IsZero():
		return bad("the decision needs its date")
	case d.RunNum < 0:
		return bad("the run number must be 0 or more")
	}
	return nil
}

// appendDecision appends one decision record. Every value is digits, a
// boolean or a timestamp: nothing needs escaping.
func appendDecision(b []byte, d *Decision) []byte {
	b = append(b, `{"tin":"`...)
	b = append(b, d.Participant.TIN.Digits()...)
	if d.Participant.Kind == events.KindIndividual {
		b = append(b, `","npi":"`...)
		b = append(b, d.Participant.NPI.String()...)
	}
	b = append(b, `","isOptInEligible":true,"isOptedIn":`...)
	b = strconv.AppendBool(b, d.Choice == events.ChoiceOptIn)
	b = append(b, `,"optInDecisionDate":"`...)
	b = d.DecidedAt.UTC().AppendFormat(b, decisionTimeLayout)
	b = append(b, `","year":`...)
	b = strconv.AppendInt(b, int64(d.ProgramYear.Year), 10)
	b = append(b, `,"runNum":`...)
	b = strconv.AppendInt(b, int64(d.RunNum), 10)
	return append(b, '}')
}

// ExportDecisions writes the store's decisions (LedgerDecisions) to w as
// decision records (WriteDecisions) and returns the Qpp-Opt-In-Entities
// header value for the same entities and how many records it wrote. Both
// hold full TINs: send them to CMS, never log them.
func ExportDecisions(ctx context.Context, store events.Store, reg *events.Registry, w io.Writer) (header string, n int, err error) {
	ds, err := LedgerDecisions(ctx, store, reg)
	if err != nil {
		return "", 0, err
	}
	if err := WriteDecisions(w, ds); err != nil {
		return "", 0, err
	}
	return DecisionEntities(ds), len(ds), nil
}

// DecisionEntities returns the Qpp-Opt-In-Entities header value naming the
// entities of ds, opt-in and voluntary alike (docs/rules.md §6): "TIN" or
// "TIN|NPI", comma-separated, sorted and without repeats. It holds full
// TINs: send it, never log it.
func DecisionEntities(ds []Decision) string {
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		if s := d.Participant.QPPEntity(); s != "" {
			ids = append(ids, s)
		}
	}
	return joinEntities(ids)
}

// OptInEntities returns the Qpp-Opt-In-Entities header value for the groups
// and clinicians among elections that opted in or elected to report
// voluntarily (voluntary decisions travel too, docs/rules.md §6): "TIN" or
// "TIN|NPI", comma-separated, sorted and without repeats. Other choices and
// participant kinds are left out. The value holds full TINs: send it,
// never log it.
func OptInEntities(elections []events.ElectionConfirmed) string {
	ids := make([]string, 0, len(elections))
	for _, e := range elections {
		if e.Choice != events.ChoiceOptIn && e.Choice != events.ChoiceVoluntary {
			continue
		}
		if s := e.Participant.QPPEntity(); s != "" {
			ids = append(ids, s)
		}
	}
	return joinEntities(ids)
}

func joinEntities(ids []string) string {
	slices.Sort(ids)
	return strings.Join(slices.Compact(ids), ",")
}

// ParseOptInEntities parses a Qpp-Opt-In-Entities header value into its
// groups and clinicians, in order. A bad entry is reported by its position
// (Problem.Index) without its text; an empty value names none.
func ParseOptInEntities(header string) ([]events.Participant, error) {
	if strings.TrimSpace(header) == "" {
		return nil, nil
	}
	var out []events.Participant
	var problems []Problem
	for i, s := range strings.Split(header, ",") {
		s = strings.TrimSpace(s)
		tin, _, _ := strings.Cut(s, "|")
		p, err := events.ParseParticipant(s)
		switch {
		case maskedTIN(tin):
			problems = append(problems, Problem{Index: i, Field: "Qpp-Opt-In-Entities", Rule: ErrMaskedTIN, Reason: "a masked TIN names no participant"})
		case err != nil:
			problems = append(problems, Problem{Index: i, Field: "Qpp-Opt-In-Entities", Reason: identifierReason(err) + " (want TIN or TIN|NPI)"})
		case p.Kind != events.KindGroup && p.Kind != events.KindIndividual:
			problems = append(problems, Problem{Index: i, Field: "Qpp-Opt-In-Entities", Reason: "want TIN or TIN|NPI"})
		default:
			out = append(out, p)
		}
	}
	if problems != nil {
		return nil, &ImportError{Problems: problems}
	}
	return out, nil
}
