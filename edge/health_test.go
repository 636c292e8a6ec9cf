package edge

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

func TestNotProvisioned(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	tests := []struct {
		name, venue, gate string
		load              bool
		want              string
	}{
		{"ready", "arena", "G1", true, deviceapi.StateReady},
		{"no manifest", "arena", "G1", false, deviceapi.StateUnprovisioned},
		{"gate not in the manifest", "arena", "G9", true, deviceapi.StateUnknownGate},
		{"another venue's device", "stadium", "G1", true, deviceapi.StateWrongVenue},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("gate-%d", i+1) // one venue, one device per name
			dir := filepath.Join(t.TempDir(), name)
			if err := ledger.Init(ledger.Provision{Dir: dir, Keys: v.Keys, Device: name, Venue: tt.venue, Now: time.Now().Add(-time.Hour)}, v.Config(dir)); err != nil {
				t.Fatal(err)
			}
			if tt.load {
				l := v.OpenDir(dir)
				v.Load(l)
				l.Close()
			}
			cfg := DefaultConfig(dir)
			cfg.Gate, cfg.Bind, cfg.Listen = tt.gate, "127.0.0.1:0", "127.0.0.1:0"
			cfg.Ledger, cfg.Mesh = v.Config(dir), cluster.TestConfig()
			cfg.Logger = ledgertest.Logger(t, slog.LevelError)
			n, err := Start(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}
			status, body := (client{t: t, base: c.base}).do("GET", "/healthz", "")
			var h deviceapi.Health
			if err := json.Unmarshal(body, &h); err != nil || h.State != tt.want {
				t.Fatalf("healthz: %d %s, want state %s", status, body, tt.want)
			}
			wantStatus := http.StatusServiceUnavailable
			if tt.want == deviceapi.StateReady {
				wantStatus = http.StatusOK
			}
			if status != wantStatus {
				t.Errorf("healthz status %d, want %d", status, wantStatus)
			}
			a := c.answer(`{"code":"` + v.Code(ticket.Ticket{Serial: 1}) + `"}`)
			switch {
			case tt.want == deviceapi.StateReady && !a.OK():
				t.Errorf("ready device refused: %+v", a)
			case tt.want != deviceapi.StateReady && (a.OK() || a.Reason != deviceapi.ReasonNotProvisioned || !strings.HasPrefix(a.Detail, tt.want)):
				t.Errorf("scan: %+v, want not_provisioned saying %s", a, tt.want)
			}
		})
	}
}

func TestEndedEventsWarning(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	clock := &fakeClock{t: time.Now()}
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Clock = clock })
	if h := n.Health(); h.State != deviceapi.StateReady || len(h.Warnings) != 0 {
		t.Errorf("during the event: %+v", h)
	}
	clock.add(48 * time.Hour)
	if h := n.Health(); h.State != deviceapi.StateReady || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "ended") {
		t.Errorf("after the event: %+v, want ready with a warning that every event ended", h)
	}
}

// A gate device started without a gate still answers API scans that name
// one, but its camera, scanner and manual entry cannot: it says so.
func TestNoGateWarning(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	n := startNodeWith(t, v, "gate-1", func(c *Config) { c.Gate = "" })
	h := n.Health()
	if h.State != deviceapi.StateReady || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "no gate set") || !strings.Contains(h.Warnings[0], "G1") {
		t.Fatalf("health: %+v, want ready with a warning naming the gates", h)
	}
	c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}
	if a := c.answer(`{"code":"` + v.Code(ticket.Ticket{Serial: 1}) + `","gate":"G1"}`); !a.OK() {
		t.Errorf("an API scan naming its gate: %+v", a)
	}
}
