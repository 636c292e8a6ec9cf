package cluster

import (
	"crypto/ed25519"
	"encoding/json"
	"io"
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

// A forger with the keyring and gate-1's certificate (public: it is in the
// metadata) but not its key sends messages claiming to be gate-1: each is
// dropped unread and counted, none is charged to gate-1, none is stored and
// no fetch is answered. The same messages signed by gate-1's key within the
// replay window are served; signed outside it, they are dropped.
func TestForgedSender(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	if d := c.scanAt(g1, 1); !d.OK() {
		t.Fatal(ledgertest.Describe(d))
	}
	origin := g1.ledger.Identity().ID()
	ledgertest.WaitFor(t, 5*time.Second, "gate-2 holds gate-1's record", func() bool {
		vv, _ := g2.ledger.VersionVector()
		return vv[origin] == 1
	})
	forger, err := ticket.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := g2.mesh.cfg.Clock.Now()
	recs := signedRecords(t, c.venue, "gate-x", 1)
	deliver := (*delegate)(g2.mesh).NotifyMsg
	before := g2.mesh.Stats()
	for range 20 {
		deliver(sealMessage(forger, now, kindFetch, g1.name, fetchPayload(origin, 1, g2.name)))
	}
	deliver(sealMessage(forger, now, kindFetchManifest, g1.name, manifestFetchPayload(1, g2.name)))
	deliver(sealMessage(forger, now, kindRecords, g1.name, appendRecords(nil, recs.raws)))
	deliver(sealMessage(forger, now, kindRecords, g1.name, []byte("garbage")))
	deliver(append([]byte{kindFetch, byte(len(g1.name))}, append([]byte(g1.name), fetchPayload(origin, 1, g2.name)...)...)) // unsigned, the old format
	deliver(sealMessage(g1.mesh.key, now.Add(-10*time.Minute), kindFetch, g1.name, fetchPayload(origin, 1, g2.name)))
	deliver(sealMessage(forger, now, kindFetch, "gate-9", fetchPayload(origin, 1, g2.name)))
	time.Sleep(300 * time.Millisecond)
	st := g2.mesh.Stats()
	if got := st.Unauthentic - before.Unauthentic; got != 26 {
		t.Errorf("%d messages counted unauthentic, want 26", got)
	}
	if st.FetchesServed != before.FetchesServed || st.RecordsServed != before.RecordsServed {
		t.Errorf("forged fetches were answered: %+v", st)
	}
	if n := g2.mesh.Rejected()[g1.name]; n != 0 {
		t.Errorf("%d rejections pinned on gate-1", n)
	}
	vv, _ := g2.ledger.VersionVector()
	if _, ok := vv[recs.origin]; ok {
		t.Error("records from a forged message were stored")
	}
	deliver(sealMessage(g1.mesh.key, now, kindFetch, g1.name, fetchPayload(origin, 1, g2.name)))
	ledgertest.WaitFor(t, 5*time.Second, "a genuine fetch is served", func() bool {
		return g2.mesh.Stats().FetchesServed == before.FetchesServed+1
	})
}

// The cost of authenticating a message: signing on send, verifying on
// receipt, and the 72 bytes added to each packet.
func BenchmarkMessageAuth(b *testing.B) {
	key, err := ticket.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	payload := make([]byte, 900)
	now := time.Now()
	b.Run("seal", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sealMessage(key, now, kindRecords, "gate-1", payload)
		}
	})
	msg := sealMessage(key, now, kindRecords, "gate-1", payload)
	b.Run("open", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := openMessage(msg, func(string) ed25519.PublicKey { return pub }, now, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(trailerLen, "bytes/msg")
}

func TestSealedOverhead(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, name := range []string{"g", "gate-1", strings.Repeat("n", 200)} {
		if got, want := sealedOverhead(name), len(sealMessage(key, time.Now(), kindRecords, name, nil)); got != want {
			t.Errorf("sealedOverhead(%d-byte name) = %d, a sealed empty message is %d bytes", len(name), got, want)
		}
	}
}

// A signed request is answered once: a replay inside the replay window is
// dropped unanswered.
func TestReplayedRequestAnsweredOnce(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	if d := c.scanAt(g1, 1); !d.OK() {
		t.Fatal(ledgertest.Describe(d))
	}
	origin := g1.ledger.Identity().ID()
	before := g2.mesh.Stats()
	req := sealMessage(g1.mesh.key, g2.mesh.cfg.Clock.Now(), kindFetch, g1.name, fetchPayload(origin, 1, g2.name))
	deliver := (*delegate)(g2.mesh).NotifyMsg
	deliver(req)
	ledgertest.WaitFor(t, 5*time.Second, "the request is served", func() bool {
		return g2.mesh.Stats().FetchesServed == before.FetchesServed+1
	})
	for range 5 {
		deliver(req)
	}
	time.Sleep(200 * time.Millisecond)
	st := g2.mesh.Stats()
	if st.FetchesServed != before.FetchesServed+1 || st.Unauthentic-before.Unauthentic != 5 {
		t.Errorf("replays: served %d, dropped %d; want 1 and 5", st.FetchesServed-before.FetchesServed, st.Unauthentic-before.Unauthentic)
	}
}

// A node showing a copied certificate is admitted by it but stays
// unverified: its push/pull state without the key's signature is dropped,
// and a change with holders' names is not sent to it.
func TestCopiedCertificateStaysUnverified(t *testing.T) {
	const fakeAddr = "127.0.0.1:9"
	var mu sync.Mutex
	streamsToFake := 0
	c := newCluster(t, 2, func(cfg *Config) {
		inner := cfg.Filter
		cfg.Filter = func(addr string, stream bool) (bool, time.Duration) {
			if addr == fakeAddr && stream {
				mu.Lock()
				streamsToFake++
				mu.Unlock()
			}
			return inner(addr, stream)
		}
	})
	g1, g2 := c.nodes[0], c.nodes[1]
	// gate-2 proves itself by its signed state, in moments.
	ledgertest.WaitFor(t, 10*time.Second, "gate-1 sees gate-2 proven", func() bool {
		for _, p := range g1.mesh.Peers() {
			if p.Name == "gate-2" && p.State == "alive" {
				return true
			}
		}
		return false
	})
	// gate-3's certificate, copied; its key stays with gate-3, away.
	gate3, _ := ticket.GenerateKey(nil)
	forger, _ := ticket.GenerateKey(nil)
	cert, err := ticket.SignDeviceCert(ticket.DeviceCert{Device: "gate-3", Role: ticket.RoleGate, Venue: "arena",
		Key: ticket.PublicOf(gate3), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, c.venue.Keys.Root)
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := cert.MarshalBinary()
	meta, _ := json.Marshal(NodeMeta{Device: "gate-3", Role: "gate", Venue: "arena", Version: "x", Cert: bin})
	fake := &memberlist.Node{Name: "gate-3", Addr: net.ParseIP("127.0.0.1"), Port: 9, Meta: meta}
	if err := (*aliveDelegate)(g1.mesh).NotifyAlive(fake); err != nil {
		t.Fatalf("the certificate itself is valid: %v", err)
	}
	(*events)(g1.mesh).NotifyJoin(fake)

	// Its state, unsigned (the forger has no key to sign it).
	state, _ := json.Marshal(state{Name: "gate-3", Vector: map[string]uint64{}, Manifest: 999})
	before := g1.mesh.Stats()
	g1.mesh.mergeState(state)
	g1.mesh.mergeState(sealMessage(forger, time.Now(), kindState, "gate-3", state))
	if got := g1.mesh.Stats().Unauthentic - before.Unauthentic; got != 2 {
		t.Errorf("%d forged states dropped, want 2", got)
	}
	peers := map[string]Peer{}
	for _, p := range g1.mesh.Peers() {
		peers[p.Name] = p
	}
	if peers["gate-3"].State != "unverified" || peers["gate-2"].State != "alive" {
		t.Errorf("peers as gate-1 sees them: %+v", peers)
	}

	// The join's own state exchange (public: vectors and certificates) may
	// try the announced address once; what follows must not.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	streamsToFake = 0
	mu.Unlock()
	raw := c.venue.Sign(manifest.KindTickets, &manifest.Tickets{Event: 1042, Tickets: []manifest.Ticket{{Serial: 5000, Type: 1, Holder: "Guest 0005000"}}})
	if _, err := g1.ledger.ApplyChange(raw); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 10*time.Second, "gate-2 holds the new change", func() bool {
		return g2.ledger.ManifestSeq() == g1.ledger.ManifestSeq()
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if streamsToFake != 0 {
		t.Errorf("%d streams opened to the unverified node", streamsToFake)
	}
}

// Spoofed fetches sent over the wire by a node with the keyring but no
// member's key, claiming to be gate-1: twenty by packet and twenty by
// stream. Nothing is answered, to the forger or to the gate it names.
func TestSpoofedFetchesOverTheWire(t *testing.T) {
	var mu sync.Mutex
	forgerAddr, toForger := "", 0
	c := newCluster(t, 2, func(cfg *Config) {
		inner := cfg.Filter
		cfg.Filter = func(addr string, stream bool) (bool, time.Duration) {
			mu.Lock()
			if addr == forgerAddr {
				toForger++
			}
			mu.Unlock()
			return inner(addr, stream)
		}
	})
	g1, g2 := c.nodes[0], c.nodes[1]
	for serial := uint64(1); serial <= 20; serial++ {
		if d := c.scanAt(g1, serial); !d.OK() {
			t.Fatal(ledgertest.Describe(d))
		}
	}
	origin := g1.ledger.Identity().ID()
	ledgertest.WaitFor(t, 5*time.Second, "gate-2 holds gate-1's records", func() bool {
		vv, _ := g2.ledger.VersionVector()
		return vv[origin] == 20
	})

	mc := memberlist.DefaultLANConfig()
	mc.Name, mc.BindAddr, mc.BindPort, mc.AdvertisePort = "gate-1", "127.0.0.1", 0, 0
	mc.SecretKey = c.venue.Keys.MeshKey
	mc.LogOutput = io.Discard // the forger's own complaints
	forger, err := memberlist.Create(mc)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Shutdown()
	mu.Lock()
	forgerAddr = forger.LocalNode().Address()
	mu.Unlock()
	host, port, _ := net.SplitHostPort(g2.mesh.Addr())
	p, _ := strconv.Atoi(port)
	target := &memberlist.Node{Name: g2.name, Addr: net.ParseIP(host), Port: uint16(p)}
	key, _ := ticket.GenerateKey(nil)
	before := g2.mesh.Stats()
	for range 20 {
		msg := sealMessage(key, time.Now(), kindFetch, g1.name, fetchPayload(origin, 1, g2.name))
		if err := forger.SendBestEffort(target, msg); err != nil {
			t.Fatal(err)
		}
		if err := forger.SendReliable(target, msg); err != nil {
			t.Fatal(err)
		}
	}
	ledgertest.WaitFor(t, 5*time.Second, "forty spoofed fetches dropped", func() bool {
		return g2.mesh.Stats().Unauthentic-before.Unauthentic >= 40
	})
	time.Sleep(300 * time.Millisecond)
	st := g2.mesh.Stats()
	if st.FetchesServed != before.FetchesServed || st.RecordsServed != before.RecordsServed {
		t.Errorf("spoofed fetches were answered: %d fetches, %d records", st.FetchesServed-before.FetchesServed, st.RecordsServed-before.RecordsServed)
	}
	if n := g2.mesh.Rejected()[g1.name]; n != 0 {
		t.Errorf("%d rejections pinned on gate-1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if toForger != 0 {
		t.Errorf("gate-2 sent %d packets or streams to the forger", toForger)
	}
}

// A message of records held already is dropped before its signature is
// checked (gossip brings every record several times); one with a record
// not held yet is checked, and a forged one refused.
func TestHeldRecordsSkipVerification(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	if d := c.scanAt(g1, 3); !d.OK() {
		t.Fatal(ledgertest.Describe(d))
	}
	origin := g1.ledger.Identity().ID()
	ledgertest.WaitFor(t, 5*time.Second, "gate-2 holds gate-1's record", func() bool { return g2.ledger.Holds(origin, 1) })
	held, err := g1.ledger.Records(origin, 1, 1)
	if err != nil || len(held) != 1 {
		t.Fatalf("records: %v %v", held, err)
	}
	forger, _ := ticket.GenerateKey(nil)
	now := g2.mesh.cfg.Clock.Now()
	deliver := (*delegate)(g2.mesh).NotifyMsg
	time.Sleep(time.Second) // the record's own gossip done: the counters move only by what follows
	before := g2.mesh.Stats()
	deliver(sealMessage(forger, now, kindRecords, g1.name, appendRecords(nil, held)))
	deliver(sealMessage(forger, now, kindFetched, g1.name, appendRecords(nil, held)))
	st := g2.mesh.Stats()
	if d, u := st.Duplicates-before.Duplicates, st.Unauthentic-before.Unauthentic; d != 2 || u != 0 {
		t.Errorf("held records: %d duplicates, %d unauthentic; want 2 and 0", d, u)
	}
	fresh := signedRecords(t, c.venue, "gate-x", 1)
	deliver(sealMessage(forger, now, kindRecords, g1.name, appendRecords(nil, append(held, fresh.raws...))))
	st2 := g2.mesh.Stats()
	if d, u := st2.Duplicates-st.Duplicates, st2.Unauthentic-st.Unauthentic; d != 0 || u != 1 {
		t.Errorf("a record not held among held ones: %d duplicates, %d unauthentic; want 0 and 1", d, u)
	}
}
