package boltstore_test

import (
	"strings"
	"testing"

	"github.com/electionledger/ledger/events/boltstore"
)

// TestPageErrorShowsNoRawBytes: a damaged page's bucket path may be any
// bytes; the message quotes what is not printable and withholds runs of
// digits (they may come from a payload holding a TIN).
func TestPageErrorShowsNoRawBytes(t *testing.T) {
	for bucket, want := range map[string]string{
		"log":                 "(log)",
		"index/\x1b[2Jx":      `("index/\x1b[2Jx")`,
		"heads/tin 987654321": "(heads/tin <9 digits>)",
	} {
		got := (&boltstore.PageError{Page: 7, Bucket: bucket, Problem: "bad"}).Error()
		if !strings.Contains(got, want) || strings.Contains(got, "\x1b") || strings.Contains(got, "987654321") {
			t.Errorf("bucket %q: %q, want it to show %q", bucket, got, want)
		}
	}
}
