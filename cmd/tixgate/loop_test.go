package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// The whole loop: central with a venue and tickets; three gates enroll with
// setup tokens from `tixgate central devices add` and pull their manifest
// through the uplink; then two of them lose central, every gate scans, the
// mesh carries their records to the gate that still reaches central, and
// central ends up holding every entry exactly once, uploaded by that gate.
func TestWholeLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts central and three edge nodes")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := filepath.Join(t.TempDir(), "central")
	now := time.Now().UTC()
	venue := strings.Replace(strings.Replace(`
venue: arena
time_zone: Europe/Berlin
zones: [{id: 0, name: Floor}]
gates: [{name: G1, zone: 0}, {name: G2, zone: 0}, {name: G3, zone: 0}]
events: [{id: 1042, name: Concert, starts: STARTS, ends: ENDS}]
ticket_types: [{event: 1042, id: 1, name: Standing, zones: [0]}]
`, "STARTS", now.Add(-time.Hour).Format(time.RFC3339), 1), "ENDS", now.Add(24*time.Hour).Format(time.RFC3339), 1)
	venueFile := filepath.Join(t.TempDir(), "venue.yaml")
	if err := os.WriteFile(venueFile, []byte(venue), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := cliAt(t, time.Now, "", "central", "venue", "import", "--data", data, venueFile); code != 0 || !strings.Contains(out, "4 manifest changes") {
		t.Fatalf("venue import: exit %d: %s %s", code, out, errs)
	}
	out, errs, code := cliAt(t, time.Now, "", "central", "tickets", "issue", "--data", data, "--event", "1042", "--type", "1", "--count", "6")
	codes := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(codes) != 6 {
		t.Fatalf("tickets issue: exit %d: %s %s", code, out, errs)
	}

	// Central, as `tixgate central` runs it.
	db, centralURL, _ := startCentral(t, ctx, data)

	// Gates 2 and 3 reach central through links that will be cut: gate-2's
	// then answers 502 at once, gate-3's hangs without a byte.
	var cut atomic.Bool
	hung := make(chan struct{})
	target, _ := url.Parse(centralURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	newLink := func(hang bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case cut.Load() && hang:
				select {
				case <-hung:
				case <-r.Context().Done():
				}
			case cut.Load():
				http.Error(w, `{"error":"unreachable","message":"uplink down"}`, http.StatusBadGateway)
			default:
				proxy.ServeHTTP(w, r)
			}
		}))
	}
	links := []*httptest.Server{newLink(false), newLink(true)}
	defer func() {
		close(hung)
		for _, l := range links {
			l.Close()
		}
	}()

	var nodes []*edge.Node
	for i := 1; i <= 3; i++ {
		name, gate := fmt.Sprintf("gate-%d", i), fmt.Sprintf("G%d", i)
		url := centralURL
		if i > 1 {
			url = links[i-2].URL
		}
		out, errs, code := cliAt(t, time.Now, "", "central", "devices", "add", "--data", data, "--name", name, "--gate", gate, "--url", url)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 || !strings.Contains(lines[1], `"v":1`) {
			t.Fatalf("devices add %s: exit %d: %s %s", name, code, out, errs)
		}
		dir := filepath.Join(t.TempDir(), name)
		if out, errs, code := cliAt(t, time.Now, "", "enroll", "--data", dir, "--code", lines[1]); code != 0 {
			t.Fatalf("enroll %s: exit %d: %s %s", name, code, out, errs)
		}
		if _, errs, code := cliAt(t, time.Now, "", "enroll", "--data", filepath.Join(t.TempDir(), "again"), "--url", url, "--token", lines[0]); code == 0 || !strings.Contains(errs, "used already") {
			t.Errorf("second enrollment with %s's token: exit %d: %s", name, code, errs)
		}
		cfg := edge.DefaultConfig(dir)
		cfg.Gate = gate
		cfg.Bind, cfg.Listen = "127.0.0.1:0", "127.0.0.1:0"
		if len(nodes) > 0 {
			cfg.Join = []string{nodes[0].MeshAddr()}
		}
		cfg.Ledger = ledger.TestConfig(dir)
		cfg.Mesh = cluster.TestConfig()
		cfg.Central = url
		cfg.Uplink.Interval, cfg.Uplink.MinBackoff, cfg.Uplink.MaxBackoff = 100*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
		cfg.Uplink.RequestTimeout = 500 * time.Millisecond
		cfg.Logger = ledgertest.Logger(t, slog.LevelError)
		n, err := edge.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	head, err := db.ManifestHead(ctx, "arena")
	if err != nil || head != 4+1+3 { // venue, issuer, event, type; one batch of tickets; three devices
		t.Fatalf("central's manifest head %d, %v", head, err)
	}
	ledgertest.WaitFor(t, 20*time.Second, "every gate pulled the whole manifest", func() bool {
		for _, n := range nodes {
			if n.Ledger().ManifestSeq() != head {
				return false
			}
		}
		return true
	})
	ledgertest.WaitFor(t, 20*time.Second, "every gate sees the other two", func() bool {
		for _, n := range nodes {
			if n.Mesh().Stats().Members < 3 {
				return false
			}
		}
		return true
	})

	cut.Store(true)
	scans := []struct {
		gate int
		code string
	}{{2, codes[0]}, {3, codes[1]}, {1, codes[2]}, {2, codes[3]}, {3, codes[4]}}
	time.Sleep(300 * time.Millisecond) // gate-3's uplink is now stuck in a hung request
	for _, s := range scans {
		n := nodes[s.gate-1]
		start := time.Now()
		d, err := n.Ledger().Decide(ctx, ledger.Scan{Text: s.code, Gate: fmt.Sprintf("G%d", s.gate), Direction: rules.In})
		if err != nil || d.Reason != ticket.ReasonOK {
			t.Fatalf("scan at gate-%d: %+v, %v", s.gate, d, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("scan at gate-%d took %s while its uplink was down", s.gate, took)
		}
	}
	count := func(q string, args ...any) int {
		var n int
		if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ledgertest.WaitFor(t, 30*time.Second, "central holds the five entries", func() bool { return count("SELECT COUNT(*) FROM records") >= 5 })
	// A few more syncs change nothing: every entry is held once.
	time.Sleep(500 * time.Millisecond)
	if got := count("SELECT COUNT(*) FROM records"); got != 5 {
		t.Errorf("central holds %d records, want 5", got)
	}
	if got := count("SELECT COUNT(DISTINCT serial) FROM records WHERE kind = 1"); got != 5 {
		t.Errorf("%d distinct tickets entered, want 5", got)
	}
	if got := count("SELECT COUNT(*) FROM records WHERE via <> 'gate-1'"); got != 0 {
		t.Errorf("%d records uploaded by a gate that had lost central", got)
	}
	for i, n := range nodes {
		id := n.Ledger().Identity().ID().String()
		want := map[int]int{0: 1, 1: 2, 2: 2}[i]
		if got := count("SELECT COUNT(*) FROM records WHERE origin = $1", id); got != want {
			t.Errorf("gate-%d: central holds %d of its records, want %d", i+1, got, want)
		}
	}
	ledgertest.WaitFor(t, 5*time.Second, "gate-1's uplink reports no backlog, gates 2 and 3 are offline", func() bool {
		s1, s2, s3 := nodes[0].UplinkState(), nodes[1].UplinkState(), nodes[2].UplinkState()
		return s1.State == "ok" && s1.Backlog == 0 && s2.State == "offline" && s2.Failures > 0 &&
			s3.State == "offline" && strings.Contains(s3.LastError, "sent nothing")
	})
	// The device's own status API shows the uplink (between syncs: ok).
	var st struct{ Uplink struct{ State, URL string } }
	ledgertest.WaitFor(t, 5*time.Second, "gate-1's status API shows its uplink ok", func() bool {
		req, _ := http.NewRequest(http.MethodGet, nodes[0].URL()+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+nodes[0].Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.Uplink.State == "ok" && st.Uplink.URL == centralURL
	})
	req, _ := http.NewRequest(http.MethodGet, nodes[0].URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+nodes[0].Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"tixgate_uplink_up 1", "tixgate_uplink_backlog 0", "tixgate_uplink_pushed_total 5"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("gate-1's metrics lack %q", want)
		}
	}
	dev, err := db.DeviceByName(ctx, "gate-1")
	if err != nil || dev.LastSeen.IsZero() || dev.ManifestSeq != head || dev.UplinkState == "" {
		t.Errorf("gate-1 at central: %+v, %v", dev, err)
	}
}
