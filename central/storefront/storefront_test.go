package storefront

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/invoice/einvsim"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// concert is inside the event of testdata/venue.yaml (event 1042).
var concert = time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC)

type fixture struct {
	db    *store.DB
	shop  *shop.Shop
	inv   *invoice.Issuer
	einv  *einvsim.Server
	front *Front
	sms   *shop.DevSender
	clock *ticket.ManualClock
	url   string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newFixture is a storefront over a fresh SQLite database with the test
// venue imported and types 1 (¥128, 10 per order) and a VIP-only 2 on
// sale, with the voucher FRIENDS (20% off).
func newFixture(tb testing.TB, quota int64) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: concert.Add(-60 * 24 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	scfg := store.DefaultConfig("", dir)
	scfg.Logger = quiet()
	db, err := store.Open(context.Background(), scfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	clock := ticket.NewManualClock(concert.Add(-7 * 24 * time.Hour))
	ccfg := catalog.DefaultConfig(db, keys)
	ccfg.Clock, ccfg.Logger = clock, quiet()
	cat := catalog.New(ccfg)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "venue.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := manifest.ParseSpec(data, "yaml")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cat.ImportVenue(context.Background(), spec, ""); err != nil {
		tb.Fatal(err)
	}
	sms := &shop.DevSender{}
	einv := einvsim.New("tixgate-test", "test-secret-0123456789")
	einv.Now = clock.Now
	esrv := httptest.NewServer(einv.Handler())
	tb.Cleanup(esrv.Close)
	icfg := invoice.DefaultConfig(db)
	icfg.Clock, icfg.Logger = clock, quiet()
	icfg.EInvoice = &invoice.ChinaPlatform{BaseURL: esrv.URL, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: clock}
	inv := invoice.New(icfg)
	cfg := shop.TestConfig(db, cat)
	cfg.Clock, cfg.Logger, cfg.SMSSender, cfg.Settled = clock, quiet(), sms, inv.Settled
	sh := shop.New(cfg)
	ctx := context.Background()
	for _, o := range []shop.Offer{
		{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: quota, MaxPerOrder: 10},
		{Event: 1042, Type: 2, Price: pricing.New(38000, pricing.CNY), Quota: 50, Roles: []string{shop.RoleVIP}},
	} {
		if err := sh.PutOffer(ctx, o); err != nil {
			tb.Fatal(err)
		}
	}
	err = sh.PutPromotion(ctx, 1042, pricing.Promotion{ID: "friends", Name: "Friends", Code: "FRIENDS", Off: pricing.Percent(20), Rounding: pricing.RoundHalfEven, Limit: 100})
	if err != nil {
		tb.Fatal(err)
	}
	front, err := New(Config{Shop: sh, Store: db, Clock: clock, Logger: quiet(), QR: scanner.RenderPNG, Invoices: inv})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(front.Handler())
	tb.Cleanup(srv.Close)
	return &fixture{db: db, shop: sh, inv: inv, einv: einv, front: front, sms: sms, clock: clock, url: srv.URL}
}

// client is a browser without a script: a cookie jar that does not follow
// redirects, so a test sees where each answer leads.
type client struct {
	tb   testing.TB
	base string
	hc   *http.Client
}

func (f *fixture) client(tb testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{tb: tb, base: f.url, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get returns the status, the Location and the body.
func (c *client) get(path string) (int, string, string) {
	c.tb.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (c *client) post(path string, form url.Values) (int, string, string) {
	c.tb.Helper()
	resp, err := c.hc.PostForm(c.base+path, form)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the first form of a page.
func (c *client) csrf(path string) string {
	c.tb.Helper()
	_, _, body := c.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.tb.Fatalf("%s has no form with a CSRF token", path)
	}
	return m[1]
}

// A buyer logs in by phone and SMS code, sees the quote with the voucher,
// orders, pays with the test provider and sees the tickets; a form
// without its token is refused; another buyer sees none of it.
func TestBuyByPhone(t *testing.T) {
	f := newFixture(t, 100)
	c := f.client(t)
	if st, _, body := c.get("/?lang=en"); st != 200 || !strings.Contains(body, "Summer Concert") || !strings.Contains(body, "From CN¥128.00") {
		t.Fatalf("home: %d %s", st, body)
	}
	if st, loc, _ := c.get("/orders"); st != 303 || loc != "/login?next=%2Forders" {
		t.Errorf("orders without a login: %d %s", st, loc)
	}
	tok := c.csrf("/login?with=phone")
	if st, _, _ := c.post("/login/sms", url.Values{"phone": {"138 0013 8000"}}); st != 403 {
		t.Errorf("a form without its CSRF token: %d, want 403", st)
	}
	st, _, body := c.post("/login/sms", url.Values{"csrf": {tok}, "phone": {"138 0013 8000"}, "next": {"/orders"}})
	if st != 200 || !strings.Contains(body, `id="code"`) {
		t.Fatalf("send code: %d %s", st, body)
	}
	out := f.sms.Outbox()
	if len(out) != 1 || out[0].To != "+8613800138000" {
		t.Fatalf("outbox %+v", out)
	}
	code := regexp.MustCompile(`\d{6}`).FindString(out[0].Text)
	if st, _, _ := c.post("/login/sms/verify", url.Values{"csrf": {tok}, "phone": {"+8613800138000"}, "code": {"000000"}}); st != 401 && code != "000000" {
		t.Errorf("a wrong code: %d", st)
	}
	if st, loc, _ := c.post("/login/sms/verify", url.Values{"csrf": {tok}, "phone": {"+8613800138000"}, "code": {code}, "next": {"//evil.example/"}}); st != 303 || loc != "/" {
		t.Fatalf("log in by code: %d %s (a next of another site must lead home)", st, loc)
	}

	st, _, body = c.get("/checkout?lang=zh&event=1042&q1=2&promo=friends")
	if st != 200 || !strings.Contains(body, "¥204.80") || !strings.Contains(body, "-¥51.20") {
		t.Fatalf("checkout: %d %s", st, body)
	}
	if _, _, body := c.get("/checkout?lang=en&event=1042&q1=1&promo=NOPE"); !strings.Contains(body, "The code NOPE is not known.") || strings.Contains(body, `id="place"`) {
		t.Errorf("an unknown code: %s", body)
	}
	tok = csrfRE.FindStringSubmatch(body)[1]
	st, loc, body := c.post("/orders", url.Values{"csrf": {tok}, "event": {"1042"}, "q1": {"2"}, "promo": {"FRIENDS"}})
	if st != 303 || !strings.HasPrefix(loc, "/orders/") {
		t.Fatalf("place: %d %s %s", st, loc, body)
	}
	st, _, body = c.get(loc + "?lang=en")
	if st != 200 || !strings.Contains(body, `data-status="pending_payment"`) || !strings.Contains(body, "held until") {
		t.Fatalf("order: %d %s", st, body)
	}
	other := f.client(t)
	otok := other.csrf("/login?with=phone")
	other.post("/login/sms", url.Values{"csrf": {otok}, "phone": {"+8613900139000"}})
	ocode := regexp.MustCompile(`\d{6}`).FindString(f.sms.Outbox()[1].Text)
	other.post("/login/sms/verify", url.Values{"csrf": {otok}, "phone": {"+8613900139000"}, "code": {ocode}})
	if st, _, _ := other.get(loc); st != 404 {
		t.Errorf("another buyer's order: %d, want 404", st)
	}
	if st, _, _ := other.post(loc+"/pay", url.Values{"csrf": {other.csrf("/orders")}, "method": {"test"}}); st != 404 {
		t.Errorf("another buyer paying: %d, want 404", st)
	}
	if st, _, _ := c.post(loc+"/pay", url.Values{"csrf": {"forged"}, "method": {"test"}}); st != 403 {
		t.Errorf("a pay form with a forged token: %d, want 403", st)
	}
	if st, l, _ := c.post(loc+"/pay", url.Values{"csrf": {tok}, "method": {"test"}}); st != 303 || l != loc+"?done=paid" {
		t.Fatalf("pay: %d %s", st, l)
	}
	_, _, body = c.get("/tickets/?lang=en")
	if n := strings.Count(body, `<article class="ticket"`); n != 2 || !strings.Contains(body, "data:image/png;base64,") || !strings.Contains(body, "CN¥102.40") {
		t.Errorf("tickets page: %d tickets: %s", n, body)
	}
	if _, _, body := other.get("/tickets/"); strings.Contains(body, `<article class="ticket"`) {
		t.Error("another buyer sees the tickets")
	}
	if st, _, _ := other.get(loc + "/tickets.pdf"); st != 404 {
		t.Errorf("another buyer's PDF: %d, want 404", st)
	}
	checkPDF(t, c, loc+"/tickets.pdf?lang=zh", "Summer Concert", "票种", "Standing")

	// Logging out ends the session on the server, not only the cookie.
	c.post("/logout", url.Values{"csrf": {tok}})
	if st, _, _ := c.get("/tickets/"); st != 303 {
		t.Errorf("tickets after logout: %d", st)
	}
}

// The event page says what is left and what is sold out; a VIP-only type
// shows only to VIPs.
func TestEventPageStock(t *testing.T) {
	f := newFixture(t, 3)
	c := f.client(t)
	_, _, body := c.get("/events/1042?lang=en")
	if !strings.Contains(body, "Only 3 left") || strings.Contains(body, "CN¥380.00") {
		t.Errorf("event page: %s", body)
	}
	a, err := f.shop.Register(context.Background(), shop.Registration{Email: "vip@example.org", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	f.db.Update(context.Background(), func(tx *store.Tx) error {
		if err := tx.SetAccountRole(a.ID, shop.RoleVIP); err != nil {
			return err
		}
		return nil
	})
	if _, err := f.shop.Place(context.Background(), a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 3}}}); err != shop.ErrUnverified {
		t.Fatalf("an unverified order: %v", err)
	}
	tok := c.csrf("/login")
	if st, _, _ := c.post("/login", url.Values{"csrf": {tok}, "email": {"vip@example.org"}, "password": {"a long password"}}); st != 303 {
		t.Fatalf("login: %d", st)
	}
	_, _, body = c.get("/events/1042?lang=en")
	if !strings.Contains(body, "CN¥380.00") {
		t.Errorf("a VIP does not see the VIP type: %s", body)
	}
	tok = c.csrf("/orders")
	if st, _, body := c.post("/orders", url.Values{"csrf": {tok}, "event": {"1042"}, "q1": {"1"}}); st != 403 || !strings.Contains(body, "Confirm your email first") {
		t.Errorf("an unverified buyer ordering: %d %s", st, body)
	}
}

// checkPDF reads a tickets PDF back with poppler: its text has each of
// want, and its first page's QR code decodes to a tixgate code.
func checkPDF(t *testing.T, c *client, path string, want ...string) {
	t.Helper()
	st, _, body := c.get(path)
	if st != 200 || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("%s: %d %.80q", path, st, body)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "tickets.pdf")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("no pdftotext: install poppler-utils (make deps does)")
	}
	text, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(text), w) {
			t.Errorf("the PDF's text lacks %q:\n%s", w, text)
		}
	}
	if pages := strings.Count(string(text), "\f"); pages != 2 {
		t.Errorf("the PDF has %d pages, want one a ticket (2)", pages)
	}
	if out, err := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if d := os.Getenv("TIXGATE_SCREENS"); d != "" && len(pngs) == 1 {
		os.MkdirAll(d, 0o755)
		if b, err := os.ReadFile(pngs[0]); err == nil {
			os.WriteFile(filepath.Join(d, "storefront-tickets-pdf-page1.png"), b, 0o644)
		}
	}
	if len(pngs) != 1 {
		t.Fatalf("pdftoppm made %v", pngs)
	}
	img, err := os.ReadFile(pngs[0])
	if err != nil {
		t.Fatal(err)
	}
	code, err := scanner.DecodeBytes(img)
	if err != nil || !strings.HasPrefix(code, "TG1:") {
		t.Errorf("the PDF's QR code reads %q, %v", code, err)
	}
}

