package pricing

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure holds the package to its promise: nothing of tixgate, no I/O, no
// clock reads and no floating point anywhere, so the storefront, central
// and a handheld compute the same sums from the same inputs.
func TestPure(t *testing.T) {
	forbidden := map[string]bool{"os": true, "io": true, "net": true, "syscall": true, "unsafe": true,
		"io/fs": true, "log": true, "log/slog": true, "database/sql": true, "runtime/cgo": true, "math/rand": true, "math/rand/v2": true, "crypto/rand": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		checked++
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case strings.HasPrefix(path, "golang.org/x/text/"):
				// ISO 4217 and CLDR data: tables, no I/O.
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s: only the standard library and golang.org/x/text", name, path)
			case strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/") || forbidden[path]:
				t.Errorf("%s imports %s: the package does no I/O and draws no randomness", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if n.Name == "float32" || n.Name == "float64" || n.Name == "complex64" || n.Name == "complex128" {
					t.Errorf("%s: %s uses %s: money is integer minor units", name, fset.Position(n.Pos()), n.Name)
				}
			case *ast.BasicLit:
				if n.Kind == token.FLOAT || n.Kind == token.IMAG {
					t.Errorf("%s: %s has the literal %s: money is integer minor units", name, fset.Position(n.Pos()), n.Value)
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "big" && n.Sel.Name == "Float" {
					t.Errorf("%s: %s uses big.Float: money is integer minor units", name, fset.Position(n.Pos()))
				}
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "strconv" && (n.Sel.Name == "ParseFloat" || n.Sel.Name == "FormatFloat") {
					t.Errorf("%s: %s calls strconv.%s: money is integer minor units", name, fset.Position(n.Pos()), n.Sel.Name)
				}
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "time" {
					switch n.Sel.Name {
					case "Now", "Since", "Until", "Sleep", "LoadLocation", "After", "Tick", "NewTimer", "NewTicker":
						t.Errorf("%s: %s calls time.%s: time is a parameter", name, fset.Position(n.Pos()), n.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked %d files: the glob missed the package", checked)
	}
}
