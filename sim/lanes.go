package sim

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tixgate/tixgate/ledger/rules"
)

// lane is the queue in front of one gate.
type lane struct {
	g     *gate
	queue []*person
	busy  bool // someone is at the turnstile
}

// waiting is how many people a newcomer sees at the gate.
func (ln *lane) waiting() int {
	if ln.busy {
		return len(ln.queue) + 1
	}
	return len(ln.queue)
}

// laneSet is every gate's queue: people join the shortest queue of their
// zone's gates that are up; each gate lets one through per service time.
type laneSet struct {
	s       *Scenario
	clk     *clock
	r       *recorder
	mu      sync.Mutex
	cond    *sync.Cond
	lanes   []*lane
	closed  bool
	pending sync.WaitGroup // people sent on to another gate, not yet there
	// usedAt is the gate that admitted a serial: a screenshot's second
	// holder goes to another gate of the zone.
	usedAt map[uint64]int
	rnd    *rand.Rand // breaks ties between equally short queues; under mu
	// inside is who is in the venue now, by serial: the gate they came
	// in by and who they are, for their way out.
	inside map[uint64]insideAt
}

type insideAt struct {
	gate int
	p    *person
}

func newLanes(s *Scenario, gates []*gate, clk *clock, r *recorder) *laneSet {
	ls := &laneSet{s: s, clk: clk, r: r, usedAt: map[uint64]int{}, inside: map[uint64]insideAt{}, rnd: rand.New(rand.NewPCG(s.Seed, s.Seed+2))}
	ls.cond = sync.NewCond(&ls.mu)
	for _, g := range gates {
		ls.lanes = append(ls.lanes, &lane{g: g})
	}
	return ls
}

// arrive puts p in the shortest queue of its zone's gates that are up
// (or of its zone's gates at all, when every one of them is down).
func (ls *laneSet) arrive(p *person) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.arriveLocked(p)
}

func (ls *laneSet) arriveLocked(p *person) {
	var best *lane
	avoid, dup := ls.usedAt[p.serial]
	dup = dup && p.kind == duplicate
	for pass := 0; pass < 3 && best == nil; pass++ {
		ties := 0
		for _, ln := range ls.lanes {
			if ln.g.zone != p.zone || (pass < 2 && !ln.g.isUp()) || (pass == 0 && dup && ln.g.i == avoid) {
				continue
			}
			switch {
			case best == nil || ln.waiting() < best.waiting():
				best, ties = ln, 1
			case ln.waiting() == best.waiting():
				// Among equally short queues people spread: each of the
				// ties is as likely to be chosen.
				ties++
				if ls.rnd.IntN(ties) == 0 {
					best = ln
				}
			}
		}
	}
	best.queue = append(best.queue, p)
	ls.r.arrived(p)
	ls.cond.Broadcast()
}

// down sends a crashed gate's queue to the zone's other gates.
func (ls *laneSet) down(i int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	q := ls.lanes[i].queue
	ls.lanes[i].queue = nil
	for _, p := range q {
		ls.r.unarrived(p)
		ls.arriveLocked(p)
	}
}

func (ls *laneSet) upAgain(int) {
	ls.mu.Lock()
	ls.cond.Broadcast()
	ls.mu.Unlock()
}

// close ends the queues once everyone sent on has arrived; the gates
// serve what is queued and stop.
func (ls *laneSet) close() {
	ls.pending.Wait()
	ls.mu.Lock()
	ls.closed = true
	ls.cond.Broadcast()
	ls.mu.Unlock()
}

