package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// runDemoStory walks through what happens at the gates on a busy night,
// through the gates' HTTP APIs, saying what it did.
func runDemoStory(dir string, v *demoVenue, gates []*demoGate, net *cluster.Faults, say func(string, ...any)) error {
	scene := func(title string) { say("\n== %s", title) }
	start := time.Now()
	keys, spec, seq := v.keys, v.spec, v.seq
	event := spec.Events[0].ID
	now := time.Now()

	// issue signs a code for a ticket of the manifest, with the type the
	// manifest lists for its serial: a code that disagrees is refused.
	var issueErr error
	issue := func(t ticket.Ticket) string {
		t.Event = event
		if _, typ, ok := spec.TypeOf(t.Serial); ok && t.Serial <= uint64(v.tickets) {
			t.Type = typ
		}
		c, err := ticket.Issue(t, keys.Issuer)
		if err != nil && issueErr == nil {
			issueErr = fmt.Errorf("demo: issue ticket %d: %w", t.Serial, err)
		}
		return c
	}
	show := func(g *demoGate, what, code string) decision.Decision {
		t0 := time.Now()
		d, err := apiScan(g.node, code, "")
		if err != nil {
			say("  %s: %v", g.name, err)
			return d
		}
		verdict := "OPEN"
		if !d.OK() {
			verdict = "STAY SHUT"
		}
		line := fmt.Sprintf("  %-3s %-34s → %-9s %s", g.gate, what, verdict, d.Reason)
		if d.Detail != "" {
			line += ": " + d.Detail
		}
		say("%s (%s)", line, time.Since(t0).Round(100*time.Microsecond))
		return d
	}

	scene("Doors open: a holder shows ticket 1236 at G1")
	code := issue(ticket.Ticket{Serial: 1236, Type: 1})
	png := filepath.Join(dir, demoTicketsDir, "ticket-1236.png")
	img, err := scanner.RenderPNG(code, 400)
	if err != nil {
		return err
	}
	if err := keyfile.WriteFileMode(png, img, 0o644, true); err != nil {
		return err
	}
	t0 := time.Now()
	read, err := scanner.DecodeBytes(img)
	if err != nil || read != code {
		return fmt.Errorf("demo: camera read %q: %v", read, err)
	}
	say("  the camera reads the QR code (%s, %d characters) in %s", png, len(code), time.Since(t0).Round(100*time.Microsecond))
	show(gates[0], "ticket 1236", read)
	time.Sleep(300 * time.Millisecond)
	say("  …a friend tries the same ticket at G2 a moment later:")
	show(gates[1], "ticket 1236 again", read)

	scene("The checks a gate makes on its own")
	show(gates[0], "balcony ticket 4 at a floor gate", issue(ticket.Ticket{Serial: 4, Type: 2}))
	show(gates[0], "a ticket with one character off", alterSignature(issue(ticket.Ticket{Serial: 99, Type: 1})))
	stranger, _ := ticket.GenerateKey(nil)
	fake, _ := ticket.Issue(ticket.Ticket{Event: event, Serial: 98, Type: 1}, stranger)
	show(gates[0], "a well-made fake", fake)
	phone := issue(ticket.Ticket{Serial: 10, Type: 3, Rotating: true})
	secret := ticket.EventRotationSecret(keys.RotationMaster, event)
	show(gates[1], "phone ticket 10, a screenshot", ticket.WithRotation(phone, secret, 10, time.Now().Add(-2*time.Minute)))
	show(gates[1], "phone ticket 10, the live screen", ticket.WithRotation(phone, secret, 10, time.Now()))

	scene("A roaming seller sells offline, within a quota central signed")
	central := manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}
	sellerKey, _ := ticket.GenerateKey(nil)
	quota, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: "seller-7", Key: ticket.PublicOf(sellerKey), Events: []uint64{event},
		Types: []uint64{1}, SerialMin: 900000, SerialMax: 900099, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}, keys.Root)
	if err != nil {
		return err
	}
	if err := applyAndWait(gates, 0, central, seq+1, manifest.KindIssuer, &quota); err != nil {
		return err
	}
	seq++
	say("  central certified seller-7 for serials 900000 to 900099; the change reached gate-1 and spread to every gate")
	sold, _ := ticket.Issue(ticket.Ticket{Event: event, Serial: 900042, Type: 1}, sellerKey)
	d := show(gates[2], "ticket 900042 sold on the street", sold)
	say("  (known to the manifest: %v: admitted on its signature alone)", d.Known)
	over, _ := ticket.Issue(ticket.Ticket{Event: event, Serial: 900100, Type: 1}, sellerKey)
	show(gates[2], "ticket 900100, beyond the quota", over)

	scene("Central refunds ticket 77; one gate reaches central, the venue learns")
	if err := applyAndWait(gates, 2, central, seq+1, manifest.KindRevoke, &manifest.Revoke{Tickets: []manifest.TicketRef{{Event: event, Serial: 77}}, Reason: "refunded"}); err != nil {
		return err
	}
	show(gates[0], "refunded ticket 77", issue(ticket.Ticket{Serial: 77, Type: 1}))

	scene("The venue network splits: gate-3 is cut off from gates 1 and 2")
	net.Isolate("gate-3")
	split := issue(ticket.Ticket{Serial: 556, Type: 1})
	show(gates[0], "ticket 556", split)
	show(gates[2], "a copy of ticket 556", split)
	say("  both let it in: neither could know. The network heals…")
	net.Heal()
	if err := waitFor(20*time.Second, func() bool {
		for _, g := range gates {
			if cs, _ := g.node.Ledger().Conflicts(); len(cs) == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("demo: the conflict was not found everywhere: %w", err)
	}
	cs, _ := gates[1].node.Ledger().Conflicts()
	c := cs[0]
	say("  every gate now holds the same conflict: ticket %d entered at %s (%s) and again at %s (%s): %s",
		c.Serial, c.First.Gate, c.First.Device, c.Second.Gate, c.Second.Device, c.Reason)
	if issueErr != nil {
		return issueErr
	}

	scene("The gates at the end")
	for _, g := range gates {
		st, _ := g.node.Ledger().Stats()
		ms := g.node.Mesh().Stats()
		say("  %s: %d records from %d devices, manifest at change %d, %d conflict(s), %d peers, sent %.1f kB",
			g.name, st.Records, len(st.Origins), st.ManifestSeq, st.Conflicts, len(g.node.Mesh().Peers()),
			float64(ms.PacketBytesOut+ms.StreamBytesOut)/1e3)
	}
	say("\nThe story took %s. Every step used the real components: Badger ledgers on disk, memberlist on loopback,", time.Since(start).Round(100*time.Millisecond))
	say("QR images through gozxing, the HTTP API with its token. Files: %s", dir)
	return nil
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
	d := strings.IndexByte(alphabet, b[i+1])
	e := strings.IndexByte(alphabet, b[i+2])
	next := (c + 1) % 45
	if next+d*45+e*2025 > 0xffff {
		next = (c + 44) % 45
	}
	b[i] = alphabet[next]
	return string(b)
}

// apiScan posts a scan to a node's API, as a turnstile's controller would.
func apiScan(n *edge.Node, code, gate string) (decision.Decision, error) {
	body, _ := json.Marshal(deviceapi.ScanRequest{Code: code, Gate: gate})
	req, _ := http.NewRequest("POST", n.URL()+"/api/v1/scans", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return decision.Decision{}, err
	}
	defer resp.Body.Close()
	var d decision.Decision
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return d, fmt.Errorf("API: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return d, json.NewDecoder(resp.Body).Decode(&d)
}

// applyAndWait signs a manifest change, applies it at one gate and waits
// for the mesh to carry it to the others.
func applyAndWait(gates []*demoGate, at int, s manifest.Signer, seq uint64, kind manifest.Kind, body any) error {
	c, err := s.Sign(seq, kind, body)
	if err != nil {
		return err
	}
	if _, err := gates[at].node.Ledger().ApplyChange(c.Marshal()); err != nil {
		return err
	}
	return waitFor(10*time.Second, func() bool {
		for _, g := range gates {
			if g.node.Ledger().ManifestSeq() < seq {
				return false
			}
		}
		return true
	})
}
