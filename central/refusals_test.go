package central

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An address whose ops API calls keep being refused is answered 429 for a
// while, before its tokens are looked up; a good token is never counted.
func TestOpsRefusalsAreRateLimited(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	good, err := AddAPIToken(ctx, f.db, f.clock, "ops", "read", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ { // successes take nothing from the bucket
		if code, b := f.get("/api/v1/events", good); code != http.StatusOK {
			t.Fatalf("good token #%d: %d %s", i, code, b)
		}
	}
	burst := DefaultConfig("", nil, nil).OpsRefusalBurst
	for i := 0; i < burst; i++ {
		token := "tgo_guess"
		if i%2 == 0 {
			token = ""
		}
		if code, _ := f.get("/api/v1/events", token); code != http.StatusUnauthorized {
			t.Fatalf("refusal #%d: %d, want 401", i, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/api/v1/conflicts", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("after %d refusals: %d, Retry-After %q; want 429 and 3", burst, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	f.clock.Advance(3 * time.Second)
	if code, b := f.get("/api/v1/events", good); code != http.StatusOK {
		t.Errorf("after the wait, a good token: %d %s", code, b)
	}
	if code, _ := f.get("/api/v1/events", "tgo_guess"); code != http.StatusUnauthorized {
		t.Errorf("after the wait, a bad token: %d, want 401", code)
	}
	if code, _ := f.get("/api/v1/events", "tgo_guess"); code != http.StatusTooManyRequests {
		t.Errorf("the bucket is empty again: %d, want 429", code)
	}
	f.clock.Advance(time.Duration(burst) * 3 * time.Second)
	_, b := f.get("/metrics", good)
	for _, want := range []string{`tixgate_central_ops_refused_total{code="rate_limited"} 2`, `tixgate_central_ops_refused_total{code="unauthorized"} 21`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The buckets are per address, and forgotten once full again.
func TestRefusalsPerAddress(t *testing.T) {
	l := newRefusals(2, time.Second)
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	l.refused("10.0.0.1", now)
	l.refused("10.0.0.1", now)
	if d := l.wait("10.0.0.1", now); d != time.Second {
		t.Errorf("wait after the burst: %v, want 1s", d)
	}
	if d := l.wait("10.0.0.2", now); d != 0 {
		t.Errorf("another address waits %v", d)
	}
	later := now.Add(10 * time.Second)
	l.refused("10.0.0.2", later)
	if _, ok := l.clients["10.0.0.1"]; ok {
		t.Error("a full bucket was kept")
	}
	if l := newRefusals(0, time.Second); l.wait("x", now) != 0 {
		t.Error("a zero burst limits")
	}
}

// Disabling a staff account stops its API tokens.
func TestDisabledUsersTokensRefused(t *testing.T) {
	f := newFixture(t, "")
	tok, err := AddAPIToken(context.Background(), f.db, f.clock, "mei", "read", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := f.get("/api/v1/events", tok); code != http.StatusOK {
		t.Fatalf("before: %d", code)
	}
	if _, err := f.db.SQL().Exec(`UPDATE users SET disabled_at = 1 WHERE name = 'mei'`); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.get("/api/v1/events", tok); code != http.StatusUnauthorized {
		t.Errorf("a disabled user's token: %d, want 401", code)
	}
	if _, err := AddAPIToken(context.Background(), f.db, f.clock, "mei", "again", []string{"read"}); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("a token for a disabled user: %v", err)
	}
	if _, err := AddAPIToken(context.Background(), f.db, f.clock, "nosuch", "x", []string{"read"}); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("a token for no user: %v", err)
	}
}
