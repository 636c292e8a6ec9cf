package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

func TestEdgeSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	toml := write("edge.toml", "gate = \"G-file\"\nlisten = \"127.0.0.1:9001\"\ndebounce = \"3s\"\njoin = [\"a:1\", \"b:2\"]\n")
	yaml := write("edge.yaml", "gate: G-file\ncount-on-passage: true\n")
	typo := write("typo.yaml", "gaet: G1\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want map[string]string
		err  string
	}{
		{"defaults", nil, nil, "", map[string]string{"gate": "", "listen": "127.0.0.1:8080", "debounce": "2s"}, ""},
		{"file", nil, nil, toml, map[string]string{"gate": "G-file", "listen": "127.0.0.1:9001", "debounce": "3s", "join": "a:1,b:2"}, ""},
		{"env over file", nil, map[string]string{"TIXGATE_GATE": "G-env"}, toml, map[string]string{"gate": "G-env", "listen": "127.0.0.1:9001"}, ""},
		{"flag over env", []string{"--gate", "G-flag"}, map[string]string{"TIXGATE_GATE": "G-env"}, toml, map[string]string{"gate": "G-flag"}, ""},
		{"yaml bool", nil, nil, yaml, map[string]string{"count-on-passage": "true"}, ""},
		{"unknown key", nil, nil, typo, nil, "unknown key gaet"},
		{"bad env", nil, map[string]string{"TIXGATE_DEBOUNCE": "soon"}, "", nil, "TIXGATE_DEBOUNCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("edge", flag.ContinueOnError)
			fs.String("gate", "", "")
			fs.String("listen", "127.0.0.1:8080", "")
			fs.Duration("debounce", 2*time.Second, "")
			fs.Bool("count-on-passage", false, "")
			var join listFlag
			fs.Var(&join, "join", "")
			fs.String("config", "", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			env := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			err := fillUnset(fs, env, tt.file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if got := fs.Lookup(k).Value.String(); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// Every state in which a device cannot decide, as `tixgate edge` shows it:
// /healthz 503 with the reason, the log at start, scans not_provisioned.
func TestEdgeNotProvisioned(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	tests := []struct {
		name, venue, gate string
		load              bool
		want              string
	}{
		{"unprovisioned", "arena", "G1", false, "unprovisioned"},
		{"unknown gate", "arena", "G9", true, "unknown_gate"},
		{"wrong venue", "stadium", "G1", true, "wrong_venue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ledgertest.NewVenue(t, 5) // a device name is issued once per venue
			dir := filepath.Join(t.TempDir(), "gate-1")
			if err := ledger.Init(ledger.Provision{Dir: dir, Keys: v.Keys, Device: "gate-1", Venue: tt.venue, Now: time.Now().Add(-time.Hour)}, v.Config(dir)); err != nil {
				t.Fatal(err)
			}
			if tt.load {
				l := v.OpenDir(dir)
				v.Load(l)
				l.Close()
			}
			p := &edgeProc{t: t, name: tt.name, dir: dir, bind: freePort(t, "127.0.0.1"), listen: freePort(t, "127.0.0.1"),
				gate: tt.gate, health: http.StatusServiceUnavailable}
			p.start()
			defer p.cmd.Process.Kill()
			_, body := p.call("GET", "/healthz", nil)
			var h deviceapi.Health
			if err := json.Unmarshal(body, &h); err != nil || h.State != tt.want || h.Detail == "" {
				t.Errorf("healthz: %s, want state %s with a detail", body, tt.want)
			}
			if d := p.scan(v.Code(ticket.Ticket{Serial: 1})); d.OK() || d.Reason != deviceapi.ReasonNotProvisioned {
				t.Errorf("scan: %+v, want not_provisioned", d)
			}
			if !strings.Contains(p.log.String(), "state="+tt.want) {
				t.Errorf("the log does not say %s:\n%s", tt.want, p.log.String())
			}
			if err := p.signal(syscall.SIGTERM); err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
		})
	}
}
