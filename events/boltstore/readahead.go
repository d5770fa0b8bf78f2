package boltstore

import (
	"io"
	"os"
	"sync"
)

// readAheadChunk is how much of the file one read-ahead read covers; the
// read-ahead stops between reads when the store closes.
const readAheadChunk = 1 << 20

// readAhead, when a reader starts at the beginning of the log (a rebuild,
// an audit), reads the whole file once, in file order and into a discarded
// buffer, so that the kernel's page cache holds it ahead of the reader.
// bbolt reads through a memory map that it marks for random access, so a
// cold file otherwise comes in as one small random read per page touched;
// read ahead, it comes in at the disk's sequential speed while the rebuild
// works. At most one read-ahead runs at a time; Close stops it and waits.
type readAhead struct {
	mu      sync.Mutex
	running bool
	wg      sync.WaitGroup
}

// start begins reading path ahead unless a read-ahead is running.
func (r *readAhead) start(path string, stop <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return
	}
	r.running = true
	r.wg.Go(func() {
		defer func() {
			r.mu.Lock()
			r.running = false
			r.mu.Unlock()
		}()
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, readAheadChunk)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := io.ReadFull(f, buf); err != nil {
				return // the end of the file, or a read the reader will report itself
			}
		}
	})
}

// wait returns when no read-ahead runs.
func (r *readAhead) wait() { r.wg.Wait() }
