package election

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// MaxBatchEntries is the largest registry upload a batch may hold.
const MaxBatchEntries = 10_000

// BatchEntry is one participant's line of a registry upload.
type BatchEntry struct {
	Participant events.Participant // a TIN or a TIN/NPI
	Choice      events.Choice      // ChoiceNoDecision, ChoiceVoluntary or ChoiceOptIn
	Pathway     events.Pathway     // default traditional
}

// Batch is a registry's bulk upload of selections for one program year. The
// same Batch (same ID and entries) is passed to SubmitBatch, ConfirmBatch or
// CancelBatch.
type Batch struct {
	ID          string // names the upload in every event it records
	ProgramYear events.ProgramYear
	Entries     []BatchEntry
}

// EntryStatus is what happened to one entry of a batch.
type EntryStatus uint8

// Entry outcomes.
const (
	EntryNoDecision EntryStatus = iota // No Decision: nothing recorded
	EntrySelected                      // the selection is recorded (pending confirmation)
	EntryConfirmed                     // the election is final
	EntryWithdrawn                     // the selection was cancelled
	EntryRefused                       // a rule refused it; Err says which
	EntryFailed                        // the store failed; re-run the batch to complete it
)

// String returns the EntryStatus in words.
func (s EntryStatus) String() string {
	return [...]string{"no decision", "selected", "confirmed", "withdrawn", "refused", "failed"}[s]
}

// EntryResult is one entry's outcome.
type EntryResult struct {
	Index       int
	Participant events.Participant
	Choice      events.Choice
	Status      EntryStatus
	Receipt     Receipt `json:",omitzero"` // when written (or replayed); left out of JSON when not
	Err         error   // the *Refusal or the store error
}

// ChoiceCounts counts a batch's entries per choice, as shown before
// confirming.
type ChoiceCounts struct {
	NoDecision, Voluntary, OptIn int
}

// BatchResult is a batch operation's outcome: every entry's result, the
// counts per choice, and the refusals.
type BatchResult struct {
	BatchID string
	Entries []EntryResult
	Counts  ChoiceCounts
}

// Refusals returns the refused entries.
func (r *BatchResult) Refusals() []EntryResult { return r.filter(EntryRefused) }

// Failures returns the entries the store failed.
func (r *BatchResult) Failures() []EntryResult { return r.filter(EntryFailed) }

// Count returns how many entries ended with status st.
func (r *BatchResult) Count(st EntryStatus) int { return len(r.filter(st)) }

func (r *BatchResult) filter(st EntryStatus) []EntryResult {
	var out []EntryResult
	for _, e := range r.Entries {
		if e.Status == st {
			out = append(out, e)
		}
	}
	return out
}

// ErrBatchIncomplete matches the error of a batch whose store failed for some
// entries; the result says which. Re-running the same batch with the same
// command ID completes it without duplicating any event.
var ErrBatchIncomplete = errors.New("election: batch incomplete")

type batchIncomplete struct{ failed, total int }

func (e *batchIncomplete) Error() string {
	return fmt.Sprintf("election: batch incomplete: the store failed for %d of %d entries; re-run the batch with the same command ID", e.failed, e.total)
}
func (e *batchIncomplete) Is(target error) bool { return target == ErrBatchIncomplete }

// checkBatch refuses a malformed batch as a whole.
func checkBatch(b *Batch) error {
	switch {
	case b.ID == "":
		return fmt.Errorf("%w: the batch has no ID", ErrInvalidCommand)
	case len(b.Entries) == 0:
		return fmt.Errorf("%w: the batch has no entries", ErrInvalidCommand)
	case len(b.Entries) > MaxBatchEntries:
		return fmt.Errorf("%w: %d entries; a batch holds at most %d", ErrInvalidCommand, len(b.Entries), MaxBatchEntries)
	}
	return nil
}

// entryCommand derives an entry's command ID, bound to its participant.
func entryCommand(m Meta, i int, p events.Participant) Meta {
	sub := m
	sub.CommandID = SubCommandID(m.CommandID, fmt.Sprintf("entry/%d/%d/%s/%s/%s", i, p.Kind, p.TIN.Digits(), p.NPI, p.ID))
	if sub.CorrelationID == uuid.Nil {
		sub.CorrelationID = m.CommandID
	}
	return sub
}

