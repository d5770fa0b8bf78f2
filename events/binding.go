package events

import (
	"errors"
	"strconv"
)

// ErrUnbound matches a record whose payload does not belong to its stream:
// the participant and program year it is about (and its type's category)
// do not derive to the stream's name. Replay and verification refuse such
// a record as a violation: otherwise a correctly hashed event for one
// participant, appended to another's stream, would be applied as the
// first participant's.
var ErrUnbound = errors.New("events: event does not belong to its stream")

// BindingError reports a record whose payload does not belong to its
// stream, at the stream and revision where it sits. It never quotes the
// payload's participant.
type BindingError struct {
	Stream   string
	Revision uint64
	Problem  string
}

// Error implements error.
func (e *BindingError) Error() string {
	return "events: record at " + e.Stream + "@" + strconv.FormatUint(e.Revision, 10) + " does not belong to its stream: " + e.Problem
}

// Is matches ErrUnbound.
func (e *BindingError) Is(target error) bool { return target == ErrUnbound }

// Subject returns what a ledger event is about: the category of the
// stream it belongs in, its program year and its participant (the APM
// Entity of a snapshot, the virtual group of a membership, the registry and
// upload ID of an upload's cancellation). ok is false for event types that
// are not the ledger's own (a caller's types), which are bound to no
// stream, and for a command's claim (CommandRecorded), bound to the stream
// its command ID names. A withdrawal names no choice: it may sit in a
// Partial QP election stream as well as an election stream.
func Subject(e Event) (category string, py ProgramYear, p Participant, ok bool) {
	if s, ok := e.(subjected); ok {
		category, py, p = s.subject()
		return category, py, p, true
	}
	return "", ProgramYear{}, Participant{}, false
}

// subjected is a ledger event type: what it is about. The methods take the
// event by value but read only these fields, so a verifier asking about
// millions of events does not copy each whole out of its interface.
type subjected interface {
	subject() (category string, py ProgramYear, p Participant)
}

func (e EligibilityDetermined) subject() (string, ProgramYear, Participant) {
	return CategoryEligibility, e.ProgramYear, e.Participant
}

func (e ElectionRequested) subject() (string, ProgramYear, Participant) {
	return electionCategory(e.Choice), e.ProgramYear, e.Participant
}

// electionCategory is the stream category of an election whose request or
// confirmation names choice: a Partial QP election has streams of its own.
func electionCategory(choice Choice) string {
	if choice == ChoicePartialQP {
		return CategoryPartialQPElection
	}
	return CategoryElection
}

func (e ElectionRequestWithdrawn) subject() (string, ProgramYear, Participant) {
	return CategoryElection, e.ProgramYear, e.Participant
}

func (e ElectionConfirmed) subject() (string, ProgramYear, Participant) {
	return electionCategory(e.Choice), e.ProgramYear, e.Participant
}

func (e ScoreReported) subject() (string, ProgramYear, Participant) {
	return CategoryScore, e.ProgramYear, e.Participant
}

func (e APMParticipationSnapshot) subject() (string, ProgramYear, Participant) {
	return CategoryAPM, e.ProgramYear, e.Entity
}

func (e VirtualGroupMembership) subject() (string, ProgramYear, Participant) {
	return CategoryVirtualGroup, e.ProgramYear, e.VirtualGroup
}

func (e VirtualGroupRetracted) subject() (string, ProgramYear, Participant) {
	return CategoryVirtualGroup, e.ProgramYear, e.VirtualGroup
}

func (e VirtualGroupMemberAdmitted) subject() (string, ProgramYear, Participant) {
	return CategoryVirtualGroupMember, e.ProgramYear, e.Member
}

func (e VirtualGroupMemberReleased) subject() (string, ProgramYear, Participant) {
	return CategoryVirtualGroupMember, e.ProgramYear, e.Member
}

func (e PublicReportingOptedOut) subject() (string, ProgramYear, Participant) {
	return CategoryReporting, e.ProgramYear, e.Participant
}

func (e UploadCancelled) subject() (string, ProgramYear, Participant) {
	return CategoryUpload, e.ProgramYear, uploadSubject(e.Organization, e.BatchID)
}

