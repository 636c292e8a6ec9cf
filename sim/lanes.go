package sim

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
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
}

func newLanes(s *Scenario, gates []*gate, clk *clock, r *recorder) *laneSet {
	ls := &laneSet{s: s, clk: clk, r: r, usedAt: map[uint64]int{}, rnd: rand.New(rand.NewPCG(s.Seed, s.Seed+2))}
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

		d, ok := ln.g.decide(p.code)
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
			ls.mu.Unlock()
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
