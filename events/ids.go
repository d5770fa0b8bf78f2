package events

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Sentinel errors for identifier parsing. Every parse error is an
// *IdentifierError that matches ErrInvalidIdentifier and exactly one of the
// rule sentinels below under errors.Is.
var (
	// ErrInvalidIdentifier matches every identifier parse error.
	ErrInvalidIdentifier = errors.New("invalid identifier")
	// ErrLength: the value does not have the required number of characters.
	ErrLength = errors.New("wrong length")
	// ErrNonDigit: a character other than 0-9 where only digits are allowed.
	ErrNonDigit = errors.New("non-digit character")
	// ErrNPIFirstDigit: an NPI must start with 1 or 2.
	ErrNPIFirstDigit = errors.New("NPI first digit must be 1 or 2")
	// ErrNPICheckDigit: the NPI's last digit is not the Luhn check digit
	// computed with the 80840 prefix.
	ErrNPICheckDigit = errors.New("NPI check digit mismatch")
	// ErrFormat: the value is not in any accepted form (participant, program
	// year, virtual group or APM Entity identifier).
	ErrFormat = errors.New("malformed value")
)

// IdentifierError reports why an identifier was refused. It never echoes a
// TIN or NPI input (a mistyped TIN may arrive in any field): Got describes
// the input by its length, the offending position or digit.
type IdentifierError struct {
	Kind string // "TIN", "NPI", "participant", "program year", ...
	Rule error  // one of ErrLength, ErrNonDigit, ErrNPIFirstDigit, ErrNPICheckDigit, ErrFormat
	Got  string // what was wrong with the input, safe to print
	Want string // what would make it pass
}

// Error implements error. Whatever Got quotes, a run of digits that could
// be a TIN is withheld (see RedactDigits).
func (e *IdentifierError) Error() string {
	return fmt.Sprintf("invalid %s: %v: %s; want %s", e.Kind, e.Rule, RedactDigits(e.Got), e.Want)
}

// Unwrap lets errors.Is match ErrInvalidIdentifier and the rule sentinel.
func (e *IdentifierError) Unwrap() []error { return []error{ErrInvalidIdentifier, e.Rule} }

// TIN is a Taxpayer Identification Number: exactly nine digits. A TIN may be
// a Social Security Number, so it is treated as PII: String, every fmt verb,
// slog, MarshalText and encoding/json show it masked as CMS does ("*****"
// and the last four digits). Only Digits and the payload codec
// (MarshalJSONTo, which github.com/go-json-experiment/json uses) carry the
// full value. The zero TIN is "no TIN".
type TIN struct {
	// v has bit 31 set for a parsed TIN; the low bits hold the number. Kept
	// as a number, so even a raw dump of the struct never shows the digits.
	v uint32
}

const tinSet = 1 << 31

// ParseTIN parses exactly nine ASCII digits.
func ParseTIN(s string) (TIN, error) {
	if len(s) != 9 {
		return TIN{}, &IdentifierError{Kind: "TIN", Rule: ErrLength, Got: fmt.Sprintf("%d characters", len(s)), Want: "exactly 9 digits"}
	}
	var n uint32
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return TIN{}, &IdentifierError{Kind: "TIN", Rule: ErrNonDigit, Got: fmt.Sprintf("non-digit at position %d", i+1), Want: "exactly 9 digits"}
		}
		n = n*10 + uint32(c-'0')
	}
	return TIN{v: n | tinSet}, nil
}

// MustParseTIN is ParseTIN for constants in tests and examples; it panics on
// a malformed value.
func MustParseTIN(s string) TIN {
	t, err := ParseTIN(s)
	if err != nil {
		panic(err)
	}
	return t
}

// IsZero reports whether t is the zero TIN (none).
func (t TIN) IsZero() bool { return t.v&tinSet == 0 }

// Digits returns all nine digits. It is the only accessor of the full value:
// use it for exports (the QPP header) and never for messages or logs.
func (t TIN) Digits() string {
	if t.IsZero() {
		return ""
	}
	var b [9]byte
	t.put(b[:])
	return string(b[:])
}

