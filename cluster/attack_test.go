package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// waitProven waits until from holds a proven address for the member named.
func waitProven(t *testing.T, from *node, name string) {
	t.Helper()
	ledgertest.WaitFor(t, 10*time.Second, from.name+" holds "+name+"'s proven address", func() bool {
		for _, p := range from.mesh.Peers() {
			if p.Name == name {
				return p.State == "alive"
			}
		}
		return false
	})
}

// A gate is lost (stolen with its device directory: device.key, mesh.key,
// gates.key) and central revokes its device key. The revocation reaches
// every gate, yet the stolen gate stays a member: admission checks the
// certificate's signature and validity, never the manifest's revocations,
// and its signed messages keep verifying. The next ticket batch, holders'
// names sealed to a key the thief holds, is streamed to it whole.
func TestRevokedDeviceGetsNoNewChanges(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	waitProven(t, g1, g2.name)
	revoke := c.venue.Sign(manifest.KindRevoke, &manifest.Revoke{Devices: []ticket.KeyID{g2.ledger.Identity().ID()}, Reason: "stolen"})
	if _, err := g1.ledger.ApplyChange(revoke); err != nil {
		t.Fatal(err)
	}
	if !g1.ledger.Trust().Revoked(g2.ledger.Identity().ID()) {
		t.Fatal("gate-1 does not hold the revocation")
	}
	ledgertest.WaitFor(t, 10*time.Second, "the revocation spreads", func() bool {
		return g2.ledger.ManifestSeq() == g1.ledger.ManifestSeq()
	})
	batch := c.venue.Sign(manifest.KindTickets, &manifest.Tickets{Event: 1042, Tickets: []manifest.Ticket{{Serial: 7000, Type: 1, Holder: "Guest 0007000"}}})
	if _, err := g1.ledger.ApplyChange(batch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the stream, and push/pull rounds
	if g2.ledger.ManifestSeq() == g1.ledger.ManifestSeq() {
		t.Errorf("the revoked gate-2 received the batch made after its revocation (holders' names and all)")
	}
	for _, p := range g1.mesh.Peers() {
		if p.Name == g2.name {
			t.Errorf("gate-2, revoked, is still listed by gate-1 as %q", p.State)
		}
	}
}

// Fetch requests name their addressee, but the replay cache records a
// request before its addressee is checked. A node with the keyring
// records gate-2's requests to gate-3 (and to every other peer) off the
// LAN and replays each to gate-1: each takes a slot of gate-2's share at
// gate-1. Once gate-2's traffic to all its peers in a replay window
// reaches its share (512), gate-1 refuses gate-2's own requests to it as
// replays: gate-2 is locked out of anti-entropy at every node the
// replays reach.
func TestRequestsToOthersDoNotFillTheSendersShare(t *testing.T) {
	c := newCluster(t, 3, nil)
	g1, g2, g3 := c.nodes[0], c.nodes[1], c.nodes[2]
	now := g1.mesh.cfg.Clock.Now()
	var nobody ticket.KeyID
	for i := range maxRequestsPerSender {
		(*delegate)(g1.mesh).NotifyMsg(sealMessage(g2.mesh.key, now, kindFetch, g2.name, fetchPayload(nobody, uint64(i+1), g3.name)))
	}
	before := g1.mesh.Stats().FetchesServed
	honest := sealMessage(g2.mesh.key, now, kindFetch, g2.name, fetchPayload(g2.ledger.Identity().ID(), 1, g1.name))
	(*delegate)(g1.mesh).NotifyMsg(honest)
	time.Sleep(500 * time.Millisecond)
	if got := g1.mesh.Stats().FetchesServed - before; got == 0 {
		t.Error("gate-2's own request to gate-1 is refused: replays of its requests to gate-3 filled its share")
	}
}

// A gate provisioned before gates.key existed (or whose key directory made
// another gates key) cannot open sealed parts. That is this gate's own
// trouble, but every sealed change a peer sends it is counted and logged
// as that honest peer's rejection ("refused what a peer sent"), which
// points the operator at the wrong device; the gate itself should say,
// once, that it lacks the gates key.
func TestGateWithoutGatesKeyChargesNobody(t *testing.T) {
	c := newCluster(t, 1, nil)
	g1 := c.nodes[0]
	dir := c.venue.Provision("gate-2")
	if err := os.Remove(filepath.Join(dir, ledger.GateKeyFile)); err != nil {
		t.Fatal(err)
	}
	g2 := &node{name: "gate-2", dir: dir}
	g2.ledger = c.venue.OpenDir(dir)
	// The ledger alone says what is wrong.
	var sealedErr error
	for _, raw := range c.venue.Changes {
		if _, err := g2.ledger.ApplyChange(raw); err != nil {
			sealedErr = err
			break
		}
	}
	if sealedErr == nil {
		t.Fatal("a gate without gates.key applied the whole manifest")
	}
	t.Logf("the ledger says: %v", sealedErr)
	c.start(g2)
	c.nodes = append(c.nodes, g2)
	if _, err := g2.mesh.Join([]string{g1.mesh.Addr()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // push/pull rounds: gate-2 fetches the manifest from gate-1
	if n := g2.mesh.Rejected()[g1.name]; n != 0 {
		t.Errorf("gate-2 (no gates.key) charged the honest gate-1 with %d rejections", n)
	}
}

// A change that arrives ahead of its predecessor is held; when the
// predecessor comes, the held change is applied from the store, and its
// signature is no longer among those of the message being applied. The
// node then takes it for a change of its own (an import) and streams it
// whole to every member: with streams of a manifest's batches arriving
// out of order (each is its own goroutine), every node re-streams the
// batches it held, N×(N−1) again.
func TestHeldChangeNotStreamedAgain(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	waitProven(t, g2, g1.name)
	mk := func(first int) []byte {
		b := &manifest.Tickets{Event: 1042}
		for i := range 3000 {
			s := uint64(first + i)
			b.Tickets = append(b.Tickets, manifest.Ticket{Serial: s, Type: 1, Holder: fmt.Sprintf("Guest %07d", s)})
		}
		return c.venue.Sign(manifest.KindTickets, b)
	}
	a, b := mk(20_001), mk(30_001)
	time.Sleep(500 * time.Millisecond)
	// gate-1 reaches gate-2 no more (so it neither streams to it nor
	// fetches from it): what gate-2 streams now is of its own accord.
	c.net.CutLink(g1.name, g2.name)
	before := g2.mesh.Stats().StreamBytesOut
	// gate-1's streams, the second first, as gate-2's mesh receives them.
	g2.mesh.applyChange(message{kind: kindChange, sender: g1.name, payload: b})
	g2.mesh.applyChange(message{kind: kindChange, sender: g1.name, payload: a})
	for _, raw := range [][]byte{a, b} { // gate-1 holds them too: it sent them
		if _, err := g1.ledger.ApplyChange(raw); err != nil {
			t.Fatal(err)
		}
	}
	if g2.ledger.ManifestSeq() != g1.ledger.ManifestSeq() {
		t.Fatalf("gate-2 holds %d, gate-1 %d", g2.ledger.ManifestSeq(), g1.ledger.ManifestSeq())
	}
	time.Sleep(time.Second)
	if out := g2.mesh.Stats().StreamBytesOut - before; out > uint64(len(b))/2 {
		t.Errorf("gate-2 streamed %d bytes after applying two changes it got from gate-1 (the held one is %d bytes)", out, len(b))
	}
}

// A push/pull state is accepted for ReplayWindow after the time it
// carries, and any accepted state sets the proven address, the older
// after the newer. gate-2 listened elsewhere a minute ago (a restart on
// another port, a new DHCP lease); a node with the keyring that recorded
// that state replays it to gate-1, and gate-1 sends gate-2's fetch
// answers and whole changes to the old address again, as often as the
// replay is repeated within the window.
func TestOlderStateDoesNotMoveTheProvenAddress(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	waitProven(t, g1, g2.name)
	old, _ := json.Marshal(state{Name: g2.name, Addr: "127.0.0.1:1", Vector: map[string]uint64{}})
	g1.mesh.mergeState(sealMessage(g2.mesh.key, g1.mesh.cfg.Clock.Now().Add(-time.Minute), kindState, g2.name, old))
	for _, p := range g1.mesh.Peers() {
		if p.Name == g2.name && p.Addr != g2.mesh.Addr() {
			t.Errorf("a state gate-2 signed a minute ago moved its proven address from %s to %s", g2.mesh.Addr(), p.Addr)
		}
	}
}

// A member that has not proven its address (no signed state yet) is sent
// every eager push at the address memberlist holds for its name, and that
// address is whatever the node that announced the name chose: a node with
// the keyring shows the copied certificate of a device that is away and
// advertises a victim's address. Every scan at every gate then sends a
// packet there, for as long as the announcer refreshes the name: a
// reflector whose output grows with the venue's traffic. Eager pushes
// (like whole changes) should go to proven addresses only; memberlist's
// own gossip still reaches every member at its fixed rate.
func TestEagerPushOnlyToProvenMembers(t *testing.T) {
	c, _ := newImpostorCluster(t, 2)
	g1, g2 := c.nodes[0], c.nodes[1]
	waitProven(t, g1, g2.name)
	before := g1.mesh.Stats().EagerSent
	const scans = 10
	for i := range scans {
		c.scanAt(g1, uint64(i+1))
	}
	if sent := g1.mesh.Stats().EagerSent - before; sent > scans {
		t.Errorf("%d scans made %d eager packets: the unproven gate-3 (at an address its announcer chose) was sent %d", scans, sent, sent-scans)
	}
}
