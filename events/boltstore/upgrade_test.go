package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/electionledger/ledger/events/boltstore"
	bolt "go.etcd.io/bbolt"
)

// errStop is what a test's stage hook fails an upgrade with.
var errStop = errors.New("stopped by the test")

// failAt returns a stage hook that fails the upgrade the nth time it
// reaches stage.
func failAt(stage string, n int) boltstore.Option {
	seen := 0
	return boltstore.WithStageHook(func(s string) error {
		if s == stage {
			if seen++; seen == n {
				return errStop
			}
		}
		return nil
	})
}

// checkNotUpgraded checks that a format 2 fixture whose upgrade failed or
// was cut short is the format 2 file it was: CheckFile finds nothing, and
// read-only it reads back whole with the same tree. Then, opened for
// writing with no hook, it is upgraded and reads back the same.
func checkNotUpgraded(t *testing.T, path string) {
	t.Helper()
	if f := fileFormat(t, path); f != 2 {
		t.Fatalf("after a failed upgrade the file says format %d, want 2", f)
	}
	if fc, err := boltstore.CheckFile(context.Background(), path); err != nil || !fc.OK() {
		t.Fatalf("CheckFile after a failed upgrade: %v %v", err, fc)
	}
	ro, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	checkFixture2(t, ro)
	ro.Close()
	s, err := boltstore.Open(path, boltstore.WithUpgradeBatch(10))
	if err != nil {
		t.Fatalf("the upgrade after a failed one: %v", err)
	}
	checkFixture2(t, s)
	s.Close()
	if f := fileFormat(t, path); f != boltstore.FormatVersion || hasBucket(t, path, "upgrade") || hasBucket(t, path, "heads") {
		t.Fatalf("after the upgrade the file says format %d, or keeps the staging or heads bucket", f)
	}
	if fc, err := boltstore.CheckFile(context.Background(), path); err != nil || !fc.OK() {
		t.Fatalf("CheckFile after the upgrade: %v %v", err, fc)
	}
}

// TestUpgradeFailsWhole: an upgrade that fails at any stage (after a batch
// of records was copied into the new log, or inside the transaction that
// switches the file over) leaves the file in its old format, whole: Open
// reports the failure, the file reads back as before, and the next
// writable open upgrades it.
func TestUpgradeFailsWhole(t *testing.T) {
	cases := []struct {
		stage string
		n     int
	}{{"upgrade: records copied", 1}, {"upgrade: records copied", 3}, {"upgrade: switched", 1}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%d", strings.TrimPrefix(c.stage, "upgrade: "), c.n), func(t *testing.T) {
			path := copyFixture(t, fixture2)
			_, err := boltstore.Open(path, boltstore.WithUpgradeBatch(10), failAt(c.stage, c.n))
			if !errors.Is(err, errStop) || !strings.Contains(err.Error(), path) {
				t.Fatalf("open with an upgrade failing at %q: %v", c.stage, err)
			}
			checkNotUpgraded(t, path)
		})
	}
}

// TestUpgradeCrash: a process that dies during an upgrade (after a batch
// of records was committed to the new log, or before the switch's
// transaction commits) leaves the file in its old format, whole.
func TestUpgradeCrash(t *testing.T) {
	for _, stage := range boltstore.UpgradeStages {
		t.Run(strings.TrimPrefix(stage, "upgrade: "), func(t *testing.T) {
			path := copyFixture(t, fixture2)
			stopAt(t, "upgrade", stage, path)
			if !hasBucket(t, path, "upgrade") {
				t.Fatal("the crash left no partly built log: the test tests nothing")
			}
			checkNotUpgraded(t, path)
		})
	}
}

// upgradeChild opens a format 2 file for writing, ten records per upgrade
// transaction, and dies (os.Exit: no deferred cleanup, as in a crash) the
// first time the upgrade reaches the named stage.
func upgradeChild(arg string) {
	stage, path, _ := strings.Cut(arg, "|")
	_, err := boltstore.Open(path, boltstore.WithUpgradeBatch(10), boltstore.WithStageHook(func(s string) error {
		if s == stage {
			os.Exit(7)
		}
		return nil
	}))
	fmt.Println("no crash:", err)
	os.Exit(2)
}

// hasBucket reports whether the ledger file at path has a bucket of that
// name at its root.
func hasBucket(t *testing.T, path, name string) bool {
	t.Helper()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	found := false
	if err := db.View(func(tx *bolt.Tx) error { found = tx.Bucket([]byte(name)) != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	return found
}

// stopAt runs a child process (mode "create" or "upgrade") that opens the
// ledger at path and dies at stage, as a crash would, and checks that it
// died there.
func stopAt(t *testing.T, mode, stage, path string) {
	t.Helper()
	cmd, sc := child(t, mode, stage+"|"+path)
	for sc.Scan() {
		t.Log("child:", sc.Text())
	}
	err := cmd.Wait()
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("the child did not stop at %q: %v", stage, err)
	}
}
