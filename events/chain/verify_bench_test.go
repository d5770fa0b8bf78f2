package chain_test

import (
	"path/filepath"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
)

// BenchmarkVerify verifies a season of 20,000 records (10,000 practices'
// determinations, 5,000 requests and confirmations) with the ledger key
// and a trusted checkpoint carrying a digest: in memory, and in a file
// whose stored tree is compared too.
func BenchmarkVerify(b *testing.B) {
	for _, kind := range []string{"memstore", "boltstore"} {
		b.Run(kind, func(b *testing.B) {
			var s events.Store
			if kind == "memstore" {
				s = memstore.New()
			} else {
				f, err := boltstore.Open(filepath.Join(b.TempDir(), "ledger.db"), boltstore.WithNoSync())
				if err != nil {
					b.Fatal(err)
				}
				s = f
			}
			defer s.Close()
			recs := season(b, s, 10_000)
			cp, err := chain.Summarize(bg, s)
			if err != nil {
				b.Fatal(err)
			}
			names := namer(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rep, err := chain.Verify(bg, s, chain.VerifyOptions{Names: names, Checkpoints: []chain.Checkpoint{cp}})
				if err != nil {
					b.Fatal(err)
				}
				if !rep.OK() || rep.Records != int64(len(recs)) {
					b.Fatalf("%d records, findings %v", rep.Records, rep.Findings)
				}
			}
			b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
