package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/electionledger/ledger/election"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/internal/storeflag"
	"github.com/google/uuid"
)

func main() {
	store := flag.String("store", "memory", storeflag.Usage)
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *store); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, storeSpec string) error {
	now := eligibility.Eastern(2025, time.March, 10, 14, 0)
	clock := func() time.Time { return now }
	opened, err := storeflag.Open(storeSpec, clock, true)
	if err != nil {
		return err
	}
	defer opened.Close()
	store := opened.Store
	names, err := events.NewStreamNamer([]byte(events.DevelopmentKey))
	if err != nil {
		return err
	}
	reg := events.NewRegistry()
	auth := election.NewMemoryAuthorizer()
	svc, err := election.NewService(election.Config{Store: store, Names: names, Authorizer: auth, Registry: reg, Clock: clock})
	if err != nil {
		return err
	}
	py := events.PY(events.MIPS, 2024)
	batch := election.Batch{ID: "acme-2025-03-10", ProgramYear: py}
	table := eligibility.Default()
	for _, l := range clients(auth) {
		// The same status in both segments: segment 1 the initial one,
		// segment 2 reconciled with it the final one.
		for _, seg := range []struct {
			src events.Source
			at  time.Time
		}{{events.SourceSegment1, time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)}, {events.SourceSegment2, time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)}} {
			d := events.EligibilityDetermined{Participant: l.p, ProgramYear: py, Status: l.status, Source: seg.src, DeterminedAt: seg.at}
			if _, err := eligibility.Record(ctx, store, names, reg, table, d, events.Metadata{Actor: "cms", ActorRole: events.RoleSystem}); err != nil {
				return err
			}
		}
		batch.Entries = append(batch.Entries, election.BatchEntry{Participant: l.p, Choice: l.choice})
	}
	staff := election.Actor{ID: "sam@acme-registry", Role: events.RoleRegistry, Organization: "QCDR-ACME", AttestedAt: now.Add(-time.Hour)}
	return upload(ctx, out, svc, staff, batch)
}

// client is one line of the registry's upload: a participant, its status
// and the choice the registry uploads for it.
type client struct {
	p      events.Participant
	status events.EligibilityStatus
	choice events.Choice
}

// clients returns the registry's eight client practices and some of their
// clinicians, and authorizes the registry for all but the last practice.
func clients(auth *election.MemoryAuthorizer) []client {
	var lines []client
	for i := range 8 {
		tin := events.MustParseTIN(fmt.Sprintf("%09d", 300_000_100+i*11))
		st := events.StatusOptInEligible
		switch i {
		case 3:
			st = events.StatusExempt
		case 5:
			st = events.StatusRequired
		}
		choice := []events.Choice{events.ChoiceOptIn, events.ChoiceVoluntary, events.ChoiceNoDecision}[i%3]
		lines = append(lines, client{events.Group(tin), st, choice})
		if i%2 == 0 {
			base := fmt.Sprintf("1%08d", 4000+i)
			npi := events.MustParseNPI(base + string(events.NPICheckDigit(base)))
			lines = append(lines, client{events.Individual(tin, npi), events.StatusOptInEligible, events.ChoiceOptIn})
		}
		if i != 7 {
			auth.AuthorizeRegistry("QCDR-ACME", tin)
		}
	}
	return lines
}

// upload previews the batch, then confirms it as a set, printing what the
// registry's staff would see.
func upload(ctx context.Context, out io.Writer, svc *election.Service, staff election.Actor, batch election.Batch) error {
	meta := func() election.Meta { return election.Meta{CommandID: uuid.New(), Actor: staff} }
	preview, err := svc.SubmitBatch(ctx, meta(), batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "upload %s: %d participants\n", batch.ID, len(batch.Entries))
	fmt.Fprintf(out, "  Opt-In %d, Report Voluntarily %d, No Decision %d\n", preview.Counts.OptIn, preview.Counts.Voluntary, preview.Counts.NoDecision)
	fmt.Fprintf(out, "  refused before confirming (%d):\n", len(preview.Refusals()))
	for _, r := range preview.Refusals() {
		fmt.Fprintf(out, "    #%d %v: %v\n", r.Index, r.Participant, ruleOf(r.Err))
	}
	fmt.Fprintln(out, "typing CONFIRM for the set")
	res, err := svc.ConfirmBatch(ctx, meta(), batch, election.ConfirmPhrase)
	if err != nil {
		return err
	}
	for _, e := range res.Entries {
		detail := ""
		switch e.Status {
		case election.EntryConfirmed:
			detail = "confirmation " + e.Receipt.Hash.String()[:12]
		case election.EntryRefused:
			detail = ruleOf(e.Err)
		}
		fmt.Fprintf(out, "  #%-2d %-34v %-12s %-10s %s\n", e.Index, e.Participant, e.Choice, e.Status, detail)
	}
	fmt.Fprintf(out, "%d confirmed, %d refused, %d with no decision\n",
		res.Count(election.EntryConfirmed), res.Count(election.EntryRefused), res.Count(election.EntryNoDecision))
	return nil
}

// ruleOf names the rule of a refusal.
func ruleOf(err error) string {
	if r, ok := errors.AsType[*election.Refusal](err); ok {
		return r.Rule.Error()
	}
	return err.Error()
}
