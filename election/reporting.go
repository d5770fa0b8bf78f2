package election

import (
	"context"
	"errors"
	"fmt"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// Refusals of a public-reporting opt-out.
var (
	// ErrNotVoluntaryReporter: only a participant whose confirmed election
	// is voluntary reporting may opt out of public reporting.
	ErrNotVoluntaryReporter = errors.New("not a voluntary reporter")
	// ErrAlreadyOptedOut: the participant opted out of public reporting
	// for the year already.
	ErrAlreadyOptedOut = errors.New("already opted out of public reporting")
)

// previewWindow is the public-reporting preview period of a year's rules.
func previewWindow(r *eligibility.Rules) eligibility.Window { return r.PublicReportingPreview }

// OptOutOfPublicReporting records that a voluntary reporter opts out of
// public reporting of its data on Care Compare (docs/rules.md §4). It is
// taken only inside the year's preview period
// (eligibility.Rules.PublicReportingPreview, dates unconfirmed) and only
// from a participant whose confirmed election is voluntary reporting; it is
// recorded once, in the participant's reporting stream. A retry with the
// same command ID returns the original receipt.
func (s *Service) OptOutOfPublicReporting(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant) (Receipt, error) {
	dctx, err := s.prepare(ctx, m, py, p, true, previewWindow)
	if err != nil {
		return Receipt{}, err
	}
	// A single command: its event marks the ID as used, its claim follows
	// it (claim.go).
	claim := newClaim(m, "public-reporting.opt-out", py, p, nil)
	claim.marked = true
	if err := s.checkClaim(ctx, claim, dctx); err != nil {
		return Receipt{}, err
	}
	if rc, found, err := s.optedOutBy(ctx, m, py, p); found || err != nil {
		return rc, err
	}
	w := dctx.Rules.PublicReportingPreview
	if w.IsZero() || !w.Contains(dctx.Now) {
		return Receipt{}, refuse(ErrOutsideWindow, p, py,
			fmt.Sprintf("the public-reporting preview period is [%s, %s); now is %s", eligibility.FormatEastern(w.Open),
				eligibility.FormatEastern(w.Close), eligibility.FormatEastern(dctx.Now)),
			"opt out during the preview period")
	}
	st, err := s.State(ctx, py, p)
	if err != nil {
		return Receipt{}, err
	}
	if st.Phase != PhaseFinal || st.Confirmed.Choice != events.ChoiceVoluntary {
		return Receipt{}, refuse(ErrNotVoluntaryReporter, p, py, "its election is "+describe(st),
			"only a participant whose confirmed election is voluntary reporting may opt out")
	}
	data, err := s.reg.Encode(commandEventID(m.CommandID, 0), events.PublicReportingOptedOut{Participant: p, ProgramYear: py,
		OptedOutAt: dctx.Now.UTC()}, s.metadata(m, p))
	if err != nil {
		return Receipt{}, err
	}
	if err := s.bindClaimFirst(ctx, claim, dctx); err != nil {
		return Receipt{}, err
	}
	res, err := s.store.Append(ctx, s.names.Reporting(py, p), events.NoStream, data)
	switch {
	case errors.Is(err, events.ErrWrongExpectedRevision), errors.Is(err, events.ErrDuplicateEvent):
		return s.optOutRefused(ctx, m, dctx, err)
	case err != nil:
		return Receipt{}, err
	}
	if err := s.bindClaimAfter(ctx, claim, dctx); err != nil {
		return Receipt{}, err
	}
	return s.optOutReceipt(py, p, res, false), nil
}

// optedOutBy looks for this command's opt-out in the participant's
// reporting stream: found, its original receipt.
func (s *Service) optedOutBy(ctx context.Context, m Meta, py events.ProgramYear, p events.Participant) (rc Receipt, found bool, err error) {
	res, err := s.findByCommand(ctx, s.names.Reporting(py, p), m)
	switch {
	case errors.Is(err, events.ErrStreamNotFound):
		return Receipt{}, false, nil
	case err != nil:
		return Receipt{}, false, err
	case res == events.AppendResult{}:
		return Receipt{}, false, nil
	}
	return s.optOutReceipt(py, p, res, true), true, nil
}

// optOutRefused answers an opt-out the store refused: this very command
// retried at the same time (its original receipt); the command ID used for
// another command's events in another stream (ErrDuplicateEvent, the stream
// holding no such event: ErrCommandIDReused); or another command's opt-out
// recorded first (ErrAlreadyOptedOut).
func (s *Service) optOutRefused(ctx context.Context, m Meta, dctx Context, appendErr error) (Receipt, error) {
	py, p := dctx.ProgramYear, dctx.Participant
	if rc, found, err := s.optedOutBy(ctx, m, py, p); found || err != nil {
		return rc, err
	}
	if errors.Is(appendErr, events.ErrDuplicateEvent) {
		return Receipt{}, refuse(ErrCommandIDReused, p, py, fmt.Sprintf("command %s recorded events for another command (%v)", m.CommandID, appendErr),
			"give a new command a new ID; reuse an ID only to retry the same command")
	}
	return Receipt{}, refuse(ErrAlreadyOptedOut, p, py, "", "nothing: the opt-out is recorded")
}

// optOutReceipt is the receipt of an opt-out recorded at res.
func (s *Service) optOutReceipt(py events.ProgramYear, p events.Participant, res events.AppendResult, replayed bool) Receipt {
	return Receipt{Participant: p, ProgramYear: py, Stream: s.names.Reporting(py, p), Type: events.TypePublicReportingOptedOut,
		Revision: res.Revision, Position: res.Position, LogIndex: s.logIndex(res.Position), Hash: res.Hash, Replayed: replayed}
}

// describe says where an election stands, for refusals.
func describe(st State) string {
	switch st.Phase {
	case PhaseFinal:
		return "confirmed: " + st.Confirmed.Choice.String()
	case PhasePending:
		return "pending: " + st.Pending.Choice.String()
	}
	return "none"
}
