package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
)

// BenchmarkReadStream reads one whole stream: 100 events (one read
// transaction, a rehydration's size) and 2,000 (four of them).
func BenchmarkReadStream(b *testing.B) {
	for _, n := range []int{100, 2000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			s := open(b, boltstore.WithNoSync())
			ctx := context.Background()
			batch := make([]events.EventData, n)
			for i := range batch {
				batch[i] = event()
			}
			if _, err := s.Append(ctx, "election-mips-2024-1", events.NoStream, batch...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				count := 0
				for _, err := range s.ReadStream(ctx, "election-mips-2024-1", 0) {
					if err != nil {
						b.Fatal(err)
					}
					count++
				}
				if count != n {
					b.Fatalf("read %d of %d", count, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkCheckFile checks the structure of a file of 20,000 events in
// 10,000 streams, page by page.
func BenchmarkCheckFile(b *testing.B) {
	const n = 20_000
	path := filepath.Join(b.TempDir(), "ledger.db")
	s, err := boltstore.Open(path, boltstore.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < n; i += 2 {
		if _, err := s.Append(ctx, fmt.Sprintf("election-mips-2024-%d", i/2), events.NoStream, event(), event()); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fc, err := boltstore.CheckFile(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		if !fc.OK() {
			b.Fatalf("damage in a sound file: %v", fc.Damage)
		}
	}
}

// BenchmarkCompareStored reads a file's whole stored tree, as Audit and
// chain.Verify do to compare it hash by hash with the tree of the log: a
// file of 200,000 events in 100,000 streams.
func BenchmarkCompareStored(b *testing.B) {
	const n = 200_000
	s := open(b, boltstore.WithNoSync())
	ctx := context.Background()
	for i := 0; i < n; i += 200 {
		var wg sync.WaitGroup
		for w := range 100 { // many writers: group commits
			wg.Go(func() {
				if _, err := s.Append(ctx, fmt.Sprintf("election-mips-2024-%d", i/2+w), events.NoStream, event(), event()); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	built, err := chain.Build(ctx, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fs, err := chain.CompareStored(ctx, s, built)
		if err != nil || len(fs) > 0 {
			b.Fatal(err, fs)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
