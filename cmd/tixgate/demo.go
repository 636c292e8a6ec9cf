package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// The demo's data folder: what it holds, so that a second run knows what
// it may reuse or remove, and never touches anything else.
const (
	demoStateFile   = "demo.json"       // written last: the venue is complete
	demoKeysDir     = "keys"            // the organizer's keys
	demoManifest    = "manifest.ndjson" // the signed manifest the gates imported
	demoTicketsDir  = "tickets"         // sample ticket PNGs and their index
	demoTicketIndex = "README.txt"
	demoEventDays   = 7 // the demo event runs a week from the first run
)

// demoGateNames are the demo's devices and the gates they serve.
var demoGateNames = [...]struct{ device, gate string }{{"gate-1", "G1"}, {"gate-2", "G2"}, {"gate-3", "G3"}}

// demoLogin is a staff account the demo makes on every gate. The PINs are
// drawn at the first run and kept in demo.json (0600) so that later runs
// can print them.
type demoLogin struct {
	Name string    `json:"name"`
	Role edge.Role `json:"role"`
	PIN  string    `json:"pin"`
	What string    `json:"what"`
}

// demoState is demo.json.
type demoState struct {
	Created   time.Time   `json:"created"`
	EventEnds time.Time   `json:"event_ends"`
	Tickets   int         `json:"tickets"`
	Logins    []demoLogin `json:"logins"`
}

// demoVenue is what the story needs of a new venue.
type demoVenue struct {
	keys    *keyfile.Keys
	spec    *manifest.Spec
	seq     uint64 // the manifest's last change
	tickets int
}

type demoGate struct {
	name, gate string
	node       *edge.Node
}

// defaultDemoDir is the data folder when --data is not given: one fixed
// place per user, so a second run finds the first one's venue.
func defaultDemoDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "tixgate", "demo")
	}
	return "tixgate-demo"
}

