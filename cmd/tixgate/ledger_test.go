package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ledger commands end to end, as a venue without central uses them.
func TestLedgerCommands(t *testing.T) {
	dir := t.TempDir()
	keys := testKeys(t)
	mf := filepath.Join(dir, "manifest.ndjson")
	run := func(want int, args ...string) string {
		t.Helper()
		out, errs, code := cli(t, "", args...)
		if code != want {
			t.Fatalf("tixgate %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	if out, errs, code := cli(t, "", "ledger", "manifest", "--keys", keys, "--venue", filepath.Join("..", "..", "testdata", "venue.yaml"), "--tickets", "100", "--out", mf); code != 0 || !strings.Contains(out, "wrote "+mf+": ") || !strings.Contains(out, "100 tickets") || errs != "" {
		t.Errorf("ledger manifest: exit %d, stdout %q, stderr %q; want its summary on stdout", code, out, errs)
	}
	if fi, err := os.Stat(mf); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("manifest file: %v %v", fi, err)
	}
	g1, g2 := filepath.Join(dir, "g1"), filepath.Join(dir, "g2")
	run(0, "ledger", "init", "--data", g1, "--keys", keys, "--device", "gate-1", "--venue", "arena")
	run(0, "ledger", "init", "--data", g2, "--keys", keys, "--device", "gate-2", "--venue", "arena")
	run(2, "ledger", "init", "--data", g2, "--keys", keys, "--device", "gate-2", "--role", "janitor")
	run(1, "ledger", "init", "--data", g2, "--keys", keys, "--device", "gate-2")
	if out := run(1, "ledger", "init", "--data", filepath.Join(dir, "g2b"), "--keys", keys, "--device", "gate-2", "--venue", "arena"); !strings.Contains(out, `venue "arena" already has a device named "gate-2"`) {
		t.Errorf("a second gate-2 in arena said %q", out)
	}
	if out := run(0, "ledger", "import", "--data", g1, mf); !strings.Contains(out, "100 tickets") {
		t.Errorf("import said %q", out)
	}
	if out := run(0, "ledger", "import", "--data", g1, mf); !strings.Contains(out, "0 changes applied") {
		t.Errorf("second import said %q", out)
	}
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte("{\"seq\":1}\nnot json\n"), 0o600)
	if out := run(1, "ledger", "import", "--data", g2, bad); !strings.Contains(out, "line 1") {
		t.Errorf("bad manifest: %q", out)
	}
	cut := filepath.Join(dir, "cut.ndjson")
	whole, _ := os.ReadFile(mf)
	os.WriteFile(cut, whole[:len(whole)/2], 0o600)
	if out := run(1, "ledger", "import", "--data", g2, cut); !strings.Contains(out, "ends in the middle of a change") || strings.Contains(out, "EOF") || !strings.Contains(out, "stopped there") || strings.Contains(out, "imported") {
		t.Errorf("a manifest cut in half: %q", out)
	}
	empty := filepath.Join(dir, "empty.ndjson")
	os.WriteFile(empty, nil, 0o600)
	if out := run(1, "ledger", "import", "--data", g2, empty); !strings.Contains(out, "no manifest changes") {
		t.Errorf("empty manifest: %q", out)
	}

	code := strings.TrimSpace(run(0, "ticket", "issue", "--keys", keys, "--event", "1042", "--serial", "3", "--type", "1"))
	var d map[string]any
	json.Unmarshal([]byte(run(0, "scan", "--data", g1, "--gate", "G1", code)), &d)
	if d["result"] != "ok" || d["holder"] != "Guest 0000003" {
		t.Errorf("scan: %v", d)
	}
	json.Unmarshal([]byte(run(1, "scan", "--data", g1, "--gate", "G2", code)), &d)
	if d["reason"] != "already_used" {
		t.Errorf("second scan: %v", d)
	}
	run(1, "scan", "--data", g1, "--gate", "G1", "junk")
	run(2, "scan", "--data", g1, code)
	run(0, "override", "--data", g1, "--gate", "G1", "--supervisor", "ana", "--note", "lost wristband", code)

	if out := run(0, "ledger", "verify", "--data", g1); !strings.Contains(out, "sound") {
		t.Errorf("verify: %q", out)
	}
	var st map[string]any
	json.Unmarshal([]byte(run(0, "ledger", "stats", "--data", g1)), &st)
	if st["tickets"] != 100.0 || st["records"] != 2.0 {
		t.Errorf("stats: %v", st)
	}
	run(0, "ledger", "reindex", "--data", g1)
	backup := filepath.Join(dir, "g1.backup")
	run(0, "ledger", "backup", "--data", g1, backup)
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v", fi, err)
	}
	// A replacement device restores gate-1's backup: the manifest, gate-1's
	// certificate and its records, each verified.
	if out := run(0, "ledger", "restore", "--data", g2, backup); !strings.Contains(out, "2 stored") {
		t.Errorf("restore: %q", out)
	}
	json.Unmarshal([]byte(run(1, "scan", "--data", g2, "--gate", "G3", code)), &d)
	if d["reason"] != "already_used" {
		t.Errorf("scan on the restored device: %v", d)
	}
	// gate-1's store loses its MANIFEST: refused, then restored from the
	// backup it took, it decides again and knows its used ticket.
	if err := os.Remove(filepath.Join(g1, "db", "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	if out := run(1, "ledger", "verify", "--data", g1); !strings.Contains(out, "MANIFEST is missing") {
		t.Errorf("verify of a store without MANIFEST: %q", out)
	}
	if out := run(0, "ledger", "restore", "--data", g1, backup); !strings.Contains(out, "restoring into a new store") {
		t.Errorf("restore into an unsound ledger: %q", out)
	}
	json.Unmarshal([]byte(run(1, "scan", "--data", g1, "--gate", "G1", code)), &d)
	if d["reason"] != "already_used" {
		t.Errorf("scan after the restore: %v", d)
	}
	run(0, "ledger", "conflicts", "--data", g1)
	run(2, "ledger", "stats")
}
