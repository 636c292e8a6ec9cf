package central

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// browser is a headless Chromium for a test: actions that fail the test,
// and screenshots at phone and desktop size (to $TIXGATE_SCREENS when
// set) that also check no page is wider than its window.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string
}

var screenSizes = []struct {
	name string
	w, h int64
	opts []chromedp.EmulateViewportOption
}{
	{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
	{"desktop", 1280, 800, nil},
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium: install Debian's chromium (make deps does)")
	}
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true))...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	tctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(cancel)
	return &browser{t: t, ctx: tctx, dir: dir}
}

func (b *browser) run(what string, acts ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, acts...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) js(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) shot(lang, size, screen string) {
	b.t.Helper()
	wider, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth - window.innerWidth`))
	if err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil || len(png) < 1000 {
		b.t.Fatalf("screenshot %s: %d bytes, %v", screen, len(png), err)
	}
	if wider > 0 {
		b.t.Errorf("%s %s %s: %v px wider than the window", lang, size, screen, wider)
	}
	if err := os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("central-%s-%s-%s.png", lang, size, screen)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// screens shows each path in both languages at both sizes, waits for its
// ready selector, and screenshots it.
func (b *browser) screens(base string, screens ...[3]string) {
	b.t.Helper()
	for _, lang := range []string{"zh", "en"} {
		for _, s := range screenSizes {
			b.run("viewport", chromedp.EmulateViewport(s.w, s.h, s.opts...))
			for _, sc := range screens {
				sep := "?"
				if strings.Contains(sc[0], "?") {
					sep = "&"
				}
				b.run(sc[0], chromedp.Navigate(base+sc[0]+sep+"lang="+lang), chromedp.WaitVisible(chromedp.CSS(sc[1])))
				b.shot(lang, s.name, sc[2])
			}
		}
	}
}

// TestOpsVenueInBrowser walks the venue's setup through the ops screens in
// headless Chromium: an admin logs in, creates an event in its own time
// zone and a ticket type, issues tickets, finds and revokes one, enrolls a
// gate whose setup QR is decoded and used by the real enroll path, and
// watches the gate's check-ins arrive on the dashboard without reloading
// it. Every new screen is screenshot in Chinese and English at phone and
// desktop size.
func TestOpsVenueInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	f := newFixtureWith(t, "", func(c *Config) { c.SetupQR = scanner.RenderPNG; c.OpsRefresh = 300 * time.Millisecond })
	f.clock.Set(time.Now().UTC()) // cookies expire by the browser's clock
	if err := f.srv.Accounts.Add(ctx, "ana", staff.Admin, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	base := f.http.URL
	b.run("log in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "ana"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")))

	// An event in Shanghai's time, across midnight there: two days.
	b.run("new event", chromedp.Navigate(base+"/ops/events/new"), chromedp.WaitVisible(chromedp.ID("event-form")))
	b.run("fill the event", chromedp.SendKeys(chromedp.ID("e-name"), "Night Market"),
		chromedp.SetValue(chromedp.ID("e-zone"), "Asia/Shanghai"),
		chromedp.SetValue(chromedp.ID("e-starts"), "2026-12-05T20:00"), chromedp.SetValue(chromedp.ID("e-ends"), "2026-12-06T02:00"),
		chromedp.SetValue(chromedp.ID("e-doors"), "2026-12-05T19:30"),
		chromedp.Click(chromedp.ID("save-event")), chromedp.WaitVisible(chromedp.ID("done")))
	path := b.js("location.pathname")
	id, err := strconv.ParseUint(strings.TrimPrefix(path, "/ops/events/"), 10, 64)
	if err != nil {
		t.Fatalf("after saving the event at %s", path)
	}
	ev, err := f.db.Event(ctx, id)
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	if err != nil || ev.Name != "Night Market" || ev.TimeZone != "Asia/Shanghai" || !ev.Starts.Equal(time.Date(2026, 12, 5, 20, 0, 0, 0, shanghai)) ||
		!ev.Admission.Equal(time.Date(2026, 12, 5, 19, 30, 0, 0, shanghai)) || strings.Join(ev.Days, ",") != "2026-12-05,2026-12-06" {
		t.Fatalf("event %d as stored: %+v, %v", id, ev, err)
	}
	if ev.ID != 1043 {
		t.Errorf("the new event is %d, want the next free id 1043", ev.ID)
	}
	// A wrong time zone is said, and nothing is stored.
	b.run("bad zone", chromedp.Navigate(base+"/ops/events/new"), chromedp.WaitVisible(chromedp.ID("event-form")),
		chromedp.SendKeys(chromedp.ID("e-name"), "Typo"), chromedp.SetValue(chromedp.ID("e-zone"), "Asia/Shanghia"),
		chromedp.Click(chromedp.ID("save-event")), chromedp.WaitVisible(chromedp.ID("error")))
	if msg := b.js(`document.getElementById("error").textContent`); !strings.Contains(msg, "Asia/Shanghia") {
		t.Errorf("a wrong time zone says %q", msg)
	}
	if evs, _ := f.db.Events(ctx, "arena"); len(evs) != 2 {
		t.Errorf("%d events after a refused one, want 2", len(evs))
	}

	// Edited: the doors open later; the days stay.
	b.run("edit the event", chromedp.Navigate(base+fmt.Sprintf("/ops/events/%d", id)), chromedp.WaitVisible(chromedp.ID("event-form")),
		chromedp.SetValue(chromedp.ID("e-doors"), "2026-12-05T19:45"), chromedp.Click(chromedp.ID("save-event")), chromedp.WaitVisible(chromedp.ID("done")))
	if ev, err := f.db.Event(ctx, id); err != nil || !ev.Admission.Equal(time.Date(2026, 12, 5, 19, 45, 0, 0, shanghai)) || ev.Name != "Night Market" {
		t.Errorf("event after the edit: %+v, %v", ev, err)
	}
	// The venue: a zone renamed, a gate added to it.
	b.run("zones and gates", chromedp.Navigate(base+"/ops/venue"), chromedp.WaitVisible(chromedp.ID("venue-form")),
		chromedp.SetValue(chromedp.CSS(`#zones-edit tbody tr:nth-child(2) input[name=zone_name]`), "Upper balcony"),
		chromedp.SetValue(chromedp.CSS(`#gates-edit tbody tr:nth-child(5) input[name=gate_name]`), "B2"),
		chromedp.SetValue(chromedp.CSS(`#gates-edit tbody tr:nth-child(5) select`), "1"),
		chromedp.Click(chromedp.ID("save-venue")), chromedp.WaitVisible(chromedp.ID("done")))
	v, err := f.db.Venue(ctx, "arena")
	if err != nil || len(v.Zones) != 2 || v.Zones[1].Name != "Upper balcony" || len(v.Gates) != 5 || v.Gates[1].Name != "B2" || v.Gates[1].Zone != 1 {
		t.Errorf("venue after the edit: %+v, %v", v, err)
	}
	// A ticket type: the balcony, re-entry allowed.
	b.run("new type", chromedp.Navigate(base+fmt.Sprintf("/ops/events/%d/types/new", id)), chromedp.WaitVisible(chromedp.ID("type-form")),
		chromedp.SendKeys(chromedp.ID("t-name"), "Balcony pass"), chromedp.Click(chromedp.CSS(`input[name=zone][value="1"]`)),
		chromedp.Click(chromedp.ID("r-reentry")), chromedp.Click(chromedp.ID("save-type")), chromedp.WaitVisible(chromedp.ID("types")))
	tt, err := f.db.TicketType(ctx, id, 1)
	rule, rerr := rules.ParseRule(tt.Rule)
	if err != nil || rerr != nil || tt.Name != "Balcony pass" || len(tt.Zones) != 1 || tt.Zones[0] != 1 || !rule.Reentry {
		t.Fatalf("ticket type as stored: %+v %v %v", tt, err, rerr)
	}
	head, _ := f.db.ManifestHead(ctx, "arena")

	// Three tickets for a holder, found by a part of the name, one revoked.
	b.run("issue", chromedp.Navigate(base+"/ops/tickets"), chromedp.WaitVisible(chromedp.ID("issue")),
		chromedp.SetValue(chromedp.ID("i-type"), fmt.Sprintf("%d/1", id)), chromedp.SetValue(chromedp.ID("i-count"), "3"),
		chromedp.SendKeys(chromedp.ID("i-holder"), "Li Wei"), chromedp.Click(chromedp.ID("issue-submit")), chromedp.WaitVisible(chromedp.ID("issued")))
	setupShots(b, "en", "tickets-issued")
	var issued []store.Ticket
	f.db.Tickets(ctx, id, func(tk store.Ticket) error { issued = append(issued, tk); return nil })
	if len(issued) != 3 || issued[0].Holder != "Li Wei" || issued[0].Type != 1 {
		t.Fatalf("tickets as stored: %+v", issued)
	}
	if n := b.js(`String(document.querySelectorAll("#issued-list img.ticket-qr").length)`); n != "3" {
		t.Errorf("the issued page draws %s QR codes, want 3", n)
	}
	qr := b.js(`document.querySelector("#issued-list img.ticket-qr").src`)
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(qr, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	if text, err := scanner.DecodeBytes(png); err != nil || text != issued[0].Code {
		t.Errorf("the first ticket's QR reads %q, %v; want its code", text, err)
	}
	if h, _ := f.db.ManifestHead(ctx, "arena"); h <= head {
		t.Errorf("manifest head %d after issuing, was %d: no signed change", h, head)
	}
	b.run("search", chromedp.Navigate(base+fmt.Sprintf("/ops/tickets?event=%d&holder=li+w", id)), chromedp.WaitVisible(chromedp.ID("results")))
	if n := b.js(`String(document.querySelectorAll("#results tbody tr").length)`); n != "3" {
		t.Errorf("the search by holder finds %s tickets, want 3", n)
	}
	row := fmt.Sprintf("#ticket-%d-%d", id, issued[2].Serial)
	b.run("revoke", chromedp.SendKeys(chromedp.CSS(row+" input[name=reason]"), "refunded"),
		chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitVisible(chromedp.ID("done")))
	if tk, err := f.db.Ticket(ctx, id, issued[2].Serial); err != nil || tk.Status != "revoked" {
		t.Errorf("ticket after revoking: %+v, %v", tk, err)
	}
	b.run("issue in Chinese", chromedp.Navigate(base+"/ops/tickets?lang=zh"), chromedp.WaitVisible(chromedp.ID("issue")),
		chromedp.SetValue(chromedp.ID("i-type"), fmt.Sprintf("%d/1", id)), chromedp.SendKeys(chromedp.ID("i-holder"), "王芳"),
		chromedp.Click(chromedp.ID("issue-submit")), chromedp.WaitVisible(chromedp.ID("issued")))
	setupShots(b, "zh", "tickets-issued")
	b.run("viewport", chromedp.EmulateViewport(1280, 800))
	if ts, err := f.db.SearchTickets(ctx, store.TicketSearch{Event: id, Holder: "王"}); err != nil || len(ts) != 1 || ts[0].Serial != 4 {
		t.Errorf("the ticket issued in Chinese: %+v, %v", ts, err)
	}
	audit, _ := f.db.AuditLog(ctx, 20)
	var actions []string
	for _, a := range audit {
		if a.Actor == "ana" {
			actions = append(actions, a.Action)
		}
	}
	if got := strings.Join(actions, " "); got != "tickets.issue ticket.revoke tickets.issue ticket_type.put venue.put event.put event.put session.login" {
		t.Errorf("ana's audit log, newest first: %s", got)
	}

	// Enroll a gate from its setup QR: decoded from the page's image, the
	// code's token enrolls through the device's own enroll call.
	b.run("devices", chromedp.Navigate(base+"/ops/devices"), chromedp.WaitVisible(chromedp.ID("enroll")),
		chromedp.SendKeys(chromedp.ID("d-name"), "gate-9"), chromedp.SetValue(chromedp.ID("d-gate"), "G2"),
		chromedp.Click(chromedp.ID("add-device")), chromedp.WaitVisible(chromedp.ID("setup-qr")))
	setupShots(b, "en")
	// The code is lost: a new one replaces it, and the old one stops working.
	first := b.js(`document.getElementById("setup-token").value`)
	b.run("new setup code", chromedp.Navigate(base+"/ops/devices"), chromedp.Click(chromedp.CSS(`#device-gate-9 form[action$="/setup"] button`)),
		chromedp.WaitVisible(chromedp.ID("setup-qr")))
	if again := b.js(`document.getElementById("setup-token").value`); again == first || !strings.HasPrefix(again, "tgs_") {
		t.Fatalf("the new setup token %q, the first %q", again, first)
	}
	key0, _ := ticket.GenerateKey(nil)
	if _, err := uplink.Enroll(ctx, nil, base, uplink.EnrollRequest{Token: first, Key: ticket.PublicOf(key0), Version: "test", Hardware: "test", Time: f.clock.Now()}); err == nil ||
		!strings.Contains(err.Error(), "expired") {
		t.Errorf("enroll with the replaced token: %v, want expired", err)
	}
	src := b.js(`document.getElementById("setup-qr").src`)
	png, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	if err != nil {
		t.Fatalf("setup QR %.40s: %v", src, err)
	}
	text, err := scanner.DecodeBytes(png)
	if err != nil {
		t.Fatalf("decode the setup QR: %v", err)
	}
	if shown := b.js(`document.getElementById("setup-code").value`); shown != text {
		t.Errorf("the QR holds %q, the page shows %q", text, shown)
	}
	code, err := uplink.ParseSetupCode(text)
	if err != nil || code.URL != base {
		t.Fatalf("setup code %q: %+v, %v", text, code, err)
	}
	key, _ := ticket.GenerateKey(nil)
	dev, err := uplink.Enroll(ctx, nil, code.URL, uplink.EnrollRequest{Token: code.Token, Key: ticket.PublicOf(key), Version: "test", Hardware: "test", Time: f.clock.Now()})
	if err != nil {
		t.Fatalf("enroll from the setup code: %v", err)
	}
	if dev.Gate != "G2" || dev.Cert.Device != "gate-9" {
		t.Errorf("enrolled as %s at %q", dev.Cert.Device, dev.Gate)
	}

	// The dashboard, open before the gate uploads, shows its entries once
	// they arrive.
	b.run("viewport", chromedp.EmulateViewport(1280, 800))
	b.run("dashboard", chromedp.Navigate(base+"/ops/?lang=en"), chromedp.WaitVisible(chromedp.ID("chart")))
	if n := b.js(`document.getElementById("n-admissions").textContent`); n != "0" {
		t.Fatalf("admissions before the upload: %s", n)
	}
	b.js(`document.getElementById("chart").setAttribute("data-before", "1"), ""`)
	now := f.clock.Now()
	recs := entries(t, key, id, []uint64{issued[0].Serial, issued[1].Serial, issued[0].Serial}, "G2", 1, now.Add(-90*time.Second))
	pushStatus(t, base, dev.Credential, uplink.Status{Time: now, State: "ok", ManifestSeq: dev.ManifestHead}, recs[:2])
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("n-admissions").textContent === "2"`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the dashboard never showed the 2 entries: %v", err)
	}
	if b.js(`document.getElementById("chart").getAttribute("data-before") || "reloaded"`) != "reloaded" ||
		b.js(`document.getElementById("chart").getAttribute("data-total")`) != "2" {
		t.Errorf("the chart after the upload: %s", b.js(`document.getElementById("chart-box").outerHTML.slice(0, 300)`))
	}
	if b.js(`location.pathname`) != "/ops/" {
		t.Errorf("the dashboard navigated away")
	}
	online := b.js(`document.getElementById("n-online").textContent`)
	if online != "1/1" {
		t.Errorf("devices online: %s, want 1/1", online)
	}
	zones := b.js(`document.getElementById("zones").textContent`)
	if !strings.Contains(zones, "Upper balcony") {
		t.Errorf("occupancy by zone: %q", zones)
	}
	updated := b.js(`document.getElementById("updated").textContent`)
	if want := now.In(mustZone(t, "Europe/Berlin")).Format("MST"); !strings.Contains(updated, want) {
		t.Errorf("updated %q: not in the venue's time (%s)", updated, want)
	}
	// A forged upload is refused and counted by reason.
	forged := append([]byte(nil), recs[2]...)
	forged[len(forged)-1] ^= 1 // the signature's last byte
	if out := pushStatus(t, base, dev.Credential, uplink.Status{Time: now, State: "ok"}, [][]byte{forged}); len(out.Refused) != 1 {
		t.Errorf("the forged record: %+v", out)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`!!document.getElementById("refusals")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the dashboard never showed the refusal: %v", err)
	}

	// A seller's setup code, in Chinese.
	b.run("devices", chromedp.Navigate(base+"/ops/devices?lang=zh"), chromedp.WaitVisible(chromedp.ID("enroll")),
		chromedp.SendKeys(chromedp.ID("d-name"), "till-1"), chromedp.SetValue(chromedp.ID("d-role"), "seller"),
		chromedp.Click(chromedp.ID("add-device")), chromedp.WaitVisible(chromedp.ID("setup-qr")))
	setupShots(b, "zh")
	b.run("the same name again", chromedp.Navigate(base+"/ops/devices?lang=zh"), chromedp.WaitVisible(chromedp.ID("enroll")),
		chromedp.SendKeys(chromedp.ID("d-name"), "till-1"), chromedp.Click(chromedp.ID("add-device")), chromedp.WaitVisible(chromedp.ID("error")))
	if msg, want := b.js(`document.getElementById("error").textContent`), strings.ReplaceAll(f.srv.UI.Site().Catalogs["zh"]["devices.error.exists"], "{name}", "till-1"); msg != want {
		t.Errorf("a taken name says %q, want %q", msg, want)
	}
	b.run("viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	b.shot("zh", "phone", "devices-error")
	b.run("revoke the till", chromedp.Navigate(base+"/ops/devices?lang=en"), chromedp.Click(chromedp.CSS("#device-till-1 summary")),
		chromedp.SendKeys(chromedp.CSS("#device-till-1 input[name=reason]"), "lost"), chromedp.Click(chromedp.CSS("#device-till-1 details button")),
		chromedp.WaitVisible(chromedp.ID("done")))
	if d, err := f.db.DeviceByName(ctx, "till-1"); err != nil || d.Revoked.IsZero() {
		t.Errorf("till-1 after revoking: %+v, %v", d, err)
	}
	if audit, _ := f.db.AuditLog(ctx, 1); len(audit) != 1 || audit[0].Action != "device.revoke" || audit[0].Actor != "ana" || audit[0].Detail != "lost" {
		t.Errorf("the audit log's last entry: %+v", audit)
	}
	b.screens(base,
		[3]string{"/ops/", "#chart", "dashboard-live"},
		[3]string{"/ops/events", fmt.Sprintf("#event-%d", id), "events"},
		[3]string{"/ops/events/new", "#event-form", "event-new"},
		[3]string{fmt.Sprintf("/ops/events/%d", id), "#types", "event"},
		[3]string{fmt.Sprintf("/ops/events/%d/types/1", id), "#type-form", "type"},
		[3]string{"/ops/venue", "#venue-form", "venue"},
		[3]string{fmt.Sprintf("/ops/tickets?event=%d", id), "#results", "tickets"},
		[3]string{"/ops/devices", "#devices", "devices-enroll"},
		[3]string{"/ops/audit", "#audit", "audit"},
	)
	b.run("dark phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/ops/?theme=dark&lang=zh"), chromedp.WaitVisible(chromedp.ID("chart")))
	b.shot("zh", "phone", "dashboard-dark")
	b.run("dark desktop", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+fmt.Sprintf("/ops/events/%d/types/1?lang=en", id)), chromedp.WaitVisible(chromedp.ID("type-form")))
	b.shot("en", "desktop", "type-dark")
}