// runDemo runs a whole venue on this machine: three gate devices with real
// ledgers on disk, a real mesh on loopback and their HTTP APIs and UIs. The
// first run walks through a busy night at the gates, saying what happened;
// then the gates stay up until Ctrl-C (or SIGTERM) for staff to log in and
// scan the sample tickets. A second run reopens the same venue.
func runDemo(ctx context.Context, e *env, cl *cmdline) error {
	data := cl.String("data", defaultDemoDir(), "the demo's data folder, reused by the next run")
	reset := cl.Bool("reset", false, "remove the demo's data folder first and start a new venue")
	once := cl.Bool("once", false, "tell the story in a new venue and exit instead of keeping the gates up (tests, CI)")
	listen := cl.String("listen", "127.0.0.1:8081", "UI and API address of the first gate; the others take the next ports (port 0: any free port)")
	tickets := cl.Int("tickets", 20000, "tickets in the manifest of a new venue (at least 2000)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if *tickets < 2000 {
		return usageError("demo: --tickets %d: at least 2000 (the story and the samples use serials up to 1510)", *tickets)
	}
	listens, err := demoListens(*listen)
	if err != nil {
		return err
	}
	out := e.stdout
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The gates run on the machine's clock (their ledgers' and meshes' default),
	// so the venue's event is placed on it too, not on e.now.
	now := time.Now()

	if *reset {
		// A venue another demo is running is refused before anything is
		// removed: its gates are started first, which fails on a folder or
		// port in use.
		if old, _, err := loadDemoState(*data, now); err == nil && old != nil {
			probe, err := startDemoGates(*data, listens, cluster.NewFaults(1), quiet)
			for _, g := range probe {
				g.node.Close()
			}
			if err != nil && !errors.Is(err, ledger.ErrUnsound) {
				return err
			}
		}
		if err := clearDemoDir(*data); err != nil {
			return err
		}
	}
	st, why, err := loadDemoState(*data, now)
	if err != nil {
		return err
	}
	net := cluster.NewFaults(1)
	var gates []*demoGate
	defer func() {
		for _, g := range gates {
			g.node.Close()
		}
	}()
	if st != nil {
		// Started even for --once, which then makes a new venue: a venue
		// another demo is running is refused here, before anything is
		// removed.
		gates, err = startDemoGates(*data, listens, net, quiet)
		if err != nil {
			for _, g := range gates {
				g.node.Close()
			}
			gates = nil
			// Only a ledger that cannot prove itself sound is started
			// over: a busy port or a demo already running on this
			// folder is said, and the venue kept.
			if !errors.Is(err, ledger.ErrUnsound) {
				return err
			}
			st, why = nil, fmt.Sprintf("its ledgers are damaged (%v)", err)
		}
	}
	if st != nil && *once {
		for _, g := range gates {
			g.node.Close()
		}
		gates, st, why = nil, nil, "--once tells the story in a new venue"
	}
	if st == nil {
		if why != "" {
			say("tixgate demo: starting a new venue in %s: %s", *data, why)
			if err := clearDemoDir(*data); err != nil {
				return err
			}
		} else {
			say("tixgate demo: a new venue on this machine, files in %s", *data)
		}
		var v *demoVenue
		st, v, err = setUpDemo(ctx, e, *data, *tickets, now, say, quiet)
		if err != nil {
			return err
		}
		gates, err = startDemoGates(*data, listens, net, quiet)
		if err != nil {
			return err
		}
		if err := waitForMesh(gates); err != nil {
			return err
		}
		say("the three gates found each other over the encrypted mesh")
		if err := runDemoStory(*data, v, gates, net, say); err != nil {
			return err
		}
		// Written last: a venue whose story did not finish is started over.
		if err := keyfile.WriteJSON(filepath.Join(*data, demoStateFile), st, true); err != nil {
			return err
		}
	} else {
		say("tixgate demo: reopening the venue in %s (made %s; --reset starts a new one)", *data, st.Created.Local().Format(time.DateTime))
		if err := waitForMesh(gates); err != nil {
			return err
		}
		for _, g := range gates {
			ls, _ := g.node.Ledger().Stats()
			say("  %s at gate %s: %d records, manifest at change %d, %d conflict(s)", g.name, g.gate, ls.Records, ls.ManifestSeq, ls.Conflicts)
		}
	}
	stats := "tixgate ledger stats --data " + filepath.Join(*data, demoGateNames[0].device)
	if *once {
		say("Next: %s", stats)
		return nil
	}

	say("\n== The gates are open until Ctrl-C")
	for _, g := range gates {
		say("  %s (gate %s)  %s/", g.name, g.gate, g.node.URL())
	}
	say("  each opens its scan screen after a login; log in on any of them as:")
	for _, a := range st.Logins {
		say("    %-11s PIN %s  (%s)", a.Name, a.PIN, a.What)
	}
	say("  sample tickets to scan (hold one up to the camera, or type its code): %s",
		filepath.Join(*data, demoTicketsDir))
	say("  the API takes the bearer token in %s (docs/api.md)", filepath.Join(*data, demoGateNames[0].device, edge.TokenFile))
	say("  after Ctrl-C, %s shows a gate's ledger", stats)
	<-ctx.Done()
	say("\nstopping the gates; the venue stays in %s for the next run (--reset starts a new one)", *data)
	var cerr error
	for _, g := range gates {
		if err := g.node.Close(); err != nil && cerr == nil {
			cerr = fmt.Errorf("demo: stop %s: %w", g.name, err)
		}
	}
	gates = nil
	return cerr
}

// demoListens is the three gates' listen addresses from the first one's.
func demoListens(first string) ([]string, error) {
	host, port, err := splitPort(first)
	if err != nil || port > 65535-len(demoGateNames) {
		return nil, usageError("demo: --listen %q: want host:port, like 127.0.0.1:8081", first)
	}
	var ls []string
	for i := range demoGateNames {
		q := 0
		if port != 0 {
			q = port + i
		}
		ls = append(ls, net.JoinHostPort(host, strconv.Itoa(q)))
	}
	return ls, nil
}

// isDemoEntry says whether a name in the data folder is one the demo makes
// (a keyfile temporary left by a crash included).
func isDemoEntry(name string) bool {
	switch name {
	case demoStateFile, demoKeysDir, demoManifest, demoTicketsDir:
		return true
	}
	for _, g := range demoGateNames {
		if name == g.device {
			return true
		}
	}
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}

// demoEntries lists the data folder (none when it does not exist), refusing
// a folder that holds anything the demo does not make.
func demoEntries(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, en := range entries {
		if !isDemoEntry(en.Name()) {
			return nil, fmt.Errorf("demo: %s holds %q, which the demo did not make: give --data an empty or demo folder", dir, en.Name())
		}
	}
	return entries, nil
}

