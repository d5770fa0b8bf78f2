package piicheck

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strconv"
)

// TestTIN is the TIN the module's PII tests put in every participant:
// nine digits no other value in those tests shares.
const TestTIN = "987654321"

// nine finds runs of exactly nine digits (a longer run, such as a
// ten-digit NPI, which is public, is not one) and nine digits in the SSN
// form.
var nine = regexp.MustCompile(`(^|\D)(\d{9}|\d{3}-\d{2}-\d{4})(\D|$)`)

// hexNumber finds hexadecimal literals (fmt prints pointers so), whose
// digits are an address, never a TIN: Find leaves them out.
var hexNumber = regexp.MustCompile(`0x[0-9a-fA-F]+`)

// encodings of TestTIN a careless formatter could print: its digits, its
// first five (the masked form's last four would complete them), its digits
// in hex (fmt's %x of a string) and base64 (JSON of a []byte), and the
// number itself in decimal and hex.
var encodings = []string{
	TestTIN, TestTIN[:5],
	hex.EncodeToString([]byte(TestTIN)),
	base64.StdEncoding.EncodeToString([]byte(TestTIN))[:12],
	strconv.FormatUint(987654321, 16),
	strconv.FormatUint(987654321|1<<31, 10), // events.TIN's internal form
}

var testTIN = func() *regexp.Regexp {
	s := ""
	for i, e := range encodings {
		if i > 0 {
			s += "|"
		}
		s += regexp.QuoteMeta(e)
	}
	return regexp.MustCompile("(?i)" + s)
}()

// Find returns every stretch of s that may be a full TIN: a run of exactly
// nine digits, nine digits in the SSN form, or TestTIN in any of the
// encodings above.
func Find(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range nine.FindAllStringSubmatch(hexNumber.ReplaceAllString(s, "0x"), -1) {
		out = append(out, m[2])
		seen[m[2]] = true
	}
	for _, m := range FindTestTIN(s) {
		if !seen[m] {
			out = append(out, m)
		}
	}
	return out
}

// FindTestTIN returns every encoding of TestTIN in s: for output where
// runs of digits are expected (fmt's %x of text, say), but not the TIN.
func FindTestTIN(s string) []string { return testTIN.FindAllString(s, -1) }
