package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
)

func TestPractice(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "memory"); err != nil {
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

// TestOnEventStoreDB runs the example on the EventStoreDB store (the
// in-process double of the server).
func TestOnEventStoreDB(t *testing.T) {
	srv := esdbfake.Run(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, srv.ConnectionString()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "84.2 from the group score") {
		t.Errorf("output:\n%s", out.String())
	}
}

// The example's run, on the in-memory store.
func Example() {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "memory"); err != nil {
		fmt.Println(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fmt.Println(lines[len(lines)-2])
	// Output: final score for individual *****6789/1234567893: 84.2 from the group score; payment adjustment +3.31%
}
