package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

// A backup of a running central, restored with the CLI into a fresh data
// folder holding the same keys, serves the same events and tickets.
func TestCentralBackupRestore(t *testing.T) {
	data := t.TempDir()
	venue := filepath.Join("..", "..", "testdata", "venue.yaml")
	if _, errs, code := cli(t, "", "central", "venue", "import", "--data", data, venue); code != 0 {
		t.Fatal(errs)
	}
	codes, errs, code := cli(t, "", "central", "tickets", "issue", "--data", data, "--event", "1042", "--type", "1", "--count", "3")
	if code != 0 {
		t.Fatal(errs)
	}
	db, url, _ := startCentral(t, context.Background(), data)
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	file := filepath.Join(t.TempDir(), "central.tgbackup")
	out, errs, code := cli(t, "", "central", "backup", "--data", data, "--out", file)
	if code != 0 || !strings.Contains(out, "backed up the sqlite database") || !strings.Contains(out, "the keys are not in it") {
		t.Fatalf("backup: exit %d: %s %s", code, out, errs)
	}
	var tickets int
	db.SQL().QueryRow("SELECT COUNT(*) FROM tickets").Scan(&tickets)

	fresh := t.TempDir()
	_, errs, code = cli(t, "", "central", "restore", "--data", fresh, file)
	if code == 0 || !strings.Contains(errs, "keys this central runs with must be in place") {
		t.Errorf("restore without keys: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(fresh, "central.db")); err == nil {
		t.Error("a refused restore left a database")
	}
	copyTree(t, filepath.Join(data, centralKeysDir), filepath.Join(fresh, centralKeysDir))
	out, errs, code = cli(t, "", "central", "restore", "--data", fresh, file)
	if code != 0 || !strings.Contains(out, "restored the backup made") || !strings.Contains(out, "every table's rows counted") {
		t.Fatalf("restore: exit %d: %s %s", code, out, errs)
	}
	_, errs, code = cli(t, "", "central", "restore", "--data", fresh, file)
	if code == 0 || !strings.Contains(errs, "not empty") {
		t.Errorf("restore over a database: exit %d: %s", code, errs)
	}
	// A restore into a folder whose keys were rotated since the backup
	// signs the current issuer into the restored manifests.
	rotated := t.TempDir()
	copyTree(t, filepath.Join(data, centralKeysDir), filepath.Join(rotated, centralKeysDir))
	if out, errs, code := cli(t, "", "central", "keys", "rotate-issuer", "--data", t.TempDir()); code == 0 {
		t.Errorf("rotate without keys: %s %s", out, errs)
	}
	rotateKeysOnly(t, filepath.Join(rotated, centralKeysDir))
	out, errs, code = cli(t, "", "central", "restore", "--data", rotated, file)
	if code != 0 || !strings.Contains(out, "rotated since the backup, signed into the manifest of 1 venue again") {
		t.Errorf("restore with a rotated issuer: exit %d: %s %s", code, out, errs)
	}

	rdb, _, _ := startCentral(t, context.Background(), fresh)
	var got int
	rdb.SQL().QueryRow("SELECT COUNT(*) FROM tickets").Scan(&got)
	if got != tickets || got != 3 {
		t.Errorf("restored central holds %d tickets, want %d", got, tickets)
	}
	// The restored central issues on from where the backup left off.
	more, errs, code := cli(t, "", "central", "tickets", "issue", "--data", fresh, "--event", "1042", "--type", "1")
	if code != 0 || strings.Contains(codes, strings.TrimSpace(more)) {
		t.Errorf("issue after restore: exit %d: %s %s", code, more, errs)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// rotateKeysOnly rotates the issuer key of a key folder without a
// database, as a rotation after the backup leaves the keys.
func rotateKeysOnly(t *testing.T, dir string) {
	t.Helper()
	k, err := keyfile.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.NextIssuer(cliNow, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.CommitIssuer(); err != nil {
		t.Fatal(err)
	}
}
