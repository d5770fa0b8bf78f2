package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
)

// procIO reads this process's write counters from /proc/self/io: bytes
// handed to write system calls (wchar) and their number (syscw).
func procIO(tb testing.TB) (wchar, syscw int64) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		tb.Skip("no /proc/self/io:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			wchar = n
		case "syscw":
			syscw = n
		}
	}
	return wchar, syscw
}

// BenchmarkSingleWriter is the durable single-writer comparison, one
// append at a time with fsync on, to a new stream each: our store with
// group commit (the default), our store with a transaction per append
// (boltstore.WithoutGroupCommit), and the stand-in for hallgren's bbolt
// store. Each reports the bytes and write calls an append costs, and runs on
// a new file and on a file already holding prefill records.
//
//	go -C bench/peers test -run '^$' -bench SingleWriter -benchtime 1000x
func BenchmarkSingleWriter(b *testing.B) {
	const prefill = 20_000
	fx := newFixture(prefill + 20_000)
	for _, pre := range []int{0, prefill} {
		for _, mode := range []string{"ours-group", "ours-solo", "standin"} {
			b.Run(mode+"/prefill="+strconv.Itoa(pre), func(b *testing.B) {
				if b.N+pre > len(fx.streams) {
					b.Skipf("at most %d appends", len(fx.streams)-pre)
				}
				dir := b.TempDir()
				if d := os.Getenv("PEERS_DIR"); d != "" {
					dir = d
				}
				appendOne := prepare(b, mode, filepath.Join(dir, mode+".db"), fx, pre)
				w0, c0 := procIO(b)
				b.ResetTimer()
				for i := range b.N {
					if err := appendOne(pre + i); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				w1, c1 := procIO(b)
				b.ReportMetric(float64(w1-w0)/float64(b.N), "written-B/op")
				b.ReportMetric(float64(c1-c0)/float64(b.N), "writes/op")
			})
		}
	}
}

// prepare opens a file for mode holding the first pre elections, and
// returns a function that appends election i.
func prepare(b *testing.B, mode, path string, fx *fixture, pre int) func(i int) error {
	ctx := context.Background()
	os.Remove(path)
	b.Cleanup(func() { os.Remove(path) })
	reg := events.NewRegistry()
	if mode == "standin" {
		s, err := openStandin(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.db.Close() })
		save := func(i int) error { return s.saveRequest(fx, i) }
		s.db.NoSync = true
		for i := range pre {
			if err := save(i); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.db.Sync(); err != nil {
			b.Fatal(err)
		}
		s.db.NoSync = os.Getenv("PEERS_NOSYNC") != ""
		return save
	}
	if pre > 0 {
		fill, err := boltstore.Open(path, boltstore.WithNoSync())
		if err != nil {
			b.Fatal(err)
		}
		for i := range pre {
			data, err := reg.Encode(fx.eventIDs[i], requested(fx.participants[i]), ourMetadata(fx.eventIDs[i]))
			if err == nil {
				_, err = fill.Append(ctx, fx.streams[i], events.NoStream, data)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := fill.Close(); err != nil {
			b.Fatal(err)
		}
		// Flush the prefill now, as the stand-in's does, not in the first
		// timed commit.
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err == nil {
			err = f.Sync()
			f.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	var opts []boltstore.Option
	if os.Getenv("PEERS_NOSYNC") != "" {
		opts = append(opts, boltstore.WithNoSync())
	}
	if mode == "ours-solo" {
		opts = append(opts, boltstore.WithoutGroupCommit())
	}
	store, err := boltstore.Open(path, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return func(i int) error { return fx.appendRequest(ctx, store, reg, i) }
}

// BenchmarkSingleWriterAlternating times the three single-writer sides in
// short alternating blocks (block appends each, the order rotating), so
// that the disk's changing latency hits all three alike, and reports each
// side's median time per append over the blocks and the ratio of the
// stand-in's median to ours (above 1: ours is faster). b.N is the number of
// blocks; -benchtime 100x runs 100 blocks of each.
//
//	go -C bench/peers test -run '^$' -bench SingleWriterAlternating -benchtime 100x
func BenchmarkSingleWriterAlternating(b *testing.B) {
	const block = 20
	modes := []string{"ours-group", "ours-solo", "standin"}
	fx := newFixture(block*b.N + 1)
	dir := b.TempDir()
	if d := os.Getenv("PEERS_DIR"); d != "" {
		dir = d
	}
	appendOne := make([]func(int) error, len(modes))
	for k, mode := range modes {
		appendOne[k] = prepare(b, mode, filepath.Join(dir, mode+".db"), fx, 0)
	}
	times := make([][]time.Duration, len(modes))
	b.ResetTimer()
	for n := range b.N {
		for j := range modes {
			k := (j + n) % len(modes)
			start := time.Now()
			for i := n * block; i < (n+1)*block; i++ {
				if err := appendOne[k](i); err != nil {
					b.Fatal(err)
				}
			}
			times[k] = append(times[k], time.Since(start)/block)
		}
	}
	b.StopTimer()
	for k, mode := range modes {
		b.ReportMetric(float64(median(times[k]))/1e3, mode+"-µs/op")
	}
	b.ReportMetric(float64(median(times[2]))/float64(median(times[0])), "standin÷ours-group")
	b.ReportMetric(float64(median(times[2]))/float64(median(times[1])), "standin÷ours-solo")
}
