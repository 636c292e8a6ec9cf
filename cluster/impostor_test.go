package cluster

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// impostor is a real memberlist node with the venue keyring that shows
// gate-3's certificate, copied, and is admitted and joined at the first
// node; gate3 is the real gate-3's key, which the impostor does not hold
// (the tests use it only to make what gate-3 itself sent before it went
// away, as a node with the keyring records it off the venue LAN).
type impostor struct {
	gate3 ed25519.PrivateKey
	ml    *memberlist.Memberlist
	meta  []byte
	mu    sync.Mutex
	got   [][]byte // user messages received
}

func (imp *impostor) NodeMeta(int) []byte { return imp.meta }
func (imp *impostor) NotifyMsg(b []byte) {
	imp.mu.Lock()
	imp.got = append(imp.got, append([]byte(nil), b...))
	imp.mu.Unlock()
}
func (imp *impostor) GetBroadcasts(int, int) [][]byte { return nil }
func (imp *impostor) LocalState(bool) []byte          { return nil }
func (imp *impostor) MergeRemoteState([]byte, bool)   {}

// send sends b to nd over a stream, as any node with the keyring can.
func (imp *impostor) send(t *testing.T, nd *node, b []byte) {
	t.Helper()
	host, port, _ := net.SplitHostPort(nd.mesh.Addr())
	p, _ := strconv.Atoi(port)
	if err := imp.ml.SendReliable(&memberlist.Node{Name: nd.name, Addr: net.ParseIP(host), Port: uint16(p)}, b); err != nil {
		t.Fatal(err)
	}
}

// names counts the holders' names in what the impostor received.
func (imp *impostor) names() int {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	n := 0
	for _, b := range imp.got {
		n += bytes.Count(b, []byte("Guest 0"))
	}
	return n
}

func newImpostorCluster(t *testing.T, n int) (*cluster, *impostor) {
	t.Helper()
	c := newCluster(t, n, nil)
	gate3, err := ticket.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ticket.SignDeviceCert(ticket.DeviceCert{Device: "gate-3", Role: ticket.RoleGate, Venue: "arena",
		Key: ticket.PublicOf(gate3), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, c.venue.Keys.Root)
	if err != nil {
		t.Fatal(err)
	}
	imp := startImpostor(t, c, cert)
	imp.gate3 = gate3
	return c, imp
}

// startImpostor joins the cluster as cert's device, showing cert (public:
// it is in every node's metadata and in the manifest's device changes)
// without its key.
func startImpostor(t *testing.T, c *cluster, cert ticket.DeviceCert) *impostor {
	t.Helper()
	imp := &impostor{}
	bin, _ := cert.MarshalBinary()
	imp.meta, _ = json.Marshal(NodeMeta{Device: cert.Device, Role: string(cert.Role), Venue: "arena", Version: "x", Cert: bin})
	mc := memberlist.DefaultLANConfig()
	mc.Name, mc.BindAddr, mc.BindPort, mc.AdvertisePort = cert.Device, "127.0.0.1", 0, 0
	mc.SecretKey = c.venue.Keys.MeshKey
	mc.Delegate = imp
	mc.LogOutput = io.Discard
	var err error
	imp.ml, err = memberlist.Create(mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imp.ml.Shutdown() })
	// It joins as the device would: the certificate is valid and the
	// device is away.
	if _, err := imp.ml.Join([]string{c.nodes[0].mesh.Addr()}); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 10*time.Second, "the impostor is a member", func() bool {
		for _, nd := range c.nodes {
			if nd.mesh.member(cert.Device) == nil {
				return false
			}
		}
		return true
	})
	return imp
}

