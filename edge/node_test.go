package edge

import (
	"bytes"
	"encoding/json"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

func startNode(t *testing.T, v *ledgertest.Venue, name string, join ...string) *Node {
	t.Helper()
	return startNodeWith(t, v, name, nil, join...)
}

// startNodeWith starts a node whose config edit changes first.
func startNodeWith(t *testing.T, v *ledgertest.Venue, name string, edit func(*Config), join ...string) *Node {
	t.Helper()
	dir := v.Provision(name)
	l := v.OpenDir(dir)
	v.Load(l)
	l.Close()
	cfg := DefaultConfig(dir)
	cfg.Gate = "G1"
	cfg.Bind, cfg.Listen, cfg.Join = "127.0.0.1:0", "127.0.0.1:0", join
	cfg.Ledger = v.Config(dir)
	cfg.Mesh = cluster.TestConfig()
	cfg.Logger = ledgertest.Logger(t, slog.LevelWarn)
	if edit != nil {
		edit(&cfg)
	}
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (c client) scan(code, gate, dir string) decision.Decision {
	c.t.Helper()
	body, _ := json.Marshal(deviceapi.ScanRequest{Code: code, Gate: gate, Direction: dir})
	status, data := c.do("POST", "/api/v1/scans", string(body))
	if status != http.StatusOK {
		c.t.Fatalf("scan: %d %s", status, data)
	}
	var d decision.Decision
	if err := json.Unmarshal(data, &d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

func TestAPI(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	n := startNode(t, v, "gate-1")
	c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}

	// The token file is private.
	fi, err := os.Stat(filepath.Join(n.cfg.Dir, TokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v %v", fi, err)
	}
	// No token, a wrong token: 401 everywhere but /healthz.
	for _, tok := range []string{"", "nope", n.Token() + "x"} {
		anon := client{t: t, base: c.base, token: tok}
		for _, p := range []string{"/api/v1/status", "/metrics", "/api/v1/peers"} {
			if status, _ := anon.do("GET", p, ""); status != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", p, tok, status)
			}
		}
		if status, _ := anon.do("POST", "/api/v1/scans", `{"code":"x"}`); status != http.StatusUnauthorized {
			t.Errorf("scan with token %q: %d", tok, status)
		}
	}
	if status, body := (client{t: t, base: c.base}).do("GET", "/healthz", ""); status != 200 || !bytes.Contains(body, []byte(`"state":"ready"`)) {
		t.Errorf("healthz: %d %q", status, body)
	}

	code := v.Code(ticket.Ticket{Serial: 1})
	if d := c.scan(code, "", ""); !d.OK() || d.Gate != "G1" || d.Serial != 1 || d.Holder != "Guest 0000001" {
		t.Errorf("first scan: %+v", d)
	}
	if d := c.scan(code, "G2", "in"); d.OK() || d.Reason != ticket.ReasonAlreadyUsed || d.Previous == nil {
		t.Errorf("second scan: %+v", d)
	}
	if d := c.scan(code, "G1", "out"); !d.OK() {
		t.Errorf("exit: %+v", d)
	}

	bad := []struct {
		name, body string
		want       int
	}{
		{"not JSON", "{", 400},
		{"unknown field", `{"code":"x","colour":"red"}`, 400},
		{"no code", `{"gate":"G1"}`, 400},
		{"sideways", `{"code":"x","direction":"up"}`, 400},
		{"two values", `{"code":"x"}{"code":"y"}`, 400},
		{"huge", `{"code":"` + strings.Repeat("A", 70<<10) + `"}`, 413},
		{"long code", `{"code":"` + strings.Repeat("A", 600) + `"}`, 400},
	}
	for _, b := range bad {
		if status, body := c.do("POST", "/api/v1/scans", b.body); status != b.want || !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%s: %d %s, want %d with an error", b.name, status, body, b.want)
		}
	}
	// Garbage codes are decisions, not errors.
	if d := c.scan("DROP TABLE tickets", "", ""); d.Reason != ticket.ReasonMalformed {
		t.Errorf("garbage code: %+v", d)
	}

	status, body := c.do("GET", "/api/v1/tickets/1042/1", "")
	var h ledger.TicketHistory
	if err := json.Unmarshal(body, &h); status != 200 || err != nil || len(h.Passages) != 2 || h.Passages[0].Kind != "entry" || h.Passages[1].Kind != "exit" {
		t.Errorf("ticket history: %d %s", status, body)
	}
	if status, _ := c.do("GET", "/api/v1/tickets/x/1", ""); status != 400 {
		t.Errorf("bad ticket path: %d", status)
	}
	status, body = c.do("POST", "/api/v1/overrides", `{"code":"`+code+`","supervisor":"ana","note":"came back in"}`)
	if status != 200 || !bytes.Contains(body, []byte(`"reason":"override"`)) {
		t.Errorf("override: %d %s", status, body)
	}
	if status, body := c.do("POST", "/api/v1/overrides", `{"code":"`+code+`"}`); status != 400 {
		t.Errorf("override without supervisor: %d %s", status, body)
	}
	status, body = c.do("GET", "/api/v1/status", "")
	var st Status
	if err := json.Unmarshal(body, &st); status != 200 || err != nil || st.Device != "gate-1" || st.Ledger.Records != 3 || st.Ledger.SinceOpen == nil || st.Ledger.SinceOpen.Admitted != 3 {
		t.Errorf("status: %d %s", status, body)
	}
	status, body = c.do("GET", "/metrics", "")
	if status != 200 || !bytes.Contains(body, []byte(`tixgate_scans_total{reason="ok",result="ok",source="api"} 2`)) ||
		!bytes.Contains(body, []byte("tixgate_overrides_total 1")) || !bytes.Contains(body, []byte("tixgate_ledger_records 3")) {
		t.Errorf("metrics: %d %s", status, body)
	}
}

// Two nodes: a scan at one is refused at the other an instant later.
func TestTwoNodes(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	a := startNode(t, v, "gate-1")
	var logB syncBuffer
	b := startNodeWith(t, v, "gate-2", func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logB, nil)) }, a.MeshAddr())
	ca := client{t: t, base: "http://" + a.APIAddr(), token: a.Token()}
	cb := client{t: t, base: "http://" + b.APIAddr(), token: b.Token()}
	ledgertest.WaitFor(t, 10*time.Second, "the nodes see each other", func() bool { return len(a.Mesh().Peers()) == 1 && len(b.Mesh().Peers()) == 1 })
	code := v.Code(ticket.Ticket{Serial: 5})
	if d := ca.scan(code, "", ""); !d.OK() {
		t.Fatalf("%+v", d)
	}
	ledgertest.WaitFor(t, 5*time.Second, "gate-2 learns of the entry", func() bool {
		h, _ := b.Ledger().History(ledgertest.Event, 5)
		return len(h.Passages) == 1
	})
	if d := cb.scan(code, "G2", ""); d.Reason != ticket.ReasonAlreadyUsed || d.Previous.Device != "gate-1" {
		t.Errorf("at gate-2: %+v", d)
	}
	_, metrics := cb.do("GET", "/metrics", "")
	for _, want := range []string{`tixgate_scans_total{reason="already_used",result="refused",source="api"} 1`, "tixgate_mesh_propagation_seconds_count 1", `tixgate_mesh_peers{state="alive"} 1`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("gate-2 metrics lack %s", want)
		}
	}
	var line struct{ Msg, Result, Reason, Gate, Holder, Code string }
	for _, l := range strings.Split(logB.String(), "\n") {
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "scan" {
			break
		}
	}
	if line.Msg != "scan" || line.Result != "refused" || line.Reason != "already_used" || line.Gate != "G2" {
		t.Errorf("gate-2 log has no line for the refusal: %s", logB.String())
	}
	if strings.Contains(logB.String(), "Guest 0000005") || strings.Contains(logB.String(), code) {
		t.Error("gate-2 log holds the holder's name or the code")
	}
	var peers []cluster.Peer
	_, body := cb.do("GET", "/api/v1/peers", "")
	if err := json.Unmarshal(body, &peers); err != nil || len(peers) != 1 || peers[0].Meta.API != "127.0.0.1:0" && peers[0].Meta.Device != "gate-1" {
		t.Errorf("peers: %s", body)
	}
}

// syncBuffer is a bytes.Buffer a logger and a test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