// Every form of the storefront refuses a post without its CSRF token, or
// with another session's, whoever sends it; the forms of a logged-in
// buyer send a visitor without a session to the login.
func TestFormsNeedTheirToken(t *testing.T) {
	f := newFixture(t, 100)
	buyer := f.client(t)
	tok := buyer.csrf("/login")
	if _, err := f.shop.AddVerifiedBuyer(context.Background(), shop.Registration{Email: "a@example.org", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := buyer.post("/login", url.Values{"csrf": {tok}, "email": {"a@example.org"}, "password": {"a long password"}}); st != 303 {
		t.Fatalf("login: %d", st)
	}
	session := buyer.csrf("/orders")
	o, err := f.shop.Place(context.Background(), mustAccount(t, f, "a@example.org"), shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	order := "/orders/" + strconv.FormatInt(o.ID, 10)
	anon := f.client(t)
	anonTok := anon.csrf("/login")
	for _, tc := range []struct {
		path   string
		buyers bool // a logged-in buyer's form
	}{
		{"/register", false}, {"/login", false}, {"/login/sms", false}, {"/login/sms/verify", false},
		{"/logout", true}, {"/orders", true}, {order + "/pay", true}, {order + "/cancel", true},
		{order + "/invoice-title", true}, {order + "/einvoice", true},
	} {
		form := url.Values{"event": {"1042"}, "q1": {"1"}, "method": {"test"}, "email": {"x@example.org"}, "password": {"a long password"}, "password2": {"a long password"}, "phone": {"+8613800138000"}, "code": {"123456"}}
		if st, _, _ := buyer.post(tc.path, form); st != 403 {
			t.Errorf("POST %s without a token: %d, want 403", tc.path, st)
		}
		form.Set("csrf", "forged-"+session)
		if st, _, _ := buyer.post(tc.path, form); st != 403 {
			t.Errorf("POST %s with a forged token: %d, want 403", tc.path, st)
		}
		if tc.buyers {
			form.Set("csrf", anonTok)
			if st, loc, _ := anon.post(tc.path, form); st != 303 || !strings.HasPrefix(loc, "/login") {
				t.Errorf("POST %s without a session: %d %s, want the login", tc.path, st, loc)
			}
		}
	}
	if got, _, _ := f.shop.Order(context.Background(), o.ID); got.Status != shop.StatusPending {
		t.Errorf("the refused forms changed the order: %s", got.Status)
	}
	if len(f.sms.Outbox()) != 0 {
		t.Error("a refused form sent an SMS")
	}
}

func mustAccount(t *testing.T, f *fixture, email string) store.Account {
	t.Helper()
	a, err := f.db.AccountByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
