package events

import (
	"strconv"
	"time"
)

// The fast decoders read the exact, compact form this package's encoder
// writes for its hottest event types (fields in struct order, optional ones
// omitted when zero, plain ASCII strings, canonical times and numbers), with
// no reflection. Anything else — other spacing or order, escapes, unknown
// members, nulls — makes them decline, and the registry decodes the payload
// with the general decoder instead. They therefore never accept what the
// general decoder would refuse, nor decode anything differently (a fuzz test
// holds them to that).

// scan reads a canonical payload; ok turns false at the first surprise.
type scan struct {
	b  []byte
	ok bool
}

// lit consumes the literal l.
func (s *scan) lit(l string) bool {
	if !s.ok || len(s.b) < len(l) || string(s.b[:len(l)]) != l {
		s.ok = false
		return false
	}
	s.b = s.b[len(l):]
	return true
}

// opt consumes l if it comes next (an optional member), without failing.
func (s *scan) opt(l string) bool {
	if s.ok && len(s.b) >= len(l) && string(s.b[:len(l)]) == l {
		s.b = s.b[len(l):]
		return true
	}
	return false
}

// raw reads a string of printable ASCII with no escapes, returning its
// bytes (no copy).
func (s *scan) raw() []byte {
	if !s.lit(`"`) {
		return nil
	}
	for i, c := range s.b {
		switch {
		case c == '"':
			v := s.b[:i:i]
			s.b = s.b[i+1:]
			return v
		case c < 0x20 || c > 0x7e || c == '\\':
			s.ok = false
			return nil
		}
	}
	s.ok = false
	return nil
}

// str reads a string (see raw) as a Go string.
func (s *scan) str() string { return string(s.raw()) }

// text reads a string into an UnmarshalText method.
func (s *scan) text(parse func([]byte) error) {
	v := s.raw()
	if s.ok && parse(v) != nil {
		s.ok = false
	}
}

// number returns the next JSON number's bytes, checked against the grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scan) number() []byte {
	if !s.ok {
		return nil
	}
	b, i := s.b, 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && b[start] == '0') {
		s.ok = false
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			s.ok = false
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.ok = false
			return nil
		}
	}
	n := b[:i]
	s.b = b[i:]
	return n
}

func (s *scan) int() int64 {
	n := s.number()
	if !s.ok {
		return 0
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		s.ok = false
	}
	return v
}

func (s *scan) float() float64 {
	n := s.number()
	if !s.ok {
		return 0
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		s.ok = false
	}
	return v
}

func (s *scan) boolean() bool {
	switch {
	case s.opt("true"):
		return true
	case s.opt("false"):
		return false
	}
	s.ok = false
	return false
}

// time reads a time in the canonical form the encoder writes (RFC 3339 with
// the shortest fractional seconds); any other form declines.
func (s *scan) time() time.Time {
	v := s.raw()
	if !s.ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	var buf [64]byte
	if err != nil || string(t.AppendFormat(buf[:0], time.RFC3339Nano)) != string(v) {
		s.ok = false
	}
	return t
}

func (s *scan) participant() Participant {
	var p Participant
	s.lit(`{"kind":`)
	s.text(p.Kind.UnmarshalText)
	if s.opt(`,"tin":`) {
		s.text(p.TIN.UnmarshalText)
		if s.ok && p.TIN.IsZero() {
			s.ok = false // the encoder omits a zero TIN
		}
	}
	if s.opt(`,"npi":`) {
		s.text(p.NPI.UnmarshalText)
		if s.ok && p.NPI.IsZero() {
			s.ok = false
		}
	}
	if s.opt(`,"id":`) {
		if p.ID = s.str(); p.ID == "" {
			s.ok = false
		}
	}
	s.lit(`}`)
	return p
}

func (s *scan) programYear() ProgramYear {
	var py ProgramYear
	s.lit(`{"program":`)
	switch v := s.raw(); string(v) {
	case string(MIPS):
		py.Program = MIPS // no allocation for the programs the library knows
	case string(QIPS):
		py.Program = QIPS
	default:
		py.Program = Program(v)
	}
	s.lit(`,"year":`)
	py.Year = int(s.int())
	s.lit(`}`)
	return py
}

