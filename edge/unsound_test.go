package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/firmware"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// lostManifest provisions gate-1 with the venue's manifest, then removes
// Badger's MANIFEST: a store that cannot prove itself sound.
func lostManifest(t *testing.T, v *ledgertest.Venue) string {
	t.Helper()
	dir := v.Provision("gate-1")
	l := v.OpenDir(dir)
	v.Load(l)
	l.Close()
	if err := os.Remove(filepath.Join(dir, "db", "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A gate whose ledger lost its MANIFEST does not start deciding: it serves
// 503 "unsound" with what was lost, and its turnstile stays shut with the
// red lamp on.
func TestUnsoundLedgerFailsClosed(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	dir := lostManifest(t, v)

	fb := firmware.NewFakeBoard()
	b, err := fb.Open()
	if err != nil {
		t.Fatal(err)
	}
	fc := firmware.DefaultConfig()
	fc.Logger = ledgertest.Logger(t, 0)
	ts, err := firmware.NewTurnstile(fc, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })

	cfg := DefaultConfig(dir)
	cfg.Gate, cfg.Bind = "G1", "127.0.0.1:0"
	cfg.Ledger = v.Config(dir)
	cfg.Mesh = cluster.TestConfig()
	cfg.Logger = ledgertest.Logger(t, 0)
	cfg.Turnstile = ts
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	ln.Close()

	_, err = Start(cfg)
	if !errors.Is(err, ledger.ErrUnsound) {
		t.Fatalf("Start on a store without its MANIFEST: %v, want ErrUnsound", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	cause := err
	go func() { served <- ServeUnsound(ctx, cfg, cause) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeUnsound: %v", err)
		}
	}()

	base := "http://" + cfg.Listen
	var resp *http.Response
	ledgertest.WaitFor(t, 5*time.Second, "the health page answers", func() bool {
		resp, err = http.Get(base + "/healthz")
		return err == nil
	})
	var h deviceapi.Health
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || h.State != deviceapi.StateUnsound || !strings.Contains(h.Detail, "repair") {
		t.Errorf("/healthz: %d %+v, want 503 unsound saying how to repair", resp.StatusCode, h)
	}
	resp, err = http.Post(base+"/api/v1/scans", "application/json", strings.NewReader(`{"code":"`+v.Code(ticket.Ticket{Serial: 1})+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("scan on an unsound device: %d, want 503", resp.StatusCode)
	}
	// A browser gets a page that says the gate is shut, and why.
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "zh-CN")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(page), "本闸机已关闭") || !strings.Contains(string(page), "repair") {
		t.Errorf("the page of an unsound device: %d %.300s", resp.StatusCode, page)
	}
	if fb.Line(firmware.RelayIn).Rises() != 0 {
		t.Error("the relay moved on an unsound device")
	}
	if fb.Line(firmware.LampRed).Level() != gpio.High {
		t.Error("the red lamp is off on an unsound device")
	}
}

// A gate whose store was lost while it was down, started with peers to
// join: it repairs its ledger from them by itself and starts, and the
// tickets it admitted before are already used again.
func TestRecoverAtStart(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	a := startNode(t, v, "gate-1")
	b := startNode(t, v, "gate-2", a.MeshAddr())
	ledgertest.WaitFor(t, 10*time.Second, "the nodes see each other", func() bool { return len(a.Mesh().Peers()) == 1 && len(b.Mesh().Peers()) == 1 })
	ca := client{t: t, base: "http://" + a.APIAddr(), token: a.Token()}
	code := v.Code(ticket.Ticket{Serial: 5})
	if ans := ca.answer(`{"code":"` + code + `","gate":"` + v.GateFor(5) + `"}`); !ans.OK() {
		t.Fatalf("first scan: %+v", ans)
	}
	id := a.Ledger().Identity().ID()
	ledgertest.WaitFor(t, 10*time.Second, "gate-2 holds the record", func() bool {
		vv, _ := b.Ledger().VersionVector()
		return vv[id] == 1
	})
	cfg := a.cfg
	a.Close()
	if err := os.Remove(filepath.Join(cfg.Dir, "db", "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	_, err := Start(cfg)
	if !errors.Is(err, ledger.ErrUnsound) {
		t.Fatalf("start on a lost store: %v, want ErrUnsound", err)
	}
	cfg.Join = []string{b.MeshAddr()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Recover(ctx, cfg, err)
	if err != nil || n == nil {
		t.Fatalf("recover: %v", err)
	}
	defer n.Close()
	c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}
	if ans := c.answer(`{"code":"` + code + `","gate":"` + v.GateFor(5) + `"}`); ans.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("after the repair: %+v, want already_used", ans)
	}
	if damaged, _ := filepath.Glob(filepath.Join(cfg.Dir, "db.damaged-*")); len(damaged) != 1 {
		t.Errorf("damaged stores kept: %v, want one", damaged)
	}
}

// An unsound device on a non-loopback address serves its 503 over HTTPS,
// with the certificate the device makes, as a sound one does: never plain
// HTTP to the network.
func TestUnsoundServesHTTPS(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	dir := lostManifest(t, v)
	cfg := DefaultConfig(dir)
	cfg.Gate, cfg.Bind = "G1", "127.0.0.1:0"
	cfg.Ledger = v.Config(dir)
	cfg.Mesh = cluster.TestConfig()
	cfg.Logger = ledgertest.Logger(t, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	cfg.Listen = "0.0.0.0:" + port
	_, cause := Start(cfg)
	if !errors.Is(cause, ledger.ErrUnsound) {
		t.Fatalf("Start: %v, want ErrUnsound", cause)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeUnsound(ctx, cfg, cause) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeUnsound: %v", err)
		}
	}()
	ledgertest.WaitFor(t, 5*time.Second, "the device's certificate", func() bool {
		_, err := os.Stat(filepath.Join(dir, SelfCertFile))
		return err == nil
	})
	c := httpsClient(t, filepath.Join(dir, SelfCertFile))
	var resp *http.Response
	ledgertest.WaitFor(t, 5*time.Second, "the health page answers over HTTPS", func() bool {
		resp, err = c.Get("https://127.0.0.1:" + port + "/healthz")
		return err == nil
	})
	var h deviceapi.Health
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || h.State != deviceapi.StateUnsound {
		t.Errorf("/healthz over HTTPS: %d %+v, want 503 unsound", resp.StatusCode, h)
	}
	if resp, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
		var h deviceapi.Health
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if h.State == deviceapi.StateUnsound {
			t.Errorf("plain HTTP got the unsound page: %d %+v", resp.StatusCode, h)
		}
	}
}