// serve lets the queue of ln through its gate, one per service time.
func (ls *laneSet) serve(ctx context.Context, ln *lane) {
	service := time.Duration(float64(time.Minute) / ls.s.LaneRate)
	for {
		ls.mu.Lock()
		for !ls.closed && (len(ln.queue) == 0 || !ln.g.isUp()) && ctx.Err() == nil {
			ls.cond.Wait()
		}
		if len(ln.queue) == 0 || ctx.Err() != nil || !ln.g.isUp() {
			ls.mu.Unlock()
			if ls.closed || ctx.Err() != nil {
				return
			}
			continue
		}
		p := ln.queue[0]
		ln.queue = ln.queue[1:]
		ln.busy = true
		ls.mu.Unlock()

		d, ok := ln.g.decide(p.code, rules.In)
		if !ok { // the gate went down under this person: back in a queue
			ls.mu.Lock()
			ln.busy = false
			ls.arriveLocked(p)
			ls.mu.Unlock()
			continue
		}
		ls.r.decided(p, ln.g, d, ls.clk.since())
		if d.err == nil && d.OK() {
			ls.mu.Lock()
			if _, ok := ls.usedAt[p.serial]; !ok {
				ls.usedAt[p.serial] = ln.g.i
			}
			if _, in := ls.inside[p.serial]; !in && p.kind != duplicate {
				ls.inside[p.serial] = insideAt{gate: ln.g.i, p: p}
			}
			ls.mu.Unlock()
			if p.stay > 0 {
				ls.goOutAndBack(p)
			}
		}
		if p.then != nil {
			next := p.then
			ls.pending.Add(1)
			go func() {
				defer ls.pending.Done()
				time.Sleep(ls.clk.wall(next.at - ls.clk.since()))
				ls.arrive(next)
			}()
		}
		time.Sleep(ls.clk.wall(service))
		ls.mu.Lock()
		ln.busy = false
		ls.mu.Unlock()
	}
}

// goOutAndBack sends a holder out p.stay after coming in, and back in
// p.away later if the day still lasts then.
func (ls *laneSet) goOutAndBack(p *person) {
	ls.pending.Add(1)
	if ls.clk.since()+p.stay >= p.dayEnd {
		ls.pending.Done()
		return // in until the day closes
	}
	go func() {
		defer ls.pending.Done()
		time.Sleep(ls.clk.wall(p.stay))
		if !ls.exit(p.serial) {
			return // gone out at the day's close already
		}
		back := ls.clk.since() + p.away
		if back >= p.dayEnd {
			return
		}
		time.Sleep(ls.clk.wall(p.away))
		ls.arrive(&person{at: back, serial: p.serial, code: p.code, zone: p.zone, kind: good, typ: p.typ, dayEnd: p.dayEnd})
	}()
}

// exit lets a holder out through a gate of their zone that is up (the one
// they came in by when it is), or any gate up. It reports whether they
// were inside.
func (ls *laneSet) exit(serial uint64) bool {
	ls.mu.Lock()
	in, ok := ls.inside[serial]
	delete(ls.inside, serial)
	ls.mu.Unlock()
	if !ok {
		return false
	}
	order := []*lane{ls.lanes[in.gate]}
	for _, same := range []bool{true, false} {
		for _, ln := range ls.lanes {
			if (ln.g.zone == in.p.zone) == same && ln.g.i != in.gate {
				order = append(order, ln)
			}
		}
	}
	for _, ln := range order {
		if d, up := ln.g.decide(in.p.code, rules.Out); up {
			ls.r.decided(in.p, ln.g, d, ls.clk.since())
			return true
		}
	}
	return true // every gate down: out without a scan
}

// closeDay lets out everyone still inside at the day's end, each through
// a gate of their zone, evenly over the first half of the night (people
// leave over an hour, not in one instant); it returns when they are out.
func (ls *laneSet) closeDay() {
	ls.mu.Lock()
	var serials []uint64
	for s := range ls.inside {
		serials = append(serials, s)
	}
	ls.mu.Unlock()
	slices.Sort(serials)
	var wg sync.WaitGroup
	work := make(chan uint64)
	for range len(ls.lanes) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				ls.exit(s)
			}
		}()
	}
	start, every := time.Now(), time.Duration(0)
	if len(serials) > 0 {
		every = ls.clk.wall(ls.s.Night/2) / time.Duration(len(serials))
	}
	for i, s := range serials {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		work <- s
	}
	close(work)
	wg.Wait()
}

// sample records every queue's length each scenario minute.
func (ls *laneSet) sample(stop <-chan struct{}) {
	t := time.NewTicker(ls.clk.wall(time.Minute))
	defer t.Stop()
	for {
		ls.mu.Lock()
		q := make([]int, len(ls.lanes))
		for i, ln := range ls.lanes {
			q[i] = len(ln.queue)
		}
		ls.mu.Unlock()
		ls.r.queues(ls.clk.since(), q)
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}