// The device's name is taken before the device comes: a node with the
// keyring shows gate-3's certificate (copied from the manifest) and joins
// first. When the real gate-3 starts and joins, memberlist keeps the name
// at the address it knew (a conflicting address is ignored); gate-3's own
// messages, signed by the certificate's key, verify and mark the name
// proven. From then on everything gate-1 sends to gate-3 — the answers to
// the manifest fetches gate-3 itself makes, every change whole — goes to
// the impostor's address. No replay is needed.
func TestSquattedNameGetsNothingPrivate(t *testing.T) {
	c := newCluster(t, 1, nil)
	g1 := c.nodes[0]
	g3 := &node{name: "gate-3", dir: c.venue.Provision("gate-3")}
	g3.ledger = c.venue.OpenDir(g3.dir) // a new gate: it takes its manifest from the mesh
	imp := startImpostor(t, c, g3.ledger.Identity().Cert)

	c.start(g3)
	c.nodes = append(c.nodes, g3)
	if _, err := g3.mesh.Join([]string{g1.mesh.Addr()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // push/pull rounds: gate-3 asks gate-1 for the manifest
	for _, p := range g1.mesh.Peers() {
		if p.Name == "gate-3" {
			t.Logf("gate-1 sees gate-3 %s at %s; the impostor is at %s, gate-3 at %s", p.State, p.Addr, imp.ml.LocalNode().Address(), g3.mesh.Addr())
		}
	}
	if n := imp.names(); n != 0 {
		t.Errorf("the impostor received %d holders' names (of %d) meant for gate-3", n, c.venue.Tickets)
	}
	if got := g3.ledger.ManifestSeq(); got != g1.ledger.ManifestSeq() {
		t.Errorf("the real gate-3 holds %d of %d manifest changes", got, g1.ledger.ManifestSeq())
	}
}

// A message the real gate-3 signed a minute ago (any gossip it sent, to
// any node) is replayed to gate-1 by the node that now shows gate-3's
// copied certificate. The replay must not count as proof of the key:
// gate-1 must still send no change with holders' names to the impostor.
func TestReplayedMessageDoesNotProveAnImpostor(t *testing.T) {
	c, imp := newImpostorCluster(t, 2)
	g1, g2 := c.nodes[0], c.nodes[1]

	// Recorded off the LAN while gate-3 was still there: a gossip packet
	// of records it sent to some other node a minute before.
	captured := sealMessage(imp.gate3, time.Now().Add(-time.Minute), kindRecords, "gate-3", nil)
	for _, p := range g1.mesh.Peers() {
		if p.Name == "gate-3" && p.State != "unverified" {
			t.Fatalf("the impostor is %q before any replay", p.State)
		}
	}
	imp.send(t, g1, captured)
	time.Sleep(300 * time.Millisecond)
	for _, p := range g1.mesh.Peers() {
		if p.Name == "gate-3" && p.State != "unverified" {
			t.Errorf("a replayed message made the impostor %q", p.State)
		}
	}
	raw := c.venue.Sign(manifest.KindTickets, &manifest.Tickets{Event: 1042, Tickets: []manifest.Ticket{{Serial: 5000, Type: 1, Holder: "Guest 0005000"}}})
	if _, err := g1.ledger.ApplyChange(raw); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 10*time.Second, "gate-2 holds the new change", func() bool {
		return g2.ledger.ManifestSeq() == g1.ledger.ManifestSeq()
	})
	time.Sleep(500 * time.Millisecond)
	if n := imp.names(); n != 0 {
		t.Errorf("the impostor received %d holders' names", n)
	}
}

// A fetch request is not addressed to anyone: one that the real gate-3
// sent to gate-2 before it went away, replayed to gate-1 (which never saw
// it, so its replay cache does not know it), is answered — to whoever holds
// gate-3's name now, with every change whole from the number asked.
func TestRequestAnsweredOnlyByItsAddressee(t *testing.T) {
	c, imp := newImpostorCluster(t, 2)
	g1 := c.nodes[0]
	before := g1.mesh.Stats()
	// gate-3's catch-up request to gate-2: every change from the first.
	captured := sealMessage(imp.gate3, time.Now().Add(-30*time.Second), kindFetchManifest, "gate-3", manifestFetchPayload(1, "gate-2"))
	imp.send(t, g1, captured)
	time.Sleep(time.Second)
	if got := g1.mesh.Stats().FetchesServed - before.FetchesServed; got != 0 {
		t.Errorf("gate-1 answered %d requests sent to another node", got)
	}
	if n := imp.names(); n != 0 {
		t.Errorf("the impostor received %d holders' names (of %d)", n, c.venue.Tickets)
	}
	imp.mu.Lock()
	defer imp.mu.Unlock()
	for _, b := range imp.got {
		if bytes.Contains(b, []byte("rotation_secret")) {
			t.Error("the impostor received the event's rotation secret")
			break
		}
	}
}

// A push/pull state is sealed like a message; replayed as a user message
// (by anyone with the keyring who recorded it), it is refused as an
// unknown kind and charged to the honest device that signed it.
func TestReplayedStateChargesNobody(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	state := g1.mesh.localState() // what gate-1 sends in every push/pull
	if state == nil {
		t.Fatal("no state")
	}
	for range 10 {
		(*delegate)(g2.mesh).NotifyMsg(state)
	}
	if n := g2.mesh.Rejected()[g1.name]; n != 0 {
		t.Errorf("gate-2 charged gate-1 with %d rejections for its own replayed push/pull state", n)
	}
}

// One member (a seller's handheld, say) signs 8,192 fetch requests in a
// burst. The replay cache is then full of fresh entries and refuses every
// request from every other member for the replay window: anti-entropy
// stops at this node for two minutes, and again each time the burst is
// sent.
func TestReplayCacheOneMemberCannotStarveOthers(t *testing.T) {
	c := newCluster(t, 3, nil)
	g1, g2, g3 := c.nodes[0], c.nodes[1], c.nodes[2]
	var nobody ticket.KeyID
	now := g1.mesh.cfg.Clock.Now()
	for i := range maxRequestsSeen {
		g1.mesh.replayed(sealMessage(g2.mesh.key, now, kindFetch, g2.name, fetchPayload(nobody, uint64(i+1), g1.name)))
	}
	honest := sealMessage(g3.mesh.key, now, kindFetch, g3.name, fetchPayload(g3.ledger.Identity().ID(), 1, g1.name))
	if g1.mesh.replayed(honest) {
		t.Error("gate-3's first request is refused as a replay because gate-2 filled the cache")
	}
}

// The cache forgets a request ReplayWindow after it arrived, but
// openMessage accepts it until ReplayWindow after the time it carries. A
// sender whose clock runs 90 s ahead (inside the window) sends a request;
// once the cache has been swept, the same bytes are answered again.
func TestReplayCacheHoldsUntilTheMessageExpires(t *testing.T) {
	clock := ticket.NewManualClock(time.Now())
	c := newCluster(t, 2, func(cfg *Config) { cfg.Clock = clock })
	g1, g2 := c.nodes[0], c.nodes[1]
	t0 := clock.Now()
	req := sealMessage(g1.mesh.key, t0.Add(90*time.Second), kindFetch, g1.name, fetchPayload(g1.ledger.Identity().ID(), 1, g2.name))
	before := g2.mesh.Stats().FetchesServed
	(*delegate)(g2.mesh).NotifyMsg(req)
	ledgertest.WaitFor(t, 5*time.Second, "the request is served", func() bool {
		return g2.mesh.Stats().FetchesServed == before+1
	})
	// Ordinary traffic of the next two minutes fills the cache; the entry
	// that arrives after that sweeps what arrived two minutes before.
	var nobody ticket.KeyID
	for i := range maxRequestsSeen {
		g2.mesh.replayed(sealMessage(g1.mesh.key, t0, kindFetch, g1.name, fetchPayload(nobody, uint64(i+1), g2.name)))
	}
	clock.Advance(121 * time.Second)
	g2.mesh.replayed(sealMessage(g1.mesh.key, clock.Now(), kindFetch, g1.name, fetchPayload(nobody, 1, g2.name)))
	clock.Advance(29 * time.Second) // 150 s after arrival, 60 s after the time it carries
	(*delegate)(g2.mesh).NotifyMsg(req)
	time.Sleep(300 * time.Millisecond)
	if got := g2.mesh.Stats().FetchesServed - before; got != 1 {
		t.Errorf("one signed request answered %d times", got)
	}
}

// A node with only the keyring announces itself under ever new names; each
// refusal is remembered (m.warned, keyed by the error text, which holds the
// name) and logged, forever: memory and log grow with what a stranger sends.
func TestRefusalsDoNotGrowWithNames(t *testing.T) {
	var logged lineCounter
	c := newCluster(t, 1, func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil)) })
	g1 := c.nodes[0]
	for i := range 20_000 {
		(*aliveDelegate)(g1.mesh).NotifyAlive(&memberlist.Node{Name: fmt.Sprintf("stranger-%06d", i), Addr: net.ParseIP("127.0.0.1"), Port: 9})
	}
	g1.mesh.mu.Lock()
	n := len(g1.mesh.warned)
	g1.mesh.mu.Unlock()
	if n > 1000 {
		t.Errorf("%d refusals remembered after 20,000 names from a stranger", n)
	}
	if n := logged.count(); n > 1000 {
		t.Errorf("%d log lines for 20,000 names from a stranger", n)
	}
}

