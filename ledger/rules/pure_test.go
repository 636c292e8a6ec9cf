package rules

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure holds the package to its promise: no tixgate import but ticket,
// nothing that does I/O, no clock reads.
func TestPure(t *testing.T) {
	forbidden := []string{"os", "io", "net", "syscall", "unsafe", "os/exec", "io/fs", "log", "log/slog", "database/sql", "runtime/cgo"}
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
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case path == "github.com/tixgate/tixgate/ticket":
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s: only the standard library and ticket", name, path)
			case strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/"):
				t.Errorf("%s imports %s, which does I/O", name, path)
			default:
				for _, bad := range forbidden {
					if path == bad {
						t.Errorf("%s imports %s, which does I/O", name, path)
					}
				}
			}
		}
		for _, call := range []string{"time.Now(", "time.Since(", "time.Until(", "time.LoadLocation(", "time.Sleep("} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s calls %s: time comes in the Context", name, strings.TrimSuffix(call, "("))
			}
		}
	}
}
