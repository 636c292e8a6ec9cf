package storefront_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/testsrv"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

var concert = time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// venue is central as `tixgate central` wires it, with the test venue, a
// mailpit for its mail, the scanner's QR renderer and types 1 (¥128) and 2
// (¥380) of event 1042 on sale with the voucher FRIENDS (20% off).
type venue struct {
	srv   *central.Server
	http  *httptest.Server
	db    *store.DB
	keys  *keyfile.Keys
	mail  *mailpit
	clock *ticket.ManualClock
}

func newVenue(t *testing.T) *venue { t.Helper(); return newVenueWith(t, nil) }

// newVenueWith is newVenue with its configuration changed by configure.
func newVenueWith(t *testing.T, configure func(*central.Config)) *venue {
	t.Helper()
	dir := t.TempDir()
	mp := startMailpit(t)
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: concert.Add(-60 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	scfg := store.DefaultConfig("", dir)
	scfg.Logger = quiet()
	db, err := store.Open(context.Background(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := central.DefaultConfig(hs.Listener.Addr().String(), db, keys)
	clock := ticket.NewManualClock(concert.Add(-7 * 24 * time.Hour))
	cfg.Clock, cfg.Logger = clock, quiet()
	cfg.PublicURL = "http://" + hs.Listener.Addr().String()
	cfg.SetupQR = scanner.RenderPNG
	cfg.Mailer = &shop.SMTP{Host: "127.0.0.1", Port: mp.SMTP, From: "box-office@example.org", Insecure: true}
	cfg.ReconcileEvery = 0
	if configure != nil {
		configure(&cfg)
	}
	srv := central.New(cfg)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "venue.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := manifest.ParseSpec(data, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := srv.Catalog.ImportVenue(ctx, spec, ""); err != nil {
		t.Fatal(err)
	}
	for _, o := range []shop.Offer{
		{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 500, MaxPerOrder: 10},
		{Event: 1042, Type: 2, Price: pricing.New(38000, pricing.CNY), Quota: 12, MaxPerOrder: 4},
	} {
		if err := srv.Shop.PutOffer(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	err = srv.Shop.PutPromotion(ctx, 1042, pricing.Promotion{ID: "friends", Name: "Friends 20%", Code: "FRIENDS", Off: pricing.Percent(20), Rounding: pricing.RoundHalfEven, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return &venue{srv: srv, http: hs, db: db, keys: keys, mail: mp, clock: clock}
}

var screenSizes = []struct {
	name string
	w, h int64
	opts []chromedp.EmulateViewportOption
}{
	{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
	{"desktop", 1280, 800, nil},
}

type browser struct {
	t   *testing.T
	ctx context.Context
	dir string
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
	tctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	t.Cleanup(cancel)
	return &browser{t: t, ctx: tctx, dir: dir}
}

func (b *browser) run(what string, acts ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	t0 := time.Now()
	if err := chromedp.Do(b.ctx, acts...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		b.t.Logf("%s took %s", what, d.Round(time.Millisecond))
	}
}

func (b *browser) js(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// shot saves a screenshot and checks the page is no wider than the
// window.
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
	if err := os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("storefront-%s-%s-%s.png", lang, size, screen)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// screens shows each path (name, path, ready selector) in both languages
// at both sizes and screenshots it.
func (b *browser) screens(base string, screens ...[3]string) {
	b.t.Helper()
	for _, lang := range []string{"zh", "en"} {
		for _, s := range screenSizes {
			b.run("viewport", chromedp.EmulateViewport(s.w, s.h, s.opts...))
			for _, sc := range screens {
				sep := "?"
				if strings.Contains(sc[1], "?") {
					sep = "&"
				}
				b.run(sc[1], chromedp.Navigate(base+sc[1]+sep+"lang="+lang), chromedp.WaitVisible(chromedp.CSS(sc[2])))
				b.shot(lang, s.name, sc[0])
			}
		}
	}
	b.run("viewport", chromedp.EmulateViewport(1280, 800))
}

var verifyRE = regexp.MustCompile(`https?://\S+/api/v1/shop/verify\?token=\S+`)

// TestStorefrontInBrowser is the buyer's whole way in headless Chromium:
// register, confirm the email by the link read from mailpit, buy two
// tickets with a voucher, pay, see the QR codes (one decoded by the
// scanner: a gate that pulled central's manifest says ok to it), then
// lose the network and still see the tickets. Every page is
// screenshotted at phone and desktop size in Chinese and English (to
// $TIXGATE_SCREENS when set).
func TestStorefrontInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	v := newVenue(t)
	base := v.http.URL
	br := newBrowser(t)
	run, js := br.run, br.js
	br.screens(base, [3]string{"home", "/", "#events"}, [3]string{"event", "/events/1042", "#choose"},
		[3]string{"checkout-anonymous", "/checkout?event=1042&q1=2&q2=1&promo=FRIENDS", "#total"},
		[3]string{"register", "/register", "#register"}, [3]string{"login", "/login", "#login"}, [3]string{"login-phone", "/login?with=phone", "#send-code"},
		[3]string{"verify-unknown", "/verify?token=tgv_unknown", "#error"})
	// The SMS login's second step: the code is asked for (one number a
	// shot: a number gets one code a minute).
	n := 0
	for _, lang := range []string{"zh", "en"} {
		for _, s := range screenSizes {
			n++
			run("send a code", chromedp.EmulateViewport(s.w, s.h, s.opts...), chromedp.Navigate(base+"/login?with=phone&lang="+lang),
				chromedp.WaitVisible(chromedp.ID("phone")), chromedp.SendKeys(chromedp.ID("phone"), fmt.Sprintf("1380013800%d", n)),
				chromedp.Click(chromedp.ID("send-code")), chromedp.WaitVisible(chromedp.ID("code")))
			br.shot(lang, s.name, "login-code")
		}
	}
	run("viewport", chromedp.EmulateViewport(1280, 800))

	const email, pw = "li.wei@example.org", "correct horse battery"
	run("register", chromedp.Navigate(base+"/register?lang=en"), chromedp.WaitVisible(chromedp.ID("register")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("name"), "Li Wei"),
		chromedp.SendKeys(chromedp.ID("password"), pw), chromedp.SendKeys(chromedp.ID("password2"), pw),
		chromedp.Click(chromedp.ID("register")), chromedp.WaitVisible(chromedp.ID("done")))
	// Before the email is confirmed, an order is refused with what to do.
	run("order unverified", chromedp.Navigate(base+"/checkout?event=1042&q1=1"), chromedp.WaitVisible(chromedp.ID("place")),
		chromedp.Click(chromedp.ID("place")), chromedp.WaitVisible(chromedp.ID("error")))
	if msg := js(`document.getElementById("error").textContent`); !strings.Contains(msg, "Confirm your email") {
		t.Errorf("an unverified order says %q", msg)
	}
	link := verifyRE.FindString(v.mail.message(t, email, "Confirm your email"))
	if link == "" {
		t.Fatal("no verification link in the mail")
	}
	run("verify", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("done")))
	br.shot("en", "desktop", "verified")
	if msg := js(`document.getElementById("done").textContent`); !strings.Contains(msg, "confirmed") {
		t.Errorf("the verification page says %q", msg)
	}

	run("choose", chromedp.Navigate(base+"/events/1042"), chromedp.WaitVisible(chromedp.ID("q1")),
		chromedp.SetValue(chromedp.ID("q1"), "2"), chromedp.SendKeys(chromedp.ID("promo"), "friends"),
		chromedp.Click(chromedp.ID("to-checkout")), chromedp.WaitVisible(chromedp.ID("total")))
	// 2 × ¥128.00 less 20%: the pricing package's quote.
	if total := js(`document.getElementById("total").textContent`); total != "CN¥204.80" {
		t.Errorf("checkout total %q, want CN¥204.80", total)
	}
	run("place", chromedp.Click(chromedp.ID("place")), chromedp.WaitVisible(chromedp.ID("hold")))
	if st := js(`document.getElementById("status").dataset.status`); st != "pending_payment" {
		t.Fatalf("after placing: %s", st)
	}
	orderURL := js(`location.pathname`)
	run("pay", chromedp.Click(chromedp.ID("pay-test")), chromedp.WaitVisible(chromedp.CSS("#order-tickets img.qr")))
	if st := js(`document.getElementById("status").dataset.status`); st != "paid" {
		t.Fatalf("after paying: %s", st)
	}
	if n := js(`String(document.querySelectorAll("#order-tickets img.qr").length)`); n != "2" {
		t.Fatalf("%s QR codes on the order page, want 2", n)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(orderURL, "/orders/"), 10, 64)
	_, tickets, err := v.srv.Shop.Order(context.Background(), id)
	if err != nil || len(tickets) != 2 {
		t.Fatalf("order %d: %v, %d tickets", id, err, len(tickets))
	}
	code := decodeQR(t, js(`document.querySelector("#order-tickets img.qr").src`))
	if code != tickets[0].Code {
		t.Fatalf("the first QR reads %q, want ticket %d's code %q", code, tickets[0].Serial, tickets[0].Code)
	}
	gateSays(t, v, code, ticket.ReasonOK)
	// The funnel counted this browser at every step, once.
	if fun, err := v.db.Funnel(context.Background(), 1042, time.Time{}, time.Time{}); err != nil ||
		fun["view"] != 1 || fun["cart"] != 1 || fun["checkout"] != 1 || fun["payment"] != 1 {
		t.Errorf("funnel %v, %v: want this browser once at each step", fun, err)
	}

	// Another order left pending, for its screens.
	a, err := v.db.AccountByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := v.srv.Shop.Place(context.Background(), a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 2, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	pendingURL := fmt.Sprintf("/orders/%d", pending.ID)
	br.screens(base, [3]string{"checkout", "/checkout?event=1042&q1=2&promo=FRIENDS", "#place"},
		[3]string{"checkout-refused", "/checkout?event=1042&q1=1&promo=NOPE", "#refused"},
		[3]string{"order-pending", pendingURL, "#pay-test"}, [3]string{"order-counter", pendingURL + "?pay=counter", "#counter"},
		[3]string{"order-paid", orderURL, "#order-tickets"}, [3]string{"orders", "/orders", "#orders"})

	// The buyer pays the pending one at the box office: the clerk finds it
	// by its number on the ops screens and marks it paid.
	if err := v.srv.Accounts.Add(context.Background(), "clerk", staff.BoxOffice, "correct horse staple", "test"); err != nil {
		t.Fatal(err)
	}
	run("clerk logs in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "clerk"), chromedp.SendKeys(chromedp.ID("password"), "correct horse staple"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitNotPresent(chromedp.ID("login")))
	run("find the order", chromedp.Navigate(base+"/ops/orders"), chromedp.WaitVisible(chromedp.ID("order")),
		chromedp.SendKeys(chromedp.ID("order"), strconv.FormatInt(pending.ID, 10)), chromedp.Click(chromedp.ID("find")),
		chromedp.WaitVisible(chromedp.ID("mark-paid")))
	br.screens(base, [3]string{"ops-boxoffice-pending", fmt.Sprintf("/ops/orders?order=%d", pending.ID), "#mark-paid"})
	run("mark paid", chromedp.Navigate(base+fmt.Sprintf("/ops/orders?order=%d", pending.ID)), chromedp.WaitVisible(chromedp.ID("mark-paid")),
		chromedp.Click(chromedp.ID("mark-paid")), chromedp.WaitVisible(chromedp.ID("done")))
	if st := js(`document.getElementById("status").dataset.status`); st != "paid" {
		t.Errorf("after the box office marked it paid: %s", st)
	}
	br.screens(base, [3]string{"ops-boxoffice-paid", fmt.Sprintf("/ops/orders?order=%d&done=boxoffice.paid", pending.ID), "#done"})
	run("the buyer's order", chromedp.Navigate(base+pendingURL+"?lang=en"), chromedp.WaitVisible(chromedp.CSS("#order-tickets img.qr")))
	if audit, _ := v.db.AuditLog(context.Background(), 5); len(audit) == 0 || audit[0].Action != "order.paid_at_box_office" || audit[0].Actor != "clerk" {
		t.Errorf("the audit log does not say the clerk marked it paid: %+v", audit)
	}

	// The tickets page, once loaded, is kept on the phone by the service
	// worker; then the network goes.
	br.screens(base, [3]string{"tickets", "/tickets/", "#tickets img.qr"}, [3]string{"tickets-dark", "/tickets/?theme=dark", "#tickets img.qr"},
		[3]string{"order-dark", orderURL + "?theme=dark", "#timeline"}, [3]string{"event-light", "/events/1042?theme=light", "#choose"})
	run("tickets", chromedp.Navigate(base+"/tickets/?lang=en"), chromedp.WaitVisible(chromedp.CSS("#tickets img.qr")))
	kept := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !kept; time.Sleep(100 * time.Millisecond) {
		kept = js(`caches.match("/tickets/").then(r => r ? r.text() : "").then(t => String(t.includes("img class=\"qr\"")))`) == "true"
	}
	if !kept {
		t.Fatal("the service worker did not keep the tickets page")
	}
	if js(`String(!!navigator.serviceWorker.controller)`) != "true" {
		t.Error("the tickets page is not controlled by the service worker")
	}
	if m := js(`fetch("/app.webmanifest").then(r => r.json()).then(m => m.start_url + " " + m.display)`); m != "/tickets/ standalone" {
		t.Errorf("manifest: %s", m)
	}
	v.http.CloseClientConnections()
	v.http.Close()
	if _, err := http.Get(base + "/tickets/"); err == nil {
		t.Fatal("the server still answers")
	}
	run("tickets offline", chromedp.Navigate(base+"/tickets/?lang=en"), chromedp.WaitVisible(chromedp.CSS("#tickets img.qr")))
	if n := js(`String(document.querySelectorAll("#tickets img.qr").length)`); n != "3" {
		t.Errorf("offline: %s QR codes, want 3 (two bought online, one paid at the box office)", n)
	}
	if got := decodeQR(t, js(fmt.Sprintf(`document.querySelector('#tickets article[data-serial="%d"] img.qr').src`, tickets[0].Serial))); got != tickets[0].Code {
		t.Errorf("offline, the first QR reads %q", got)
	}
	for _, s := range screenSizes {
		run("viewport", chromedp.EmulateViewport(s.w, s.h, s.opts...), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#tickets img.qr")))
		br.shot("en", s.name, "tickets-offline")
	}
}

// decodeQR reads a data: URL's PNG with the scanner, as a gate would.
func decodeQR(t *testing.T, src string) string {
	t.Helper()
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR src %.40q: not a PNG data URL", src)
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	text, err := scanner.DecodeBytes(png)
	if err != nil {
		t.Fatalf("decode the QR: %v", err)
	}
	return text
}

// gates numbers the gates gateSays provisions: each is a new device.
var gates atomic.Int64

// gateSays checks what a gate of the venue that pulled central's manifest
// decides for code at the concert.
func gateSays(t *testing.T, v *venue, code string, want ticket.Reason) {
	t.Helper()
	var buf bytes.Buffer
	v.db.Changes(context.Background(), "arena", 0, 0, func(c store.Change) error { buf.Write(c.Line); buf.WriteByte('\n'); return nil })
	dir := t.TempDir()
	lcfg := ledger.TestConfig(dir)
	lcfg.Clock, lcfg.Logger = ticket.NewManualClock(concert), quiet()
	if err := ledger.Init(ledger.Provision{Dir: dir, Keys: v.keys, Device: fmt.Sprintf("gate-%d", gates.Add(1)), Venue: "arena", Now: concert.Add(-time.Hour)}, lcfg); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Import(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	d, err := l.Decide(context.Background(), ledger.Scan{Text: code, Gate: "G1", Direction: rules.In})
	if err != nil || d.Reason != want {
		t.Errorf("the gate says %s %s, %v; want %s", d.Reason, d.Detail, err, want)
	}
}

// mailpit is a running mailpit (package testsrv).
type mailpit struct{ *testsrv.Mailpit }

func startMailpit(t *testing.T) *mailpit { return &mailpit{testsrv.StartMailpit(t)} }

func (mp *mailpit) message(t *testing.T, addr, subject string) string {
	return mp.Message(t, addr, subject)
}
