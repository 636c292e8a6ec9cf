package edge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Without a session every page sends the browser to the login; only
// /healthz and /login answer.
func TestPagesNeedSession(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	giveStaff(t, n, "Sam", RoleGate, "9090")
	b := &browser{t: t, base: "http://" + n.APIAddr()}

	for _, p := range []string{"/", "/status", "/static/scan.js", "/static/common.js", "/nothing-here"} {
		resp := b.do("GET", p, "", "", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s without a session: %d to %q, want 303 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp := b.do("GET", "/healthz", "", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	if resp := b.do("GET", "/api/v1/events/stream", "", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("event stream without a session: %d, want 401", resp.StatusCode)
	}
	resp := b.do("GET", "/login", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("/login: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	b.login("Sam", "9090")
	for _, tc := range []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html", 200}, {"/status", "text/html", 200},
		{"/static/scan.js", "text/javascript", 200}, {"/static/status.js", "text/javascript", 200},
		{"/static/locale/en.json", "", 404}, {"/static/app.css", "", 404}, {"/static/pages.html", "", 404},
		{"/nothing-here", "", 404},
	} {
		resp := b.do("GET", tc.path, "", "", nil)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("GET %s with a session: %d %q, want %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype)
		}
	}
	// A logged-in browser at /login goes to the scan screen.
	if resp := b.do("GET", "/login", "", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("/login with a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLanguageOf(t *testing.T) {
	for _, tc := range []struct {
		accept, cookie, want string
	}{
		{"", "", "en"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "", "zh"},
		{"zh-TW", "", "zh"},
		{"zh-Hans", "", "zh"},
		{"de-DE,de;q=0.9", "", "en"},
		{"fr, zh;q=0.5", "", "zh"},
		{"zh-CN", "en", "en"},
		{"en-US", "zh", "zh"},
		{"zh-CN", "xx", "zh"}, // an unknown remembered choice is ignored
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", tc.accept)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: LangCookie, Value: tc.cookie})
		}
		if got := langOf(r); got != tc.want {
			t.Errorf("Accept-Language %q, cookie %q: %s, want %s", tc.accept, tc.cookie, got, tc.want)
		}
	}
}

// ?lang= and ?theme= are remembered in cookies and the browser is sent
// back to the page; anything else is refused without a cookie.
func TestRememberChoice(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	b := &browser{t: t, base: "http://" + n.APIAddr()}
	for _, tc := range []struct {
		query, cookie, value string
	}{
		{"lang=zh", LangCookie, "zh"}, {"lang=en", LangCookie, "en"}, {"theme=dark", ThemeCookie, "dark"},
		{"lang=fr", "", ""}, {"theme=pink", "", ""},
	} {
		resp := b.do("GET", "/login?"+tc.query, "", "", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("?%s: %d to %q, want 303 to /login", tc.query, resp.StatusCode, resp.Header.Get("Location"))
		}
		var got []string
		for _, c := range resp.Cookies() {
			got = append(got, c.Name+"="+c.Value)
		}
		if want := tc.cookie + "=" + tc.value; tc.cookie != "" && !slices.Equal(got, []string{want}) || tc.cookie == "" && len(got) != 0 {
			t.Errorf("?%s: cookies %v, want %q", tc.query, got, want)
		}
	}
	req, _ := http.NewRequest("GET", b.base+"/login", nil)
	req.AddCookie(&http.Cookie{Name: LangCookie, Value: "zh"})
	req.AddCookie(&http.Cookie{Name: ThemeCookie, Value: "dark"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<html lang="zh-Hans" data-theme="dark">`, "工作人员登录", `href="?lang=en"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("login page with zh and dark remembered lacks %q", want)
		}
	}
}

// The catalogs: every key in both languages, none empty, the same
// placeholders; every key the pages and scripts use exists; every reason,
// state and source has its words.
func TestMissingTranslations(t *testing.T) {
	u, err := loadUI()
	if err != nil {
		t.Fatal(err)
	}
	ref := u.catalogs["en"]
	placeholder := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, lang := range uiLangCodes {
		cat := u.catalogs[lang]
		for k, v := range ref {
			got, ok := cat[k]
			switch {
			case !ok || strings.TrimSpace(got) == "":
				t.Errorf("%s: %q missing or empty", lang, k)
			case !slices.Equal(sortedAll(placeholder, v), sortedAll(placeholder, got)):
				t.Errorf("%s: %q has placeholders %v, en has %v", lang, k, sortedAll(placeholder, got), sortedAll(placeholder, v))
			}
		}
		for k := range cat {
			if _, ok := ref[k]; !ok {
				t.Errorf("%s: %q is not in the en catalog", lang, k)
			}
		}
	}
	var used []string
	for _, f := range []struct {
		file string
		re   *regexp.Regexp
	}{
		{"web/pages.html", regexp.MustCompile(`\{\{t "([a-z_.]+)"`)},
		{"web/scan.js", regexp.MustCompile(`\bt\('([a-z_.]+)'`)},
		{"web/status.js", regexp.MustCompile(`\bt\('([a-z_.]+)'`)},
		{"web/common.js", regexp.MustCompile(`\bt\('([a-z_.]+)'`)},
	} {
		data, err := fs.ReadFile(web, f.file)
		if err != nil {
			t.Fatal(err)
		}
		ms := f.re.FindAllStringSubmatch(string(data), -1)
		if len(ms) == 0 {
			t.Errorf("%s: no translated strings found: the pattern is stale", f.file)
		}
		for _, m := range ms {
			if !strings.HasSuffix(m[1], ".") { // a prefix: its keys are listed below
				used = append(used, m[1])
			}
		}
	}
	reasons := []ticket.Reason{ticket.ReasonOK, ticket.ReasonMalformed, ticket.ReasonBadSignature, ticket.ReasonUnknownIssuer,
		ticket.ReasonOutOfScope, ticket.ReasonNotYetValid, ticket.ReasonExpired, ticket.ReasonStaleCode, ticket.ReasonRevoked,
		ticket.ReasonAlreadyUsed, ticket.ReasonWrongEvent, ticket.ReasonWrongZone, ticket.ReasonWrongGate, ticket.ReasonWrongDay,
		ticket.ReasonOutsideHours, ticket.ReasonTooSoon, ticket.ReasonNotInside, ticket.ReasonNotAllowed, ticket.ReasonUnknownGate,
		ticket.ReasonUnknownType, ticket.ReasonTicketMismatch, ticket.ReasonOverride, deviceapi.ReasonNotProvisioned}
	for _, r := range reasons {
		used = append(used, "reason."+string(r))
	}
	for _, s := range []string{deviceapi.StateUnprovisioned, deviceapi.StateUnknownGate, deviceapi.StateWrongVenue, deviceapi.StateUnsound} {
		used = append(used, "health."+s)
	}
	for _, s := range []string{deviceapi.SourceAPI, deviceapi.SourceScanner, deviceapi.SourceCamera, deviceapi.SourceManual} {
		used = append(used, "source."+s)
	}
	for _, s := range []string{uplink.StateIdle, uplink.StateSyncing, uplink.StateOK, uplink.StateOffline, uplink.StateRefused, uplink.StateSuspended} {
		used = append(used, "status.uplink."+s)
	}
	used = append(used, "status.uplink."+deviceapi.UplinkNotConfigured, "page.login", "page.scan", "page.status", "page.unsound")
	for _, k := range used {
		if _, ok := ref[k]; !ok {
			t.Errorf("%q is used but not in the catalogs", k)
		}
	}
}

func sortedAll(re *regexp.Regexp, s string) []string {
	m := re.FindAllString(s, -1)
	slices.Sort(m)
	return m
}

// A device that cannot decide says so on every screen.
func TestScreensShowNotProvisioned(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Gate = "G9" })
	giveStaff(t, n, "Sam", RoleGate, "9090")
	b := &browser{t: t, base: "http://" + n.APIAddr()}
	b.login("Sam", "9090")
	for _, p := range []string{"/login", "/", "/status"} {
		b.cookie = nil
		if p != "/login" {
			b.login("Sam", "9090")
		}
		resp := b.do("GET", p, "", "", nil)
		page, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(page), `<p class="banner" id="health" role="alert">This gate is not in the manifest.`) {
			t.Errorf("%s of a gate the manifest lacks: no banner saying so", p)
		}
	}
}

// The override: a staff session needs a supervisor's name and PIN, checked
// by the device; the record names the supervisor and the reason.
func TestOverrideNeedsSupervisorPIN(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	giveStaff(t, n, "Li", RoleGate, "1111")
	giveStaff(t, n, "Sam", RoleSupervisor, "9090")
	b := &browser{t: t, base: "http://" + n.APIAddr()}
	b.login("Li", "1111")
	csrf := map[string]string{"X-CSRF-Token": sessionCSRF(t, b)}
	code := v.Code(ticket.Ticket{Serial: 2})
	scan := func() deviceapi.Answer {
		resp := b.do("POST", "/api/v1/scans", "application/json", `{"code":"`+code+`"}`, csrf)
		var a deviceapi.Answer
		json.NewDecoder(resp.Body).Decode(&a)
		return a
	}
	if a := scan(); !a.OK() || a.Source != deviceapi.SourceManual {
		t.Fatalf("first scan: %+v, want ok typed by staff", a)
	}
	if a := scan(); a.Reason != ticket.ReasonAlreadyUsed {
		t.Fatalf("second scan: %+v", a)
	}
	for _, tc := range []struct {
		name, supervisor, pin string
		want                  int
	}{
		{"no PIN", "Sam", "", http.StatusForbidden},
		{"wrong PIN", "Sam", "9091", http.StatusForbidden},
		{"gate staff's own PIN", "Li", "1111", http.StatusForbidden},
		{"nobody", "Nobody", "9090", http.StatusForbidden},
		{"the supervisor", "Sam", "9090", http.StatusOK},
	} {
		body := fmt.Sprintf(`{"code":%q,"supervisor":%q,"pin":%q,"note":"ticket holder re-entering after first aid"}`, code, tc.supervisor, tc.pin)
		resp := b.do("POST", "/api/v1/overrides", "application/json", body, csrf)
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, data, tc.want)
			continue
		}
		if tc.want != http.StatusOK {
			continue
		}
		var a deviceapi.Answer
		if err := json.Unmarshal(data, &a); err != nil || !a.OK() || a.Reason != ticket.ReasonOverride {
			t.Errorf("override answer %s: want ok by override", data)
		}
	}
	h, err := n.Ledger().History(ledgertest.Event, 2)
	if err != nil {
		t.Fatal(err)
	}
	var overrides []string
	for _, p := range h.Passages {
		if p.Kind == "override" {
			overrides = append(overrides, p.Actor+": "+p.Note)
		}
	}
	if want := []string{"Sam: ticket holder re-entering after first aid"}; !slices.Equal(overrides, want) {
		t.Errorf("override records %q, want %q (only the one with the supervisor's PIN)", overrides, want)
	}
}

