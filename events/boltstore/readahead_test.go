package boltstore

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestReadAheadStopsAndRunsOnce starts a read-ahead of a large (sparse)
// file twice: only one runs; closing its stop channel ends it, and wait
// returns with no goroutine left behind.
func TestReadAheadStopsAndRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 * readAheadChunk); err != nil {
		t.Fatal(err)
	}
	f.Close()
	before := runtime.NumGoroutine()
	var r readAhead
	stop := make(chan struct{})
	r.start(path, stop)
	r.start(path, stop)
	if n := runtime.NumGoroutine(); n > before+1 {
		t.Fatalf("%d goroutines after two starts, want at most %d", n, before+1)
	}
	close(stop)
	done := make(chan struct{})
	go func() { r.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the read-ahead did not stop")
	}
	r.mu.Lock()
	running := r.running
	r.mu.Unlock()
	if running {
		t.Fatal("the read-ahead still claims to run after it stopped")
	}
	r.start(path, stop) // may run again once the last one ended (and stops at once)
	r.wait()
}
