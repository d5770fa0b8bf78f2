package eligibility

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/electionledger/ledger/events"
)

// DefaultMaxDocumentBytes bounds a QPP document ReadDecisions and
// ReadNPILookup read, unless ImportOptions.MaxBytes sets another bound:
// 256 MiB. A document is decoded as a stream, one record at a time, so
// memory grows with what is imported (the determinations, elections and
// memberships, and one key per participant to find conflicts), not with the
// document's text.
const DefaultMaxDocumentBytes int64 = 256 << 20

// Why a QPP document, or a record of it, is refused. An *ImportError matches
// ErrImport and the rule of each of its problems that names one.
var (
	// ErrImport matches every ImportError.
	ErrImport = errors.New("eligibility: QPP document refused")
	// ErrMaskedTIN: a TIN masked as CMS's public endpoint shows it
	// ("XXXXXXXXXX", "*****6789"). It names no participant, so it is
	// reported and never matched to one.
	ErrMaskedTIN = errors.New("masked TIN")
	// ErrConflictingRecords: the document names one participant (a TIN for a
	// group, a TIN/NPI for a clinician, an APM Entity, a virtual group
	// member, per year) twice with different content. Such a document is
	// refused whole, even with ImportOptions.KeepValid.
	ErrConflictingRecords = errors.New("one participant named twice with conflicting content")
	// ErrDocumentTooLarge: the document is longer than the limit
	// (ImportOptions.MaxBytes, DefaultMaxDocumentBytes).
	ErrDocumentTooLarge = errors.New("QPP document larger than the limit")
)

// Problem is one bad record of a QPP document: where it is and what is
// wrong. It never holds a TIN in full.
type Problem struct {
	Index  int    // the record's index in the document's data (-1: the document itself)
	Field  string // e.g. "tin", "organizations[1].groupScenario.isOptInEligible"
	Reason string
	// Rule is the sentinel the problem matches (ErrMaskedTIN,
	// ErrConflictingRecords, ErrDocumentTooLarge), or nil.
	Rule error
}

// String describes the problem, e.g. "record 3: tin: masked ...".
func (p Problem) String() string {
	if p.Index < 0 {
		return p.Field + ": " + p.Reason
	}
	return fmt.Sprintf("record %d: %s: %s", p.Index, p.Field, p.Reason)
}

// ImportError lists the problems of a refused document. When a document is
// refused, nothing of it is imported.
type ImportError struct {
	Problems []Problem
}

// Error implements error. It lists the first 20 problems.
func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "eligibility: QPP document refused, nothing imported: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Is matches ErrImport and the rule of any of the problems.
func (e *ImportError) Is(target error) bool {
	if target == ErrImport {
		return true
	}
	for _, p := range e.Problems {
		if p.Rule != nil && p.Rule == target {
			return true
		}
	}
	return false
}

// ImportOptions says how to read a QPP document.
type ImportOptions struct {
	// ImportedAt stamps the determinations and memberships: when the ledger
	// learned them. Required.
	ImportedAt time.Time
	// MaxBytes bounds the document's length; 0 means
	// DefaultMaxDocumentBytes. A longer document is refused
	// (ErrDocumentTooLarge) without reading further.
	MaxBytes int64
	// KeepValid imports the valid records of a document that has bad ones
	// and lists the bad records' problems in Report.Skipped, instead of
	// refusing the document. A document that is not JSON of the expected
	// shape, is too large, or names a participant twice with conflicting
	// content is refused even so.
	KeepValid bool
}

// Report says what an import read.
type Report struct {
	Records  int // records in the document's data
	Imported int // records imported
	// Skipped lists the problems of the records left out (KeepValid only:
	// otherwise any problem refuses the document).
	Skipped []Problem
	// Notes are facts of imported records recorded as given whose meaning
	// or value the library cannot confirm: a qpStatus of Q or R, an APM
	// Entity opt-in without its decision date.
	Notes []Problem
}

// Import is what a valid QPP document yields: determinations, historical
// elections (confirmed before the ledger knew them) and virtual group
// memberships, with the report of what was read.
type Import struct {
	Determinations []events.EligibilityDetermined
	Elections      []events.ElectionConfirmed
	Memberships    []events.VirtualGroupMembership
	Report         Report
}

// ImportDecisions is ReadDecisions of a document held in memory, with the
// default options.
func ImportDecisions(table *Table, doc []byte, importedAt time.Time) (Import, error) {
	return ReadDecisions(context.Background(), table, bytes.NewReader(doc), ImportOptions{ImportedAt: importedAt})
}

// ImportNPILookup is ReadNPILookup of a document held in memory, with the
// default options.
func ImportNPILookup(table *Table, py events.ProgramYear, doc []byte, importedAt time.Time) (Import, error) {
	return ReadNPILookup(context.Background(), table, py, bytes.NewReader(doc), ImportOptions{ImportedAt: importedAt})
}

// historical is a confirmed election recorded before the ledger knew it.
// QPP's records name no pathway: traditional MIPS.
func historical(p events.Participant, py events.ProgramYear, optedIn bool, at time.Time) events.ElectionConfirmed {
	choice := events.ChoiceVoluntary
	if optedIn {
		choice = events.ChoiceOptIn
	}
	return events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: choice,
		Pathway: events.PathwayTraditional, ConfirmedAt: at, Imported: true}
}
