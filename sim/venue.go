package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
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

// venue is the scenario's venue at central: its site, and the plan it was
// made from.
type venue struct {
	site *site
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
	// ranges are the serials of each ticket type, as central issues them:
	// one type after the other, in the share of each.
	ranges []typeRange
}

// typeRange is a ticket type's serials, first to last.
type typeRange struct {
	typ         uint64
	first, last uint64
}

// holder is who holds the ticket with this serial: its type, zone and day.
func (p *plan) holder(serial uint64) (typ uint64, zone, day int) {
	i, _ := slices.BinarySearchFunc(p.ranges, serial, func(r typeRange, n uint64) int { return cmp.Compare(r.last, n) })
	typ = p.ranges[min(i, len(p.ranges)-1)].typ
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
	// Each type's count is its share of the tickets (the spec's pattern),
	// its serials one block.
	count := map[uint64]uint64{}
	for n := uint64(1); n <= uint64(s.Tickets); n++ {
		_, typ, _ := spec.TypeOf(n)
		count[typ]++
	}
	next := uint64(1)
	for _, t := range spec.TicketTypes {
		if c := count[t.ID]; c > 0 {
			p.ranges = append(p.ranges, typeRange{typ: t.ID, first: next, last: next + c - 1})
			next += c
		}
	}
	return p
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

// gate is one simulated turnstile: a real ledger on disk, a mesh node on
// loopback and an uplink to central.
type gate struct {
	i    int
	name string
	zone int // -1 for a seller
	dir  string
	// seller: a roaming seller's handheld, not a gate (no lane, no
	// scans; it sells).
	seller bool

	// port is the mesh port, kept across a restart as a device keeps its
	// address: memberlist does not let a name come back at another one.
	port int

	mu       sync.Mutex
	deciding sync.RWMutex // held for reading by each decision
	up       bool
	ledger   *ledger.Ledger
	mesh     *cluster.Mesh
	uplink   *uplink.Client
	stopSync context.CancelFunc
	synced   chan struct{} // closed when the uplink's loop has returned
	// repaired is how long the last start took to repair a damaged
	// ledger from the peers (0: it opened sound).
	repaired time.Duration
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
	// ctx is the run's: a repair or a manifest pull ends with it.
	ctx context.Context
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

func (g *gate) role() ticket.Role {
	if g.seller {
		return ticket.RoleSeller
	}
	return ticket.RoleGate
}

// device is the node's device name at central and in the mesh.
func (g *gate) device() string {
	if g.seller {
		return "seller-" + g.name
	}
	return "gate-" + g.name
}

func (g *gate) clock(env *nodeEnv) ticket.Clock {
	if env.days != nil {
		return env.days
	}
	return ticket.SystemClock{}
}

func (g *gate) meshConfig(env *nodeEnv, id *ledger.Identity) cluster.Config {
	// The venue's own timers (DefaultConfig), on loopback.
	cfg := cluster.DefaultConfig()
	cfg.BindAddr, cfg.BindPort = "127.0.0.1", g.port
	cfg.Name = id.Cert.Device
	cfg.Keyring = [][]byte{id.MeshKey}
	cfg.Filter = env.faults.Filter(g.name)
	cfg.Meta = cluster.NodeMeta{Device: cfg.Name, Role: string(g.role()), Venue: simVenue, Gate: g.name, Version: "sim"}
	if g.seller {
		cfg.Meta.Gate = ""
	}
	// The faults a scenario schedules make every mesh warn of them (probes
	// failed, peers suspected): that is the run, not news to its reader,
	// who gets the report. Errors still show.
	cfg.Logger = slog.New(minLevel{env.log.Handler(), slog.LevelError})
	return cfg
}

// start opens the gate's ledger, pulls central's manifest the first time
// (load), joins the mesh through any gate in join and starts the uplink.
// A ledger found damaged is repaired from the peers in join, as the edge
// daemon does at its start.
func (g *gate) start(env *nodeEnv, join []string, load bool) error {
	var m *cluster.Mesh
	t0 := time.Now()
	l, err := ledger.Open(g.ledgerConfig(env))
	g.repaired = 0
	if errors.Is(err, ledger.ErrUnsound) && len(join) > 0 {
		ctx, cancel := context.WithTimeout(env.ctx, 2*time.Minute)
		id, ierr := ledger.LoadIdentity(g.dir)
		if ierr != nil {
			cancel()
			return ierr
		}
		l, m, err = cluster.Repair(ctx, g.ledgerConfig(env), g.meshConfig(env, id), join)
		cancel()
		g.repaired = time.Since(t0)
	}
	if err != nil {
		return err
	}
	cl, err := env.venue.site.client(g, env.log)
	if err != nil {
		l.Close()
		return err
	}
	dev := edge.UplinkDevice(l, g.clock(env))
	if load {
		ctx, cancel := context.WithTimeout(env.ctx, 5*time.Minute)
		err := cl.Pull(ctx, dev)
		cancel()
		if err != nil {
			l.Close()
			return fmt.Errorf("pull central's manifest: %w", err)
		}
	}
	l.OnRecord(func(raw []byte, local bool) { env.onRecord(g, raw, local) })
	if m == nil {
		if m, err = cluster.New(g.meshConfig(env, l.Identity()), l); err != nil {
			l.Close()
			return err
		}
		if len(join) > 0 {
			if err := joinRetrying(m, join); err != nil {
				m.Shutdown()
				l.Close()
				return err
			}
		}
	}
	env.faults.Name(m.Addr(), g.name)
	if _, p, err := net.SplitHostPort(m.Addr()); err == nil {
		g.port, _ = strconv.Atoi(p)
	}
	ctx, stopSync := context.WithCancel(context.Background())
	synced := make(chan struct{})
	go func() { defer close(synced); cl.Run(ctx, dev) }()
	g.mu.Lock()
	g.ledger, g.mesh, g.uplink, g.stopSync, g.synced, g.up = l, m, cl, stopSync, synced, true
	g.mu.Unlock()
	return nil
}

// joinRetrying joins the mesh through any of join, trying again a few
// times: on a loaded machine one exchange can time out, as on a busy venue
// network, and a device retries too.
func joinRetrying(m *cluster.Mesh, join []string) error {
	var err error
	for attempt := range 5 {
		if _, err = m.Join(join); err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
	return err
}

// stop takes the gate down.
func (g *gate) stop() {
	g.mu.Lock()
	l, m, stopSync, synced := g.ledger, g.mesh, g.stopSync, g.synced
	g.up = false
	g.mu.Unlock()
	if stopSync != nil {
		stopSync()
		<-synced
	}
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
	g.deciding.RLock() // before reading up: pause waits for what passed it
	defer g.deciding.RUnlock()
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

// pause stops the gate taking scans, its mesh and uplink still running,
// and returns once no decision is under way.
func (g *gate) pause() {
	g.mu.Lock()
	g.up = false
	g.mu.Unlock()
	g.deciding.Lock()
	g.deciding.Unlock()
}

// wakeUplink makes the gate sync with central now.
func (g *gate) wakeUplink() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.up {
		g.uplink.Wake()
	}
}

// sell sells one ticket of typ at price to a walk-up buyer.
func (g *gate) sell(typ uint64, price int64) (ledger.SoldTicket, time.Duration, error) {
	g.mu.Lock()
	l, up := g.ledger, g.up
	g.mu.Unlock()
	if !up {
		return ledger.SoldTicket{}, 0, errors.New("the seller is down")
	}
	start := time.Now()
	sold, err := l.Sell(context.Background(), ledger.Sale{Event: eventID, Type: typ, Quantity: 1, Price: price, Currency: simCurrency,
		Method: record.MethodCard, Ref: "sim", Seller: "staff", Till: g.name})
	took := time.Since(start)
	if err != nil {
		return ledger.SoldTicket{}, took, err
	}
	return sold.Tickets[0], took, nil
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
