package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A venue file written for one night can be tried on any day: with --now
// its concert's doors open now, so the README's walk-through admits its
// ticket instead of refusing it as outside_hours.
func TestVenueFileNow(t *testing.T) {
	day := time.Date(2027, 3, 9, 15, 4, 31, 0, time.UTC)
	now := func() time.Time { return day }
	dir := t.TempDir()
	keys := testKeys(t)
	venue := filepath.Join("..", "..", "testdata", "venue.yaml")
	for _, moved := range []bool{false, true} {
		mf := filepath.Join(dir, "manifest.ndjson")
		args := []string{"ledger", "manifest", "--keys", keys, "--venue", venue, "--tickets", "20", "--out", mf}
		if moved {
			args = append(args, "--now")
		}
		_, errs, rc := cliAt(t, now, "", args...)
		if rc != 0 {
			t.Fatalf("ledger manifest: %s", errs)
		}
		if warned := strings.Contains(errs, "event 1042 (Summer Concert) ended 2026-06-12"); warned == moved {
			t.Errorf("--now %v: stderr %q: want a warning only for the file's ended dates", moved, errs)
		}
		name := map[bool]string{false: "gate-1", true: "gate-2"}[moved]
		g := filepath.Join(dir, name)
		for _, a := range [][]string{
			{"ledger", "init", "--data", g, "--keys", keys, "--device", name, "--venue", "arena"},
			{"ledger", "import", "--data", g, mf},
		} {
			if _, errs, code := cliAt(t, now, "", a...); code != 0 {
				t.Fatalf("%s: %s", strings.Join(a, " "), errs)
			}
		}
		code, errs, rc := cliAt(t, now, "", "ticket", "issue", "--keys", keys, "--event", "1042", "--serial", "3", "--type", "1")
		if rc != 0 {
			t.Fatal(errs)
		}
		out, _, _ := cliAt(t, now, "", "scan", "--data", g, "--gate", "G1", strings.TrimSpace(code))
		var d map[string]any
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("scan said %q", out)
		}
		want := map[bool]string{false: "outside_hours", true: "ok"}[moved]
		if d["reason"] != want {
			t.Errorf("--now %v: scan %v, want %s", moved, d, want)
		}
	}
}
