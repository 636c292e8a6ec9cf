package central

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/help"
	"github.com/tixgate/tixgate/central/ops"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/pricing"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// opsClient is a browser-like client of the ops screens: cookies kept,
// redirects not followed.
type opsClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newOpsClient(t *testing.T, base string) *opsClient {
	jar, _ := cookiejar.New(nil)
	return &opsClient{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *opsClient) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *opsClient) login(name, password string) {
	c.t.Helper()
	_, page := c.do("GET", "/ops/login", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatal("the login page has no csrf field")
	}
	if status, _ := c.do("POST", "/ops/login", url.Values{"csrf": {m[1]}, "name": {name}, "password": {password}}); status != http.StatusSeeOther {
		c.t.Fatalf("log in as %s: %d", name, status)
	}
	_, page = c.do("GET", "/ops/devices", nil)
	if m = csrfField.FindStringSubmatch(page); m == nil {
		c.t.Fatalf("%s's pages carry no csrf field", name)
	}
	c.csrf = m[1]
}

// concrete fills a route's pattern with the fixture's ids.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.NewReplacer("{$}", "", "{event}", "1042", "{type}", "1", "{serial}", "999999", "{name}", "nobody", "{id}", "1", "{slug}", "how-to-buy",
		"{file}", "INV-2026-000001.pdf").Replace(path)
	return method, path
}

var postForm = regexp.MustCompile(`(?s)<form[^>]*method="post"[^>]*>.*?</form>`)

// TestOpsRoles walks every ops route as each role: what the role may not
// do is refused 403 (the auditor changes nothing), what it may is served;
// without a session every screen leads to the login; a form without the
// session's CSRF token is refused. The auditor's pages show no form that
// changes anything.
func TestOpsRoles(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if err := help.Seed(ctx, f.db, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// Order 1, paid, with its invoice INV-2026-000001.
	if err := f.srv.Shop.PutOffer(ctx, shop.Offer{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 10}); err != nil {
		t.Fatal(err)
	}
	buyer, err := f.srv.Shop.AddVerifiedBuyer(ctx, shop.Registration{Email: "buyer@example.org", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := f.srv.Shop.Place(ctx, buyer, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}}); err != nil || o.ID != 1 {
		t.Fatalf("order %d: %v", o.ID, err)
	}
	if _, _, err := f.srv.Shop.Pay(ctx, 1, shop.MethodBoxOffice); err != nil {
		t.Fatal(err)
	}
	routes := f.srv.UI.Routes()
	if len(routes) < 20 {
		t.Fatalf("%d routes: the walk would miss some", len(routes))
	}
	anon := newOpsClient(t, f.http.URL)
	for _, r := range routes {
		method, path := concrete(r.Pattern)
		status, _ := anon.do(method, path, url.Values{})
		if want := map[string]int{"GET": http.StatusSeeOther, "POST": http.StatusUnauthorized}[method]; status != want {
			t.Errorf("%s without a session: %d, want %d", r.Pattern, status, want)
		}
	}
	for _, role := range []staff.Role{staff.Auditor, staff.BoxOffice, staff.Ops, staff.Admin} {
		name := "staff-" + string(role)
		if err := f.srv.Accounts.Add(ctx, name, role, "correct horse battery", "test"); err != nil {
			t.Fatal(err)
		}
		c := newOpsClient(t, f.http.URL)
		c.login(name, "correct horse battery")
		var logout ops.Route
		for _, r := range routes {
			if r.Pattern == "POST /ops/logout" {
				logout = r
				continue
			}
			method, path := concrete(r.Pattern)
			var form url.Values
			if method == "POST" {
				form = url.Values{"csrf": {c.csrf}}
			}
			status, body := c.do(method, path, form)
			switch {
			case !r.May(role) && status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", r.Pattern, role, status)
			case r.May(role) && method == "GET" && status != http.StatusOK:
				t.Errorf("%s as %s: %d, want 200", r.Pattern, role, status)
			case r.May(role) && (status == http.StatusForbidden || status >= 500):
				t.Errorf("%s as %s: %d: %.200s", r.Pattern, role, status, body)
			}
			if method == "GET" && role == staff.Auditor && status == http.StatusOK {
				for _, form := range postForm.FindAllString(body, -1) {
					if !strings.Contains(form, `action="/ops/logout"`) && strings.Contains(form, `type="submit"`) {
						t.Errorf("%s shows the auditor a form that changes things: %.200s", path, form)
					}
				}
			}
			if method == "POST" && r.May(role) {
				if status, _ := c.do(method, path, url.Values{}); status != http.StatusForbidden {
					t.Errorf("%s as %s without the csrf token: %d, want 403", r.Pattern, role, status)
				}
			}
		}
		if role == staff.Admin {
			big := url.Values{"csrf": {c.csrf}, "time_zone": {"UTC"}, "zone_name": {strings.Repeat("x", 100<<10)}, "zone_id": {"5"}}
			if status, _ := c.do("POST", "/ops/venue", big); status != http.StatusForbidden {
				t.Errorf("a 100 KiB form: %d, want 403", status)
			}
		}
		if logout.May == nil || !logout.May(role) {
			t.Fatalf("%s may not log out", role)
		}
		if status, _ := c.do("POST", "/ops/logout", url.Values{"csrf": {c.csrf}}); status != http.StatusSeeOther {
			t.Errorf("log out as %s: %d", role, status)
		}
	}
	// Nothing the refused, empty and oversized forms sent changed the venue.
	if evs, _ := f.db.Events(ctx, ""); len(evs) != 1 {
		t.Errorf("%d events after the walk, want 1", len(evs))
	}
	if v, _ := f.db.Venue(ctx, "arena"); len(v.Zones) != 2 || v.TimeZone != "Europe/Berlin" {
		t.Errorf("venue after the walk: %+v", v)
	}
	if devs, _ := f.db.Devices(ctx); len(devs) != 0 {
		t.Errorf("%d devices after the walk, want 0", len(devs))
	}
}
