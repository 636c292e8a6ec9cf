package cluster

import (
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"log/slog"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// network is the test cluster's Faults, addressed by node.
type network struct{ *Faults }

func newNetwork() *network { return &network{NewFaults(7)} }

func (n *network) filter(from string) Filter { return n.Filter(from) }

func names(nodes []*node) []string {
	out := make([]string, len(nodes))
	for i, nd := range nodes {
		out[i] = nd.name
	}
	return out
}

// partition cuts every link between the two groups, both ways.
func (n *network) partition(a, b []*node) { n.Partition(names(a), names(b)) }

// slow delays what from sends to every other node, packets and streams.
func (n *network) slow(from *node, nodes []*node, d time.Duration) {
	n.Delay(from.name, names(nodes), d)
}

func (n *network) heal()             { n.Heal() }
func (n *network) setLoss(p float64) { n.SetLoss(p) }

// node is one device of a test cluster: a real ledger on disk and a mesh
// on loopback.
type node struct {
	name   string
	dir    string
	ledger *ledger.Ledger
	mesh   *Mesh
}

type cluster struct {
	t     testing.TB
	venue *ledgertest.Venue
	net   *network
	nodes []*node
	cfg   func(*Config)
}

// newCluster starts n nodes that all join the first.
func newCluster(t testing.TB, n int, tune func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, venue: ledgertest.NewVenue(t, 100), net: newNetwork(), cfg: tune}
	for i := range n {
		c.add(fmt.Sprintf("gate-%d", i+1))
	}
	c.joinAll()
	return c
}

func (c *cluster) add(name string) *node {
	c.t.Helper()
	nd := &node{name: name, dir: c.venue.Provision(name)}
	nd.ledger = c.venue.OpenDir(nd.dir)
	c.venue.Load(nd.ledger)
	c.start(nd)
	c.nodes = append(c.nodes, nd)
	return nd
}

// start starts a node's mesh on its ledger.
func (c *cluster) start(nd *node) {
	c.t.Helper()
	cfg := TestConfig()
	cfg.Name = nd.name
	cfg.Keyring = [][]byte{c.venue.Keys.MeshKey}
	cfg.Filter = c.net.filter(nd.name)
	cfg.Logger = ledgertest.Logger(c.t, slog.LevelWarn)
	cfg.Meta = NodeMeta{Device: nd.name, Role: "gate", Venue: "arena", Version: "test"}
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	m, err := New(cfg, nd.ledger)
	if err != nil {
		c.t.Fatal(err)
	}
	nd.mesh = m
	c.net.Name(m.Addr(), nd.name)
	c.t.Cleanup(func() { m.Shutdown() })
}

func (c *cluster) joinAll() {
	c.t.Helper()
	seed := c.nodes[0].mesh.Addr()
	for _, nd := range c.nodes[1:] {
		if _, err := nd.mesh.Join([]string{seed}); err != nil {
			c.t.Fatal(err)
		}
	}
	c.waitMembers(c.nodes, len(c.nodes))
}

func (c *cluster) waitMembers(nodes []*node, want int) {
	c.t.Helper()
	ledgertest.WaitFor(c.t, 20*time.Second, fmt.Sprintf("every node sees %d members", want), func() bool {
		for _, nd := range nodes {
			if nd.mesh.numMembers() != want {
				return false
			}
		}
		return true
	})
}

// holds reports whether a node's ledger holds a record origin/seq.
func holds(nd *node, origin ticket.KeyID, seq uint64) bool {
	vv, err := nd.ledger.VersionVector()
	return err == nil && vv[origin] >= seq
}

// vectorsEqual reports whether every node has the same version vector.
func vectorsEqual(nodes []*node) bool {
	var first ledger.VersionVector
	for i, nd := range nodes {
		vv, err := nd.ledger.VersionVector()
		if err != nil {
			return false
		}
		if i == 0 {
			first = vv
			continue
		}
		if len(vv) != len(first) {
			return false
		}
		for o, s := range first {
			if vv[o] != s {
				return false
			}
		}
	}
	return true
}

// scanAt scans a ticket at a node's gate and returns the decision.
func (c *cluster) scanAt(nd *node, serial uint64) decision.Decision {
	c.t.Helper()
	return ledgertest.Scan(c.t, nd.ledger, c.venue.Code(ticket.Ticket{Serial: serial}), c.venue.GateFor(serial))
}
