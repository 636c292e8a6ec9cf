package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/ops"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/sim"
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

// demoReady is the demo's last line before it waits for Ctrl-C.
const demoReady = "The venue is open until Ctrl-C."

// startDemo runs `tixgate demo` with args in its own process, its
// temporary directory tmp.
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
			if strings.Contains(sc.Text(), demoReady) {
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

// waitReady waits for the venue to be open, failing if the demo exits
// first; it returns how long that took.
func (d *demoRun) waitReady() time.Duration {
	d.t.Helper()
	t0 := time.Now()
	select {
	case <-d.ready:
	case err := <-d.done:
		d.t.Fatalf("demo exited before the venue was open: %v\n%s", err, d.out.String())
	case <-time.After(90 * time.Second):
		d.t.Fatalf("demo did not open the venue within 90 s\n%s", d.out.String())
	}
	return time.Since(t0)
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
	if !strings.Contains(d.out.String(), "stopping the venue") {
		d.t.Errorf("demo did not say it stopped:\n%s", d.out.String())
	}
}

// refused wants the demo to exit non-zero at once.
func (d *demoRun) refused(what string) {
	d.t.Helper()
	select {
	case err := <-d.done:
		if err == nil {
			d.t.Errorf("%s exited 0:\n%s", what, d.out.String())
		}
	case <-time.After(60 * time.Second):
		d.t.Fatalf("%s kept running:\n%s", what, d.out.String())
	}
}

var urlRE = regexp.MustCompile(`https?://[^\s)]+`)

// checkURLs GETs every URL the demo printed: each must answer 200, or
// redirect to a login page. It returns them.
func (d *demoRun) checkURLs() []string {
	d.t.Helper()
	urls := urlRE.FindAllString(d.out.String(), -1)
	if len(urls) < 6 {
		d.t.Fatalf("want central's and the 5 devices' URLs, got %q in\n%s", urls, d.out.String())
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
		redirect := resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther
		if resp.StatusCode != http.StatusOK && !redirect || redirect && !strings.Contains(loc, "/login") {
			d.t.Errorf("GET %s: %s (Location %q), want 200 or a redirect to a login", u, resp.Status, loc)
		}
	}
	return urls
}

// readInfo reads demo.json.
func readInfo(t *testing.T, data string) sim.DemoInfo {
	t.Helper()
	var info sim.DemoInfo
	b, err := os.ReadFile(filepath.Join(data, sim.DemoStateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("demo.json: %v", err)
	}
	return info
}

// deviceOf is the device of that name in demo.json, as an API client.
func deviceOf(t *testing.T, info sim.DemoInfo, name string) *edgeProc {
	t.Helper()
	for _, d := range info.Devices {
		if d.Name == name {
			tok, err := os.ReadFile(d.TokenFile)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(d.URL)
			return &edgeProc{t: t, name: name, listen: u.Host, token: strings.TrimSpace(string(tok))}
		}
	}
	t.Fatalf("demo.json has no device %s: %+v", name, info.Devices)
	return nil
}

// opsSession logs in to central's ops screens with the printed login.
func opsSession(t *testing.T, info sim.DemoInfo) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(info.Central.URL + "/ops/login") // the form's CSRF cookie
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var csrf string
	for _, c := range resp.Cookies() {
		if c.Name == web.CSRFCookie {
			csrf = c.Value
		}
	}
	resp, err = client.PostForm(info.Central.URL+"/ops/login", url.Values{"name": {info.Central.User}, "password": {info.Central.Password}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("ops login with the printed password: %s", resp.Status)
	}
	return client
}

// dashboard reads what central's dashboard shows, from the JSON the page
// polls.
func dashboard(t *testing.T, client *http.Client, info sim.DemoInfo) ops.Live {
	t.Helper()
	resp, err := client.Get(info.Central.Live)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var live ops.Live
	if err := json.NewDecoder(resp.Body).Decode(&live); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %s, %v", info.Central.Live, resp.Status, err)
	}
	return live
}

// demoFiles fails when dir holds anything the demo does not make.
func demoFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	mine := []string{"central", "G1", "G2", "G3", "G4", "S1", "samples", "demo.json", "crowd.json", ".lock"}
	for _, e := range entries {
		if !slices.Contains(mine, e.Name()) {
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

// The demo's smoke test: the whole venue starts, every URL it prints
// answers, demo.json says where everything is, the printed logins work, a
// sample ticket scanned through a gate's HTTP API shows up on central's
// dashboard API, SIGTERM stops it cleanly, and a second run reopens the
// same venue.
func TestDemoSmoke(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo-data")
	tmp := t.TempDir()
	args := []string{"--data", data, "--base-port", "0", "--tickets", "1000"}
	d := startDemo(t, tmp, args...)
	took := d.waitReady()
	t.Logf("a new venue of 1000 tickets was up in %s", took.Round(10*time.Millisecond))
	if !strings.Contains(d.out.String(), "a new venue on this machine") {
		t.Errorf("first run did not make a new venue:\n%s", d.out.String())
	}
	urls := d.checkURLs()
	info := readInfo(t, data)
	if !slices.Contains(urls, info.Central.Dashboard) {
		t.Errorf("the printed URLs %q lack the dashboard %s", urls, info.Central.Dashboard)
	}
	var names []string
	for _, dev := range info.Devices {
		names = append(names, dev.Name+"/"+dev.Role+"/"+dev.Gate)
		if !slices.Contains(urls, dev.URL) {
			t.Errorf("the printed URLs lack %s's %s", dev.Name, dev.URL)
		}
		if filepath.Dir(dev.TokenFile) != filepath.Join(data, dev.Name) {
			t.Errorf("%s's token file %s is not in its folder", dev.Name, dev.TokenFile)
		}
	}
	if want := []string{"G1/gate/G1", "G2/gate/G2", "G3/gate/G3", "G4/gate/G4", "S1/seller/"}; !slices.Equal(names, want) {
		t.Errorf("demo.json devices %q, want %q", names, want)
	}
	if info.Event.ID == 0 || len(info.Types) != 2 || info.Types[0].Tickets+info.Types[1].Tickets != 1000 || info.Types[1].SellerQuota == 0 {
		t.Errorf("demo.json event %+v, types %+v", info.Event, info.Types)
	}

	// The ops login and a gate's staff PIN work.
	client := opsSession(t, info)
	if live := dashboard(t, client, info); live.Devices != 5 || live.Online != 5 {
		t.Errorf("the dashboard: %d of %d devices online, want 5 of 5", live.Online, live.Devices)
	}
	resp, err := client.PostForm(info.Devices[0].URL+"login", url.Values{"name": {info.Logins[0].Name}, "pin": {info.Logins[0].PIN}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Errorf("G1 login as %s with the printed PIN: %s", info.Logins[0].Name, resp.Status)
	}

	// A sample ticket is a real QR code: decoded from its PNG, G1 admits
	// it once, and central's dashboard counts the entry.
	var sample sim.DemoSample
	for _, s := range info.Samples.Tickets {
		if strings.HasPrefix(s.File, "general-") {
			sample = s
			break
		}
	}
	png, err := os.ReadFile(filepath.Join(info.Samples.Dir, sample.File))
	if err != nil {
		t.Fatal(err)
	}
	code, err := scanner.DecodeBytes(png)
	if err != nil || code != sample.Code {
		t.Fatalf("decode the sample ticket %s: %q, %v", sample.File, code, err)
	}
	before := dashboard(t, client, info).Admissions
	g1 := deviceOf(t, info, "G1")
	if got := g1.scan(code); got.Reason != "ok" {
		t.Fatalf("sample ticket at G1: %s %s", got.Reason, got.Detail)
	}
	ledgertest.WaitFor(t, 20*time.Second, "central's dashboard counts G1's entry", func() bool {
		live := dashboard(t, client, info)
		return live.Admissions == before+1 && strings.Contains(live.HTML, "<td>G1</td>")
	})
	if got := deviceOf(t, info, "G2").scan(code); got.Reason != "already_used" {
		t.Errorf("the sample again at G2: %s", got.Reason)
	}
	d.stop()
	demoFiles(t, data)
	emptyDir(t, tmp, "the demo")

	// The second run reopens the venue: the sample stays used.
	d = startDemo(t, tmp, args...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "reopening the venue") {
		t.Errorf("second run did not reuse the venue:\n%s", d.out.String())
	}
	d.checkURLs()
	info = readInfo(t, data)
	if got := deviceOf(t, info, "G3").scan(code); got.Reason != "already_used" {
		t.Errorf("the used sample after a restart: %s", got.Reason)
	}
	d.stop()
}

// --story tells a night at the venue through the real components; a
// second demo on a folder in use is refused and leaves it as it was;
// --crowd moves the dashboard; leftovers of a run that did not finish are
// started over; --reset makes a new venue.
func TestDemoRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo's venue four times")
	}
	data := filepath.Join(t.TempDir(), "demo-data")
	tmp := t.TempDir()
	args := []string{"--data", data, "--base-port", "0", "--tickets", "1000"}
	d := startDemo(t, tmp, append(args, "--crowd", "50", "--story")...)
	d.waitReady()
	for _, want := range []string{
		"G1  ticket 6                             → OPEN      ok",
		"STAY SHUT already_used",
		"STAY SHUT wrong_zone",
		"VIP ticket 904 at the VIP gate",
		"STAY SHUT bad_signature",
		"STAY SHUT unknown_issuer",
		"(known to the gate's manifest: false: admitted on its signature and S1's quota alone)",
		"STAY SHUT revoked",
		"every device now holds the conflict: ticket 10 entered at G1 and again at G3",
		"and central found it in the gates' uploads",
	} {
		if !strings.Contains(d.out.String(), want) {
			t.Errorf("the story lacks %q", want)
		}
	}
	info := readInfo(t, data)
	for _, extra := range [][]string{nil, {"--reset"}} {
		startDemo(t, tmp, append(args, extra...)...).refused("a second demo " + strings.Join(extra, " ") + " on a folder in use")
		if _, err := os.Stat(filepath.Join(data, sim.DemoStateFile)); err != nil {
			t.Errorf("the second demo %v touched the venue: %v", extra, err)
		}
	}
	client := opsSession(t, info)
	ledgertest.WaitFor(t, 30*time.Second, "the crowd's entries on central's dashboard", func() bool { return dashboard(t, client, info).Admissions >= 20 })
	// A tenth of the crowd holds bad tickets: its tally (every 10 s)
	// shows refusals too, once enough people came.
	tally := regexp.MustCompile(`crowd: [1-9]\d* admitted, [1-9]\d* refused`)
	ledgertest.WaitFor(t, 40*time.Second, "the crowd's tally with admissions and refusals", func() bool { return tally.MatchString(d.out.String()) })
	d.stop()
	demoFiles(t, data)

	// A run cut off before it finished leaves no demo.json: the next starts
	// over instead of failing on what it finds.
	if err := os.Remove(filepath.Join(data, sim.DemoStateFile)); err != nil {
		t.Fatal(err)
	}
	d = startDemo(t, tmp, args...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "starting a new venue") || !strings.Contains(d.out.String(), "did not finish") {
		t.Errorf("leftovers were not started over:\n%s", d.out.String())
	}
	info = readInfo(t, data)
	sample := info.Samples.Tickets[0]
	if got := deviceOf(t, info, "G1").scan(sample.Code); got.Reason != "ok" {
		t.Errorf("a sample of the new venue: %s", got.Reason)
	}
	d.stop()

	// A venue whose central lost its store is started over too.
	if err := os.RemoveAll(filepath.Join(data, "central")); err != nil {
		t.Fatal(err)
	}
	d = startDemo(t, tmp, args...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "starting a new venue") || !strings.Contains(d.out.String(), "cannot be reopened") {
		t.Errorf("a venue without central's store was not started over:\n%s", d.out.String())
	}
	d.stop()

	// --reset makes a new venue: the sample is unused again.
	d = startDemo(t, tmp, append(args, "--reset")...)
	d.waitReady()
	if !strings.Contains(d.out.String(), "a new venue on this machine") {
		t.Errorf("--reset did not make a new venue:\n%s", d.out.String())
	}
	info = readInfo(t, data)
	if got := deviceOf(t, info, "G1").scan(info.Samples.Tickets[0].Code); got.Reason != "ok" {
		t.Errorf("a sample after --reset: %s", got.Reason)
	}
	d.stop()
	demoFiles(t, data)
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
		_, errs, code := cli(t, "", append([]string{"demo", "--base-port", "0", "--data", dir}, args...)...)
		if code != 1 || !strings.Contains(errs, `"thesis.tex", which the demo did not make`) {
			t.Errorf("demo %v in a folder of other files: exit %d, %q", args, code, errs)
		}
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the folder's own file: %v", err)
	}
}
