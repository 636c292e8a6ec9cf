package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

// copyDir copies a device directory for one damage case.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every kind of Badger file, cut, overwritten or deleted on a stopped gate
// with used tickets: the ledger either opens with every used ticket still
// refused, or refuses to open with ErrUnsound and a message saying what to
// do. Never a panic, never a used ticket let in again.
func TestDamagedStore(t *testing.T) {
	v := newTestVenue(t, 10)
	cfg := v.loaded("gate-1")
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	for s := range 300 {
		code := v.code(ticket.Ticket{Serial: uint64(30_000 + s)})
		if d := scan(t, l, code, "G1", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
		used = append(used, code)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]func(string) bool{
		"table":       func(n string) bool { return strings.HasSuffix(n, ".sst") },
		"value log":   func(n string) bool { return strings.HasSuffix(n, ".vlog") },
		"wal":         func(n string) bool { return strings.HasSuffix(n, ".mem") },
		"MANIFEST":    func(n string) bool { return n == "MANIFEST" },
		"KEYREGISTRY": func(n string) bool { return n == "KEYREGISTRY" },
	}
	entries, _ := os.ReadDir(filepath.Join(cfg.Dir, dbDir))
	damages := map[string]func(t *testing.T, path string){
		"delete":   func(t *testing.T, p string) { os.Remove(p) },
		"truncate": func(t *testing.T, p string) { fi, _ := os.Stat(p); os.Truncate(p, fi.Size()/2) },
		"empty":    func(t *testing.T, p string) { os.Truncate(p, 0) },
	}
	for _, at := range []float64{0.1, 0.5, 0.9} {
		damages[fmt.Sprintf("overwrite at %.0f%%", at*100)] = func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			if len(b) == 0 {
				return
			}
			rnd := rand.New(rand.NewPCG(uint64(len(b)), uint64(at*100)))
			off := int(float64(len(b)) * at)
			for i := off; i < min(len(b), off+4096); i++ {
				b[i] = byte(rnd.UintN(256))
			}
			os.WriteFile(p, b, 0o600)
		}
	}
	for kind, match := range kinds {
		var files []string
		for _, e := range entries {
			if match(e.Name()) {
				files = append(files, e.Name())
			}
		}
		if len(files) == 0 {
			t.Logf("%s: no such file in this store", kind)
			continue
		}
		for name, damage := range damages {
			t.Run(kind+"/"+name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "gate-1")
				copyDir(t, cfg.Dir, dir)
				for _, f := range files {
					damage(t, filepath.Join(dir, dbDir, f))
				}
				c := cfg
				c.Dir = dir
				var l *Ledger
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("open panicked: %v", r)
						}
					}()
					l, err = Open(c)
				}()
				if err != nil {
					if !errors.Is(err, ErrUnsound) && !strings.Contains(err.Error(), "repair") {
						t.Errorf("refused without saying what to do: %v", err)
					}
					t.Logf("refused: %v", err)
					return
				}
				defer l.Close()
				for i, code := range used {
					d, err := l.Decide(context.Background(), Scan{Text: code, Gate: "G1"})
					if err != nil {
						continue // refused to decide: fails closed
					}
					if d.OK() {
						t.Fatalf("used ticket %d admitted again after damage", i)
					}
				}
			})
		}
	}
}

// A store whose MANIFEST is gone is refused before Badger opens it, so its
// tables are left as they were for the repair to keep, and a second open
// refuses it again.
func TestMissingManifestLeavesTablesAlone(t *testing.T) {
	v := newTestVenue(t, 10)
	cfg := v.loaded("gate-1")
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for s := range 50 {
		scan(t, l, v.code(ticket.Ticket{Serial: uint64(30_000 + s)}), "G1", "")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(cfg.Dir, dbDir)
	before, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	if len(before) == 0 {
		t.Fatal("no tables after a clean close")
	}
	if err := os.Remove(filepath.Join(db, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := Open(cfg); !errors.Is(err, ErrUnsound) || !strings.Contains(err.Error(), "MANIFEST is missing") {
			t.Fatalf("open without MANIFEST: %v", err)
		}
	}
	after, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	if len(after) != len(before) {
		t.Errorf("tables before the refused opens: %v, after: %v", before, after)
	}
}
