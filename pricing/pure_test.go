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

// TestPure holds the package to its promise: no tixgate import, nothing
// that does I/O, no clock reads, no floats.
func TestPure(t *testing.T) {
	allowed := map[string]bool{ // the CLDR data: currencies, exponents, symbols
		"golang.org/x/text/currency": true, "golang.org/x/text/language": true, "golang.org/x/text/message": true,
	}
	forbidden := []string{"os", "io", "net", "syscall", "unsafe", "os/exec", "io/fs", "log", "log/slog", "database/sql", "runtime/cgo", "math/rand", "math/rand/v2", "crypto/rand"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
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
			case allowed[path]:
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s: only the standard library and x/text's CLDR data", name, path)
			case strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/"):
				t.Errorf("%s imports %s, which does I/O", name, path)
			default:
				for _, bad := range forbidden {
					if path == bad {
						t.Errorf("%s imports %s, which does I/O or is not deterministic", name, path)
					}
				}
			}
		}
		for _, call := range []string{"time.Now(", "time.Since(", "time.Until(", "time.LoadLocation(", "time.Sleep(", "ParseFloat(", "FormatFloat("} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s calls %s: time is a parameter, money is never a float", name, strings.TrimSuffix(call, "("))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				if x.Name == "float32" || x.Name == "float64" || x.Name == "complex64" || x.Name == "complex128" {
					t.Errorf("%s: %s uses %s: money is never a float", name, fset.Position(x.Pos()), x.Name)
				}
			case *ast.BasicLit:
				if x.Kind == token.FLOAT {
					t.Errorf("%s: %s: float literal %s", name, fset.Position(x.Pos()), x.Value)
				}
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "big" && x.Sel.Name == "Float" {
					t.Errorf("%s: %s uses big.Float", name, fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
}
