package cluster

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// Holders' names and rotation secrets go only to devices whose role needs
// them: a seller that fetches the manifest from a gate stores it without
// them, a gate that can reach only the seller gets nothing it would have to
// trust half, and a gate that reaches a gate gets the whole manifest.
func TestManifestByRole(t *testing.T) {
	c := newCluster(t, 1, nil)
	g1 := c.nodes[0]
	want := g1.ledger.ManifestSeq()

	seller := &node{name: "seller-1", dir: filepath.Join(t.TempDir(), "seller-1")}
	err := ledger.Init(ledger.Provision{Dir: seller.dir, Keys: c.venue.Keys, Device: seller.name, Role: ticket.RoleSeller,
		Venue: "arena", Now: time.Now().Add(-time.Hour)}, c.venue.Config(seller.dir))
	if err != nil {
		t.Fatal(err)
	}
	seller.ledger = c.venue.OpenDir(seller.dir)
	c.start(seller)
	c.nodes = append(c.nodes, seller)
	if _, err := seller.mesh.Join([]string{g1.mesh.Addr()}); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 10*time.Second, "the seller holds the manifest", func() bool { return seller.ledger.ManifestSeq() == want })
	private := func(l *ledger.Ledger) (holders, secrets int) {
		raws, err := l.ManifestChanges(1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		key := l.Identity().GateKey
		for _, raw := range raws {
			ch, err := manifest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Private == nil {
				continue
			}
			body, err := ch.DecodeFor(key)
			if err != nil {
				t.Fatalf("%s cannot open what it holds: %v", l.Identity().Cert.Device, err)
			}
			switch b := body.(type) {
			case *manifest.Event:
				if b.RotationSecret != nil {
					secrets++
				}
			case *manifest.Tickets:
				for _, tk := range b.Tickets {
					if strings.HasPrefix(tk.Holder, "Guest 0") {
						holders++
					}
				}
			}
		}
		return holders, secrets
	}
	if h, s := private(seller.ledger); h != 0 || s != 0 {
		t.Errorf("the seller stored %d holders' names and %d rotation secrets", h, s)
	}
	if h, s := private(g1.ledger); h != c.venue.Tickets || s != 1 {
		t.Fatalf("gate-1 holds %d names and %d secrets, want %d and 1", h, s, c.venue.Tickets)
	}
	for _, p := range g1.mesh.Peers() {
		if p.Name == seller.name && (p.State != "alive" || p.Role != "seller") {
			t.Errorf("gate-1 sees the seller as %+v", p)
		}
	}

	// A new gate that reaches only the seller: the seller's copy lacks
	// what a gate needs, so the gate takes none of it.
	g2 := &node{name: "gate-2", dir: c.venue.Provision("gate-2")}
	g2.ledger = c.venue.OpenDir(g2.dir)
	c.start(g2)
	c.nodes = append(c.nodes, g2)
	c.net.partition([]*node{g1}, []*node{g2})
	if _, err := g2.mesh.Join([]string{seller.mesh.Addr()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // several push/pull rounds with the seller
	// The seller passes on what it holds whole (the venue, the issuer) and
	// stops at the first change it holds without its private part.
	if got := g2.ledger.ManifestSeq(); got == 0 || got >= want {
		t.Errorf("gate-2 applied %d of %d changes from the seller's copy", got, want)
	}
	raws, err := g2.ledger.ManifestChanges(1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		if ch, err := manifest.Parse(raw); err != nil || !ch.Complete() {
			t.Errorf("gate-2 stored change %d without its private part (%v)", ch.Seq, err)
		}
	}
	if n := g2.mesh.Rejected()[seller.name]; n != 0 {
		t.Errorf("gate-2 charged the seller with %d rejections for its honest copy", n)
	}
	c.net.heal()
	ledgertest.WaitFor(t, 15*time.Second, "gate-2 holds the manifest from gate-1", func() bool { return g2.ledger.ManifestSeq() == want })
	if h, s := private(g2.ledger); h != c.venue.Tickets || s != 1 {
		t.Errorf("gate-2 holds %d names and %d secrets, want %d and 1", h, s, c.venue.Tickets)
	}

	// A change made now spreads whole to the gates and public to the seller.
	raw := c.venue.Sign(manifest.KindTickets, &manifest.Tickets{Event: 1042, Tickets: []manifest.Ticket{{Serial: 5000, Type: 1, Holder: "Guest 0005000"}}})
	if _, err := g1.ledger.ApplyChange(raw); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 10*time.Second, "the new change on every node", func() bool {
		return g2.ledger.ManifestSeq() == want+1 && seller.ledger.ManifestSeq() == want+1
	})
	if h, _ := private(seller.ledger); h != 0 {
		t.Errorf("the seller got %d names from the new change", h)
	}
	if h, _ := private(g2.ledger); h != c.venue.Tickets+1 {
		t.Errorf("gate-2 holds %d names after the new change, want %d", h, c.venue.Tickets+1)
	}
}
