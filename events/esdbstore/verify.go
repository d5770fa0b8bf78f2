package esdbstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
)

// MaxFindings bounds how many findings Verify reports.
const MaxFindings = 1000

// Verify reads the whole log and reports everything wrong with the
// ledger's streams, not only the first thing as chain.VerifyChains does:
// every broken hash chain, every event after a seal, every event in a
// ledger stream that the ledger did not write, every tombstoned,
// soft-deleted or truncated ledger stream. The report counts the records
// verified; the error joins the findings (each a *events.ChainError), up
// to MaxFindings, or is the read's failure.
func (s *Store) Verify(ctx context.Context) (chain.ChainsReport, error) {
	var rep chain.ChainsReport
	var chain chain.StreamVerifier
	var findings []error
	broken := map[string]bool{} // streams whose chain already failed
	seen := map[string]bool{}
	note := func(err error) {
		if len(findings) < MaxFindings {
			findings = append(findings, err)
		}
	}
	st := startAt(0)
	for {
		p, err := s.readAllPage(ctx, st, seen, s.opts.page)
		if err != nil {
			rep.Streams = chain.Streams()
			return rep, err
		}
		for _, it := range p.items {
			if it.err != nil {
				note(it.err)
				var ce *events.ChainError
				if errors.As(it.err, &ce) {
					broken[ce.Stream] = true
				}
				continue
			}
			if broken[it.rec.Stream] {
				continue
			}
			if err := chain.Check(&it.rec); err != nil {
				note(err)
				broken[it.rec.Stream] = true
				continue
			}
			rep.Records++
		}
		if uint64(p.read) < s.opts.page {
			break
		}
		st = start{pos: esdb.Position{Commit: p.last, Prepare: p.last}, at: p.last, after: true}
	}
	rep.Streams = chain.Streams()
	if len(findings) == 0 {
		return rep, nil
	}
	if len(findings) == MaxFindings {
		findings = append(findings, fmt.Errorf("esdbstore: verification stopped reporting after %d findings", MaxFindings))
	}
	return rep, errors.Join(findings...)
}
