package cluster

import (
	"log/slog"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// Config configures a Mesh.
type Config struct {
	// Name is the node's name in the cluster: the device name.
	Name string
	// BindAddr and BindPort are where memberlist listens, UDP and TCP; port
	// 0 picks a free one.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort, if set, are what peers dial.
	AdvertiseAddr string
	AdvertisePort int

	// Keyring is the venue's mesh keys (32 bytes each, AES-256-GCM); the
	// first encrypts, all decrypt, so keys can be rotated.
	Keyring [][]byte

	// GossipInterval is how often queued records are gossiped to
	// GossipNodes random peers. A record crosses the venue in about
	// log_GossipNodes(N) rounds, so halving the interval halves propagation
	// and doubles gossip packets while records flow (idle costs nothing).
	GossipInterval time.Duration
	GossipNodes    int
	// RetransmitMult: each queued record is gossiped RetransmitMult ×
	// ceil(log10(N+1)) times by each node that relays it.
	RetransmitMult int
	// EagerPush sends each record this device makes straight to every
	// peer as it is made, before gossip: propagation becomes one network
	// hop. It costs one packet per peer per scan (at 100 scans/s in a
	// 100-device venue, about 100 packets/s received per device).
	EagerPush bool
	// RelayWindow: a record received from a peer is relayed by gossip only
	// if it was made this recently; older ones (a restore, a catch-up) are
	// left to anti-entropy, so a bulk transfer never floods the venue.
	RelayWindow time.Duration
	// ReplayWindow: a message whose signed send time is further than this
	// from the local clock is dropped unread. Wider tolerates more clock
	// skew between devices; narrower shortens how long a captured packet
	// can be replayed. Default 2 minutes.
	ReplayWindow time.Duration
	// MaxQueued bounds the gossip queue; beyond it the oldest messages are
	// pruned (anti-entropy still carries them).
	MaxQueued int
	// PushPullInterval is how often a node exchanges version vectors with a
	// random peer (memberlist scales it up above 32 nodes); it bounds how
	// long a node that missed packets stays behind.
	PushPullInterval time.Duration
	// DigestInterval is how often, while records flow, a node tells
	// DigestNodes random peers how far it holds each recently active
	// origin (one signed UDP packet each); a peer behind fetches the rest
	// at once. It bounds how long a lost packet delays a record when
	// nothing later reveals the gap: shorter recovers faster and costs
	// DigestNodes packets per interval per node (about 9 kB/s per node in a
	// busy 50-gate venue at 100 ms); 0 turns digests off, leaving the gap
	// to push/pull. A quiet venue sends none.
	DigestInterval time.Duration
	DigestNodes    int
	// ProbeInterval and ProbeTimeout tune failure detection.
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// RejoinInterval is how often a node with no peers retries Join.
	RejoinInterval time.Duration
	// ReconnectInterval is how often a node may try to join a member it
	// lost (reconnect.go), with a probability of lost/alive per interval:
	// after a partition heals, the halves find each other within about
	// one interval; each try is one TCP state exchange. 0 turns it off, and
	// a partition longer than memberlist's GossipToTheDeadTime (30 s) then
	// lasts until a node restarts.
	ReconnectInterval time.Duration
	// ReconnectFor is how long a lost member is called back before it is
	// forgotten (a device taken away for good).
	ReconnectFor time.Duration
	// gossipToTheDead overrides memberlist's GossipToTheDeadTime, for
	// tests of partitions longer than it.
	gossipToTheDead time.Duration

	// FetchBatch is how many records one anti-entropy reply carries.
	FetchBatch int
	// InboxSize bounds the messages waiting for the ledger; beyond it
	// messages are dropped and counted, and anti-entropy makes up for them.
	InboxSize int

	// Meta is published to peers.
	Meta NodeMeta

	// Filter, when set, is asked about every packet and stream this node
	// sends: tests use it to drop or delay traffic between chosen nodes.
	Filter Filter

	// Clock tells the time for relay windows, fetch pacing and when peers
	// were last seen; tests move a manual one. Memberlist's own timers run
	// on the machine's clock.
	Clock  ticket.Clock
	Logger *slog.Logger
}

// NodeMeta is what a node tells its peers about itself.
type NodeMeta struct {
	Device  string `json:"d"`
	Role    string `json:"r"`
	Venue   string `json:"v"`
	Gate    string `json:"g,omitempty"`
	Version string `json:"s"`
	API     string `json:"a,omitempty"` // the node's local API address
	// Cert is the node's device certificate (binary), so peers can verify
	// its records from the moment it joins. The mesh fills it in.
	Cert []byte `json:"c,omitempty"`
}

// DefaultConfig suits the devices of one venue on a LAN.
func DefaultConfig() Config {
	return Config{
		BindAddr:          "0.0.0.0",
		BindPort:          7946,
		GossipInterval:    50 * time.Millisecond,
		GossipNodes:       4,
		RetransmitMult:    3,
		EagerPush:         true,
		RelayWindow:       30 * time.Second,
		ReplayWindow:      2 * time.Minute,
		MaxQueued:         4096,
		PushPullInterval:  5 * time.Second,
		DigestInterval:    100 * time.Millisecond,
		DigestNodes:       2,
		ProbeInterval:     time.Second,
		ProbeTimeout:      500 * time.Millisecond,
		RejoinInterval:    5 * time.Second,
		ReconnectInterval: time.Second,
		ReconnectFor:      24 * time.Hour,
		FetchBatch:        2000,
		InboxSize:         8192,
		Clock:             ticket.SystemClock{},
		Logger:            slog.Default(),
	}
}

// TestConfig is for many nodes in one process on loopback: fast timers.
func TestConfig() Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 300 * time.Millisecond
	c.DigestInterval = 50 * time.Millisecond
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.RejoinInterval = 200 * time.Millisecond
	c.ReconnectInterval = 200 * time.Millisecond
	return c
}
