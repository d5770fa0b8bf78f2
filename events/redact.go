package events

import (
	"strconv"
	"unicode/utf8"
)

// RedactDigits withholds from s every group of five or more digits (digits
// run together or split by single spaces, dots or hyphens, as in
// "123-45-6789"), replacing each with "<N digits>". Errors that must
// describe the input they refuse pass it through RedactDigits, so that a
// mistyped TIN (nine digits, maybe an SSN) arriving in any field never
// appears in a message or a log, in full or in part (five digits and the
// masked form's last four would make it whole).
func RedactDigits(s string) string {
	var out []byte // nil until something is withheld
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			if out != nil {
				out = append(out, s[i])
			}
			i++
			continue
		}
		// A group: digits, each run after the first preceded by one
		// separator.
		j, digits, end := i, 0, i
		for j < len(s) {
			if isDigit(s[j]) {
				digits++
				j++
				end = j
				continue
			}
			if (s[j] == '-' || s[j] == ' ' || s[j] == '.') && j+1 < len(s) && isDigit(s[j+1]) {
				j++
				continue
			}
			break
		}
		if digits >= 5 {
			if out == nil {
				out = append(make([]byte, 0, len(s)), s[:i]...)
			}
			out = append(out, '<')
			out = strconv.AppendInt(out, int64(digits), 10)
			out = append(out, " digits>"...)
		} else if out != nil {
			out = append(out, s[i:end]...)
		}
		i = end
	}
	if out == nil {
		return s
	}
	return string(out)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maxDescribed bounds how much of an input DescribeInput quotes.
const maxDescribed = 48

// DescribeInput quotes a refused input for an error message: at most 48
// bytes of it (then its length), with RedactDigits applied, so a message
// names what was wrong without echoing PII or a caller's whole document.
func DescribeInput(s string) string {
	n := len(s)
	if n > maxDescribed {
		cut := maxDescribed
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(RedactDigits(s[:cut])) + "... (" + strconv.Itoa(n) + " bytes)"
	}
	return strconv.Quote(RedactDigits(s))
}
