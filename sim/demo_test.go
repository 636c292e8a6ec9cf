package sim

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/ops"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// The demo's crowd goes through the gates' and the seller's APIs: it is
// admitted, its forgeries, screenshots and refunded tickets are refused,
// the seller sells, and every admission reaches central's dashboard:
// nothing a gate let in is lost on the way.
func TestDemoCrowd(t *testing.T) {
	cfg := DefaultDemoConfig()
	cfg.Dir, cfg.BasePort, cfg.Tickets = t.TempDir(), 0, 400
	cfg.Logger = ledgertest.Logger(t, slog.LevelError)
	d, err := StartDemo(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan CrowdStats, 1)
	go func() {
		st, err := d.Crowd(ctx, 100, time.Hour, nil) // one in 20 a sale
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	// Until the crowd met a fair share of everything, or 30 s.
	bad := func(st CrowdStats) int {
		return st.Refused[ticket.ReasonUnknownIssuer] + st.Refused[ticket.ReasonAlreadyUsed] + st.Refused[ticket.ReasonRevoked]
	}
	waitUntil(context.Background(), 30*time.Second, func() bool {
		st := d.CrowdSoFar()
		return st.Admitted >= 50 && bad(st) >= 3 && st.Sold >= 3
	})
	cancel()
	st := <-done
	t.Logf("crowd: %s", st)
	if st.Admitted < 50 || bad(st) < 3 || st.Sold < 3 || st.Failed != 0 {
		t.Errorf("crowd: %s: want at least 50 admitted, 3 refused as forged, used or refunded, 3 sold, no failed call", st)
	}
	var got int
	t0 := time.Now()
	session := opsLogin(t, d.Info())
	err = waitUntil(context.Background(), 20*time.Second, func() bool {
		got = opsLive(t, session, d.Info()).Admissions
		return got == st.Admitted
	})
	t.Logf("central counted them %s after the crowd stopped", time.Since(t0).Round(time.Millisecond))
	if err != nil {
		t.Errorf("central's dashboard counts %d admissions, the crowd %d: %v", got, st.Admitted, err)
	}
}

// opsLogin logs in to central's ops screens with the demo's login.
func opsLogin(t testing.TB, info DemoInfo) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(info.Central.URL + "/ops/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var csrf string
	for _, c := range resp.Cookies() {
		if c.Name == web.CSRFCookie {
			csrf = c.Value
		}
	}
	resp, err = client.PostForm(info.Central.URL+"/ops/login", url.Values{"name": {info.Central.User}, "password": {info.Central.Password}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ops login with the demo's password: %s", resp.Status)
	}
	return client
}

// opsLive reads the figures the dashboard polls.
func opsLive(t testing.TB, client *http.Client, info DemoInfo) ops.Live {
	t.Helper()
	resp, err := client.Get(info.Central.Live)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var live ops.Live
	if err := json.NewDecoder(resp.Body).Decode(&live); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %s, %v", info.Central.Live, resp.Status, err)
	}
	return live
}
