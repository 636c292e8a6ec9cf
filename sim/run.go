package sim

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Options tune a run.
type Options struct {
	// Dir holds the keys and the gates' ledgers.
	Dir string
	// Converge bounds the wait, after the last attendee, for every gate
	// to hold every record.
	Converge time.Duration
	Logger   *slog.Logger
	// Progress gets a line at each stage of the run (the venue set up, the
	// doors open, the crowd through, the end); nil says nothing.
	Progress io.Writer
}

func (o Options) say(format string, a ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "sim: "+format+"\n", a...)
	}
}

type decisionOf struct {
	decision.Decision
	took time.Duration
	err  error
}

// kind of presentation: what the person at the turnstile holds.
type kind string

const (
	good      kind = "good"
	forged    kind = "forged"
	duplicate kind = "duplicate"
	revoked   kind = "revoked"
	wrongZone kind = "wrong_zone"
	walkUp    kind = "walk_up" // bought from a roaming seller minutes ago
)

// person is one presentation of a code at a gate of a zone.
type person struct {
	at     time.Duration // after doors open
	serial uint64
	code   string
	zone   int // the zone whose gates the person queues at
	kind   kind
	// then is who comes next for the same holder: the wrong-zone holder
	// sent on to the right gate.
	then *person
	typ  uint64 // the ticket's type
	// dayEnd is when the person's day closes (scenario time): a holder
	// out for a while comes back only before it.
	dayEnd time.Duration
	// stay and away, when set, send the holder out stay after coming in
	// and back in away later (re-entry).
	stay, away time.Duration
	// walk is how long a walk-up takes from the seller to the gates.
	walk time.Duration
}

// outcome is one decision as the run saw it.
type outcome struct {
	at      time.Duration // scenario time of the decision
	gate    int
	serial  uint64
	kind    kind
	d       decisionOf
	wall    time.Time // when it was decided, on the wall clock
	faulted bool      // a partition or a crashed gate at the time, or just after (settleWindow)
	lossy   bool      // packet loss at the time
}