// each runs fn for every entry with the service's worker pool, keeping
// results in entry order. Entries listed twice are refused after the first.
func (s *Service) each(ctx context.Context, b *Batch, fn func(i int, e BatchEntry) EntryResult) BatchResult {
	res := BatchResult{BatchID: b.ID, Entries: make([]EntryResult, len(b.Entries))}
	seen := make(map[events.Participant]int, len(b.Entries))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(s.workers, len(b.Entries)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := ctx.Err(); err != nil {
					res.Entries[i] = EntryResult{Index: i, Participant: b.Entries[i].Participant, Choice: b.Entries[i].Choice, Status: EntryFailed, Err: err}
					continue
				}
				r := fn(i, b.Entries[i])
				r.Index, r.Participant, r.Choice = i, b.Entries[i].Participant, b.Entries[i].Choice
				res.Entries[i] = r
			}
		}()
	}
	for i, e := range b.Entries {
		if first, dup := seen[e.Participant]; dup {
			res.Entries[i] = EntryResult{Index: i, Participant: e.Participant, Choice: e.Choice, Status: EntryRefused,
				Err: refuse(ErrInvalidCommand, e.Participant, b.ProgramYear, fmt.Sprintf("listed again (first at entry %d)", first), "list each participant once")}
			continue
		}
		seen[e.Participant] = i
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, e := range b.Entries {
		switch e.Choice {
		case events.ChoiceOptIn:
			res.Counts.OptIn++
		case events.ChoiceVoluntary:
			res.Counts.Voluntary++
		default:
			res.Counts.NoDecision++
		}
	}
	return res
}

func finish(res BatchResult) (BatchResult, error) {
	if n := len(res.Failures()); n > 0 {
		return res, &batchIncomplete{failed: n, total: len(res.Entries)}
	}
	return res, nil
}

// entryOutcome turns a command's result into an entry result.
func entryOutcome(rc Receipt, err error, ok EntryStatus) EntryResult {
	var r *Refusal
	switch {
	case err == nil:
		return EntryResult{Status: ok, Receipt: rc}
	case errors.As(err, &r):
		return EntryResult{Status: EntryRefused, Err: err}
	}
	return EntryResult{Status: EntryFailed, Err: err}
}

// PreviewBatch evaluates a batch without recording anything: the counts per
// choice and every entry the rules would refuse.
func (s *Service) PreviewBatch(ctx context.Context, m Meta, b Batch) (BatchResult, error) {
	if err := checkBatch(&b); err != nil {
		return BatchResult{}, err
	}
	res := s.each(ctx, &b, func(i int, e BatchEntry) EntryResult {
		if e.Choice == events.ChoiceNoDecision {
			return EntryResult{Status: EntryNoDecision}
		}
		sub := entryCommand(m, i, e.Participant)
		dctx, err := s.prepare(ctx, sub, b.ProgramYear, e.Participant, true, electionWindow)
		if err != nil {
			return entryOutcome(Receipt{}, err, EntrySelected)
		}
		c := &command{s: s, meta: sub, dctx: dctx, key: electionKey{b.ProgramYear, e.Participant, OptInElection}}
		l, err := s.states.load(ctx, c.key, true)
		if err != nil {
			return entryOutcome(Receipt{}, err, EntrySelected)
		}
		if prior, ok := l.command(sub.CommandID); ok {
			return EntryResult{Status: EntrySelected, Receipt: c.receipt(l.stream, prior.typ, prior.revision, prior.position, prior.hash, true)}
		}
		_, err = Decide(l.state, batchRequest(&b, e), dctx)
		return entryOutcome(Receipt{}, err, EntrySelected)
	})
	return finish(res)
}

func batchRequest(b *Batch, e BatchEntry) Request {
	pw := e.Pathway
	if pw == events.PathwayNone {
		pw = events.PathwayTraditional
	}
	return Request{Choice: e.Choice, Pathway: pw, BatchID: b.ID}
}

// electionWindow is the opt-in election window of a year's rules.
func electionWindow(r *eligibility.Rules) eligibility.Window { return r.ElectionWindow }

// batchClaim claims the batch command's ID for the whole upload (its ID,
// year and every entry) and the operation, before any entry runs: a reused
// ID with other entries is refused before anything is recorded, even when
// an earlier run with the ID was interrupted part-way.
func (s *Service) batchClaim(ctx context.Context, m Meta, op string, b *Batch) error {
	if m.CommandID == uuid.Nil {
		return refuse(ErrInvalidCommand, events.Participant{}, b.ProgramYear, "no command ID", "give every command a UUID; reuse it only to retry the same command")
	}
	c, dctx := newClaim(m, "batch."+op, b.ProgramYear, events.Participant{}, b), Context{ProgramYear: b.ProgramYear, Now: s.now()}
	return s.bindClaim(ctx, c, dctx)
}

