package sim

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// eventID is the simulated event's id.
const eventID = 1

// clock is the scenario's time: speed times faster than the wall clock,
// from doors open.
type clock struct {
	wall0, sim0 time.Time
	speed       float64
}

func (c *clock) Now() time.Time {
	return c.sim0.Add(time.Duration(float64(time.Since(c.wall0)) * c.speed))
}

// since is the scenario time since doors opened.
func (c *clock) since() time.Duration { return c.Now().Sub(c.sim0) }

// wall is how long the wall clock takes for d of scenario time.
func (c *clock) wall(d time.Duration) time.Duration { return time.Duration(float64(d) / c.speed) }

// venue is the organizer's keys and the signed manifest of the scenario.
type venue struct {
	keys     *keyfile.Keys
	manifest []byte
	zoneOf   []int // gate index → zone
}

// newVenue makes keys and a manifest: one zone per scenario zone, gates
// spread over them, one single-entry ticket type per zone, and the revoked
// tickets revoked.
func newVenue(dir string, s *Scenario, doors time.Time, revoked []uint64) (*venue, error) {
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: doors.Add(-48 * time.Hour)})
	if err != nil {
		return nil, err
	}
	spec := &manifest.Spec{Venue: "sim", TimeZone: "UTC"}
	v := &venue{keys: keys}
	for z, name := range s.Zones {
		spec.Zones = append(spec.Zones, manifest.Zone{ID: z, Name: name})
		spec.TicketTypes = append(spec.TicketTypes, manifest.TicketTypeSpec{Event: eventID, ID: uint64(z + 1), Name: name, Zones: []int{z}, Rule: rules.Rule{}})
	}
	for i := range s.Gates {
		z := i % len(s.Zones)
		v.zoneOf = append(v.zoneOf, z)
		spec.Gates = append(spec.Gates, manifest.Gate{Name: GateName(i), Zone: z})
	}
	// The gates decide on the wall clock: the event is open from just
	// before the run until long after it.
	spec.Events = []manifest.EventSpec{{ID: eventID, Name: s.Name, Admission: doors.Add(-time.Minute),
		Starts: doors.Add(time.Hour), Ends: doors.Add(6 * time.Hour)}}
	// Tickets are typed by zone in turn: serial n is of zone (n-1) mod zones.
	share := 1
	for i := range spec.TicketTypes {
		spec.TicketTypes[i].Share = &share
	}
	signer := manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}
	var buf bytes.Buffer
	seq := uint64(0)
	err = spec.Build(manifest.BuildOptions{Signer: signer, Issuers: []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster, Tickets: s.Tickets}, func(c manifest.Change) error {
		seq = c.Seq
		buf.Write(c.Marshal())
		return buf.WriteByte('\n')
	})
	if err != nil {
		return nil, fmt.Errorf("sim: manifest: %w", err)
	}
	if len(revoked) > 0 {
		r := manifest.Revoke{Reason: "refunded"}
		for _, n := range revoked {
			r.Tickets = append(r.Tickets, manifest.TicketRef{Event: eventID, Serial: n})
		}
		c, err := signer.Sign(seq+1, manifest.KindRevoke, &r)
		if err != nil {
			return nil, fmt.Errorf("sim: revoke: %w", err)
		}
		buf.Write(c.Marshal())
		buf.WriteByte('\n')
	}
	v.manifest = buf.Bytes()
	return v, nil
}

// typeOf is the ticket type of a serial: its zone's.
func typeOf(serial uint64, zones int) uint64 { return (serial-1)%uint64(zones) + 1 }

// gate is one simulated turnstile: a real ledger on disk and a mesh node
// on loopback.
type gate struct {
	i    int
	name string
	zone int
	dir  string

	// port is the mesh port, kept across a restart as a device keeps its
	// address: memberlist does not let a name come back at another one.
	port int

	mu     sync.Mutex
	up     bool
	ledger *ledger.Ledger
	mesh   *cluster.Mesh
}