func (t TIN) put(b []byte) {
	n := t.v &^ tinSet
	for i := 8; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
}

// Number returns the TIN as a number (0 for the zero TIN), for compact
// keys. It is the full TIN: never print or log it.
func (t TIN) Number() uint32 {
	if t.IsZero() {
		return 0
	}
	return t.v &^ tinSet
}

// Last4 returns the last four digits.
func (t TIN) Last4() string {
	if t.IsZero() {
		return ""
	}
	var b [9]byte
	t.put(b[:])
	return string(b[5:])
}

// String returns the masked form "*****1234" (empty for the zero TIN).
func (t TIN) String() string {
	if t.IsZero() {
		return ""
	}
	return "*****" + t.Last4()
}

// Format masks the TIN under every fmt verb (%v %+v %#v %s %q %d ...),
// honouring width and the '-' flag.
func (t TIN) Format(f fmt.State, verb rune) { formatMasked(f, verb, "events.TIN", t.String()) }

// formatMasked writes an already-masked string for any verb, padded to the
// requested width.
func formatMasked(f fmt.State, verb rune, goType, s string) {
	switch {
	case verb == 'q':
		s = strconv.Quote(s)
	case verb == 'v' && f.Flag('#'):
		s = goType + "(" + strconv.Quote(s) + ")"
	}
	if w, ok := f.Width(); ok && w > len(s) {
		pad := strings.Repeat(" ", w-len(s))
		if f.Flag('-') {
			s += pad
		} else {
			s = pad + s
		}
	}
	_, _ = f.Write([]byte(s))
}

// LogValue masks the TIN in structured logs.
func (t TIN) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText returns the masked form ("*****6789"), so that a TIN reached
// by any generic encoder (encoding/json, slog's JSON and text handlers, a
// map keyed by TIN, a []TIN) never shows in full. The payload codec writes
// the digits through MarshalJSONTo.
func (t TIN) MarshalText() ([]byte, error) { return t.AppendText(nil) }

// AppendText appends the masked form; nothing for the zero TIN.
func (t TIN) AppendText(b []byte) ([]byte, error) { return append(b, t.String()...), nil }

// MarshalJSONTo writes the full nine digits as a JSON string: the event
// payload's encoding (github.com/go-json-experiment/json prefers it to
// MarshalText). encoding/json does not call it and writes the masked form.
func (t TIN) MarshalJSONTo(enc *jsontext.Encoder) error {
	var d [9]byte
	return enc.WriteToken(jsontext.String(string(t.appendDigits(d[:0]))))
}

// appendDigits appends all nine digits; nothing for the zero TIN.
func (t TIN) appendDigits(b []byte) []byte {
	if t.IsZero() {
		return b
	}
	var d [9]byte
	t.put(d[:])
	return append(b, d[:]...)
}

// UnmarshalText parses nine digits; an empty value is the zero TIN.
func (t *TIN) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = TIN{}
		return nil
	}
	v, err := ParseTIN(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// NPI is a National Provider Identifier: ten digits, the first 1 or 2, the
// last a Luhn check digit computed with the 80840 prefix. NPIs are public and
// are not masked. The zero NPI is "no NPI".
type NPI struct{ v uint32 } // the ten-digit number (< 3e9 fits); 0 is none

// ParseNPI parses and checks an NPI.
func ParseNPI(s string) (NPI, error) {
	bad := func(rule error, got, want string) (NPI, error) {
		return NPI{}, &IdentifierError{Kind: "NPI", Rule: rule, Got: got, Want: want}
	}
	if len(s) != 10 {
		return bad(ErrLength, fmt.Sprintf("%d characters", len(s)), "exactly 10 digits")
	}
	var n uint64
	for i := 0; i < 10; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return bad(ErrNonDigit, fmt.Sprintf("non-digit at position %d", i+1), "exactly 10 digits")
		}
		n = n*10 + uint64(c-'0')
	}
	if s[0] != '1' && s[0] != '2' {
		return bad(ErrNPIFirstDigit, fmt.Sprintf("first digit %c", s[0]), "an NPI starting with 1 or 2")
	}
	if want := NPICheckDigit(s[:9]); s[9] != want {
		return bad(ErrNPICheckDigit, fmt.Sprintf("last digit %c", s[9]), fmt.Sprintf("check digit %c (Luhn with the 80840 prefix)", want))
	}
	return NPI{v: uint32(n)}, nil
}

