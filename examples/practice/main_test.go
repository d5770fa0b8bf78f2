package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestPractice(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"group *****6789: opt-in-eligible",
		"confirmation phrase is not CONFIRM",
		"group opt-in confirmed; confirmation number",
		"election is final",
		"group *****6789: MIPS eligible via opt-in (traditional), elected by jane@mainstreet",
		"voluntary reporter (traditional), elected by ada@mainstreet",
		"84.2 from the group score; payment adjustment +3.31%",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "000456789") {
		t.Error("the output shows a full TIN")
	}
}
