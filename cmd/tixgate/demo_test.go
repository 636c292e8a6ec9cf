package main

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/scanner"
)

// demoRun is a `tixgate demo` process of a test.
type demoRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  syncLog
	done chan error
	// ready is closed when the demo printed its last line before waiting.
	ready chan struct{}
}

// startDemo runs `tixgate demo` with args in its own process, its
// temporary directory tmp, and waits until it says the gates are open.
func startDemo(t *testing.T, tmp string, args ...string) *demoRun {
	t.Helper()
	d := &demoRun{t: t, done: make(chan error, 1), ready: make(chan struct{})}
	d.cmd = exec.Command(os.Args[0], append([]string{"demo"}, args...)...)
	d.cmd.Env = append(os.Environ(), "TIXGATE_BE_MAIN=1", "TMPDIR="+tmp)
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = &testWriter{t}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.out.add(sc.Text())
			if strings.Contains(sc.Text(), "shows a gate's ledger") {
				close(d.ready)
			}
		}
	}()
	go func() { <-lines; d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("demo stderr: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitReady waits for the gates to be open, failing if the demo exits first.
func (d *demoRun) waitReady() {
	d.t.Helper()
	select {
	case <-d.ready:
	case err := <-d.done:
		d.t.Fatalf("demo exited before the gates were open: %v\n%s", err, d.out.String())
	case <-time.After(90 * time.Second):
		d.t.Fatalf("demo did not open the gates within 90 s\n%s", d.out.String())
	}
}

// stop sends SIGTERM and wants a clean exit.
func (d *demoRun) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Fatalf("demo after SIGTERM: %v\n%s", err, d.out.String())
		}
	case <-time.After(20 * time.Second):
		d.t.Fatalf("demo did not stop within 20 s of SIGTERM")
	}
	if !strings.Contains(d.out.String(), "stopping the gates") {
		d.t.Errorf("demo did not say it stopped:\n%s", d.out.String())
	}
}

var (
	urlRE   = regexp.MustCompile(`https?://[^\s)]+`)
	pinRE   = regexp.MustCompile(`(?m)^\s+(gate|supervisor)\s+PIN (\d{6})`)
	samples = regexp.MustCompile(`(?m)sample tickets to scan .*: (.+)$`)
)

// checkURLs GETs every URL the demo printed: each must answer 200, or
// redirect to the login page.
func (d *demoRun) checkURLs() []string {
	d.t.Helper()
	urls := urlRE.FindAllString(d.out.String(), -1)
	if len(urls) != 3 {
		d.t.Fatalf("want the 3 gates' URLs, got %q in\n%s", urls, d.out.String())
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, u := range urls {
		resp, err := client.Get(u)
		if err != nil {
			d.t.Errorf("GET %s: %v", u, err)
			continue
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusOK && !(resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther) || loc != "" && !strings.HasPrefix(loc, "/login") {
			d.t.Errorf("GET %s: %s (Location %q), want 200 or a redirect to /login", u, resp.Status, loc)
		}
	}
	return urls
}

// login logs in at base with the printed PIN of name and wants a session.
func (d *demoRun) login(base, name string) {
	d.t.Helper()
	var pin string
	for _, m := range pinRE.FindAllStringSubmatch(d.out.String(), -1) {
		if m[1] == name {
			pin = m[2]
		}
	}
	if pin == "" {
		d.t.Fatalf("no PIN printed for %s:\n%s", name, d.out.String())
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(strings.TrimSuffix(base, "/")+"/login", url.Values{"name": {name}, "pin": {pin}})
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	var session bool
	for _, c := range resp.Cookies() {
		session = session || c.Name == "tixgate_session" && c.Value != ""
	}
	if resp.StatusCode != http.StatusSeeOther || !session {
		d.t.Errorf("log in as %s with the printed PIN: %s, session cookie %v", name, resp.Status, session)
	}
}

// onlyDemoFiles fails when dir holds anything the demo does not make, a
// temporary file included.
func onlyDemoFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !isDemoEntry(e.Name()) || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("data folder holds %q", e.Name())
		}
	}
}

func emptyDir(t *testing.T, dir, what string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("%s left %q behind", what, e.Name())
	}
}

