package events_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestModulePins checks go.mod: the required modules are there, pinned to
// exact versions, and the backend clients are required at the versions the
// design names once their store packages exist.
func TestModulePins(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod := string(gomod)
	if !strings.Contains(mod, "module github.com/electionledger/ledger\n") {
		t.Fatal("module path is not github.com/electionledger/ledger")
	}
	if m := regexp.MustCompile(`(?m)^go 1\.(\d+)`).FindStringSubmatch(mod); m == nil || len(m[1]) < 2 || m[1] < "23" {
		t.Fatalf("go directive must be 1.23 or later")
	}
	exact := regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+incompatible)?$`)
	required := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:require\s+)?([a-z0-9.\-/]+\.[a-z]+/[^\s]+)\s+(v[^\s]+)`).FindAllStringSubmatch(mod, -1) {
		required[m[1]] = m[2]
		if !exact.MatchString(m[2]) {
			t.Errorf("%s is required at %q, not an exact version", m[1], m[2])
		}
	}
	for _, m := range []string{"github.com/google/uuid", "github.com/go-json-experiment/json", "github.com/stretchr/testify"} {
		if required[m] == "" {
			t.Errorf("go.mod does not require %s", m)
		}
	}
	backends := map[string]struct{ dir, module, version string }{
		"bbolt": {"boltstore", "go.etcd.io/bbolt", ""},
		"esdb":  {"esdbstore", "github.com/EventStore/EventStore-Client-Go/v4", "v4.2.0"},
		"pg":    {"pgstore", "github.com/jackc/pgx/v5", "v5.12.0"},
	}
	for name, b := range backends {
		if _, err := os.Stat(b.dir); err != nil {
			continue // the backend package has not landed yet
		}
		if v := required[b.module]; v == "" || (b.version != "" && v != b.version) {
			t.Errorf("%s store: go.mod requires %s at %q, want %q", name, b.module, v, b.version)
		}
	}
}

// TestDependencyDirection: the events package and the in-memory store import
// no backend client, so an importer compiles only the backend it uses.
func TestDependencyDirection(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".", "./memstore", "./storetest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"go.etcd.io/bbolt", "github.com/EventStore", "google.golang.org/grpc", "github.com/jackc/pgx", "github.com/stretchr/testify"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("events, memstore or storetest depends on %s", dep)
			}
		}
	}
}
