package eligibility

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// errTooLarge is what limitReader returns past its limit.
var errTooLarge = errors.New("eligibility: document past its limit")

// limitReader reads at most n bytes; reading more fails with errTooLarge.
type limitReader struct {
	r io.Reader
	n int64 // bytes still allowed
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1] // one byte more than allowed tells a document at the limit from one past it
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		return 0, errTooLarge
	}
	return k, err
}

// docShape says which QPP document forms a reader takes.
type docShape struct {
	bareArray    bool   // a top-level array of records (decision records)
	singleObject bool   // "data" may be one record (the older single-NPI lookup)
	want         string // the shapes, in words, for a problem
}

// recordStream reads a QPP document's records one at a time.
type recordStream struct {
	ctx   context.Context
	dec   *jsontext.Decoder
	shape docShape
	max   int64
	n     int // records read
	each  func(i int, rec jsontext.Value)
}

// streamRecords reads a QPP document from r and calls each with every record
// (an element of "data", or "data" itself in the single form) and its
// index; rec is valid only during the call. Members other than "data" are
// skipped. It returns the number of records and, when the document itself
// is bad, its problem (Index -1); the error is the context's.
func streamRecords(ctx context.Context, r io.Reader, max int64, shape docShape, each func(i int, rec jsontext.Value)) (int, *Problem, error) {
	s := &recordStream{ctx: ctx, shape: shape, max: max, each: each,
		// Duplicate names are checked per record (unmarshalStrict), so one
		// bad record does not end the stream; "data" is checked here.
		dec: jsontext.NewDecoder(&limitReader{r: r, n: max}, jsontext.AllowDuplicateNames(true))}
	p, err := s.document()
	return s.n, p, err
}

func (s *recordStream) problem(reason string, err error) (*Problem, error) {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if errors.Is(err, errTooLarge) {
		return &Problem{Index: -1, Field: "document", Rule: ErrDocumentTooLarge,
			Reason: "longer than the limit of " + byteSize(s.max) + "; raise ImportOptions.MaxBytes to read it"}, nil
	}
	if err != nil {
		reason += ": " + safeJSONError(err)
	}
	return &Problem{Index: -1, Field: "document", Reason: reason}, nil
}

// byteSize says a size in words ("256 MiB", "1000 bytes").
func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func (s *recordStream) document() (*Problem, error) {
	switch s.dec.PeekKind() {
	case '[':
		if !s.shape.bareArray {
			return s.problem(s.shape.want, nil)
		}
		if err := s.array(); err != nil {
			return s.problem(s.shape.want, err)
		}
	case '{':
		if p, err := s.object(); p != nil || err != nil {
			return p, err
		}
	default:
		_, err := s.dec.ReadToken()
		return s.problem(s.shape.want, err)
	}
	if _, err := s.dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		return s.problem("one JSON value", err)
	}
	return nil, nil
}

// object reads the top-level object and its "data" member.
func (s *recordStream) object() (*Problem, error) {
	if _, err := s.dec.ReadToken(); err != nil {
		return s.problem(s.shape.want, err)
	}
	seen := false
	for s.dec.PeekKind() == '"' {
		name, err := s.dec.ReadToken()
		if err != nil {
			return s.problem(s.shape.want, err)
		}
		if name.String() != "data" {
			if err := s.dec.SkipValue(); err != nil {
				return s.problem(s.shape.want, err)
			}
			continue
		}
		if seen {
			return s.problem(`"data" given twice`, nil)
		}
		seen = true
		switch k := s.dec.PeekKind(); {
		case k == '[':
			err = s.array()
		case k == '{' && s.shape.singleObject:
			err = s.record()
		default:
			return s.problem(s.shape.want+` ("data" has the wrong kind)`, nil)
		}
		if err != nil {
			return s.problem(s.shape.want, err)
		}
	}
	if _, err := s.dec.ReadToken(); err != nil {
		return s.problem(s.shape.want, err)
	}
	if !seen {
		return s.problem(s.shape.want+` (no "data" member)`, nil)
	}
	return nil, nil
}

func (s *recordStream) array() error {
	if _, err := s.dec.ReadToken(); err != nil {
		return err
	}
	for s.dec.PeekKind() != ']' {
		if err := s.record(); err != nil {
			return err
		}
	}
	_, err := s.dec.ReadToken()
	return err
}

func (s *recordStream) record() error {
	if s.n%1024 == 0 {
		if err := s.ctx.Err(); err != nil {
			return err
		}
	}
	v, err := s.dec.ReadValue()
	if err != nil {
		return err
	}
	s.each(s.n, v)
	s.n++
	return nil
}

// unmarshalStrict decodes one record: a field of the wrong type or a name
// given twice is a problem, not a guess. Unknown members are ignored (CMS
// documents carry many fields the ledger does not keep).
func unmarshalStrict(b []byte, v any) error {
	return json.Unmarshal(b, v, jsontext.AllowDuplicateNames(false))
}

// safeJSONError describes a JSON error without quoting the document, which
// may hold a TIN.
func safeJSONError(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s has the wrong type (JSON %s)", fieldOf(se.JSONPointer, "value"), se.JSONKind)
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return fmt.Sprintf("%s is given twice", fieldOf(syn.JSONPointer, "a member"))
		}
		return fmt.Sprintf("invalid JSON at byte %d", syn.ByteOffset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the document ends early"
	}
	return "invalid JSON"
}

// knownFields are the member names the readers decode: only these are
// named in a problem's field, since an unknown member's name is the
// document's text and might be a TIN.
var knownFields = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(`data tin npi isOptInEligible isOptedIn optInDecisionDate year runNum
		qpStatus newlyEnrolled organizations TIN individualScenario groupScenario lowVolumeSwitch
		lowVolumeStatusReasons lowVolStusRsnCd lowVolStusRsnDesc mipsEligibleSwitch apms entityId
		virtualGroups virtualGroupIdentifier`) {
		m[f] = true
	}
	return m
}()

// fieldOf renders a JSON pointer as a problem's field, e.g.
// "organizations[0].TIN"; whole is used for the empty pointer.
func fieldOf(p jsontext.Pointer, whole string) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		switch {
		case isIndex(tok):
			b.WriteString("[" + tok + "]")
		case knownFields[tok]:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString("(an unknown member)")
		}
	}
	if b.Len() == 0 {
		return whole
	}
	return b.String()
}

// isIndex reports whether a pointer token is an array index (at most six
// digits: a longer run of digits may be a TIN used as a member name).
func isIndex(tok string) bool {
	if len(tok) == 0 || len(tok) > 6 || len(tok) > 1 && tok[0] == '0' {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}

// maskedTIN reports whether s is a TIN as CMS's public endpoint masks it:
// mask characters ('X', 'x', '*', '#') with, at most, digits and dashes
// ("XXXXXXXXXX", "*****6789", "XXX-XX-6789").
func maskedTIN(s string) bool {
	if len(s) < 4 || len(s) > 16 {
		return false
	}
	mask := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'X' || c == 'x' || c == '*' || c == '#':
			mask = true
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return mask
}

func identifierReason(err error) string {
	var ie *events.IdentifierError
	if errors.As(err, &ie) {
		return fmt.Sprintf("%v: %s; want %s", ie.Rule, ie.Got, ie.Want)
	}
	return "malformed"
}