// uploadSubject is the participant an upload's stream is keyed by: the
// registry and its upload ID (see StreamNamer.Upload).
func uploadSubject(organization, batchID string) Participant {
	return Participant{ID: organization + "\x00" + batchID}
}

// CheckStreamShape is the binding check that needs no ledger key: a ledger
// event (see Subject) must sit in a stream of its type's category, program
// and year ("<category>-<program>-<year>-..."). It cannot tell one
// participant's stream from another's; StreamNamer.Bind can.
func CheckStreamShape(rec *Record, e Event) error {
	if c, ok := e.(CommandRecorded); ok {
		return checkCommandStream(rec, c)
	}
	category, py, _, ok := Subject(e)
	if !ok || hasNamePrefix(rec.Stream, category, py) || withdrawnFromPartialQP(rec, e, py) {
		return nil
	}
	var buf [64]byte
	prefix := appendNamePrefix(buf[:0], category, py)
	return &BindingError{Stream: rec.Stream, Revision: rec.Revision,
		Problem: "a " + rec.Type + " for " + py.String() + " belongs in a stream named " + string(prefix) + "<participant key>"}
}

// hasNamePrefix reports whether stream starts with appendNamePrefix's
// "<category>-<program in lower case>-<year>-", without building it.
func hasNamePrefix(stream, category string, py ProgramYear) bool {
	n := len(category)
	if len(stream) <= n || stream[:n] != category || stream[n] != '-' {
		return false
	}
	s := stream[n+1:]
	p := py.Program
	if len(s) <= len(p) || s[len(p)] != '-' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if s[i] != c {
			return false
		}
	}
	s = s[len(p)+1:]
	var yb [20]byte
	y := strconv.AppendInt(yb[:0], int64(py.Year), 10)
	return len(s) > len(y) && s[len(y)] == '-' && s[:len(y)] == string(y)
}

// Bind checks that a record's decoded payload e belongs to its stream: the
// name this namer derives from e's category, program year and participant
// is the record's stream. e must be what the record's stored bytes decode
// to (Registry.DecodeData), never a value kept beside them. Event types
// that are not the ledger's own are bound to no stream and pass.
func (n *StreamNamer) Bind(rec *Record, e Event) error {
	if c, ok := e.(CommandRecorded); ok {
		return checkCommandStream(rec, c)
	}
	category, py, p, ok := Subject(e)
	if !ok {
		return nil
	}
	if withdrawnFromPartialQP(rec, e, py) {
		category = CategoryPartialQPElection
	}
	if !hasNamePrefix(rec.Stream, category, py) {
		return CheckStreamShape(rec, e)
	}
	var buf [128]byte
	name := n.appendKey(appendNamePrefix(buf[:0], category, py), p) // the pooled HMAC, no cache: a verifier meets each participant about once
	if rec.Stream != string(name) {
		return &BindingError{Stream: rec.Stream, Revision: rec.Revision,
			Problem: "its " + rec.Type + " is about a participant whose " + category + " stream is another (a record moved or forged into this stream)"}
	}
	return nil
}

// appendNamePrefix appends "<category>-<program in lower case>-<year>-".
func appendNamePrefix(b []byte, category string, py ProgramYear) []byte {
	b = append(b, category...)
	b = append(b, '-')
	for i := 0; i < len(py.Program); i++ {
		c := py.Program[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(py.Year), 10)
	return append(b, '-')
}

// withdrawnFromPartialQP reports whether e is a withdrawal sitting in a
// Partial QP election stream: a withdrawal names no choice, so it may sit
// in either kind of election stream (the stream's own requests say which).
func withdrawnFromPartialQP(rec *Record, e Event, py ProgramYear) bool {
	_, ok := e.(ElectionRequestWithdrawn)
	return ok && hasNamePrefix(rec.Stream, CategoryPartialQPElection, py)
}

// checkCommandStream checks that a command's claim sits in the stream its
// command ID names ("command-<uuid>"): a claim names no participant, so no
// key is needed.
func checkCommandStream(rec *Record, c CommandRecorded) error {
	var b [commandStreamLen]byte
	want := appendCommandStream(b[:0], c.CommandID)
	if rec.Stream == string(want) {
		return nil
	}
	return &BindingError{Stream: rec.Stream, Revision: rec.Revision,
		Problem: "a " + rec.Type + " belongs in the stream its command ID names, " + string(want)}
}