// setupShots screenshots the page shown (the answer to a POST, so not
// reloaded) at both sizes, as "setup" unless named.
func setupShots(b *browser, lang string, name ...string) {
	b.t.Helper()
	screen := "setup"
	if len(name) > 0 {
		screen = name[0]
	}
	for _, s := range screenSizes {
		b.run("viewport", chromedp.EmulateViewport(s.w, s.h, s.opts...))
		b.shot(lang, s.name, screen)
	}
}

func mustZone(t testing.TB, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// entries are a gate's signed entries of the serials, a second apart from
// at, its log's records from seq on.
func entries(t testing.TB, key ed25519.PrivateKey, event uint64, serials []uint64, gate string, seq uint64, at time.Time) [][]byte {
	t.Helper()
	var out [][]byte
	var prev record.Hash
	for i, s := range serials {
		r := record.Record{Origin: ticket.KeyIDOf(ticket.PublicOf(key)), Seq: seq + uint64(i), Prev: prev, HLC: record.NewHLC(at.Add(time.Duration(i)*time.Second), 0),
			Kind: record.KindEntry, Event: event, Serial: s, Type: 1, Gate: gate, Zone: 1}
		if err := r.Sign(key); err != nil {
			t.Fatal(err)
		}
		raw := r.Marshal()
		prev = record.HashOf(raw)
		out = append(out, raw)
	}
	return out
}

func pushStatus(t testing.TB, url, cred string, st uplink.Status, recs [][]byte) uplink.PushResponse {
	t.Helper()
	body, _ := json.Marshal(uplink.PushRequest{Status: st, Records: recs})
	req, _ := http.NewRequest(http.MethodPost, url+uplink.PathRecords, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out uplink.PushResponse
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("push: %s", resp.Status)
	}
	return out
}