func sessionCSRF(t *testing.T, b *browser) string {
	t.Helper()
	resp := b.do("GET", "/api/v1/session", "", "", nil)
	var s struct{ CSRF string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.CSRF == "" {
		t.Fatalf("session: %v", err)
	}
	return s.CSRF
}

// The hub counts every decision once, keeps the last scans newest first,
// and drops a stream that stopped reading instead of waiting for it.
func TestLiveHub(t *testing.T) {
	h := newLiveHub(func() *time.Location { return time.UTC })
	slow, fast := h.subscribe(), h.subscribe()
	got := 0
	done := make(chan struct{})
	go func() {
		for range fast.ch {
			got++
		}
		close(done)
	}()
	at := time.Date(2026, 6, 12, 19, 42, 0, 0, time.UTC)
	ok := deviceapi.Answer{Decision: decision.Decision{Result: decision.OK, Reason: ticket.ReasonOK, Gate: "G1", At: at}}
	used := deviceapi.Answer{Decision: decision.Decision{Result: decision.Refused, Reason: ticket.ReasonAlreadyUsed, Gate: "G1", At: at}}
	start := time.Now()
	for i := range liveBuffer + 10 {
		if i%2 == 0 {
			h.record(ok)
		} else {
			h.record(used)
		}
	}
	copied := ok
	copied.Repeat = true
	h.record(copied) // a debounced copy counts nothing
	if took := time.Since(start); took > time.Second {
		t.Errorf("recording took %v with a stream that does not read", took)
	}
	if _, open := <-drain(slow.ch); open {
		t.Error("the stream that stopped reading is still subscribed")
	}
	var l deviceapi.Live
	h.counts(&l, at)
	n := uint64(liveBuffer+10) / 2
	if l.Admitted != n || len(l.Refused) != 1 || l.Refused[0] != (deviceapi.Count{Reason: "already_used", N: n}) {
		t.Errorf("counts: admitted %d, refused %+v; want %d and %d already_used", l.Admitted, l.Refused, n, n)
	}
	if len(l.Recent) != liveRecent || l.Recent[0].Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("recent: %d, newest %+v; want %d, the last refusal first", len(l.Recent), l.Recent[0], liveRecent)
	}
	h.close()
	<-done
	if got == 0 {
		t.Error("the reading stream got nothing")
	}
	if h.subscribe() != nil {
		t.Error("subscribed after close")
	}

	// The figures survive a restart, and start again on the venue's next
	// day (Berlin: 23:30 UTC on 12 June is already the 13th there).
	path := filepath.Join(t.TempDir(), liveFile)
	if err := h.save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v %v", liveFile, fi, err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	again := newLiveHub(func() *time.Location { return berlin })
	if err := again.load(path); err != nil {
		t.Fatal(err)
	}
	var l2 deviceapi.Live
	again.counts(&l2, at)
	if l2.Admitted != l.Admitted || !slices.Equal(l2.Refused, l.Refused) || !slices.Equal(l2.Recent, l.Recent) {
		t.Errorf("after a restart: %+v, want %+v", l2, l)
	}
	again.counts(&l2, time.Date(2026, 6, 12, 23, 30, 0, 0, time.UTC))
	if l2.Admitted != 0 || len(l2.Refused) != 0 || len(l2.Recent) != 0 {
		t.Errorf("on the next day: %+v, want nothing", l2)
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if err := newLiveHub(time.Now().Location).load(path); err == nil || !strings.Contains(err.Error(), "start again") {
		t.Errorf("a damaged file: %v", err)
	}
}

// drain reads a channel until it is closed or empty.
func drain(ch chan []byte) chan []byte {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return ch
			}
		default:
			return ch
		}
	}
}

