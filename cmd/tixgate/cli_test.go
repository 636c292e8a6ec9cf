package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

var cliNow = time.Date(2026, 6, 12, 19, 30, 0, 0, time.UTC)

// cli runs tixgate in-process and returns stdout, stderr and the exit code.
func cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return cliAt(t, func() time.Time { return cliNow }, stdin, args...)
}

// cliAt is cli on the clock now.
func cliAt(t *testing.T, now func() time.Time, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		now: now,
		log: testLogger(t),
	}
	code := exitCode(run(context.Background(), args, e), &errb)
	return out.String(), errb.String(), code
}

func testKeys(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if _, errs, code := cli(t, "", "keys", "init", "--dir", dir); code != 0 {
		t.Fatalf("keys init: exit %d: %s", code, errs)
	}
	return dir
}

func TestKeysInitFiles(t *testing.T) {
	dir := testKeys(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %#o, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if _, errs, code := cli(t, "", "keys", "init", "--dir", dir); code != 1 || !strings.Contains(errs, "already holds") {
		t.Errorf("second keys init: exit %d, %q; want 1 and a refusal", code, errs)
	}
}

func TestIssueVerify(t *testing.T) {
	keys := testKeys(t)
	out, errs, code := cli(t, "", "ticket", "issue", "--keys", keys, "--event", "7", "--serial", "42", "--type", "2",
		"--zones", "0b11", "--from", "2026-06-12T18:00:00+02:00", "--until", "2026-06-13T02:00:00+02:00", "--seat", "A-12")
	if code != 0 {
		t.Fatalf("issue: exit %d: %s", code, errs)
	}
	code1 := strings.TrimSpace(out)
	if !strings.HasPrefix(code1, ticket.CodePrefix) {
		t.Fatalf("issue printed %q", out)
	}
	// Flags after the code work too; stdin works with "-".
	out, errs, code = cli(t, code1+"\n", "ticket", "verify", "-", "--keys", keys)
	if code != 0 {
		t.Fatalf("verify: exit %d: %s %s", code, out, errs)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("verify printed %q: %v", out, err)
	}
	want := map[string]any{"valid": true, "reason": "ok", "event": 7.0, "serial": 42.0, "type": 2.0, "zones": 3.0,
		"seat": "A-12", "valid_from": "2026-06-12T16:00:00Z", "valid_until": "2026-06-13T00:00:00Z", "issuer_name": "central"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("verify %s = %v, want %v", k, v[k], w)
		}
	}
	// Outside its window: exit 1 with the reason.
	out, _, code = cli(t, "", "ticket", "verify", "--keys", keys, "--at", "2026-06-14T00:00:00Z", code1)
	if code != 1 || !strings.Contains(out, `"reason":"expired"`) {
		t.Errorf("verify expired: exit %d, %s", code, out)
	}
	out, _, code = cli(t, "", "ticket", "verify", "--keys", keys, "TG1:HELLO")
	if code != 1 || !strings.Contains(out, `"reason":"malformed"`) || strings.Contains(out, `"serial"`) {
		t.Errorf("verify garbage: exit %d, %s", code, out)
	}
}

func TestRotatingShowVerify(t *testing.T) {
	keys := testKeys(t)
	out, _, code := cli(t, "", "ticket", "issue", "--keys", keys, "--event", "7", "--serial", "43", "--type", "2", "--rotating")
	if code != 0 {
		t.Fatal("issue failed")
	}
	static := strings.TrimSpace(out)
	out, _, code = cli(t, "", "ticket", "verify", "--keys", keys, static)
	if code != 1 || !strings.Contains(out, "stale_code") {
		t.Errorf("static part of a rotating ticket: exit %d %s", code, out)
	}
	shown, _, code := cli(t, "", "ticket", "show", "--keys", keys, static)
	if code != 0 {
		t.Fatal("show failed")
	}
	if out, _, code = cli(t, "", "ticket", "verify", "--keys", keys, strings.TrimSpace(shown)); code != 0 {
		t.Errorf("shown code: exit %d %s", code, out)
	}
	late := cliNow.Add(time.Minute).Format(time.RFC3339)
	if out, _, code = cli(t, "", "ticket", "verify", "--keys", keys, "--at", late, strings.TrimSpace(shown)); code != 1 {
		t.Errorf("shown code a minute later: exit %d %s", code, out)
	}
}

