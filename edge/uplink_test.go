package edge

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/ledger/ledgertest"
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