// clearDemoDir empties the data folder of what the demo made. A folder
// holding anything else is refused rather than emptied: --data may point
// at the wrong place.
func clearDemoDir(dir string) error {
	entries, err := demoEntries(dir)
	if err != nil {
		return err
	}
	for _, en := range entries {
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
			return fmt.Errorf("demo: clear %s: %w", dir, err)
		}
	}
	return nil
}

// loadDemoState reads the venue a previous run left. It returns nil and why
// when there is none to reuse: an empty folder (why is empty), a run that
// did not finish, an event that has ended.
func loadDemoState(dir string, now time.Time) (*demoState, string, error) {
	entries, err := demoEntries(dir)
	if err != nil || len(entries) == 0 {
		return nil, "", err
	}
	var st demoState
	if err := keyfile.ReadJSON(filepath.Join(dir, demoStateFile), &st); err != nil {
		return nil, "the last run did not finish", nil
	}
	if len(st.Logins) == 0 {
		return nil, "the last run's state has no logins", nil
	}
	if !now.Before(st.EventEnds) {
		return nil, "the last run's event has ended", nil
	}
	return &st, "", nil
}

// setUpDemo makes a new venue in dir: keys, a signed manifest, three gate
// ledgers that imported it, staff logins on each, and sample tickets.
func setUpDemo(ctx context.Context, e *env, dir string, tickets int, now time.Time, say func(string, ...any), quiet *slog.Logger) (*demoState, *demoVenue, error) {
	fmt.Fprintf(e.stdout, "\n== Setting up: keys, a signed manifest, three gates\n")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	keys, err := keyfile.Init(filepath.Join(dir, demoKeysDir), keyfile.InitOptions{Now: now})
	if err != nil {
		return nil, nil, err
	}
	say("organizer keys: root %s, issuer %s, central %s", keys.IssuerCert.Root, keys.IssuerCert.ID(), keys.CentralCert.ID())
	spec, err := demoSpec(now)
	if err != nil {
		return nil, nil, err
	}
	central := manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}
	var mf bytes.Buffer
	seq := uint64(0)
	err = spec.Build(manifest.BuildOptions{Signer: central, Issuers: []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster, Tickets: tickets}, func(c manifest.Change) error {
		seq = c.Seq
		mf.Write(c.Marshal())
		return mf.WriteByte('\n')
	})
	if err != nil {
		return nil, nil, err
	}
	manifestFile := filepath.Join(dir, demoManifest)
	if err := keyfile.WriteFile(manifestFile, mf.Bytes(), true); err != nil {
		return nil, nil, err
	}
	say("manifest: %d signed changes, %d tickets, %.1f MB (%s)", seq, tickets, float64(mf.Len())/1e6, manifestFile)

	st := &demoState{Created: now.UTC(), EventEnds: spec.Events[0].Ends, Tickets: tickets}
	for _, a := range []demoLogin{
		{Name: "gate", Role: edge.RoleGate, What: "scans tickets"},
		{Name: "supervisor", Role: edge.RoleSupervisor, What: "scans, and overrides a refusal"},
	} {
		if a.PIN, err = demoPIN(); err != nil {
			return nil, nil, err
		}
		st.Logins = append(st.Logins, a)
	}
	for _, g := range demoGateNames {
		gdir := filepath.Join(dir, g.device)
		lcfg := ledger.DefaultConfig(gdir)
		lcfg.Logger = quiet
		if err := ledger.Init(ledger.Provision{Dir: gdir, Keys: keys, Device: g.device, Venue: spec.Venue}, lcfg); err != nil {
			return nil, nil, err
		}
		l, err := ledger.Open(lcfg)
		if err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		ist, err := l.Import(ctx, bytes.NewReader(mf.Bytes()), nil)
		if cerr := l.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, err
		}
		for _, a := range st.Logins {
			if err := edge.AddStaff(gdir, a.Name, a.Role, a.PIN); err != nil {
				return nil, nil, fmt.Errorf("demo: %s: %w", g.device, err)
			}
		}
		say("%s for gate %s: imported %d tickets in %s", g.device, g.gate, ist.Tickets, time.Since(t0).Round(time.Millisecond))
	}
	n, err := writeDemoTickets(filepath.Join(dir, demoTicketsDir), spec, keys)
	if err != nil {
		return nil, nil, err
	}
	say("sample tickets: %d QR images in %s", n, filepath.Join(dir, demoTicketsDir))
	return st, &demoVenue{keys: keys, spec: spec, seq: seq, tickets: tickets}, nil
}

