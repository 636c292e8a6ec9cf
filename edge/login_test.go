package edge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// browser is a client that keeps the session cookie by hand (the cookie is
// Secure, and this test speaks plain HTTP on loopback) and follows no
// redirects, so each answer can be checked.
type browser struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
}

func (b *browser) do(method, path, ctype, body string, hdr map[string]string) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (b *browser) login(name, pin string) *http.Response {
	b.t.Helper()
	resp := b.do("POST", "/login", "application/x-www-form-urlencoded", url.Values{"name": {name}, "pin": {pin}}.Encode(), nil)
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			b.cookie = c
		}
	}
	return resp
}

func TestLoginSessionCSRF(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	if err := AddStaff(n.cfg.Dir, "Sam", RoleSupervisor, "9090"); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: "http://" + n.APIAddr()}

	if resp := b.do("GET", "/login", "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	if resp := b.do("GET", "/api/v1/status", "", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status without a session: %d, want 401", resp.StatusCode)
	}
	for _, tc := range []struct{ name, pin string }{{"Sam", "9091"}, {"Nobody", "9090"}, {"", ""}} {
		if resp := b.login(tc.name, tc.pin); resp.StatusCode != http.StatusUnauthorized || b.cookie != nil {
			t.Errorf("login %q/%q: %d, cookie %v; want 401 and none", tc.name, tc.pin, resp.StatusCode, b.cookie)
		}
	}
	// The right PIN posted from another site's page (a login CSRF) is
	// refused, as the browser says where the form came from.
	form := url.Values{"name": {"Sam"}, "pin": {"9090"}}.Encode()
	for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		if resp := b.do("POST", "/login", "application/x-www-form-urlencoded", form, hdr); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("login posted cross-site (%v): %d, cookies %v; want 403 and none", hdr, resp.StatusCode, resp.Cookies())
		}
	}
	resp := b.login("Sam", "9090")
	if resp.StatusCode != http.StatusSeeOther || b.cookie == nil {
		t.Fatalf("login: %d, cookie %v", resp.StatusCode, b.cookie)
	}
	if c := b.cookie; !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Strict", c)
	}
	resp = b.do("GET", "/api/v1/session", "", "", nil)
	var sess struct{ Name, Role, CSRF string }
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &sess); err != nil || sess.Name != "Sam" || sess.Role != "supervisor" || sess.CSRF == "" {
		t.Fatalf("session: %d %s", resp.StatusCode, data)
	}
	if resp := b.do("GET", "/api/v1/status", "", "", nil); resp.StatusCode != 200 {
		t.Errorf("status with a session: %d", resp.StatusCode)
	}
	// A gate alone has no peers: an empty list, not null.
	if body, _ := io.ReadAll(b.do("GET", "/api/v1/peers", "", "", nil).Body); strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("peers of a lone gate: %s, want []", body)
	}

	code := v.Code(ticket.Ticket{Serial: 1})
	scan := `{"code":"` + code + `"}`
	for _, tc := range []struct {
		token string
		want  int
	}{{"", http.StatusForbidden}, {"wrong", http.StatusForbidden}, {sess.CSRF, 200}} {
		resp := b.do("POST", "/api/v1/scans", "application/json", scan, map[string]string{"X-CSRF-Token": tc.token})
		if resp.StatusCode != tc.want {
			t.Errorf("scan with CSRF %q: %d, want %d", tc.token, resp.StatusCode, tc.want)
		}
	}
	st, _ := n.ledger.Stats()
	if st.Records != 1 {
		t.Errorf("%d records: the refused scans must record none", st.Records)
	}

	// Logout ends the session on the server, not only in the browser.
	old := b.cookie
	if resp := b.do("POST", "/logout", "", "", map[string]string{"X-CSRF-Token": sess.CSRF}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	b.cookie = old
	if resp := b.do("GET", "/api/v1/status", "", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status after logout: %d, want 401", resp.StatusCode)
	}
}

func TestLoginLockout(t *testing.T) {
	v := ledgertest.NewVenue(t, 1)
	n := startNode(t, v, "gate-1")
	if err := AddStaff(n.cfg.Dir, "Sam", RoleGate, "9090"); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: "http://" + n.APIAddr()}
	for i := 0; i < n.cfg.Session.MaxAttempts; i++ {
		b.login("Sam", "0000")
	}
	if resp := b.login("Sam", "9090"); resp.StatusCode != http.StatusTooManyRequests || b.cookie != nil {
		t.Errorf("the right PIN after %d failures: %d, want 429 and no session", n.cfg.Session.MaxAttempts, resp.StatusCode)
	}
}
