//go:build unix

package memstore

import (
	"crypto/sha256"
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
)

// BenchmarkTreeGrow measures what the Merkle tree adds to each append: the
// record's leaf, the subtree roots it completes and their place in the
// stored tree, over 100,000 records (as BenchmarkAppendNewStreams in
// bench appends), taken under the store's lock like an append.
func BenchmarkTreeGrow(b *testing.B) {
	const n = 100_000
	hs := make([]events.Hash, n)
	for i := range hs {
		var x [8]byte
		binary.BigEndian.PutUint64(x[:], uint64(i))
		hs[i] = sha256.Sum256(x[:])
	}
	b.ReportAllocs()
	var s *Store
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if i%n == 0 {
			b.StopTimer()
			s = New()
			b.StartTimer()
		}
		s.mu.Lock()
		s.grow(hs[i%n])
		s.mu.Unlock()
	}
	// The CPU time, which the machine's other tenants disturb less than
	// the elapsed time (it includes the new stores' setup).
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
