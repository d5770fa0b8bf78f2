package codeshape

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
)

// The limits a function is held to.
const (
	MaxLines = 80 // lines from func to its closing brace
	MaxDepth = 4  // nested control structures and function literals
)

// Finding is one function past a limit.
type Finding struct {
	File  string // path relative to the root Check was given
	Line  int    // line of the func keyword
	Func  string // the function's name, with its receiver type if any
	Lines int    // its length in lines
	Depth int    // its deepest nesting
}

// String names the function, where it is and what is past the limit.
func (f Finding) String() string {
	var past []string
	if f.Lines > MaxLines {
		past = append(past, fmt.Sprintf("%d lines (at most %d)", f.Lines, MaxLines))
	}
	if f.Depth > MaxDepth {
		past = append(past, fmt.Sprintf("nested %d deep (at most %d)", f.Depth, MaxDepth))
	}
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Func, strings.Join(past, ", "))
}

// Check parses every non-test Go file under root (skipping testdata,
// hidden and underscore directories) and returns the functions past a
// limit, in file order.
func Check(root string) ([]Finding, error) {
	var out []Finding
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return skipDir(root, path, d.Name())
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, checkFile(fset, filepath.ToSlash(rel), f)...)
		return nil
	})
	return out, err
}

// skipDir skips testdata and hidden or underscore directories.
func skipDir(root, path, name string) error {
	if path == root {
		return nil
	}
	if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return filepath.SkipDir
	}
	return nil
}

func checkFile(fset *token.FileSet, name string, f *ast.File) []Finding {
	var out []Finding
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		start, end := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
		fn := Finding{File: name, Line: start, Func: funcName(fd), Lines: end - start + 1, Depth: Depth(fd.Body)}
		if fn.Lines > MaxLines || fn.Depth > MaxDepth {
			out = append(out, fn)
		}
	}
	return out
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if ix, ok := t.(*ast.IndexListExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// Depth returns the deepest nesting of control structures and function
// literals in n, n itself not counted.
func Depth(n ast.Node) int {
	var w depthWalker
	w.children(n, 0)
	return w.deepest
}

// depthWalker finds the deepest nesting under a node.
type depthWalker struct{ deepest int }

// children walks n's descendants at depth d, descending a level at each
// node that opens one.
func (w *depthWalker) children(n ast.Node, d int) {
	ast.Inspect(n, func(c ast.Node) bool {
		if c == nil || c == n {
			return true
		}
		return !w.opens(c, d)
	})
}

// opens walks c one level deeper if c opens a level, and reports whether
// it did.
func (w *depthWalker) opens(c ast.Node, d int) bool {
	switch c := c.(type) {
	case *ast.IfStmt:
		w.ifChain(c, d)
		return true
	case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.FuncLit:
		w.deepest = max(w.deepest, d+1)
		w.children(c, d+1)
		return true
	}
	return false
}

// ifChain walks an if and its else-ifs as one level.
func (w *depthWalker) ifChain(c *ast.IfStmt, d int) {
	for c != nil {
		w.deepest = max(w.deepest, d+1)
		if c.Init != nil {
			w.children(c.Init, d)
		}
		w.children(c.Cond, d)
		w.children(c.Body, d+1)
		next, _ := c.Else.(*ast.IfStmt)
		if next == nil && c.Else != nil {
			w.children(c.Else, d+1)
		}
		c = next
	}
}
