package boltstore_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/electionledger/ledger/events/chain"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

const (
	childEnv = "BOLTSTORE_TEST_CHILD" // "crash:<path>", "crash-handoff:<path>", "crash-solo:<path>", "hold:<path>", "create:<stage>|<path>" or "upgrade:<stage>|<path>"
)

// TestMain lets the test binary act as the child process of the crash and
// in-use tests.
func TestMain(m *testing.M) {
	if mode, path, ok := strings.Cut(os.Getenv(childEnv), ":"); ok {
		switch mode {
		case "crash":
			crashChild(path)
		case "crash-handoff": // every append through the writer goroutine
			crashChild(path, boltstore.WithHandOff())
		case "crash-solo": // every append committed by its caller
			crashChild(path, boltstore.WithoutGroupCommit())
		case "hold":
			holdChild(path)
		case "create":
			createChild(path)
		case "upgrade":
			upgradeChild(path)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild appends groups of 1-3 events from 8 goroutines, forever, and
// prints "ack <stream> <revision> <id>" for every event of every append the
// store acknowledged. The parent kills it with SIGKILL.
func crashChild(path string, opts ...boltstore.Option) {
	s, err := boltstore.Open(path, append(opts, boltstore.WithLockTimeout(10*time.Second))...)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				stream := fmt.Sprintf("crash-%d-%d", g, rand.IntN(20))
				n := 1 + rand.IntN(3)
				group := uuid.NewString()
				evs := make([]events.EventData, n)
				for k := range evs {
					evs[k] = events.EventData{ID: uuid.New(), Type: "crash.event", SchemaVersion: 1,
						Data: []byte(fmt.Sprintf(`{"group":%q,"size":%d,"k":%d}`, group, n, k))}
				}
				res, err := s.Append(context.Background(), stream, events.Any, evs...)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				out.Lock()
				for k, e := range evs {
					fmt.Fprintf(w, "ack %s %d %s\n", stream, res.Revision-uint64(n-1-k), e.ID)
				}
				w.Flush() // only after the append returned: an ack is a durable append
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

// holdChild opens the ledger, says so, and holds it until killed.
func holdChild(path string) {
	s, err := boltstore.Open(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	defer s.Close()
	time.Sleep(time.Minute)
}

func child(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode+":"+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return cmd, sc
}

type ack struct {
	stream string
	rev    uint64
}

// TestCrashSafety kills a writer process with SIGKILL at random moments and
// checks, after each reopen, that every acknowledged append is there, that
// no append is partly there, and that every hash chain verifies. The trials
// take turns: the default store (an append committed by its caller when it
// has no group to join, by the writer goroutine otherwise), every append
// handed to the writer, and every append committed by its caller.
func TestCrashSafety(t *testing.T) {
	trials := 50
	if testing.Short() {
		trials = 5
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[uuid.UUID]ack{}
	for trial := range trials {
		cmd, sc := child(t, []string{"crash", "crash-handoff", "crash-solo"}[trial%3], path)
		lines := make(chan string, 1024)
		go func() {
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let it write for a while (at least until its first ack), then kill.
		deadline := time.After(time.Duration(20+rand.IntN(250)) * time.Millisecond)
		first := false
	run:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break run
				}
				first = true
				recordAck(t, acked, l)
			case <-deadline:
				if first {
					break run
				}
				deadline = time.After(10 * time.Millisecond)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for l := range lines { // acks printed before the kill count too
			recordAck(t, acked, l)
		}
		_ = cmd.Wait()
		checkAfterCrash(t, trial, path, acked)
	}
	if len(acked) == 0 {
		t.Fatal("the child never acknowledged an append")
	}
	t.Logf("%d trials, %d acknowledged events all present", trials, len(acked))
}

func recordAck(t *testing.T, acked map[uuid.UUID]ack, line string) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "ack" {
		t.Fatalf("child said %q", line)
	}
	rev, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	acked[uuid.MustParse(f[3])] = ack{f[1], rev}
}

func checkAfterCrash(t *testing.T, trial int, path string, acked map[uuid.UUID]ack) {
	t.Helper()
	ctx := context.Background()
	// The structure check must find nothing wrong with a file a crash
	// left: it has no false alarms.
	fc, err := boltstore.CheckFile(ctx, path)
	if err != nil || !fc.OK() {
		t.Fatalf("trial %d: the file a crash left fails CheckFile: %v %v", trial, err, fc.Damage)
	}
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("trial %d: reopen after SIGKILL: %v", trial, err)
	}
	defer s.Close()
	if audit, err := s.Audit(ctx, nil); err != nil || len(audit.Findings) > 0 {
		t.Fatalf("trial %d: the file a crash left fails its audit: %v %v", trial, err, audit.Findings)
	}
	rep, err := chain.VerifyChains(ctx, s)
	if err != nil {
		t.Fatalf("trial %d: hash chain after SIGKILL: %v", trial, err)
	}
	found := map[uuid.UUID]ack{}
	groups := map[string][2]int{} // group → size, count
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		found[r.ID] = ack{r.Stream, r.Revision}
		var g struct {
			Group string
			Size  int
		}
		if _, err := fmt.Sscanf(string(r.Data), `{"group":%q,"size":%d`, &g.Group, &g.Size); err != nil {
			t.Fatalf("payload %s: %v", r.Data, err)
		}
		c := groups[g.Group]
		groups[g.Group] = [2]int{g.Size, c[1] + 1}
	}
	for id, a := range acked {
		if got, ok := found[id]; !ok || got != a {
			t.Fatalf("trial %d: acknowledged event %s at %s@%d is missing after SIGKILL (found %v)", trial, id, a.stream, a.rev, got)
		}
	}
	for g, c := range groups {
		if c[0] != c[1] {
			t.Fatalf("trial %d: append %s is partial: %d of %d events", trial, g, c[1], c[0])
		}
	}
	if rep.Records != len(found) {
		t.Fatalf("verified %d records, read %d", rep.Records, len(found))
	}
}

// TestInUse: a second process gets ErrInUse within the lock timeout.
func TestInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	cmd, sc := child(t, "hold", path)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("holder did not start: %q", sc.Text())
	}
	start := time.Now()
	_, err := boltstore.Open(path, boltstore.WithLockTimeout(300*time.Millisecond))
	if !errors.Is(err, boltstore.ErrInUse) {
		t.Fatalf("open of a held file: err = %v, want ErrInUse", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("waited %v for a 300ms lock timeout", waited)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the file", err)
	}
}

func seed(t *testing.T, path string) []events.Record {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		e := events.EventData{ID: uuid.New(), Type: "t.e", SchemaVersion: 1, Data: []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 40)))}
		if _, err := s.Append(ctx, "election-a", events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	var recs []events.Record
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// createChild creates a new ledger and dies (os.Exit: no deferred cleanup,
// as in a crash) at the named stage of the creation.
func createChild(arg string) {
	stage, path, _ := strings.Cut(arg, "|")
	_, err := boltstore.Open(path, boltstore.WithStageHook(func(s string) error {
		if s == stage {
			os.Exit(7)
		}
		return nil
	}))
	fmt.Println("no crash:", err)
	os.Exit(2)
}

func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFlippedByteDetected flips each byte of a stored event's log value in
// the file and checks that verification reports that event's stream and
// revision, or, for a byte of the tree hashes stored after the record,
// that stored hash (record 1 keeps stored hashes 1 and 2: its leaf and the
// root over records 0 and 1).
func TestFlippedByteDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flip.db")
	recs := seed(t, path)
	key := binary.BigEndian.AppendUint64(nil, uint64(recs[1].Position))
	var size int
	rawUpdate(t, path, func(tx *bolt.Tx) error { size = len(tx.Bucket([]byte("log")).Get(key)); return nil })
	stored, _ := recs[1].MarshalBinary()
	if size != len(stored)+2*32 {
		t.Fatalf("record 1's value has %d bytes, want its %d and two hashes", size, len(stored))
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	for i := 0; i < size; i += step {
		flip := func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("log"))
			v := append([]byte(nil), b.Get(key)...)
			v[i] ^= 0x20
			return b.Put(key, v)
		}
		rawUpdate(t, path, flip)
		s, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Verify(context.Background())
		s.Close()
		var ce *events.ChainError
		var f *chain.Finding
		switch {
		case i >= len(stored):
			want := fmt.Sprintf("stored hash %d ", 1+(i-len(stored))/32)
			if !errors.As(err, &f) || f.Kind != chain.KindTree || !strings.Contains(f.Error(), want) {
				t.Fatalf("flip of byte %d (a stored tree hash): verification said %v, want a tree finding at %q", i, err, want)
			}
		case !errors.As(err, &ce) || ce.Stream != "election-a" || ce.Revision != 1:
			t.Fatalf("flip of byte %d: verification said %v, want a chain error at election-a@1", i, err)
		}
		rawUpdate(t, path, flip) // flip back
	}
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep, err := s.Verify(context.Background()); err != nil || rep.Records != 3 || rep.Streams != 1 {
		t.Fatalf("restored file: %+v, %v", rep, err)
	}
}

func TestRefusedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A newer format.
	newer := filepath.Join(dir, "newer.db")
	seed(t, newer)
	rawUpdate(t, newer, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("format"), binary.BigEndian.AppendUint32(nil, boltstore.FormatVersion+1))
	})
	// Another bbolt database.
	other := filepath.Join(dir, "other.db")
	rawUpdate(t, other, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err })
	// Truncated copies of a real ledger.
	full := filepath.Join(dir, "full.db")
	seed(t, full)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	// The high-water mark: bbolt grows files ahead of use, so only a cut
	// below it loses data.
	le := binary.LittleEndian
	pageSize := int(le.Uint32(data[16+8:]))
	meta := func(p int) (txid uint64, hwm int) {
		m := data[p*pageSize+16:]
		return le.Uint64(m[48:]), int(le.Uint64(m[40:])) * pageSize
	}
	tx0, hwm := meta(0)
	if tx1, hwm1 := meta(1); tx1 > tx0 {
		hwm = hwm1
	}
	cases := map[string]struct {
		path string
		want error
	}{
		"newer format":           {newer, boltstore.ErrNewerFormat},
		"another bbolt database": {other, boltstore.ErrNotLedger},
		"text file":              {write("notes.txt", []byte(strings.Repeat("not a ledger\n", 1000))), boltstore.ErrNotLedger},
		"empty file":             {write("empty.db", nil), boltstore.ErrNotLedger},
		"cut inside the header":  {write("head.db", data[:10]), boltstore.ErrNotLedger},
		"cut after the header":   {write("meta.db", data[:100]), boltstore.ErrTruncated},
		"cut by a page":          {write("short.db", data[:hwm-pageSize]), boltstore.ErrTruncated},
		"cut by a byte":          {write("byte.db", data[:hwm-1]), boltstore.ErrTruncated},
	}
	for name, c := range cases {
		s, err := boltstore.Open(c.path)
		if !errors.Is(err, c.want) {
			if s != nil {
				s.Close()
			}
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}

// TestReadersDoNotBlockAppends: a subscriber parked inside its loop body,
// and a replay paused mid-way, hold no transaction: appends go on.
func TestReadersDoNotBlockAppends(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for i := range 2000 {
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i%10), events.Any, events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	parked := make(chan struct{})
	release := make(chan struct{})
	go func() {
		for range s.ReadAll(ctx, 0) {
			close(parked)
			<-release // the reader sits here, mid-replay
			return
		}
	}()
	<-parked
	done := make(chan error, 1)
	go func() {
		for i := range 500 {
			if _, err := s.Append(ctx, "w", events.Any, events.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(fmt.Sprint(i))}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("appends blocked behind a paused reader")
	}
	close(release)
}
