package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCheckForm(t *testing.T) {
	for _, tc := range []struct {
		name, field, cookie, want string
		header                    map[string]string
		ok                        bool
	}{
		{"session token", "abc123", "", "abc123", nil, true},
		{"wrong token", "abc124", "", "abc123", nil, false},
		{"no token", "", "", "abc123", nil, false},
		{"login cookie", "zzz", "zzz", "", nil, true},
		{"login without cookie", "zzz", "", "", nil, false},
		{"same origin", "abc123", "", "abc123", map[string]string{"Origin": "http://central.test", "Sec-Fetch-Site": "same-origin"}, true},
		{"other origin", "abc123", "", "abc123", map[string]string{"Origin": "http://evil.test"}, false},
		{"cross site", "abc123", "", "abc123", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://central.test/ops/login", strings.NewReader(url.Values{"csrf": {tc.field}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: tc.cookie})
		}
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		if got := CheckForm(r, tc.want); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestLangOf(t *testing.T) {
	for _, tc := range []struct{ query, cookie, accept, want string }{
		{"", "", "zh-CN,zh;q=0.9", "zh"},
		{"", "", "de-DE", "en"},
		{"", "zh", "en-US", "zh"},
		{"en", "zh", "zh-CN", "en"},
		{"xx", "", "zh-TW", "zh"},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://central.test/ops/?lang="+tc.query, nil)
		r.Header.Set("Accept-Language", tc.accept)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: LangCookie, Value: tc.cookie})
		}
		if got := LangOf(r); got != tc.want {
			t.Errorf("lang=%q cookie=%q accept=%q: %s, want %s", tc.query, tc.cookie, tc.accept, got, tc.want)
		}
	}
}

// A page's script is allowed by its hash and nothing else is; a page
// without one allows no script at all.
func TestScriptPolicy(t *testing.T) {
	pages := fstest.MapFS{
		"pages/p.html":   {Data: []byte(`{{define "p"}}{{template "top" .}}<p id="x">{{t "lang.name"}}</p>{{template "bottom" .}}{{end}}{{define "frag"}}<b>{{.}}</b>{{end}}`)},
		"locale/en.json": {Data: []byte(`{}`)},
		"locale/zh.json": {Data: []byte(`{}`)},
	}
	s, err := New(pages, []string{"pages/*.html"}, pages)
	if err != nil {
		t.Fatal(err)
	}
	render := func(script string) (string, string) {
		w := httptest.NewRecorder()
		s.Render(w, httptest.NewRequest(http.MethodGet, "http://central.test/ops/", nil), http.StatusOK, Page{Page: "p", Title: "lang.name", Script: script})
		return w.Header().Get("Content-Security-Policy"), w.Body.String()
	}
	if csp, body := render(""); strings.Contains(csp, "script-src") || strings.Contains(body, "<script") {
		t.Errorf("no scripts registered: %s\n%s", csp, body)
	}
	js := `document.getElementById("x").textContent = "<&>";`
	s.AddScript("live", js)
	sum := sha256.Sum256([]byte(js))
	csp, body := render("live")
	if want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; connect-src 'self'"; !strings.Contains(csp, want) {
		t.Errorf("policy %q lacks %q", csp, want)
	}
	if !strings.Contains(body, "<script>"+js+"</script>") {
		t.Errorf("the script is not carried verbatim (its hash would not match):\n%s", body)
	}
	if _, body := render(""); strings.Contains(body, "<script") {
		t.Errorf("a page that names no script carries one")
	}
	frag, err := s.Fragment(httptest.NewRequest(http.MethodGet, "http://central.test/ops/", nil), "frag", "<i>")
	if err != nil || string(frag) != "<b>&lt;i&gt;</b>" {
		t.Errorf("fragment %q, %v", frag, err)
	}
}