// nodeEnv is what starting a gate needs.
type nodeEnv struct {
	venue  *venue
	clock  *clock
	faults *cluster.Faults
	log    *slog.Logger
	// onRecord is told of every record a gate stores.
	onRecord func(g *gate, raw []byte, local bool)
}

func (g *gate) provision(env *nodeEnv, doors time.Time) error {
	return ledger.Init(ledger.Provision{Dir: g.dir, Keys: env.venue.keys, Device: "gate-" + g.name, Venue: "sim", Now: doors.Add(-time.Hour)}, g.ledgerConfig(env))
}

func (g *gate) ledgerConfig(env *nodeEnv) ledger.Config {
	cfg := ledger.TestConfig(g.dir) // no fsync: the simulation measures the mesh, not the disk
	cfg.MemTableSize, cfg.BlockCacheSize, cfg.IndexCacheSize = 2<<20, 1<<20, 1<<20
	cfg.Logger = env.log // on the wall clock, as the mesh: see the package doc
	return cfg
}

// start opens the gate's ledger (importing the manifest the first time)
// and joins the mesh through any gate in join.
func (g *gate) start(env *nodeEnv, join []string, load bool) error {
	l, err := ledger.Open(g.ledgerConfig(env))
	if err != nil {
		return err
	}
	if load {
		if _, err := l.Import(context.Background(), bytes.NewReader(env.venue.manifest), nil); err != nil {
			l.Close()
			return err
		}
	}
	l.OnRecord(func(raw []byte, local bool) { env.onRecord(g, raw, local) })
	// The venue's own timers (DefaultConfig), on loopback.
	cfg := cluster.DefaultConfig()
	cfg.BindAddr, cfg.BindPort = "127.0.0.1", g.port
	cfg.Name = "gate-" + g.name
	cfg.Keyring = [][]byte{env.venue.keys.MeshKey}
	cfg.Filter = env.faults.Filter(g.name)
	cfg.Meta = cluster.NodeMeta{Device: cfg.Name, Role: "gate", Venue: "sim", Gate: g.name, Version: "sim"}
	// The faults a scenario schedules make every mesh warn of them (probes
	// failed, peers suspected): that is the run, not news to its reader,
	// who gets the report. Errors still show.
	cfg.Logger = slog.New(minLevel{env.log.Handler(), slog.LevelError})
	m, err := cluster.New(cfg, l)
	if err != nil {
		l.Close()
		return err
	}
	env.faults.Name(m.Addr(), g.name)
	if _, p, err := net.SplitHostPort(m.Addr()); err == nil {
		g.port, _ = strconv.Atoi(p)
	}
	if len(join) > 0 {
		if _, err := m.Join(join); err != nil {
			m.Shutdown()
			l.Close()
			return err
		}
	}
	g.mu.Lock()
	g.ledger, g.mesh, g.up = l, m, true
	g.mu.Unlock()
	return nil
}

// stop takes the gate down.
func (g *gate) stop() {
	g.mu.Lock()
	l, m := g.ledger, g.mesh
	g.up = false
	g.mu.Unlock()
	if m != nil {
		m.Shutdown()
	}
	if l != nil {
		l.Close()
	}
}

// decide scans text at the gate; ok is false when the gate is down.
func (g *gate) decide(text string) (d decisionOf, ok bool) {
	g.mu.Lock()
	l, up := g.ledger, g.up
	g.mu.Unlock()
	if !up {
		return d, false
	}
	start := time.Now()
	dec, err := l.Decide(context.Background(), ledger.Scan{Text: text, Gate: g.name})
	d.took = time.Since(start)
	if err != nil {
		d.err = err
		return d, true
	}
	d.Decision = dec
	return d, true
}

func (g *gate) isUp() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.up
}

// minLevel passes on only the records at or above min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