// MustParseNPI is ParseNPI for constants in tests and examples; it panics on
// a malformed value.
func MustParseNPI(s string) NPI {
	n, err := ParseNPI(s)
	if err != nil {
		panic(err)
	}
	return n
}

// NPICheckDigit returns the check digit for the nine-digit base of an NPI:
// the Luhn digit computed as if "80840" stood before it (the Luhn sum of the
// nine digits plus 24). base must be nine ASCII digits.
func NPICheckDigit(base string) byte {
	sum := 24
	for i := 0; i < 9; i++ {
		d := int(base[8-i] - '0')
		if i%2 == 0 { // rightmost base digit is doubled: the check digit follows it
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// IsZero reports whether n is the zero NPI (none).
func (n NPI) IsZero() bool { return n.v == 0 }

// Number returns the NPI as a number (0 for the zero NPI).
func (n NPI) Number() uint32 { return n.v }

// String returns the ten digits (empty for the zero NPI).
func (n NPI) String() string {
	if n.IsZero() {
		return ""
	}
	return strconv.FormatUint(uint64(n.v), 10)
}

// MarshalText returns the ten digits.
func (n NPI) MarshalText() ([]byte, error) { return n.AppendText(nil) }

// AppendText appends the ten digits; nothing for the zero NPI.
func (n NPI) AppendText(b []byte) ([]byte, error) {
	if n.IsZero() {
		return b, nil
	}
	return strconv.AppendUint(b, uint64(n.v), 10), nil
}

// UnmarshalText parses an NPI; an empty value is the zero NPI.
func (n *NPI) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*n = NPI{}
		return nil
	}
	v, err := ParseNPI(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// ParticipantKind says which kind of participant elects or is scored.
type ParticipantKind uint8

// Participant kinds.
const (
	KindGroup        ParticipantKind = iota + 1 // a practice, identified by its TIN
	KindIndividual                              // a clinician billing under a TIN: TIN/NPI
	KindVirtualGroup                            // a virtual group: an identifier; members by event
	KindAPMEntity                               // an APM Entity: an identifier
)

var kindNames = [...]string{"", "group", "individual", "virtual-group", "apm-entity"}

// String returns the kind's wire name.
func (k ParticipantKind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown-kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText returns the kind's stable wire name.
func (k ParticipantKind) MarshalText() ([]byte, error) { return k.AppendText(nil) }

// AppendText appends the kind's stable wire name.
func (k ParticipantKind) AppendText(b []byte) ([]byte, error) {
	if k == 0 || int(k) >= len(kindNames) {
		return b, fmt.Errorf("events: unknown participant kind %d", k)
	}
	return append(b, kindNames[k]...), nil
}

// UnmarshalText parses a kind's wire name.
func (k *ParticipantKind) UnmarshalText(b []byte) error {
	for i := 1; i < len(kindNames); i++ {
		if string(b) == kindNames[i] {
			*k = ParticipantKind(i)
			return nil
		}
	}
	return &IdentifierError{Kind: "participant kind", Rule: ErrFormat, Got: DescribeInput(string(b)), Want: "group, individual, virtual-group or apm-entity"}
}

// Participant is whoever elects or is scored: a group (TIN), an individual
// clinician (TIN/NPI), a virtual group or an APM Entity (identifier).
// Participant is comparable and may be used as a map key. Build one with
// Group, Individual, NewVirtualGroup, NewAPMEntity or ParseParticipant.
type Participant struct {
	Kind ParticipantKind `json:"kind"`
	TIN  TIN             `json:"tin,omitzero"`
	NPI  NPI             `json:"npi,omitzero"`
	ID   string          `json:"id,omitzero"` // virtual group or APM Entity identifier
}

// Group returns the group participant for a TIN.
func Group(tin TIN) Participant { return Participant{Kind: KindGroup, TIN: tin} }

// Individual returns the clinician participant for a TIN/NPI pair.
func Individual(tin TIN, npi NPI) Participant {
	return Participant{Kind: KindIndividual, TIN: tin, NPI: npi}
}

// NewVirtualGroup returns the virtual group participant for an identifier.
func NewVirtualGroup(id string) (Participant, error) {
	if err := checkEntityID("virtual group identifier", id); err != nil {
		return Participant{}, err
	}
	return Participant{Kind: KindVirtualGroup, ID: id}, nil
}

// NewAPMEntity returns the APM Entity participant for an identifier.
func NewAPMEntity(id string) (Participant, error) {
	if err := checkEntityID("APM Entity identifier", id); err != nil {
		return Participant{}, err
	}
	return Participant{Kind: KindAPMEntity, ID: id}, nil
}

// checkEntityID accepts 1 to 64 letters, digits, '-' and '_'.
func checkEntityID(kind, id string) error {
	const want = "1 to 64 letters, digits, '-' or '_'"
	if len(id) == 0 || len(id) > 64 {
		return &IdentifierError{Kind: kind, Rule: ErrLength, Got: fmt.Sprintf("%d characters", len(id)), Want: want}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return &IdentifierError{Kind: kind, Rule: ErrFormat, Got: fmt.Sprintf("character %d is not allowed", i+1), Want: want}
		}
	}
	return nil
}

// ParseParticipant parses the forms used by the QPP Eligibility API and this
// library: "TIN" (group), "TIN|NPI" (individual), "vg:ID" (virtual group) and
// "apm:ID" (APM Entity).
func ParseParticipant(s string) (Participant, error) {
	switch {
	case strings.HasPrefix(s, "vg:"):
		return NewVirtualGroup(s[3:])
	case strings.HasPrefix(s, "apm:"):
		return NewAPMEntity(s[4:])
	}
	tinPart, npiPart, individual := strings.Cut(s, "|")
	tin, err := ParseTIN(tinPart)
	if err != nil {
		return Participant{}, err
	}
	if !individual {
		return Group(tin), nil
	}
	npi, err := ParseNPI(npiPart)
	if err != nil {
		return Participant{}, err
	}
	return Individual(tin, npi), nil
}

// Validate reports whether p is a well-formed participant of its kind.
func (p Participant) Validate() error {
	bad := func(got, want string) error {
		return &IdentifierError{Kind: "participant", Rule: ErrFormat, Got: got, Want: want}
	}
	switch p.Kind {
	case KindGroup:
		if p.TIN.IsZero() || !p.NPI.IsZero() || p.ID != "" {
			return bad("a group needs a TIN and nothing else", "Group(tin)")
		}
	case KindIndividual:
		if p.TIN.IsZero() || p.NPI.IsZero() || p.ID != "" {
			return bad("an individual needs a TIN and an NPI", "Individual(tin, npi)")
		}
	case KindVirtualGroup, KindAPMEntity:
		if !p.TIN.IsZero() || !p.NPI.IsZero() {
			return bad("a "+p.Kind.String()+" has an identifier, not a TIN or NPI", "NewVirtualGroup(id) or NewAPMEntity(id)")
		}
		return checkEntityID(p.Kind.String()+" identifier", p.ID)
	default:
		return bad(fmt.Sprintf("kind %d", p.Kind), "group, individual, virtual-group or apm-entity")
	}
	return nil
}

// IsZero reports whether p is the zero participant (none).
func (p Participant) IsZero() bool { return p == Participant{} }

// String describes the participant with its TIN masked, e.g.
// "individual *****6789/1234567893".
func (p Participant) String() string {
	switch p.Kind {
	case KindGroup:
		return "group " + p.TIN.String()
	case KindIndividual:
		return "individual " + p.TIN.String() + "/" + p.NPI.String()
	case KindVirtualGroup:
		return "virtual group " + p.ID
	case KindAPMEntity:
		return "APM Entity " + p.ID
	case 0:
		return "no participant"
	}
	return p.Kind.String()
}

// Format masks the TIN under every fmt verb, honouring width and '-'.
func (p Participant) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, "events.Participant", p.String())
}

// LogValue masks the TIN in structured logs.
func (p Participant) LogValue() slog.Value { return slog.StringValue(p.String()) }

// QPPEntity returns the participant in the QPP Qpp-Opt-In-Entities form:
// "TIN" for a group, "TIN|NPI" for an individual, with the full TIN. It is an
// export format: never log it. Other kinds return "".
func (p Participant) QPPEntity() string {
	switch p.Kind {
	case KindGroup:
		return p.TIN.Digits()
	case KindIndividual:
		return p.TIN.Digits() + "|" + p.NPI.String()
	}
	return ""
}

// Program names a quality-payment program: MIPS, QIPS or one a caller
// defines (2 to 16 upper-case letters and digits, starting with a letter).
type Program string

// Programs the library knows out of the box.
const (
	MIPS Program = "MIPS" // CMS Merit-based Incentive Payment System
	QIPS Program = "QIPS" // a payer's primary-care incentive program
)

// Validate checks the program name's form.
func (p Program) Validate() error {
	ok := len(p) >= 2 && len(p) <= 16 && p[0] >= 'A' && p[0] <= 'Z'
	for i := 1; ok && i < len(p); i++ {
		c := p[i]
		ok = c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !ok {
		return &IdentifierError{Kind: "program", Rule: ErrFormat, Got: DescribeInput(string(p)), Want: "2 to 16 upper-case letters and digits starting with a letter, e.g. MIPS"}
	}
	return nil
}

// ProgramYear is a program and its performance (MIPS) or measurement (QIPS)
// year.
type ProgramYear struct {
	Program Program `json:"program"`
	Year    int     `json:"year"`
}

// Year bounds accepted by ProgramYear.Validate.
const (
	MinYear = 2017
	MaxYear = 2100
)

// PY returns the program year for a program and a year (not validated).
func PY(p Program, year int) ProgramYear { return ProgramYear{Program: p, Year: year} }

// ParseProgramYear parses "MIPS-2024" or "MIPS 2024".
func ParseProgramYear(s string) (ProgramYear, error) {
	i := strings.LastIndexAny(s, "- ")
	if i < 0 {
		return ProgramYear{}, &IdentifierError{Kind: "program year", Rule: ErrFormat, Got: DescribeInput(s), Want: "PROGRAM-YYYY, e.g. MIPS-2024"}
	}
	y, err := strconv.Atoi(s[i+1:])
	if err != nil || len(s)-i-1 != 4 {
		return ProgramYear{}, &IdentifierError{Kind: "program year", Rule: ErrFormat, Got: DescribeInput(s), Want: "a four-digit year, e.g. MIPS-2024"}
	}
	py := ProgramYear{Program: Program(s[:i]), Year: y}
	return py, py.Validate()
}

// Validate checks the program name and the year's range.
func (py ProgramYear) Validate() error {
	if err := py.Program.Validate(); err != nil {
		return err
	}
	if py.Year < MinYear || py.Year > MaxYear {
		return &IdentifierError{Kind: "program year", Rule: ErrFormat, Got: fmt.Sprintf("year %d", py.Year), Want: fmt.Sprintf("a year from %d to %d", MinYear, MaxYear)}
	}
	return nil
}

// String returns "MIPS-2024".
func (py ProgramYear) String() string { return string(py.Program) + "-" + strconv.Itoa(py.Year) }
