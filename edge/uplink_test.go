package edge

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/uplink"
)

// A node told to sync with central, on a device that never enrolled, says
// what to do instead of starting without its uplink.
func TestUplinkNeedsEnrollment(t *testing.T) {
	v := ledgertest.NewVenue(t, 10)
	dir := v.Provision("gate-1")
	cfg := DefaultConfig(dir)
	cfg.Gate = "G1"
	cfg.Bind, cfg.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ledger = v.Config(dir)
	cfg.Mesh = cluster.TestConfig()
	cfg.Logger = ledgertest.Logger(t, slog.LevelError)
	cfg.Central = "http://127.0.0.1:1"
	n, err := Start(cfg)
	if err == nil {
		n.Close()
		t.Fatal("started with --central but no enrollment")
	}
	if !strings.Contains(err.Error(), "tixgate enroll") {
		t.Errorf("error %q does not say how to enroll", err)
	}
	// Without central the same device runs, and reports no uplink.
	cfg.Central = ""
	n, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.UplinkState() != nil || n.SyncNow() {
		t.Error("a node without central reports an uplink")
	}
}

// A device central suspended keeps running, says "suspended by central" in
// its uplink state, its metrics and its status screen, and backs off.
// Central here is the edge of the world: a server answering every call as
// central answers a suspended device (the real one is driven in
// cmd/tixgate's TestDeviceSuspendResumeRoll).
func TestStatusShowsSuspended(t *testing.T) {
	var calls atomic.Int64
	central := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(uplink.Error{Code: uplink.ErrCodeDeviceSuspended, Message: "central suspended device gate-1 (under investigation)"})
	}))
	defer central.Close()
	v := ledgertest.NewVenue(t, 10)
	n := startNodeWith(t, v, "gate-1", func(c *Config) {
		if err := uplink.SaveCredentials(c.Dir, uplink.Credentials{URL: central.URL, Credential: "tgd_test", Venue: "arena", Gate: "G1"}); err != nil {
			t.Fatal(err)
		}
		c.Central = central.URL
		c.Uplink.Interval, c.Uplink.MinBackoff, c.Uplink.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond, 80*time.Millisecond
	})
	ledgertest.WaitFor(t, 5*time.Second, "the uplink is suspended and backing off", func() bool {
		s := n.UplinkState()
		return s.State == uplink.StateSuspended && strings.HasPrefix(s.LastError, "suspended by central") && s.Failures >= 3
	})
	if got := calls.Load(); got > 30 {
		t.Errorf("%d calls to central while suspended: not backing off", got)
	}
	if l := n.live(); l.Uplink != uplink.StateSuspended {
		t.Errorf("the status screen's snapshot says %q", l.Uplink)
	}
	if testing.Short() {
		return
	}
	giveStaff(t, n, "Li Wei", RoleSupervisor, "2468")
	showCamera(t, "")
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.APIAddr()
	b := newTab(t, base)
	b.login("Li Wei", "2468")
	for _, lang := range []string{"zh", "en"} {
		for _, size := range screenSizes {
			b.do("viewport", chromedp.EmulateViewport(size.w, size.h, size.opts...))
			b.do("status", chromedp.Navigate(base+"/status?theme=light&lang="+lang))
			want := n.ui.catalogs[lang]["status.uplink.suspended"]
			b.waitJS("the uplink state", fmt.Sprintf(`document.getElementById("uplink").textContent === %q`, want), 5*time.Second)
			if w := evalIn[float64](b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
				t.Errorf("%s %s: %v px wider than the window", lang, size.name, w)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-status-suspended.png", lang, size.name)), b.screenshot(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