// end requires that nothing follows.
func (s *scan) end() bool {
	s.lit(`}`)
	return s.ok && len(s.b) == 0
}

// fastEligibilityDetermined decodes the canonical form of
// EligibilityDetermined (schema version 1; the last three members, added in
// December 2026, are optional and absent from older payloads).
func fastEligibilityDetermined(b []byte) (Event, bool) {
	s := scan{b: b, ok: true}
	var d EligibilityDetermined
	s.lit(`{"participant":`)
	d.Participant = s.participant()
	s.lit(`,"programYear":`)
	d.ProgramYear = s.programYear()
	s.lit(`,"status":`)
	s.text(d.Status.UnmarshalText)
	if s.opt(`,"exclusion":`) {
		s.text(d.Exclusion.UnmarshalText)
		s.ok = s.ok && d.Exclusion != ExclusionNone
	}
	if s.opt(`,"exceeded":`) {
		s.text(d.Exceeded.UnmarshalText)
		s.ok = s.ok && d.Exceeded != 0
	}
	s.lit(`,"volumes":{"allowedChargesCents":`)
	d.Volumes.AllowedChargesCents = s.int()
	s.lit(`,"partBPatients":`)
	d.Volumes.PartBPatients = int(s.int())
	s.lit(`,"coveredServices":`)
	d.Volumes.CoveredServices = int(s.int())
	s.lit(`},"source":`)
	s.text(d.Source.UnmarshalText)
	s.lit(`,"sourceDate":`)
	d.SourceDate = s.time()
	s.lit(`,"determinedAt":`)
	d.DeterminedAt = s.time()
	if s.opt(`,"clinicianType":`) {
		d.ClinicianType = s.str()
		s.ok = s.ok && d.ClinicianType != ""
	}
	if s.opt(`,"qp":`) {
		d.QP = s.boolean()
		s.ok = s.ok && d.QP
	}
	if s.opt(`,"mipsApm":`) {
		d.MIPSAPM = s.boolean()
		s.ok = s.ok && d.MIPSAPM
	}
	if s.opt(`,"portalRegistered":`) {
		d.PortalRegistered = s.boolean()
		s.ok = s.ok && d.PortalRegistered
	}
	if s.opt(`,"run":`) {
		d.Run = int(s.int())
		s.ok = s.ok && d.Run != 0
	}
	if s.opt(`,"newlyEstablished":`) {
		d.NewlyEstablished = s.boolean()
		s.ok = s.ok && d.NewlyEstablished
	}
	if s.opt(`,"eligibleClinicians":`) {
		d.EligibleClinicians = int(s.int())
		s.ok = s.ok && d.EligibleClinicians != 0
	}
	if s.opt(`,"individuallyAssessed":`) {
		d.IndividuallyAssessed = s.boolean()
		s.ok = s.ok && d.IndividuallyAssessed
	}
	if s.opt(`,"qpStatus":`) {
		d.QPStatus = s.str()
		s.ok = s.ok && d.QPStatus != ""
	}
	if !s.end() {
		return nil, false
	}
	return d, true
}

// fastScoreReported decodes the canonical form of ScoreReported (v1).
func fastScoreReported(b []byte) (Event, bool) {
	s := scan{b: b, ok: true}
	var r ScoreReported
	s.lit(`{"participant":`)
	r.Participant = s.participant()
	s.lit(`,"programYear":`)
	r.ProgramYear = s.programYear()
	s.lit(`,"pathway":`)
	s.text(r.Pathway.UnmarshalText)
	s.lit(`,"score":`)
	r.Score = s.float()
	s.lit(`,"scoredCategories":`)
	r.ScoredCategories = int(s.int())
	s.lit(`,"reportedAt":`)
	r.ReportedAt = s.time()
	if !s.end() {
		return nil, false
	}
	return r, true
}
