package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/electionledger/ledger/election"
	et "github.com/electionledger/ledger/election/electiontest"
	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
)

// BenchmarkRegistryBatchFile submits and confirms a registry batch of
// 10,000 opt-ins through the Service on the file store, fsync on. The
// seconds/batch metric is the figure (target: under 3 s).
func BenchmarkRegistryBatchFile(b *testing.B) {
	registryBatch(b, func() events.Store {
		store, err := boltstore.Open(filepath.Join(b.TempDir(), "ledger.db"))
		if err != nil {
			b.Fatal(err)
		}
		return store
	})
}

// BenchmarkRegistryBatchPostgres is BenchmarkRegistryBatchFile on
// PostgreSQL, fsync and synchronous_commit on.
func BenchmarkRegistryBatchPostgres(b *testing.B) {
	registryBatch(b, func() events.Store { return openPostgres(b, false) })
}

// registryBatch submits and confirms a registry batch of
// election.MaxBatchEntries opt-ins through the Service on a new store from
// open each round, timing the two commands alone.
func registryBatch(b *testing.B, open func() events.Store) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := et.New(b, et.WithStore(open()))
		batch := election.Batch{ID: "bench", ProgramYear: py24}
		var clients []events.TIN
		dets := make([]events.EligibilityDetermined, 0, election.MaxBatchEntries)
		for k := range election.MaxBatchEntries {
			p := et.Group(500_000 + k)
			batch.Entries = append(batch.Entries, election.BatchEntry{Participant: p, Choice: events.ChoiceOptIn})
			clients = append(clients, p.TIN)
			dets = append(dets, et.OptInEligible(p, py24))
		}
		recordDeterminations(b, h, dets)
		reg := h.RegistryActor("QCDR-B", clients...)
		conf := h.RegistryActor("QCDR-B")
		b.StartTimer()
		start := time.Now()
		if _, err := h.Service.SubmitBatch(context.Background(), reg, batch); err != nil {
			b.Fatal(err)
		}
		res, err := h.Service.ConfirmBatch(context.Background(), conf, batch, "CONFIRM")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "seconds/batch")
		if n := res.Count(election.EntryConfirmed); n != election.MaxBatchEntries {
			b.Fatalf("%d confirmed", n)
		}
	}
}

// recordDeterminations records determinations from 64 goroutines, so the
// setup shares fsyncs.
func recordDeterminations(b *testing.B, h *et.Harness, dets []events.EligibilityDetermined) {
	work := make(chan events.EligibilityDetermined)
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			for d := range work {
				if _, err := eligibility.Record(context.Background(), h.Store, h.Names, h.Registry, h.Table, d, events.Metadata{ActorRole: events.RoleSystem}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for _, d := range dets {
		work <- d
	}
	close(work)
	for range 64 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}
