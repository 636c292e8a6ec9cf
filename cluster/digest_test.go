package cluster

import (
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/ledgertest"
)

// A node that lost every packet of a record (eager push and gossip alike)
// has nothing later to reveal the gap; with push/pull a minute away, the
// digests of its peers bring the record within a second. (What digests
// change under loss is measured by BenchmarkSystemPropagation.)
func TestDigestRecoversLostRecord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		digest time.Duration
	}{{"digests", 50 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) {
				cfg.PushPullInterval = time.Minute
				cfg.DigestInterval = tc.digest
			})
			g1, g3 := c.nodes[0], c.nodes[2]
			c.net.PacketsOnly(true)
			c.net.partition([]*node{g3}, c.nodes[:2])
			d := c.scanAt(g1, 7)
			if !d.OK() {
				t.Fatal(ledgertest.Describe(d))
			}
			origin := g1.ledger.Identity().ID()
			ledgertest.WaitFor(t, 5*time.Second, "gate-2 holds the record", func() bool {
				vv, _ := c.nodes[1].ledger.VersionVector()
				return vv[origin] == 1
			})
			time.Sleep(300 * time.Millisecond) // gossip gives up on it
			c.net.heal()
			held := func() bool {
				vv, _ := g3.ledger.VersionVector()
				return vv[origin] == 1
			}
			ledgertest.WaitFor(t, 3*time.Second, "gate-3 holds the record", held)
			if g1.mesh.Stats().DigestsSent+c.nodes[1].mesh.Stats().DigestsSent == 0 {
				t.Error("no digest was sent")
			}
		})
	}
}
