package codeshape_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/electionledger/ledger/internal/codeshape"
)

// pending lists the functions still past the limits while they are being
// split; the list only shrinks: an entry that no longer offends fails the
// test too, so it is removed as soon as its function is fixed.
var pending = map[string]bool{}

// TestModuleShape holds every function of the module to the limits.
func TestModuleShape(t *testing.T) {
	findings, err := codeshape.Check("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range findings {
		key := f.File + " " + f.Func
		seen[key] = true
		if !pending[key] {
			t.Error(f)
		}
	}
	for key := range pending {
		if !seen[key] {
			t.Errorf("%s is within the limits now: remove it from pending", key)
		}
	}
}

func TestDepth(t *testing.T) {
	for src, want := range map[string]int{
		`x := 1; _ = x`: 0,
		`if a { b() }`:  1,
		`if a { b() } else if c { d() } else if e { f() } else { g() }`: 1,
		`if a { if b { c() } }`:          2,
		`if a { } else { if b { c() } }`: 2,
		`for { switch x { case 1: if y { go func() { for range z {} }() } } }`: 5,
		`return func(yield func() bool) { for { if !yield() { return } } }`:    3,
		`select { case <-c: for { } }`:                                         2,
	} {
		e, err := parser.ParseExpr("func() {" + src + "}")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := codeshape.Depth(e.(*ast.FuncLit).Body); got != want {
			t.Errorf("Depth(%s) = %d, want %d", src, got, want)
		}
	}
}

// TestCheckFindsWhatIsPastTheLimits: a long function and a deep one are
// found; a test file, a testdata file and a short shallow function are not.
func TestCheckFindsWhatIsPastTheLimits(t *testing.T) {
	dir := t.TempDir()
	long := "package p\n\nfunc long() {\n" + strings.Repeat("\tprintln()\n", codeshape.MaxLines-1) + "}\n"
	ok := "package p\n\nfunc fits() {\n" + strings.Repeat("\tprintln()\n", codeshape.MaxLines-2) + "}\n"
	deep := "package p\n\ntype T struct{}\n\nfunc (*T) deep(a bool) {\n\tif a { for { switch { case a: if a { if a { return } } } } }\n}\n"
	write := func(name, src string) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("long.go", long)
	write("ok.go", ok)
	write("deep.go", deep)
	write("long_test.go", strings.Replace(long, "long()", "longTest()", 1))
	write("testdata/long.go", long)
	findings, err := codeshape.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, fmt.Sprintf("%s %s %d %d", f.File, f.Func, f.Lines, f.Depth))
	}
	want := []string{"deep.go T.deep 3 5", fmt.Sprintf("long.go long %d 0", codeshape.MaxLines+1)}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("findings %q, want %q", got, want)
	}
}