// SubmitBatch records the selection of every entry that chose Opt-In or
// Report Voluntarily (No Decision records nothing), each in its own stream,
// none binding until ConfirmBatch. One refused participant never blocks the
// others. The result is the preview: counts per choice and every refusal.
// The command ID is bound to the whole upload: resubmitting it with other
// entries is refused with ErrCommandIDReused.
func (s *Service) SubmitBatch(ctx context.Context, m Meta, b Batch) (BatchResult, error) {
	if err := checkBatch(&b); err != nil {
		return BatchResult{}, err
	}
	if err := s.batchClaim(ctx, m, "submit", &b); err != nil {
		return BatchResult{}, err
	}
	return finish(s.each(ctx, &b, func(i int, e BatchEntry) EntryResult {
		if e.Choice == events.ChoiceNoDecision {
			return EntryResult{Status: EntryNoDecision}
		}
		rc, err := s.execute(ctx, entryCommand(m, i, e.Participant), OptInElection, b.ProgramYear, e.Participant, batchRequest(&b, e), false)
		return entryOutcome(rc, err, EntrySelected)
	}))
}

// ConfirmBatch confirms, with one CONFIRM, every selection of the batch:
// each becomes final. A wrong phrase refuses the whole set and records
// nothing. If the store fails for some entries, the result says which are
// confirmed and which are not, and the error matches ErrBatchIncomplete;
// re-running with the same command ID completes the batch with no
// duplicate event.
func (s *Service) ConfirmBatch(ctx context.Context, m Meta, b Batch, phrase string) (BatchResult, error) {
	if err := checkBatch(&b); err != nil {
		return BatchResult{}, err
	}
	if phrase != ConfirmPhrase {
		return BatchResult{}, refuse(ErrConfirmPhrase, events.Participant{}, b.ProgramYear, fmt.Sprintf("got %d characters for batch %s", len(phrase), b.ID), "type exactly CONFIRM to confirm the whole set")
	}
	if err := s.batchClaim(ctx, m, "confirm", &b); err != nil {
		return BatchResult{}, err
	}
	return finish(s.each(ctx, &b, func(i int, e BatchEntry) EntryResult {
		if e.Choice == events.ChoiceNoDecision {
			return EntryResult{Status: EntryNoDecision}
		}
		guard, err := s.batchSelection(ctx, m, &b, e)
		if err != nil {
			return entryOutcome(Receipt{}, err, EntryConfirmed)
		}
		rc, err := s.executeGuarded(ctx, entryCommand(m, i, e.Participant), OptInElection, b.ProgramYear, e.Participant, Confirm{Phrase: phrase, BatchID: b.ID}, false, guard)
		return entryOutcome(rc, err, EntryConfirmed)
	}))
}

// checkNoneConfirmed refuses to cancel an upload any of whose selections
// the upload has confirmed: an upload is cancelled before its
// confirmation, and discarding the data of a final opt-in would leave it
// scored 0.
func (s *Service) checkNoneConfirmed(ctx context.Context, b *Batch) error {
	for _, e := range b.Entries {
		l, err := s.states.load(ctx, electionKey{b.ProgramYear, e.Participant, OptInElection}, true)
		if err != nil {
			return err
		}
		if st := l.state; st.Phase == PhaseFinal && st.Confirmed.BatchID == b.ID {
			return refuse(ErrElectionFinal, e.Participant, b.ProgramYear,
				fmt.Sprintf("upload %s confirmed its %s/%s at %s", b.ID, st.Confirmed.Choice, st.Confirmed.Pathway, eligibility.FormatEastern(st.Confirmed.At)),
				"nothing: an upload is cancelled before its confirmation, and a confirmed election is final")
		}
	}
	return nil
}