func TestQRDecode(t *testing.T) {
	keys := testKeys(t)
	out, _, _ := cli(t, "", "ticket", "issue", "--keys", keys, "--event", "1", "--serial", "1", "--type", "1")
	code := strings.TrimSpace(out)
	png := filepath.Join(t.TempDir(), "t.png")
	if _, errs, rc := cli(t, code, "ticket", "qr", "--out", png, "-"); rc != 0 {
		t.Fatalf("qr: exit %d: %s", rc, errs)
	}
	out, errs, rc := cli(t, "", "ticket", "decode", png)
	if rc != 0 || strings.TrimSpace(out) != code {
		t.Fatalf("decode: exit %d, %q %s; want %q", rc, out, errs, code)
	}
	blank := filepath.Join(t.TempDir(), "blank.png")
	if _, errs, rc := cli(t, "", "ticket", "qr", "--out", blank, "x"); rc != 0 {
		t.Fatalf("qr: %s", errs)
	}
	notImage := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notImage, []byte("hello"), 0o644)
	if _, errs, rc := cli(t, "", "ticket", "decode", notImage); rc != 1 || !strings.Contains(errs, "notes.txt") {
		t.Errorf("decode of a text file: exit %d, %q", rc, errs)
	}
	if _, errs, rc := cli(t, "", "ticket", "decode", filepath.Join(t.TempDir(), "missing.png")); rc != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("decode of a missing file: exit %d, %q", rc, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	keys := testKeys(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown subcommand", []string{"ticket", "frob"}, "unknown command"},
		{"unknown flag", []string{"ticket", "issue", "--keys", keys, "--bogus"}, "ticket issue: unknown flag --bogus"},
		{"missing flags", []string{"ticket", "issue", "--keys", keys}, "missing --event, --serial, --type"},
		{"bad number", []string{"ticket", "issue", "--keys", keys, "--event", "x", "--serial", "1", "--type", "1"}, "unsigned number"},
		{"bad time", []string{"ticket", "issue", "--keys", keys, "--event", "1", "--serial", "1", "--type", "1", "--from", "tomorrow"}, "RFC 3339"},
		{"window backwards", []string{"ticket", "issue", "--keys", keys, "--event", "1", "--serial", "1", "--type", "1", "--from", "2026-06-12T10:00:00Z", "--until", "2026-06-12T09:00:00Z"}, "not after"},
		{"verify without code", []string{"ticket", "verify", "--keys", keys}, "want one CODE"},
		{"verify two codes", []string{"ticket", "verify", "--keys", keys, "a", "b"}, "want one CODE"},
		{"keys without dir", []string{"keys", "init"}, "missing --dir"},
		{"no command", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, code := cli(t, "", tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tt.want)
			}
		})
	}
	if _, errs, code := cli(t, "", "ticket", "issue", "--keys", filepath.Join(t.TempDir(), "none"), "--event", "1", "--serial", "1", "--type", "1"); code != 1 || !strings.Contains(errs, "keys init") {
		t.Errorf("missing key directory: exit %d, %q", code, errs)
	}
	if out, _, code := cli(t, "", "ticket", "issue", "-h"); code != 0 || !strings.Contains(out, "-serial") {
		t.Errorf("-h: exit %d, %q", code, out)
	}
	// A command that runs and has commands below it lists both.
	if out, _, code := cli(t, "", "central", "--help"); code != 0 || !strings.Contains(out, "-listen") || !strings.Contains(out, "devices add") || !strings.Contains(out, "venue import") {
		t.Errorf("central --help: exit %d, %q", code, out)
	}
}

// A usage error names what was wrong once, calls a flag a flag, and points
// to the help of the command that was called.
func TestUsageHints(t *testing.T) {
	tests := []struct {
		args       []string
		want, hint string
	}{
		{[]string{"--bogus"}, "tixgate: unknown flag --bogus: flags follow a command", "Run 'tixgate help'"},
		{[]string{"bogus"}, `tixgate: unknown command "bogus"`, "Run 'tixgate help'"},
		{[]string{"ledger", "--bogus"}, "tixgate: ledger: unknown flag --bogus", "Run 'tixgate ledger help'"},
		{[]string{"ledger", "bogus"}, `tixgate: ledger: unknown command "bogus"`, "Run 'tixgate ledger help'"},
		{[]string{"edge", "--bogus"}, "tixgate: edge: unknown flag --bogus", "Run 'tixgate edge --help'"},
		{[]string{"ledger", "stats", "--bogus"}, "tixgate: ledger stats: unknown flag --bogus", "Run 'tixgate ledger stats --help'"},
		{[]string{"ticket", "issue"}, "tixgate: ticket issue: missing", "Run 'tixgate ticket issue --help'"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errs, code := cli(t, "", tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) || !strings.Contains(errs, tt.hint) || strings.Contains(errs, "tixgate: tixgate") {
				t.Errorf("exit %d, stderr %q; want 2, %q and %q", code, errs, tt.want, tt.hint)
			}
		})
	}
}

func TestSeqSpan(t *testing.T) {
	for _, tt := range []struct {
		first uint64
		n     int
		want  string
	}{
		{1, 0, "no changes"}, {1, 1, "change 1"}, {7, 3, "3 changes numbered 7-9"},
	} {
		if got := seqSpan("change", "changes", tt.first, tt.n); got != tt.want {
			t.Errorf("seqSpan(%d, %d) = %q, want %q", tt.first, tt.n, got, tt.want)
		}
	}
}