// demoSpec is the example venue, its concert running from an hour ago
// for demoEventDays.
func demoSpec(now time.Time) (*manifest.Spec, error) {
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Minute)
	spec.Events[0].Starts, spec.Events[0].Ends = now.Add(-time.Hour), now.AddDate(0, 0, demoEventDays)
	return spec, nil
}

// demoPIN draws a six-digit PIN.
func demoPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("demo: pin: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// demoSamples are the serials of the sample folder, unused when the story
// ends; demoExpect says what a gate of the floor does with each type.
var (
	demoSamples = []uint64{1501, 1502, 1503, 1504, 1505, 1506, 1507, 1508, 1509, 1510}
	demoExpect  = map[uint64]string{
		1: "ok at G1-G3 once, then already_used",
		2: "wrong_zone at G1-G3: a balcony ticket, for gate B1",
		3: "ok at G1-G3; re-entry: in again after an exit scan",
	}
)

// writeDemoTickets issues the sample tickets and renders them as PNGs with
// the scanner package, with an index saying what each is.
func writeDemoTickets(dir string, spec *manifest.Spec, keys *keyfile.Keys) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("demo: %w", err)
	}
	var index strings.Builder
	fmt.Fprintf(&index, "Sample tickets of the tixgate demo (event %d, %s at the %s).\n"+
		"Show one to a gate's camera, or type its code in the manual entry field.\n\n",
		spec.Events[0].ID, spec.Events[0].Name, spec.Venue)
	names := map[uint64]string{}
	for _, tt := range spec.TicketTypes {
		names[tt.ID] = tt.Name
	}
	for _, serial := range demoSamples {
		_, typ, _ := spec.TypeOf(serial)
		code, err := ticket.Issue(ticket.Ticket{Event: spec.Events[0].ID, Serial: serial, Type: typ}, keys.Issuer)
		if err != nil {
			return 0, fmt.Errorf("demo: issue ticket %d: %w", serial, err)
		}
		img, err := scanner.RenderPNG(code, 400)
		if err != nil {
			return 0, fmt.Errorf("demo: ticket %d: %w", serial, err)
		}
		name := fmt.Sprintf("ticket-%d.png", serial)
		if err := keyfile.WriteFileMode(filepath.Join(dir, name), img, 0o644, true); err != nil {
			return 0, err
		}
		fmt.Fprintf(&index, "%s  %s: %s\n  %s\n", name, names[typ], demoExpect[typ], code)
	}
	index.WriteString("ticket-1236.png  the story's ticket: already_used at every gate\n")
	// The story writes its own ticket, 1236, beside these.
	return len(demoSamples) + 1, keyfile.WriteFileMode(filepath.Join(dir, demoTicketIndex), []byte(index.String()), 0o644, true)
}

// startDemoGates starts the three gate nodes of the data folder, each
// joining the first.
func startDemoGates(dir string, listens []string, dn *cluster.Faults, quiet *slog.Logger) ([]*demoGate, error) {
	var gates []*demoGate
	for i, g := range demoGateNames {
		gdir := filepath.Join(dir, g.device)
		cfg := edge.DefaultConfig(gdir)
		cfg.Gate, cfg.Bind, cfg.Listen, cfg.Version = g.gate, "127.0.0.1:0", listens[i], version
		cfg.Ledger.Logger, cfg.Logger = quiet, quiet
		cfg.Mesh.Filter = dn.Filter(g.device)
		if len(gates) > 0 {
			cfg.Join = []string{gates[0].node.MeshAddr()}
		}
		node, err := edge.Start(cfg)
		if errors.Is(err, syscall.EADDRINUSE) {
			return gates, fmt.Errorf("demo: %s: %w (is a demo running already? --listen 127.0.0.1:0 takes free ports)", g.device, err)
		}
		if err != nil {
			return gates, fmt.Errorf("demo: %s: %w", g.device, err)
		}
		dn.Name(node.MeshAddr(), g.device)
		gates = append(gates, &demoGate{name: g.device, gate: g.gate, node: node})
	}
	return gates, nil
}

func waitForMesh(gates []*demoGate) error {
	err := waitFor(10*time.Second, func() bool {
		for _, g := range gates {
			if len(g.node.Mesh().Peers()) != len(gates)-1 {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("demo: the gates did not find each other: %w", err)
	}
	return nil
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
