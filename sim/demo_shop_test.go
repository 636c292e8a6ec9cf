package sim

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ledger/ledgertest"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The demo's central sells the sample event on its storefront: the demo
// buyer of demo.json logs in, orders two tickets with the voucher, pays
// with the test payment and gets two QR codes; the table names the login.
func TestDemoStorefront(t *testing.T) {
	cfg := DefaultDemoConfig()
	cfg.Dir, cfg.BasePort, cfg.Tickets = t.TempDir(), 0, 100
	cfg.Logger = ledgertest.Logger(t, slog.LevelError)
	d, err := StartDemo(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info := d.Info()
	if info.Buyer.Email == "" || info.Buyer.Password == "" || info.Buyer.URL != info.Central.URL+"/" {
		t.Fatalf("demo.json's buyer: %+v", info.Buyer)
	}
	var table strings.Builder
	info.WriteTable(&table)
	if !strings.Contains(table.String(), "email "+info.Buyer.Email+", password "+info.Buyer.Password) {
		t.Errorf("the table lacks the buyer's login:\n%s", table.String())
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s\n%s", resp.Request.URL, resp.Status, b)
		}
		return string(b)
	}
	csrf := func(body string) string {
		t.Helper()
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF token in\n%s", body)
		}
		return m[1]
	}
	base := info.Central.URL
	if body := page(c.Get(base + "/?lang=en")); !strings.Contains(body, info.Event.Name) {
		t.Fatalf("the storefront does not list %s", info.Event.Name)
	}
	body := page(c.PostForm(base+"/login", url.Values{"csrf": {csrf(page(c.Get(base + "/login")))}, "email": {info.Buyer.Email},
		"password": {info.Buyer.Password}, "next": {"/checkout?event=1&q1=2&promo=" + info.Buyer.Promo}}))
	if !strings.Contains(body, `id="place"`) || !strings.Contains(body, "CN¥324.00") {
		t.Fatalf("checkout after login: 2 × ¥180 less 10%% wanted:\n%s", body)
	}
	body = page(c.PostForm(base+"/orders", url.Values{"csrf": {csrf(body)}, "event": {"1"}, "q1": {"2"}, "promo": {info.Buyer.Promo}}))
	m := regexp.MustCompile(`action="(/orders/\d+)/pay"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no pay form on the order page:\n%s", body)
	}
	body = page(c.PostForm(base+m[1]+"/pay", url.Values{"csrf": {csrf(body)}, "method": {"test"}}))
	if n := strings.Count(body, `<img class="qr" src="data:image/png;base64,`); n != 2 {
		t.Errorf("%d QR codes after paying, want 2", n)
	}
}
