package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/electionledger/ledger/events/esdbstore/esdbfake"
)

func TestRegistry(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "memory"); err != nil {
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

// TestOnEventStoreDB runs the example on the EventStoreDB store (the
// in-process double of the server).
func TestOnEventStoreDB(t *testing.T) {
	srv := esdbfake.Run(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, srv.ConnectionString()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "8 confirmed, 2 refused, 2 with no decision") {
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
	fmt.Println(lines[len(lines)-1])
	// Output: 8 confirmed, 2 refused, 2 with no decision
}
