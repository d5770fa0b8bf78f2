package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"12 participants", "Opt-In 7, Report Voluntarily 3, No Decision 2", "refused before confirming (2)",
		"participant is not opt-in eligible", "actor not authorized for the participant",
		"8 confirmed, 2 refused, 2 with no decision",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