// Run plays the scenario and reports.
func Run(ctx context.Context, s *Scenario, opt Options) (*Result, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Converge <= 0 {
		opt.Converge = 60 * time.Second
	}
	rnd := rand.New(rand.NewPCG(s.Seed, s.Seed+1))
	doors := time.Now().UTC().Truncate(time.Minute)
	plan := newPlan(s, doors)
	t0 := time.Now()
	opt.say("setting up: central issues %d tickets; %d gates and %d sellers enroll and pull its manifest", s.Tickets, s.Gates, s.Sellers)
	st, err := startSite(ctx, filepath.Join(opt.Dir, "central"), doors, opt.Logger)
	if err != nil {
		return nil, err
	}
	defer st.close()
	codes, err := st.issue(ctx, plan)
	if err != nil {
		return nil, err
	}
	crowd, revokedSerials := makeCrowd(s, plan, rnd)
	if err := st.revoke(ctx, revokedSerials); err != nil {
		return nil, err
	}
	v := &venue{site: st, plan: plan}
	// Codes as central signed them; forged ones with a stranger's key.
	_, stranger, _ := ed25519.GenerateKey(nil)
	for _, p := range crowd {
		for q := p; q != nil; q = q.then {
			q.code = codes[q.serial]
			if q.kind != forged {
				continue
			}
			if q.code, err = ticket.Issue(ticket.Ticket{Event: eventID, Serial: q.serial, Type: q.typ}, stranger); err != nil {
				return nil, err
			}
		}
	}

	r := newRecorder(s)
	faults := cluster.NewFaults(s.Seed)
	clk := &clock{sim0: doors, speed: s.Speed}
	env := &nodeEnv{venue: v, clock: clk, faults: faults, log: opt.Logger, onRecord: r.stored, ctx: ctx}
	if s.Days > 1 {
		env.days = &dayClock{}
	}
	gates := make([]*gate, s.Gates)
	for i := range gates {
		gates[i] = &gate{i: i, name: GateName(i), zone: v.zoneOf[i], dir: filepath.Join(opt.Dir, GateName(i))}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := st.enroll(ctx, gates[i], env); err != nil {
			return nil, err
		}
	}
	// The sellers, enrolled and given their quotas before any device
	// pulls the manifest that carries them.
	sellers := make([]*gate, s.Sellers)
	for i := range sellers {
		sellers[i] = &gate{i: i, name: SellerName(i), zone: -1, dir: filepath.Join(opt.Dir, SellerName(i)), seller: true}
		if err := st.enroll(ctx, sellers[i], env); err != nil {
			return nil, err
		}
		if err := st.allocate(ctx, sellers[i], plan, s.WalkUps); err != nil {
			return nil, err
		}
	}
	nodes := append(slices.Clone(gates), sellers...)
	defer func() {
		for _, g := range nodes {
			g.stop()
		}
	}()
	if env.days != nil {
		env.days.startDay(plan, 0)
	}
	for i, g := range nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var join []string
		if i > 0 {
			join = []string{gates[0].mesh.Addr()}
		}
		if err := g.start(env, join, true); err != nil {
			return nil, fmt.Errorf("sim: start %s: %w", g.name, err)
		}
	}
	for _, sl := range sellers {
		if _, err := sl.ledger.OpenShift(ctx, "staff", sl.name, 0, simCurrency); err != nil {
			return nil, fmt.Errorf("sim: %s: %w", sl.name, err)
		}
	}
	if !waitMesh(ctx, nodes, 30*time.Second) {
		return nil, errors.New("sim: the gates and sellers did not all see and prove each other within 30 s")
	}
	// The crowd's clock starts once every gate is up and knows the others.
	clk.wall0 = time.Now()
	opt.say("the venue is up in %v; doors open: %v of arrivals at %gx, about %.0f s", time.Since(t0).Round(time.Second), s.span(), s.Speed, s.span().Seconds()/s.Speed)

	lanes := newLanes(s, gates, clk, r)
	var wg sync.WaitGroup
	for _, ln := range lanes.lanes {
		wg.Add(1)
		go func() { defer wg.Done(); lanes.serve(ctx, ln) }()
	}
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() { defer close(sampled); lanes.sample(stopSampling) }()

	// Faults and arrivals in the scenario's order.
	type step struct {
		at    time.Duration
		fault *Fault
		p     *person
		close bool // the day's last hour: whoever is inside goes out
		day   int  // >0: the gates see the date of this day from now on
		buy   bool // p buys a ticket at a seller, then walks to a gate
	}
	var walking sync.WaitGroup
	var steps []step
	for d := range s.Days {
		if s.Days > 1 || s.reentering() {
			steps = append(steps, step{at: time.Duration(d)*s.dayLength() + s.Arrivals.Window, close: true})
		}
		if d > 0 {
			steps = append(steps, step{at: time.Duration(d) * s.dayLength(), day: d})
		}
	}
	for i := range s.Faults {
		steps = append(steps, step{at: s.Faults[i].At, fault: &s.Faults[i]})
	}
	for _, p := range crowd {
		steps = append(steps, step{at: p.at, p: p})
	}
	for _, p := range walkUps(s, rnd) {
		steps = append(steps, step{at: p.at, p: p, buy: true})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	for _, st := range steps {
		if wait := clk.wall(st.at - clk.since()); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		switch {
		case st.fault != nil:
			if err := applyFault(st.fault, gates, env, r, lanes); err != nil {
				return nil, err
			}
		case st.close:
			lanes.closeDay()
		case st.day > 0:
			env.days.startDay(plan, st.day)
		case st.buy:
			if !buy(st.p, sellers, rnd, r) {
				continue
			}
			walking.Add(1)
			go func(p *person) {
				defer walking.Done()
				select {
				case <-time.After(clk.wall(p.at - clk.since())):
				case <-ctx.Done():
					return
				}
				lanes.arrive(p)
			}(st.p)
		default:
			lanes.arrive(st.p)
		}
	}
	walking.Wait()
	lanes.close()
	opt.say("the crowd is through; the gates and central catch up")
	wg.Wait()
	close(stopSampling)
	<-sampled
	r.arrivalsEnd = clk.since()

	// Everything heals; every gate must then hold every record.
	faults.Heal()
	faults.SetLoss(0)
	for _, g := range gates {
		if !g.isUp() {
			var join []string
			for _, o := range gates {
				if o.isUp() && len(join) < 3 {
					join = append(join, o.mesh.Addr())
				}
			}
			if err := g.start(env, join, false); err != nil {
				return nil, fmt.Errorf("sim: restart %s: %w", g.name, err)
			}
		}
	}
	converged := waitConverged(ctx, nodes, opt.Converge)
	// Central: every gate syncs until it holds what the gates hold.
	st.link.set(false)
	synced := waitCentral(ctx, st, gates, opt.Converge)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	opt.say("the gates converged (%v) and central holds their records (%v); reconciling", converged, synced)
	return r.result(ctx, s, gates, st, converged, synced)
}