// The demo stays up until SIGTERM, every URL it prints answers, its
// logins work, its sample tickets are real codes the gates admit; a second
// run reuses the venue, --reset and --once start a new one, and leftovers
// of a run that did not finish are started over.
func TestDemoStaysUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo's venue four times")
	}
	data := filepath.Join(t.TempDir(), "demo")
	tmp := t.TempDir()
	args := []string{"--data", data, "--listen", "127.0.0.1:0", "--tickets", "2000"}

	d := startDemo(t, tmp, args...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "a new venue on this machine") {
		t.Errorf("first run did not make a new venue:\n%s", d.out.String())
	}
	urls := d.checkURLs()
	d.login(urls[0], "gate")
	d.login(urls[2], "supervisor")

	// A second demo on the same folder while this one runs is refused,
	// and leaves the venue as it was.
	second := startDemo(t, tmp, args...)
	select {
	case err := <-second.done:
		if err == nil {
			t.Errorf("a second demo on a folder in use exited 0:\n%s", second.out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("a second demo on a folder in use kept running:\n%s", second.out.String())
	}
	if _, err := os.Stat(filepath.Join(data, demoStateFile)); err != nil {
		t.Errorf("the second demo touched the venue: %v", err)
	}
	// So is --reset: the running venue is not wiped under it.
	reset := startDemo(t, tmp, append(append([]string(nil), args...), "--reset", "--once")...)
	select {
	case err := <-reset.done:
		if err == nil {
			t.Errorf("--reset on a folder in use exited 0:\n%s", reset.out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("--reset on a folder in use kept running:\n%s", reset.out.String())
	}
	if _, err := os.Stat(filepath.Join(data, demoStateFile)); err != nil {
		t.Errorf("--reset wiped a running venue: %v", err)
	}
	d.checkURLs()

	// A sample ticket is a real QR code of an issued ticket: decoded from
	// its PNG, gate-2 admits it once.
	m := samples.FindStringSubmatch(d.out.String())
	if m == nil {
		t.Fatalf("no sample folder printed:\n%s", d.out.String())
	}
	png, err := os.ReadFile(filepath.Join(m[1], "ticket-1501.png"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := scanner.DecodeBytes(png)
	if err != nil {
		t.Fatalf("decode the sample ticket: %v", err)
	}
	index, _ := os.ReadFile(filepath.Join(m[1], demoTicketIndex))
	if !strings.Contains(string(index), code) {
		t.Errorf("the index does not list the sample's code %q", code)
	}
	tok, err := os.ReadFile(filepath.Join(data, "gate-2", "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	gate2 := &edgeProc{t: t, listen: strings.TrimSuffix(strings.TrimPrefix(urls[1], "http://"), "/"), token: strings.TrimSpace(string(tok))}
	if got := gate2.scan(code); got.Reason != "ok" {
		t.Errorf("sample ticket at gate-2: %s %s", got.Reason, got.Detail)
	}
	if got := gate2.scan(code); got.Reason != "already_used" {
		t.Errorf("sample ticket again at gate-2: %s", got.Reason)
	}
	d.stop()
	onlyDemoFiles(t, data)
	emptyDir(t, tmp, "the demo")

	// The second run reopens the venue: the sample stays used.
	d = startDemo(t, tmp, args...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "reopening the venue") || strings.Contains(d.out.String(), "Doors open") {
		t.Errorf("second run did not reuse the venue:\n%s", d.out.String())
	}
	urls = d.checkURLs()
	d.login(urls[1], "gate")
	gate2.listen = strings.TrimSuffix(strings.TrimPrefix(urls[1], "http://"), "/")
	if got := gate2.scan(code); got.Reason != "already_used" {
		t.Errorf("the used sample after a restart: %s", got.Reason)
	}
	d.stop()

	// A run cut off before its story ended leaves no demo.json: the next
	// starts over instead of failing on what it finds.
	if err := os.Remove(filepath.Join(data, demoStateFile)); err != nil {
		t.Fatal(err)
	}
	d = startDemo(t, tmp, append(args, "--once")...)
	if err := <-d.done; err != nil {
		t.Fatalf("--once after an unfinished run: %v\n%s", err, d.out.String())
	}
	if !strings.Contains(d.out.String(), "starting a new venue") || !strings.Contains(d.out.String(), "did not finish") {
		t.Errorf("leftovers were not started over:\n%s", d.out.String())
	}
	if urlRE.MatchString(d.out.String()) {
		t.Errorf("--once printed URLs it does not serve:\n%s", d.out.String())
	}

	// --reset makes a new venue: the sample is unused again.
	d = startDemo(t, tmp, append(args, "--reset")...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "a new venue on this machine") {
		t.Errorf("--reset did not make a new venue:\n%s", d.out.String())
	}
	urls = d.checkURLs()
	gate2.listen = strings.TrimSuffix(strings.TrimPrefix(urls[1], "http://"), "/")
	tok, _ = os.ReadFile(filepath.Join(data, "gate-2", "api.token"))
	gate2.token = strings.TrimSpace(string(tok))
	png, _ = os.ReadFile(filepath.Join(data, demoTicketsDir, "ticket-1501.png"))
	if code, err = scanner.DecodeBytes(png); err != nil {
		t.Fatal(err)
	}
	var got decision.Decision = gate2.scan(code)
	if got.Reason != "ok" {
		t.Errorf("sample ticket of the new venue: %s %s", got.Reason, got.Detail)
	}
	d.stop()
	onlyDemoFiles(t, data)
	emptyDir(t, tmp, "the demo")
}

// A data folder holding files the demo did not make is refused, and left
// as it was.
func TestDemoRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "thesis.tex")
	if err := os.WriteFile(mine, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--reset"}} {
		_, errs, code := cli(t, "", append([]string{"demo", "--once", "--data", dir}, args...)...)
		if code != 1 || !strings.Contains(errs, `"thesis.tex", which the demo did not make`) {
			t.Errorf("demo %v in a folder of other files: exit %d, %q", args, code, errs)
		}
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the folder's own file: %v", err)
	}
}
