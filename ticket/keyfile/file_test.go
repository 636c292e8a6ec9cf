package keyfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A write that fails leaves the old file whole and no temporary beside it;
// one that succeeds replaces it with the mode asked for.
func TestWriteStream(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.ndjson")
	if err := WriteFile(path, []byte("old\n"), false); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := WriteStream(path, 0o644, true, func(w io.Writer) error {
		io.WriteString(w, "half a new fi")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed write: %v, want %v", err, boom)
	}
	if got, _ := os.ReadFile(path); string(got) != "old\n" {
		t.Errorf("after a failed write: %q, want the old file", got)
	}
	if err := WriteStream(path, 0o644, false, func(io.Writer) error { return nil }); !errors.Is(err, ErrExists) {
		t.Errorf("write without overwrite over a file: %v, want ErrExists", err)
	}
	if err := WriteStream(path, 0o644, true, func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if got, _ := os.ReadFile(path); string(got) != "new\n" || err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("after a write: %q, mode %v (%v), want new and 0644", got, fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the file alone", len(entries))
	}
}