// waitCentral waits until central holds every record the first gate
// holds, waking the gates' uplinks now and then.
func waitCentral(ctx context.Context, st *site, gates []*gate, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		vv, err := gates[0].ledger.VersionVector()
		if err != nil {
			return false
		}
		if missing, err := st.holds(ctx, vv); err == nil && missing == 0 {
			return true
		}
		for _, g := range gates {
			g.wakeUplink()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// walkUps draws the people who come without a ticket: when each reaches
// a seller (on the first day's curve, early enough to buy and walk to a
// gate before it closes), the zone of the ticket they buy, and how long
// the walk takes.
func walkUps(s *Scenario, rnd *rand.Rand) []*person {
	var out []*person
	last := s.Arrivals.Window - 6*time.Minute
	for range s.WalkUps {
		at := time.Duration(-1)
		for at < 0 || at >= last {
			at = time.Duration(rnd.NormFloat64()*float64(s.Arrivals.Spread)) + s.Arrivals.Peak
		}
		zone := rnd.IntN(len(s.Zones))
		walk := 2*time.Minute + time.Duration(rnd.Int64N(int64(3*time.Minute)))
		out = append(out, &person{at: at, zone: zone, kind: walkUp, typ: uint64(zone + 1), dayEnd: s.Arrivals.Window, walk: walk})
	}
	return out
}

// buy sells p a ticket at a seller chosen at random and sends p on to
// the gates; false when no seller could sell (it is in the report).
func buy(p *person, sellers []*gate, rnd *rand.Rand, r *recorder) bool {
	sl := sellers[rnd.IntN(len(sellers))]
	t, took, err := sl.sell(p.typ, walkUpPrice)
	r.sold(sl, t, took, err)
	if err != nil {
		return false
	}
	p.serial, p.code, p.at = t.Serial, t.Code, p.at+p.walk
	return true
}

// makeCrowd draws who comes when, and with what: each holder on each day
// their ticket is valid, with the scenario's attendance; a bad ticket on
// the holder's first day only.
func makeCrowd(s *Scenario, p *plan, rnd *rand.Rand) (crowd []*person, refunded []uint64) {
	zones := len(s.Zones)
	after := s.Bad.DuplicateAfter
	for n := uint64(1); n <= uint64(s.Tickets); n++ {
		typ, zone, valid := p.holder(n)
		first := true
		var k kind
		for d := range s.Days {
			if valid >= 0 && d != valid || rnd.Float64() >= s.Attendance {
				continue
			}
			day0 := time.Duration(d) * s.dayLength()
			// A normal curve cut to the window: drawn again outside it,
			// so the window's edges get no pile of the tails.
			at := time.Duration(-1)
			for at < 0 || at >= s.Arrivals.Window {
				at = time.Duration(rnd.NormFloat64()*float64(s.Arrivals.Spread)) + s.Arrivals.Peak
			}
			at += day0
			end := day0 + s.Arrivals.Window
			h := &person{at: at, serial: n, zone: zone, kind: good, typ: typ, dayEnd: end}
			if first {
				switch x := rnd.Float64(); {
				case x < s.Bad.Forged:
					k = forged
				case x < s.Bad.Forged+s.Bad.Revoked:
					k = revoked
					refunded = append(refunded, n)
				case x < s.Bad.Forged+s.Bad.Revoked+s.Bad.WrongZone && zones > 1:
					k = wrongZone
				default:
					k = good
				}
			} else if k == forged || k == revoked {
				break // turned away the first day, gone for good
			}
			switch {
			case first && k == wrongZone:
				h.kind = wrongZone
				h.zone = (zone + 1 + rnd.IntN(zones-1)) % zones
				h.then = &person{at: at + time.Minute, serial: n, zone: zone, kind: good, typ: typ, dayEnd: end}
			case first:
				h.kind = k
			}
			if s.Reentry > 0 && rnd.Float64() < s.Reentry {
				good := h
				if good.then != nil {
					good = good.then
				}
				good.stay = 20*time.Minute + time.Duration(rnd.Int64N(int64(100*time.Minute)))
				good.away = 10*time.Minute + time.Duration(rnd.Int64N(int64(50*time.Minute)))
			}
			crowd = append(crowd, h)
			if first && h.kind == good && rnd.Float64() < s.Bad.Duplicate {
				d := after
				if d == 0 {
					d = 30*time.Second + time.Duration(rnd.Int64N(int64(270*time.Second)))
				}
				if at+d < end {
					crowd = append(crowd, &person{at: at + d, serial: n, zone: zone, kind: duplicate, typ: typ, dayEnd: end})
				}
			}
			first = false
		}
	}
	slices.SortStableFunc(crowd, func(a, b *person) int { return int(a.at - b.at) })
	return crowd, refunded
}

func applyFault(f *Fault, gates []*gate, env *nodeEnv, r *recorder, lanes *laneSet) error {
	r.fault(f, env.clock.since())
	switch {
	case len(f.Partition) > 0:
		env.faults.Isolate(f.Partition...)
	case f.Heal:
		env.faults.Heal()
	case f.Loss != nil:
		env.faults.SetLoss(*f.Loss)
	case f.Delay != nil:
		names := make([]string, len(gates))
		for i, g := range gates {
			names[i] = g.name
		}
		for _, n := range names {
			env.faults.Delay(n, names, *f.Delay)
		}
	case f.Uplink != "":
		env.venue.site.link.set(f.Uplink == "down")
		if f.Uplink == "up" {
			for _, g := range gates {
				g.wakeUplink()
			}
		}
	case f.Crash != "":
		g := gates[gateIndex(f.Crash)]
		g.stop()
		lanes.down(g.i)
	case f.Damage != "":
		// The gate's store is found damaged when it next starts (a card
		// that fails at boot): it stops scanning, its peers catch up on
		// what it recorded, and it goes down. A record lost with a disk
		// before any peer held it is another fault, and the repair would
		// wait for it forever, as a gate must.
		g := gates[gateIndex(f.Damage)]
		g.pause()
		lanes.down(g.i)
		waitPeersHold(g, gates, 10*time.Second)
		g.stop()
		// The store's MANIFEST lost: the gate must not open it as it is.
		if err := os.Remove(filepath.Join(g.dir, "db", "MANIFEST")); err != nil {
			return fmt.Errorf("sim: damage %s: %w", g.name, err)
		}
	case f.Restart != "":
		g := gates[gateIndex(f.Restart)]
		if g.isUp() {
			return nil
		}
		var join []string
		for _, o := range gates {
			if o.isUp() && len(join) < 3 {
				join = append(join, o.mesh.Addr())
			}
		}
		if err := g.start(env, join, false); err != nil {
			return fmt.Errorf("sim: restart %s: %w", g.name, err)
		}
		if g.repaired > 0 {
			r.repaired(g.name, g.repaired)
		}
		lanes.upAgain(g.i)
	}
	return nil
}

// waitPeersHold waits until every other gate that is up holds g's own
// records.
func waitPeersHold(g *gate, gates []*gate, limit time.Duration) {
	g.mu.Lock()
	l := g.ledger
	g.mu.Unlock()
	if l == nil {
		return
	}
	origin := l.Identity().ID()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		own, err := l.VersionVector()
		if err != nil {
			return
		}
		all := true
		for _, o := range gates {
			if o == g || !o.isUp() {
				continue
			}
			o.mu.Lock()
			ol := o.ledger
			o.mu.Unlock()
			vv, err := ol.VersionVector()
			all = all && err == nil && vv[origin] >= own[origin]
		}
		if all {
			return
		}
	}
}

func gateIndex(name string) int {
	var i int
	fmt.Sscanf(strings.TrimPrefix(name, "G"), "%d", &i)
	return i - 1
}

// waitMesh waits until every gate holds every other as a proven member.
func waitMesh(ctx context.Context, gates []*gate, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, g := range gates {
			alive := 0
			for _, p := range g.mesh.Peers() {
				if p.State == "alive" {
					alive++
				}
			}
			all = all && alive >= len(gates)-1
		}
		if all {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// waitConverged waits until every gate holds the same records.
func waitConverged(ctx context.Context, gates []*gate, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		same := true
		var first map[ticket.KeyID]uint64
		for i, g := range gates {
			vv, err := g.ledger.VersionVector()
			if err != nil {
				same = false
				break
			}
			if i == 0 {
				first = vv
				continue
			}
			if len(vv) != len(first) {
				same = false
				break
			}
			for o, n := range first {
				if vv[o] != n {
					same = false
				}
			}
		}
		if same {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// recordID parses a decision's record name, origin/seq.
func recordID(s string) (ticket.KeyID, uint64, error) {
	o, n, ok := strings.Cut(s, "/")
	if !ok {
		return ticket.KeyID{}, 0, errors.New("not origin/seq")
	}
	id, err := ticket.ParseKeyID(o)
	if err != nil {
		return id, 0, err
	}
	var seq uint64
	if _, err := fmt.Sscanf(n, "%d", &seq); err != nil {
		return id, 0, err
	}
	return id, seq, nil
}

// percentile of sorted durations, by nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// parseRecord is the record's id, for the propagation watch.
func parseRecord(raw []byte) (string, bool) {
	rec, err := record.Unmarshal(raw)
	if err != nil {
		return "", false
	}
	return rec.ID(), true
}
