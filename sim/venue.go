package sim

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
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
	*plan
}

// plan is the venue's description before any key exists: zones, gates,
// the event and its ticket types, and what each type lets in.
type plan struct {
	spec   *manifest.Spec
	zoneOf []int // gate index → zone
	// typeZone and typeDay say, per ticket type, its zone and the day it
	// is valid on (-1: every day).
	typeZone map[uint64]int
	typeDay  map[uint64]int
	// base is the gates' time at the first day's doors. One day the gates
	// see the date of day d from base.Add(d×24h) on (dayClock); a one-day
	// scenario runs on the wall clock, base is the doors' time.
	base    time.Time
	tickets int
}

// holder is who holds the ticket with this serial: its type, zone and day.
func (p *plan) holder(serial uint64) (typ uint64, zone, day int) {
	_, typ, _ = p.spec.TypeOf(serial)
	return typ, p.typeZone[typ], p.typeDay[typ]
}

// newPlan lays the venue out: one zone per scenario zone, gates spread
// over them in turn, and per zone a ticket type (single entry for one
// day; with re-entry for a festival, valid every day) and, with day
// passes, a type per day valid on that day only.
func newPlan(s *Scenario, doors time.Time) *plan {
	p := &plan{spec: &manifest.Spec{Venue: "sim", TimeZone: "UTC"}, typeZone: map[uint64]int{}, typeDay: map[uint64]int{}, base: doors, tickets: s.Tickets}
	if s.Days > 1 {
		// Tomorrow at ten, so the gates' days never run back behind the
		// wall clock their ledgers were made on.
		p.base = doors.Truncate(24 * time.Hour).Add(34 * time.Hour)
	}
	spec := p.spec
	rule := rules.Rule{Reentry: s.reentering()}
	passShare, dayShare := 1, 0
	if s.DayPasses > 0 {
		passShare = int(math.Round(20 * (1 - s.DayPasses)))
		dayShare = max(int(math.Round(20*s.DayPasses/float64(s.Days))), 1)
	}
	for z, name := range s.Zones {
		spec.Zones = append(spec.Zones, manifest.Zone{ID: z, Name: name})
		id := uint64(z + 1)
		spec.TicketTypes = append(spec.TicketTypes, manifest.TicketTypeSpec{Event: eventID, ID: id, Name: name, Zones: []int{z}, Rule: rule, Share: &passShare})
		p.typeZone[id], p.typeDay[id] = z, -1
		if dayShare == 0 {
			continue
		}
		for d := range s.Days {
			id := uint64(len(s.Zones)*(d+1) + z + 1)
			day := rule
			day.Dates = []string{p.base.Add(time.Duration(d) * 24 * time.Hour).Format(time.DateOnly)}
			spec.TicketTypes = append(spec.TicketTypes, manifest.TicketTypeSpec{Event: eventID, ID: id,
				Name: fmt.Sprintf("%s, day %d", name, d+1), Zones: []int{z}, Rule: day, Share: &dayShare})
			p.typeZone[id], p.typeDay[id] = z, d
		}
	}
	for i := range s.Gates {
		z := i % len(s.Zones)
		p.zoneOf = append(p.zoneOf, z)
		spec.Gates = append(spec.Gates, manifest.Gate{Name: GateName(i), Zone: z})
	}
	// The event is open from just before the first doors until long after
	// the last day.
	last := p.base.Add(time.Duration(s.Days-1) * 24 * time.Hour)
	spec.Events = []manifest.EventSpec{{ID: eventID, Name: s.Name, Admission: p.base.Add(-time.Minute),
		Starts: p.base.Add(time.Hour), Ends: last.Add(12 * time.Hour)}}
	return p
}

// newVenue makes keys and the plan's manifest, the revoked tickets revoked.
func newVenue(dir string, p *plan, doors time.Time, revoked []uint64) (*venue, error) {
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: doors.Add(-48 * time.Hour)})
	if err != nil {
		return nil, err
	}
	v := &venue{keys: keys, plan: p}
	spec := p.spec
	signer := manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}
	var buf bytes.Buffer
	seq := uint64(0)
	err = spec.Build(manifest.BuildOptions{Signer: signer, Issuers: []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster, Tickets: p.tickets}, func(c manifest.Change) error {
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

// dayClock is the gates' clock in a festival: the wall clock moved on to
// the scenario's day (see plan.base), so their decisions, rules and
// records run at the wall's pace within a day, as latencies must.
type dayClock struct{ offset atomic.Int64 }

func (c *dayClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// startDay moves the clock to the doors of day d.
func (c *dayClock) startDay(p *plan, d int) {
	c.offset.Store(int64(p.base.Add(time.Duration(d) * 24 * time.Hour).Sub(time.Now())))
}

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
	// days is the gates' ledgers' clock in a festival, nil for one day
	// on the wall clock.
	days *dayClock
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
	if env.days != nil {
		cfg.Clock = env.days
	}
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

// decide scans text at the gate, going dir; ok is false when the gate is
// down.
func (g *gate) decide(text string, dir rules.Direction) (d decisionOf, ok bool) {
	g.mu.Lock()
	l, up := g.ledger, g.up
	g.mu.Unlock()
	if !up {
		return d, false
	}
	start := time.Now()
	dec, err := l.Decide(context.Background(), ledger.Scan{Text: text, Gate: g.name, Direction: dir})
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
