package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// A gate's store is lost on a stopped gate: it refuses to open, is rebuilt
// from its peers, and every ticket it admitted before is already_used
// again; its next record continues its own sequence.
func TestRepairFromPeers(t *testing.T) {
	c := newCluster(t, 3, nil)
	gate := c.nodes[0]
	var codes []string
	for i := range 40 {
		code := c.venue.Code(ticket.Ticket{Serial: uint64(900 + i)})
		if d := ledgertest.Scan(t, gate.ledger, code, "G1"); !d.OK() {
			t.Fatal(ledgertest.Describe(d))
		}
		codes = append(codes, code)
	}
	id := gate.ledger.Identity().ID()
	ledgertest.WaitFor(t, 10*time.Second, "peers hold the gate's records", func() bool {
		return holds(c.nodes[1], id, 40) && holds(c.nodes[2], id, 40)
	})
	gate.mesh.Shutdown()
	gate.ledger.Close()
	// The damage: Badger's MANIFEST removed.
	if err := os.Remove(filepath.Join(gate.dir, "db", "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	lcfg := c.venue.Config(gate.dir)
	if _, err := ledger.Open(lcfg); !errors.Is(err, ledger.ErrUnsound) {
		t.Fatalf("damaged store opened: %v", err)
	}
	mcfg := TestConfig()
	mcfg.Name = gate.name
	mcfg.Keyring = [][]byte{c.venue.Keys.MeshKey}
	mcfg.Logger = ledgertest.Logger(t, 0)
	mcfg.Meta = NodeMeta{Device: gate.name, Role: "gate", Venue: "arena", Version: "test"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, m, err := Repair(ctx, lcfg, mcfg, []string{c.nodes[1].mesh.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer m.Shutdown()
	for i, code := range codes {
		if d := ledgertest.Scan(t, l, code, "G2"); d.Reason != ticket.ReasonAlreadyUsed {
			t.Errorf("ticket %d used before the damage: %s after repair", i, d.Reason)
		}
	}
	d := ledgertest.Scan(t, l, c.venue.Code(ticket.Ticket{Serial: 990}), "G1")
	if !d.OK() || d.Record != id.String()+"/41" {
		t.Errorf("first scan after repair: %s, record %s; want ok as %s/41", d.Reason, d.Record, id)
	}
}
