package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
