package cluster

import (
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// network decides the fate of traffic between test nodes: partitions,
// delays and random loss, by node name.
type network struct {
	mu      sync.Mutex
	names   map[string]string // addr → node name
	cut     map[[2]string]bool
	delay   map[[2]string]time.Duration
	loss    float64 // of packets, not streams
	rnd     *rand.Rand
	streams bool // whether cuts refuse streams too
}

func newNetwork() *network {
	return &network{names: map[string]string{}, cut: map[[2]string]bool{}, delay: map[[2]string]time.Duration{},
		rnd: rand.New(rand.NewPCG(7, 11)), streams: true}
}

// filter is the Filter of the node named from.
func (n *network) filter(from string) Filter {
	return func(addr string, stream bool) (bool, time.Duration) {
		n.mu.Lock()
		defer n.mu.Unlock()
		to := n.names[addr]
		link := [2]string{from, to}
		if n.cut[link] && (!stream || n.streams) {
			return true, 0
		}
		if !stream && n.loss > 0 && n.rnd.Float64() < n.loss {
			return true, 0
		}
		return false, n.delay[link]
	}
}

// partition cuts every link between the two groups, both ways.
func (n *network) partition(a, b []*node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			n.cut[[2]string{x.name, y.name}] = true
			n.cut[[2]string{y.name, x.name}] = true
		}
	}
}

// slow delays what from sends to every other node, packets and streams.
func (n *network) slow(from *node, nodes []*node, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, to := range nodes {
		if to != from {
			n.delay[[2]string{from.name, to.name}] = d
		}
	}
}

func (n *network) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = map[[2]string]bool{}
}

func (n *network) setLoss(p float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.loss = p
}

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
	c.net.mu.Lock()
	c.net.names[m.Addr()] = nd.name
	c.net.mu.Unlock()
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