// batchSelection returns the check a batch confirmation makes of an
// entry's pending selection: the registry confirming is the one that
// selected it (upload IDs are each registry's own, so two registries may
// both have an "upload-1"), and the entry's choice and pathway are the
// ones selected (counts never show a choice that was not recorded). The
// registry is read from the pending request's record; the returned guard
// checks the rest on the state the confirmation decides on.
func (s *Service) batchSelection(ctx context.Context, m Meta, b *Batch, e BatchEntry) (func(State, Context) error, error) {
	l, err := s.states.load(ctx, electionKey{b.ProgramYear, e.Participant, OptInElection}, true)
	if err != nil || l.state.Phase != PhasePending || l.state.Pending.BatchID != b.ID {
		return nil, err // the decider answers: nothing pending, or another batch's
	}
	rev := l.state.Pending.Revision
	var org string
	for rec, err := range s.store.ReadStream(ctx, l.stream, rev) {
		if err != nil {
			return nil, err
		}
		org = rec.Metadata.Organization
		break
	}
	wrong := func(detail string) error {
		return refuse(ErrWrongBatch, e.Participant, b.ProgramYear, detail, "confirm the selections the registry's own upload made, as uploaded")
	}
	if org != m.Actor.Organization {
		return nil, wrong(fmt.Sprintf("upload %s of another registry selected it", b.ID))
	}
	pathway := batchRequest(b, e).Pathway
	return func(st State, _ Context) error {
		p := st.Pending
		switch {
		case st.Phase != PhasePending:
			return nil // the decider answers
		case p.Revision != rev:
			return wrong("the selection changed since it was read; preview the upload again")
		case p.Choice != e.Choice || p.Pathway != pathway:
			return wrong(fmt.Sprintf("the upload selected %s/%s; the entry says %s/%s", p.Choice, p.Pathway, e.Choice, pathway))
		}
		return nil
	}, nil
}

// CancelBatch cancels the upload before confirmation. It records one
// events.UploadCancelled in the upload's stream naming every participant of
// the upload (those whose selections it withdraws and those already MIPS
// eligible alike), so a submission pipeline discards the upload's data for
// all of them, then withdraws every selection of the batch still pending.
// The actor must be authorized for every participant named. An upload any
// of whose selections it has confirmed is refused (ErrElectionFinal) and
// nothing is recorded.
func (s *Service) CancelBatch(ctx context.Context, m Meta, b Batch) (BatchResult, error) {
	if err := checkBatch(&b); err != nil {
		return BatchResult{}, err
	}
	if m.Actor.Organization == "" {
		return BatchResult{}, refuse(ErrInvalidCommand, events.Participant{}, b.ProgramYear, "no registry named", "cancel an upload as the registry that made it (Actor.Organization)")
	}
	names := make([]events.Participant, 0, len(b.Entries))
	seen := make(map[events.Participant]bool, len(b.Entries))
	for _, e := range b.Entries {
		if err := s.auth.Authorize(ctx, m.Actor, e.Participant); err != nil {
			return BatchResult{}, refuse(ErrUnauthorized, e.Participant, b.ProgramYear, err.Error(), "cancel only uploads for the registry's own clients")
		}
		if !seen[e.Participant] {
			seen[e.Participant] = true
			names = append(names, e.Participant)
		}
	}
	if _, err := s.prepare(ctx, m, b.ProgramYear, b.Entries[0].Participant, false, electionWindow); err != nil {
		return BatchResult{}, err
	}
	if err := s.checkNoneConfirmed(ctx, &b); err != nil {
		return BatchResult{}, err
	}
	if err := s.batchClaim(ctx, m, "cancel", &b); err != nil {
		return BatchResult{}, err
	}
	data, err := s.reg.Encode(eventID(m.CommandID, 0), events.UploadCancelled{BatchID: b.ID, Organization: m.Actor.Organization,
		ProgramYear: b.ProgramYear, Participants: names, CancelledAt: s.now().UTC()}, s.metadata(m, events.Participant{}))
	if err != nil {
		return BatchResult{}, err
	}
	stream := s.names.Upload(b.ProgramYear, m.Actor.Organization, b.ID)
	if _, err := s.store.Append(ctx, stream, events.Any, data); err != nil && !errors.Is(err, events.ErrDuplicateEvent) {
		return BatchResult{}, fmt.Errorf("election: record the cancellation of upload %s: %w", b.ID, err)
	}
	return finish(s.each(ctx, &b, func(i int, e BatchEntry) EntryResult {
		if e.Choice == events.ChoiceNoDecision {
			return EntryResult{Status: EntryNoDecision}
		}
		rc, err := s.execute(ctx, entryCommand(m, i, e.Participant), OptInElection, b.ProgramYear, e.Participant, Withdraw{Reason: "batch cancelled", BatchID: b.ID}, false)
		return entryOutcome(rc, err, EntryWithdrawn)
	}))
}
