package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestAudit(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), nil, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	s := out.String()
	for _, want := range []string{
		"verified 3 records in 2 streams: every hash chain intact",
		"as of 2024-12-01: group *****6789 is opt-in eligible (no decision)",
		"as of 2025-02-04: group *****6789 is pending confirmation",
		"as of 2025-03-15: group *****6789 is MIPS eligible via opt-in",
		"detected at election-mips-2024-", "revision 1: content does not match its hash",
		"that is the election stream of group *****6789",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestAuditFlags(t *testing.T) {
	for _, args := range [][]string{{"-participant", "12"}, {"-asof", "yesterday"}, {"-ledger", "/nonexistent/dir/x.db"}, {"-ledger", t.TempDir() + "/missing.db"}} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("audit %v: no error", args)
		}
	}
}
