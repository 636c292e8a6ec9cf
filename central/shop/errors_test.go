package shop

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/store"
)

// Errors say what is wrong in words, once: a form body is told to send
// JSON (415), a misspelt field is named, and no answer ends in the code
// it already carries ("…: bad request").
func TestErrorAnswers(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	f.onSale(t, 10)
	f.shop.cfg.AllowUnverified = true
	ctx := t.Context()
	if _, err := f.shop.Register(ctx, Registration{Email: "ana@example.org", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := f.shop.Login(ctx, "ana@example.org", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", f.url+PathPrefix+"orders", strings.NewReader("event=1042&type=1"))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form body: %d, want 415", resp.StatusCode)
	}
	for _, tc := range []struct {
		name       string
		body       any
		status     int
		code, want string
	}{
		{"misspelt field", map[string]any{"event": 1042, "itemz": []any{}}, 400, "bad_request", "itemz"},
		{"no items", map[string]any{"event": 1042, "items": []any{}}, 400, "bad_request", "want 1 to"},
		{"too many", map[string]any{"event": 1042, "items": []map[string]int{{"type": 1, "quantity": 1000}}}, 400, "bad_request", "quantity 1000"},
	} {
		var e apiError
		st := f.call(t, "POST", "orders", tok, tc.body, &e)
		if st != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %d %+v, want %d %s saying %q", tc.name, st, e, tc.status, tc.code, tc.want)
		}
		if strings.HasSuffix(e.Message, "bad request") {
			t.Errorf("%s: %q ends in its code's words", tc.name, e.Message)
		}
	}
	var e apiError
	if st := f.call(t, "GET", "orders/999", tok, nil, &e); st != 404 || e.Message != "order 999: not found" {
		t.Errorf("a missing order: %d %q", st, e.Message)
	}
}
