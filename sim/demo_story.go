package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
)

// Story walks through a busy night at the venue, through the devices' HTTP
// APIs and central, saying what happened: a ticket admitted once and
// refused at the next gate, the checks a gate makes on its own, a ticket
// sold on the street, a refund at central reaching the gates, and a split
// of the venue network that lets one ticket in twice and ends as a
// conflict on every gate and at central. It uses tickets the crowd has not
// brought yet, so it can be told on any run.
func (d *Demo) Story(ctx context.Context, say func(string, ...any)) error {
	start := time.Now()
	c, err := d.newCrowd(ctx)
	if err != nil {
		return err
	}
	scene := func(title string) { say("\n== %s", title) }
	var failed error
	show := func(g, what, code string) decision.Decision {
		var dec decision.Decision
		t0 := time.Now()
		if err := c.call(ctx, d.Node(g).Node, "POST", "/api/v1/scans", deviceapi.ScanRequest{Code: code}, &dec); err != nil {
			if failed == nil {
				failed = fmt.Errorf("demo story: scan at %s: %w", g, err)
			}
			say("  %s: %v", g, err)
			return dec
		}
		verdict := "OPEN"
		if !dec.OK() {
			verdict = "STAY SHUT"
		}
		line := fmt.Sprintf("  %-3s %-36s → %-9s %s", g, what, verdict, dec.Reason)
		if dec.Detail != "" {
			line += ": " + dec.Detail
		}
		say("%s (%s)", line, time.Since(t0).Round(100*time.Microsecond))
		return dec
	}
	next := func(typ uint64) (uint64, string) {
		d.mu.Lock()
		defer d.mu.Unlock()
		s := d.crowd.Next[typ]
		d.crowd.Next[typ] = s + 1
		return s, c.codes[typ][s]
	}

	scene("Doors open: a holder shows a general ticket at G1")
	serial, code := next(DemoGeneral)
	img, err := scanner.RenderPNG(code, 400)
	if err != nil {
		return err
	}
	t0 := time.Now()
	read, err := scanner.DecodeBytes(img)
	if err != nil || read != code {
		return fmt.Errorf("demo story: camera read %q: %v", read, err)
	}
	say("  the camera reads ticket %d's QR code (%d characters) in %s", serial, len(code), time.Since(t0).Round(100*time.Microsecond))
	show("G1", fmt.Sprintf("ticket %d", serial), read)
	time.Sleep(300 * time.Millisecond)
	say("  …a friend tries a screenshot of it at G2 a moment later:")
	show("G2", fmt.Sprintf("ticket %d again", serial), read)

	scene("The checks a gate makes on its own")
	gs, gc := next(DemoGeneral)
	show("G4", fmt.Sprintf("general ticket %d at the VIP gate", gs), gc)
	vs, vc := next(DemoVIP)
	show("G4", fmt.Sprintf("VIP ticket %d at the VIP gate", vs), vc)
	fs, fc := next(DemoGeneral)
	show("G1", "a ticket with one character off", alterSignature(fc))
	show("G1", fmt.Sprintf("the real ticket %d", fs), fc)
	fake, _ := ticket.Issue(ticket.Ticket{Event: DemoEvent, Serial: fs, Type: DemoGeneral, Zones: manifest.MaskOf([]int{0})}, c.forger)
	show("G1", "a well-made fake of it", fake)

	scene("The seller S1 sells on the street, within the quota central signed")
	c.openShift(ctx)
	var sale edge.SaleAnswer
	err = c.call(ctx, d.Node("S1").Node, "POST", "/api/v1/sales", edge.SaleRequest{Event: DemoEvent, Type: DemoVIP, Quantity: 1,
		Payment: edge.Payment{Method: record.MethodCash, Given: "600.00"}}, &sale)
	if err != nil {
		return fmt.Errorf("demo story: sale at S1: %w", err)
	}
	say("  S1 sold VIP ticket %d for %s (change %s), signed by its own key", sale.Tickets[0].Serial, sale.TotalDisplay, sale.ChangeDisplay)
	dec := show("G4", fmt.Sprintf("ticket %d, just sold", sale.Tickets[0].Serial), sale.Tickets[0].Code)
	say("  (known to the gate's manifest: %v: admitted on its signature and S1's quota alone)", dec.Known)

	scene("Central refunds a ticket; the gates learn it at their next sync")
	rs, rc := next(DemoGeneral)
	if err := d.Central.Catalog.RevokeTicket(ctx, DemoEvent, rs, "refunded"); err != nil {
		return err
	}
	head, err := d.DB.ManifestHead(ctx, DemoVenue)
	if err != nil {
		return err
	}
	t0 = time.Now()
	if err := waitUntil(ctx, 20*time.Second, func() bool {
		for _, n := range d.Nodes {
			if n.Node.Ledger().ManifestSeq() < head {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("demo story: the refund did not reach every device: %w", err)
	}
	say("  central signed the refund of ticket %d as manifest change %d; every device held it %s later", rs, head, time.Since(t0).Round(10*time.Millisecond))
	show("G3", fmt.Sprintf("refunded ticket %d", rs), rc)

	scene("The venue network splits: G3 is cut off from the other devices")
	conflicts := d.conflictsAtCentral(ctx)
	d.Faults.Isolate("G3")
	ss, sc := next(DemoGeneral)
	show("G1", fmt.Sprintf("ticket %d", ss), sc)
	show("G3", fmt.Sprintf("a copy of ticket %d", ss), sc)
	say("  both let it in: neither could know. The network heals…")
	d.Faults.Heal()
	if err := waitUntil(ctx, 30*time.Second, func() bool {
		for _, n := range d.Nodes {
			cs, _ := n.Node.Ledger().Conflicts()
			found := false
			for _, c := range cs {
				found = found || c.Serial == ss
			}
			if !found {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("demo story: the conflict was not found on every device: %w", err)
	}
	cs, _ := d.Node("G2").Node.Ledger().Conflicts()
	for _, c := range cs {
		if c.Serial == ss {
			say("  every device now holds the conflict: ticket %d entered at %s and again at %s: %s", c.Serial, c.First.Gate, c.Second.Gate, c.Reason)
		}
	}
	if err := waitUntil(ctx, 20*time.Second, func() bool { return d.conflictsAtCentral(ctx) > conflicts }); err != nil {
		return fmt.Errorf("demo story: central did not find the conflict: %w", err)
	}
	say("  and central found it in the gates' uploads: open on the ops dashboard's conflicts (%s/ops/conflicts)", d.url)
	if failed != nil {
		return failed
	}
	say("\nThe story took %s. Every step used the real components: central on SQLite, Badger ledgers on disk,", time.Since(start).Round(100*time.Millisecond))
	say("memberlist on loopback, the uplink's sync, QR images through gozxing, the devices' HTTP APIs with their tokens.")
	return nil
}

// conflictsAtCentral counts the conflicts central holds.
func (d *Demo) conflictsAtCentral(ctx context.Context) int {
	_, all, err := d.DB.ConflictCounts(ctx, "")
	if err != nil {
		return -1
	}
	return all
}

// alterSignature changes one character in the signature part of a code, in
// a way that keeps it valid base45: the forgery a gate must catch by its
// signature.
func alterSignature(code string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	b := []byte(code)
	i := len(b) - 3 // the last full group of three holds signature bytes
	if (len(b)-len(ticket.CodePrefix))%3 == 2 {
		i = len(b) - 5
	}
	c := strings.IndexByte(alphabet, b[i])
	e := strings.IndexByte(alphabet, b[i+1])
	f := strings.IndexByte(alphabet, b[i+2])
	next := (c + 1) % 45
	if next+e*45+f*2025 > 0xffff {
		next = (c + 44) % 45
	}
	b[i] = alphabet[next]
	return string(b)
}
