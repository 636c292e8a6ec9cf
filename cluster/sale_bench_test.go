package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// sellerChain is a seller handheld and three gates in a line, each
// reaching only its neighbours: seller — gate-1 — gate-2 — gate-3, so what
// the seller records reaches gate-1 in one hop and gate-3 in three.
func sellerChain(b *testing.B) (*cluster, *node) {
	b.Helper()
	c := &cluster{t: b, venue: ledgertest.NewVenue(b, 100), net: newNetwork(), cfg: venueConfig(true)}
	dir := filepath.Join(b.TempDir(), "seller-1")
	err := ledger.Init(ledger.Provision{Dir: dir, Keys: c.venue.Keys, Device: "seller-1", Role: ticket.RoleSeller, Venue: "arena",
		Now: time.Now().Add(-time.Hour)}, c.venue.Config(dir))
	if err != nil {
		b.Fatal(err)
	}
	seller := &node{name: "seller-1", dir: dir, ledger: c.venue.OpenDir(dir)}
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: "seller-1", Key: seller.ledger.Identity().Cert.Key, Events: []uint64{ledgertest.Event},
		Types: []uint64{1}, SerialMin: 1_000_000_000, SerialMax: 1_000_999_999, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour)}, c.venue.Keys.Root)
	if err != nil {
		b.Fatal(err)
	}
	c.venue.Sign(manifest.KindIssuer, &cert) // before the gates load the manifest
	c.venue.Load(seller.ledger)
	c.start(seller)
	c.nodes = append(c.nodes, seller)
	for i := 1; i <= 3; i++ {
		c.add(fmt.Sprintf("gate-%d", i))
	}
	c.joinAll()
	n := c.nodes
	c.net.partition([]*node{n[0]}, []*node{n[2], n[3]})
	c.net.partition([]*node{n[1]}, []*node{n[3]})
	if _, err := seller.ledger.OpenShift(context.Background(), "li", "seller-1", 0, "CNY"); err != nil {
		b.Fatal(err)
	}
	return c, seller
}

// BenchmarkSystemSaleToGate: a seller sells one ticket offline; how long
// until a gate 1 hop and 3 hops away in the mesh holds the sale record (so
// it knows the ticket and honours a later void), p50 and p99, with the
// venue LAN configuration on loopback. admit-3hops-ms is the time from the
// sale until the gate three hops away answers ok on the code: a code is
// admitted on its signature and the seller's issuer certificate, which
// came with the manifest, so it does not wait for the record.
func BenchmarkSystemSaleToGate(b *testing.B) {
	c, seller := sellerChain(b)
	ctx := context.Background()
	origin := seller.ledger.Identity().ID()
	const samples = 40
	var hop1, hop3, admit []time.Duration
	for range b.N {
		for range samples {
			start := time.Now()
			sold, err := seller.ledger.Sell(ctx, ledger.Sale{Event: ledgertest.Event, Type: 1, Quantity: 1, Price: 12000, Currency: "CNY",
				Method: record.MethodCard, Ref: "T", Seller: "li", Till: "seller-1"})
			if err != nil {
				b.Fatal(err)
			}
			vv, err := seller.ledger.VersionVector()
			if err != nil {
				b.Fatal(err)
			}
			seq := vv[origin]
			d, err := c.nodes[3].ledger.Decide(ctx, ledger.Scan{Text: sold.Tickets[0].Code, Gate: "G1", Direction: rules.In})
			if err != nil || !d.OK() {
				b.Fatalf("gate-3 on a ticket just sold: %s, %v", ledgertest.Describe(d), err)
			}
			admit = append(admit, time.Since(start))
			var at1 time.Duration
			ledgertest.WaitFor(b, 20*time.Second, "the sale reaches gate-3", func() bool {
				if at1 == 0 && holds(c.nodes[1], origin, seq) {
					at1 = time.Since(start)
				}
				return holds(c.nodes[3], origin, seq)
			})
			if at1 == 0 {
				at1 = time.Since(start)
			}
			hop1, hop3 = append(hop1, at1), append(hop3, time.Since(start))
		}
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"1hop", hop1}, {"3hops", hop3}} {
		slices.Sort(m.d)
		b.ReportMetric(ms(m.d[len(m.d)/2]), m.name+"-p50-ms")
		b.ReportMetric(ms(m.d[len(m.d)*99/100]), m.name+"-p99-ms")
	}
	slices.Sort(admit)
	b.ReportMetric(ms(admit[len(admit)/2]), "admit-3hops-ms")
}
