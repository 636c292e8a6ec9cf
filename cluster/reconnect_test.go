package cluster

import (
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/ledgertest"
)

// A partition that outlasts memberlist's gossip to the dead: each half
// holds the other as dead and would never contact it again. The halves
// must find each other on their own once the network heals, and the
// double entry made meanwhile must become a conflict everywhere.
func TestHalvesFindEachOtherAfterALongPartition(t *testing.T) {
	deadFor := time.Second
	c := newCluster(t, 6, func(cfg *Config) { cfg.gossipToTheDead = deadFor })
	left, right := c.nodes[:3], c.nodes[3:]
	c.net.partition(left, right)
	c.waitMembers(left, 3)
	c.waitMembers(right, 3)
	if d1, d2 := c.scanAt(left[0], 7), c.scanAt(right[0], 7); !d1.OK() || !d2.OK() {
		t.Fatalf("partitioned: %s, %s", ledgertest.Describe(d1), ledgertest.Describe(d2))
	}
	// Past the time memberlist gossips to the dead, with margin.
	time.Sleep(3 * deadFor)
	healed := time.Now()
	c.net.heal()
	c.waitMembers(c.nodes, 6)
	t.Logf("whole again %v after the heal", time.Since(healed).Round(time.Millisecond))
	ledgertest.WaitFor(t, 10*time.Second, "every node holds every record and the conflict", func() bool {
		if !vectorsEqual(c.nodes) {
			return false
		}
		for _, nd := range c.nodes {
			if cs, _ := nd.ledger.Conflicts(); len(cs) != 1 {
				return false
			}
		}
		return true
	})
}

// Without reconnecting, the same partition never heals: the test above
// would fail on the mesh as memberlist leaves it.
func TestLongPartitionStaysSplitWithoutReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a split that does not heal")
	}
	deadFor := time.Second
	c := newCluster(t, 4, func(cfg *Config) {
		cfg.gossipToTheDead = deadFor
		cfg.ReconnectInterval = -1
		cfg.PushPullInterval = 200 * time.Millisecond
	})
	left, right := c.nodes[:2], c.nodes[2:]
	c.net.partition(left, right)
	c.waitMembers(left, 2)
	c.waitMembers(right, 2)
	time.Sleep(3 * deadFor)
	c.net.heal()
	time.Sleep(3 * time.Second)
	for _, nd := range c.nodes {
		if n := nd.mesh.numMembers(); n != 2 {
			t.Fatalf("%s sees %d members without reconnecting; memberlist now heals long partitions by itself and ReconnectInterval may be reconsidered", nd.name, n)
		}
	}
}
