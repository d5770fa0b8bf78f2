package piicheck_test

import (
	"slices"
	"testing"

	"github.com/electionledger/ledger/internal/piicheck"
)

// TestFind: nine-digit runs and the test TIN's encodings are found; a
// pointer's hexadecimal digits, a ten-digit NPI and a masked TIN are not.
func TestFind(t *testing.T) {
	for s, want := range map[string][]string{
		"tin 123456780 here":          {"123456780"},
		"ssn 123-45-6780":             {"123-45-6780"},
		"ptr (*T)(0x1aa853956470)":    nil,
		"npi 1234567893, *****6789":   nil,
		"hex " + "393837363534333231": {"393837363534333231"},
		"x" + piicheck.TestTIN + "y":  {piicheck.TestTIN},
	} {
		if got := piicheck.Find(s); !slices.Equal(got, want) {
			t.Errorf("Find(%q) = %q, want %q", s, got, want)
		}
	}
}