// The event stream over HTTP: a snapshot first, then one event per scan.
func TestEventStream(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}
	req, _ := http.NewRequest("GET", c.base+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+n.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readEvents(resp.Body)
	ev := <-events
	var snap deviceapi.Live
	if ev.name != "snapshot" || json.Unmarshal([]byte(ev.data), &snap) != nil || snap.Device != "gate-1" ||
		snap.Uplink != deviceapi.UplinkNotConfigured || snap.Health.State != deviceapi.StateReady {
		t.Fatalf("first event %+v", ev)
	}
	c.scan(v.Code(ticket.Ticket{Serial: 1}), "", "")
	select {
	case ev = <-events:
	case <-time.After(5 * time.Second):
		t.Fatal("no event after a scan")
	}
	var s deviceapi.LiveScan
	if ev.name != "scan" || json.Unmarshal([]byte(ev.data), &s) != nil || s.Admitted != 1 || s.Scan.Serial != 1 || s.Scan.Result != "ok" {
		t.Errorf("scan event %+v", ev)
	}
	// Closing the node ends the stream rather than waiting for it.
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	select {
	case <-closed:
	case <-time.After(4 * time.Second):
		t.Error("the node waited for an open event stream to close")
	}
}

type sseEvent struct{ name, data string }

func readEvents(r io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			case line == "" && ev.name != "":
				ch <- ev
				ev = sseEvent{}
			}
		}
	}()
	return ch
}

// A restarted node shows the counts of the day it had before.
func TestLiveCountsSurviveRestart(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	var cfg Config
	n := startNodeWith(t, v, "gate-1", func(c *Config) { cfg = *c })
	c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}
	code := v.Code(ticket.Ticket{Serial: 1})
	c.answer(`{"code":"` + code + `"}`)
	c.answer(`{"code":"` + code + `"}`)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n2, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	l := n2.live()
	if l.Admitted != 1 || len(l.Refused) != 1 || l.Refused[0].Reason != "already_used" || len(l.Recent) != 2 {
		t.Errorf("after a restart: admitted %d, refused %+v, %d recent; want 1, 1 already_used, 2", l.Admitted, l.Refused, len(l.Recent))
	}
}
