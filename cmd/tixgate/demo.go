package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// demoNet lets the demo cut the venue's network in two.
type demoNet struct {
	mu    sync.Mutex
	names map[string]string
	cut   map[string]bool // node names on the far side
}

func (n *demoNet) filter(from string) cluster.Filter {
	return func(addr string, _ bool) (bool, time.Duration) {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.cut[from] != n.cut[n.names[addr]], 0
	}
}

func (n *demoNet) split(names ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, name := range names {
		n.cut[name] = true
	}
}

func (n *demoNet) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = map[string]bool{}
}

type demoGate struct {
	name, gate string
	node       *edge.Node
}

// runDemo runs a whole venue on this machine: three gate devices with real
// ledgers on disk, a real mesh on loopback and their HTTP APIs, and walks
// through what happens at the gates on a busy night, saying what it did.
func runDemo(ctx context.Context, e *env, cl *cmdline) error {
	dir := cl.String("dir", "", "directory for the demo's files (default: a new temporary directory)")
	tickets := cl.Int("tickets", 20000, "tickets in the manifest")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "tixgate-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		*dir = d
	}
	out := e.stdout
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	scene := func(title string) { fmt.Fprintf(out, "\n== %s\n", title) }
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()

	say("tixgate demo: a venue on this machine, files in %s", *dir)

	scene("Setting up: keys, a signed manifest, three gates")
	keys, err := keyfile.Init(filepath.Join(*dir, "keys"), keyfile.InitOptions{})
	if err != nil {
		return err
	}
	say("organizer keys: root %s, issuer %s, central %s", keys.IssuerCert.Root, keys.IssuerCert.ID(), keys.CentralCert.ID())
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	spec.Events[0].Starts, spec.Events[0].Ends = now.Add(-time.Hour).Truncate(time.Second), now.Add(3*time.Hour).Truncate(time.Second)
	central := manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}
	var mf bytes.Buffer
	seq := uint64(0)
	err = spec.Build(manifest.BuildOptions{Signer: central, Issuers: []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster, Tickets: *tickets}, func(c manifest.Change) error {
		seq = c.Seq
		mf.Write(c.Marshal())
		return mf.WriteByte('\n')
	})
	if err != nil {
		return err
	}
	manifestFile := filepath.Join(*dir, "manifest.ndjson")
	if err := keyfile.WriteFile(manifestFile, mf.Bytes(), true); err != nil {
		return err
	}
	say("manifest: %d signed changes, %d tickets, %.1f MB (%s)", seq, *tickets, float64(mf.Len())/1e6, manifestFile)

	net := &demoNet{names: map[string]string{}, cut: map[string]bool{}}
	var gates []*demoGate
	defer func() {
		for _, g := range gates {
			g.node.Close()
		}
	}()
	for i, gate := range []string{"G1", "G2", "G3"} {
		name := fmt.Sprintf("gate-%d", i+1)
		gdir := filepath.Join(*dir, name)
		lcfg := ledger.DefaultConfig(gdir)
		lcfg.Logger = quiet
		if err := ledger.Init(ledger.Provision{Dir: gdir, Keys: keys, Device: name, Venue: "arena"}, lcfg); err != nil {
			return err
		}
		l, err := ledger.Open(lcfg)
		if err != nil {
			return err
		}
		t0 := time.Now()
		st, err := l.Import(ctx, bytes.NewReader(mf.Bytes()), nil)
		l.Close()
		if err != nil {
			return err
		}
		cfg := edge.DefaultConfig(gdir)
		cfg.Gate, cfg.Bind, cfg.Listen, cfg.Version = gate, "127.0.0.1:0", "127.0.0.1:0", version
		cfg.Ledger, cfg.Logger = lcfg, quiet
		cfg.Mesh.Filter = net.filter(name)
		if len(gates) > 0 {
			cfg.Join = []string{gates[0].node.MeshAddr()}
		}
		node, err := edge.Start(cfg)
		if err != nil {
			return err
		}
		net.mu.Lock()
		net.names[node.MeshAddr()] = name
		net.mu.Unlock()
		gates = append(gates, &demoGate{name: name, gate: gate, node: node})
		say("%s at gate %s: imported %d tickets in %s; mesh %s, API http://%s", name, gate, st.Tickets,
			time.Since(t0).Round(time.Millisecond), node.MeshAddr(), node.APIAddr())
	}
	if err := waitFor(10*time.Second, func() bool { return len(gates[2].node.Mesh().Peers()) == 2 && len(gates[0].node.Mesh().Peers()) == 2 }); err != nil {
		return fmt.Errorf("demo: the gates did not find each other: %w", err)
	}
	say("the three gates found each other over the encrypted mesh")

	// issue signs a code for a ticket of the manifest, with the type the
	// manifest lists for its serial: a code that disagrees is refused.
	issue := func(t ticket.Ticket) string {
		t.Event = 1042
		if _, typ, ok := spec.TypeOf(t.Serial); ok && t.Serial <= uint64(*tickets) {
			t.Type = typ
		}
		c, err := ticket.Issue(t, keys.Issuer)
		if err != nil {
			panic(err)
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
	png := filepath.Join(*dir, "ticket-1236.png")
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
	fake, _ := ticket.Issue(ticket.Ticket{Event: 1042, Serial: 98, Type: 1}, stranger)
	show(gates[0], "a well-made fake", fake)
	phone := issue(ticket.Ticket{Serial: 10, Type: 3, Rotating: true})
	secret := ticket.EventRotationSecret(keys.RotationMaster, 1042)
	show(gates[1], "phone ticket 10, a screenshot", ticket.WithRotation(phone, secret, 10, time.Now().Add(-2*time.Minute)))
	show(gates[1], "phone ticket 10, the live screen", ticket.WithRotation(phone, secret, 10, time.Now()))

	scene("A roaming seller sells offline, within a quota central signed")
	sellerKey, _ := ticket.GenerateKey(nil)
	quota, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: "seller-7", Key: ticket.PublicOf(sellerKey), Events: []uint64{1042},
		Types: []uint64{1}, SerialMin: 900000, SerialMax: 900099, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}, keys.Root)
	if err != nil {
		return err
	}
	if err := applyAndWait(gates, 0, central, seq+1, manifest.KindIssuer, &quota); err != nil {
		return err
	}
	seq++
	say("  central certified seller-7 for serials 900000-900099; the change reached gate-1 and spread to every gate")
	sold, _ := ticket.Issue(ticket.Ticket{Event: 1042, Serial: 900042, Type: 1}, sellerKey)
	d := show(gates[2], "ticket 900042 sold on the street", sold)
	say("  (known to the manifest: %v: admitted on its signature alone)", d.Known)
	over, _ := ticket.Issue(ticket.Ticket{Event: 1042, Serial: 900100, Type: 1}, sellerKey)
	show(gates[2], "ticket 900100, beyond the quota", over)

	scene("Central refunds ticket 77; one gate reaches central, the venue learns")
	if err := applyAndWait(gates, 2, central, seq+1, manifest.KindRevoke, &manifest.Revoke{Tickets: []manifest.TicketRef{{Event: 1042, Serial: 77}}, Reason: "refunded"}); err != nil {
		return err
	}
	seq++
	show(gates[0], "refunded ticket 77", issue(ticket.Ticket{Serial: 77, Type: 1}))

	scene("The venue network splits: gate-3 is cut off from gates 1 and 2")
	net.split("gate-3")
	split := issue(ticket.Ticket{Serial: 556, Type: 1})
	show(gates[0], "ticket 556", split)
	show(gates[2], "a copy of ticket 556", split)
	say("  both let it in: neither could know. The network heals…")
	net.heal()
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

	scene("The gates at the end")
	for _, g := range gates {
		st, _ := g.node.Ledger().Stats()
		ms := g.node.Mesh().Stats()
		say("  %s: %d records from %d devices, manifest at change %d, %d conflict(s), %d peers, sent %.1f kB",
			g.name, st.Records, len(st.Origins), st.ManifestSeq, st.Conflicts, len(g.node.Mesh().Peers()),
			float64(ms.PacketBytesOut+ms.StreamBytesOut)/1e3)
	}
	say("\nDone in %s. Every step used the real components: Badger ledgers on disk, memberlist on loopback,", time.Since(start).Round(100*time.Millisecond))
	say("QR images through gozxing, the HTTP API with its token. Files: %s", *dir)
	say("Next: tixgate ledger stats --data %s", filepath.Join(*dir, "gate-1"))
	return nil
}

// alterSignature changes one character in the signature part of a code, in
// a way that keeps it valid base45: the forgery a gate must catch by its
// signature.
func alterSignature(code string) string {
	const alphabet = "0123656789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
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
	req, _ := http.NewRequest("POST", "http://"+n.APIAddr()+"/api/v1/scans", bytes.NewReader(body))
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

func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
