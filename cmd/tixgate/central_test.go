package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/ledgertest"
)

func TestCentralVenueImportIsIdempotent(t *testing.T) {
	data := t.TempDir()
	venue := filepath.Join("..", "..", "testdata", "venue.yaml")
	for i, want := range []string{"1 event, 4 ticket types; 7 manifest changes signed, manifest at 7", "0 manifest changes signed, manifest at 7"} {
		out, errs, code := cli(t, "", "central", "venue", "import", "--data", data, venue)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("import #%d: exit %d: %s %s; want %q", i+1, code, out, errs, want)
		}
	}
	fi, err := os.Stat(filepath.Join(data, centralKeysDir, "root.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root key: %v, %v", fi, err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"central", "venue", "import", "--data", data, "missing.yaml"}, "no such file"},
		{"no data", []string{"central", "venue", "import", venue}, "missing --data"},
		{"unknown gate", []string{"central", "devices", "add", "--data", data, "--name", "gate-1", "--gate", "Z9"}, `gate "Z9" is not one of`},
		{"bad role", []string{"central", "devices", "add", "--data", data, "--name", "gate-1", "--role", "boss"}, "want gate or seller"},
		{"unknown type", []string{"central", "tickets", "issue", "--data", data, "--event", "1042", "--type", "9"}, "not found"},
		{"enroll nowhere", []string{"enroll", "--data", filepath.Join(t.TempDir(), "g"), "--code", `{"v":2}`}, "version 2"},
	}
	for _, tt := range tests {
		_, errs, code := cli(t, "", tt.args...)
		if code == 0 || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d: %s; want %q", tt.name, code, errs, tt.want)
		}
	}
}

// `tixgate central` serves /healthz open and the API only with
// credentials, and stops cleanly on SIGTERM.
func TestCentralProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a central process")
	}
	data := t.TempDir()
	if _, errs, code := cli(t, "", "central", "venue", "import", "--data", data, filepath.Join("..", "..", "testdata", "venue.yaml")); code != 0 {
		t.Fatal(errs)
	}
	listen := freePort(t, "127.0.0.1")
	cmd := exec.Command(os.Args[0], "central", "--listen", listen, "--data", data)
	cmd.Env = append(os.Environ(), "TIXGATE_BE_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log syncLog
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("central: %s", sc.Text())
			log.add(sc.Text())
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+listen+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ledgertest.WaitFor(t, 20*time.Second, "central answers /healthz", func() bool { c, _ := get("/healthz", ""); return c == http.StatusOK })
	if c, body := get("/api/v1/events", ""); c != http.StatusUnauthorized || !strings.Contains(body, "unauthorized") {
		t.Errorf("events without credentials: %d %s", c, body)
	}
	if _, errs, code := cli(t, "correct horse battery\n", "central", "users", "add", "--data", data, "--name", "admin", "--role", "admin"); code != 0 {
		t.Fatal(errs)
	}
	tok, errs, code := cli(t, "", "central", "token", "add", "--data", data)
	if code != 0 {
		t.Fatal(errs)
	}
	if c, body := get("/api/v1/events", strings.TrimSpace(tok)); c != http.StatusOK || !strings.Contains(body, `"Summer Concert"`) {
		t.Errorf("events with a token: %d %s", c, body)
	}
	checkOpsEnroll(t, "http://"+listen, data)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("central exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("central did not stop within 15 s of SIGTERM")
	}
	if !strings.Contains(log.String(), "central stopped cleanly") {
		t.Errorf("no clean stop in the log:\n%s", log.String())
	}
}

// Staff accounts of central, the password from stdin.
func TestCentralUsersAdd(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"correct horse battery\n", []string{"--name", "mei", "--role", "ops"}, 0, "user mei (ops) saved"},
		{"correct horse battery\n", []string{"--name", "mei", "--role", "admin"}, 0, "user mei (admin) saved"},
		{"short\n", []string{"--name", "li", "--role", "ops"}, 1, "at least 10 characters"},
		{"", []string{"--name", "li", "--role", "ops"}, 1, "stdin gave no line"},
		{"correct horse battery\n", []string{"--name", "li", "--role", "king"}, 2, "want box_office, ops, admin or auditor"},
		{"correct horse battery\n", []string{"--role", "ops"}, 2, "--name"},
	} {
		out, errs, code := cli(t, tc.stdin, append([]string{"central", "users", "add", "--data", data}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("users add %s: exit %d, want %d with %q\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out, errs)
		}
	}
}

// An API token belongs to a staff account that exists.
func TestCentralTokenAdd(t *testing.T) {
	data := t.TempDir()
	if _, errs, code := cli(t, "correct horse battery\n", "central", "users", "add", "--data", data, "--name", "mei", "--role", "ops"); code != 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--user", "nosuch"}, 1, `user "nosuch": no such user: add the account first: tixgate central users add`},
		{[]string{}, 1, `user "admin": no such user`},
		{[]string{"--user", "mei", "--scopes", "read,boss"}, 1, `unknown scope "boss"`},
		{[]string{"--user", "mei", "--scopes", "read,ops"}, 0, "tgo_"},
	} {
		out, errs, code := cli(t, "", append([]string{"central", "token", "add", "--data", data}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("token add %s: exit %d, want %d with %q\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out, errs)
		}
	}
	db, _, _ := startCentral(t, context.Background(), data)
	var n int
	if err := db.SQL().QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d users after the refused tokens, want only mei: %v", n, err)
	}
}

// A mistyped --data is said as such and makes nothing: only the commands
// that set a central up make its keys.
func TestCentralMistypedData(t *testing.T) {
	for _, args := range [][]string{
		{"central", "tickets", "issue", "--event", "1042", "--type", "1", "--count", "1"},
		{"central", "token", "add"},
		{"central", "devices", "add", "--name", "gate-1", "--gate", "G1"},
		{"central", "backup", "--out", "x.tgz"},
	} {
		dir := filepath.Join(t.TempDir(), "opz")
		_, errs, code := cli(t, "", append(args, "--data", dir)...)
		if code != 1 || !strings.Contains(errs, "is not a central's folder") {
			t.Errorf("%v on a folder that is no central's: exit %d: %s", args, code, errs)
		}
		if _, err := os.Stat(filepath.Join(dir, centralKeysDir)); err == nil {
			t.Errorf("%v made keys in a folder that was no central's", args)
		}
	}
}