// lineCounter counts the lines written to it.
type lineCounter struct {
	mu sync.Mutex
	n  int
}

func (w *lineCounter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += bytes.Count(b, []byte("\n"))
	return len(b), nil
}

func (w *lineCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// A change with a private part is streamed whole by every node that
// applies it to every member, so one ticket batch from central crosses the
// venue N×(N−1) times rather than about N: with 50 gates, a 600 kB batch
// is 1.5 GB of streams, and a million-ticket manifest a hundred times that.
func TestBatchCrossesTheMeshAboutOncePerMember(t *testing.T) {
	const n = 4
	// Push/pull far apart, so what is measured is the direct streams, not
	// anti-entropy racing them on a loaded machine.
	c := newCluster(t, n, func(cfg *Config) { cfg.PushPullInterval = time.Minute })
	batch := &manifest.Tickets{Event: 1042}
	for i := range 5000 {
		s := uint64(10_001 + i)
		batch.Tickets = append(batch.Tickets, manifest.Ticket{Serial: s, Type: 1, Holder: fmt.Sprintf("Guest %07d", s)})
	}
	raw := c.venue.Sign(manifest.KindTickets, batch)
	want := c.nodes[0].ledger.ManifestSeq() + 1
	time.Sleep(500 * time.Millisecond) // the join's fetches are over
	var before uint64
	for _, nd := range c.nodes {
		before += nd.mesh.Stats().StreamBytesOut
	}
	if _, err := c.nodes[0].ledger.ApplyChange(raw); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 20*time.Second, "every gate holds the batch", func() bool {
		for _, nd := range c.nodes {
			if nd.ledger.ManifestSeq() != want {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
	var after uint64
	for _, nd := range c.nodes {
		after += nd.mesh.Stats().StreamBytesOut
	}
	copies := float64(after-before) / float64(len(raw))
	t.Logf("%d-byte batch, %d nodes: %.1f copies streamed", len(raw), n, copies)
	// n-1 direct streams; every node re-streaming it made 13 to 15.
	if copies > float64(n) {
		t.Errorf("the batch was streamed %.1f times among %d nodes, want about %d", copies, n, n-1)
	}
}

// Every device of the venue holds the venue key (mesh.key), sellers' handhelds
// included: it is what lets a node onto the mesh. A change sent whole to a
// gate travels under that key only, so whoever holds it and sees the
// traffic (a seller's handheld on the venue Wi-Fi, a stolen handheld's
// mesh.key) reads the holders' names. Here the stream gate-1 opens to
// gate-2 is recorded and opened with the venue key alone.
func TestPrivatePartUnreadableWithTheVenueKey(t *testing.T) {
	// No push/pull after the join: a newer state from gate-2 would move
	// its proven address back from the recorder below.
	c := newCluster(t, 2, func(cfg *Config) { cfg.PushPullInterval = time.Minute })
	g1, g2 := c.nodes[0], c.nodes[1]
	ledgertest.WaitFor(t, 10*time.Second, "gate-2 proved its key to gate-1", func() bool {
		for _, p := range g1.mesh.Peers() {
			if p.Name == g2.name {
				return p.State == "alive"
			}
		}
		return false
	})
	time.Sleep(time.Second) // the joins' own state exchanges are over
	// The wire towards gate-2, as a node on the LAN sees it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var wire [][]byte
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(conn)
			conn.Close()
			mu.Lock()
			wire = append(wire, b)
			mu.Unlock()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	g1.mesh.mu.Lock()
	p := g1.mesh.peers[g2.name]
	p.node.Port = uint16(port)
	p.proven = &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: port}
	g1.mesh.peers[g2.name] = p
	g1.mesh.mu.Unlock()

	raw := c.venue.Sign(manifest.KindTickets, &manifest.Tickets{Event: 1042, Tickets: []manifest.Ticket{{Serial: 5000, Type: 1, Holder: "Guest 0005000"}}})
	if _, err := g1.ledger.ApplyChange(raw); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 10*time.Second, "gate-1 sent the change to gate-2", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(wire) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	block, _ := aes.NewCipher(c.venue.Keys.MeshKey)
	gcm, _ := cipher.NewGCM(block)
	for _, b := range wire {
		// memberlist's stream: type (1), length (4), version (1), nonce
		// (12), sealed payload; the first five bytes are the associated data.
		if len(b) < 5+1+12+16 {
			t.Fatalf("short stream of %d bytes", len(b))
		}
		plain, err := gcm.Open(nil, b[6:18], b[18:], b[:5])
		if err != nil {
			t.Fatalf("not memberlist's encryption under the venue key: %v", err)
		}
		if bytes.Contains(plain, []byte("Guest 0005000")) {
			t.Error("the venue key alone reads the holder's name off the wire")
		}
	}
}

// Central's certificate is public (it travels in every change central
// signs); a node showing it is not admitted to the venue mesh.
func TestCentralCertificateNotAdmitted(t *testing.T) {
	c := newCluster(t, 1, nil)
	g1 := c.nodes[0]
	bin, _ := c.venue.Keys.CentralCert.MarshalBinary()
	meta, _ := json.Marshal(NodeMeta{Device: "central", Role: "central", Venue: "arena", Version: "x", Cert: bin})
	err := (*aliveDelegate)(g1.mesh).NotifyAlive(&memberlist.Node{Name: "central", Addr: net.ParseIP("127.0.0.1"), Port: 9, Meta: meta})
	if err == nil || !strings.Contains(err.Error(), "not a venue device") {
		t.Errorf("a node showing central's certificate: %v", err)
	}
}
