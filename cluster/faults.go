package cluster

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Faults is a venue network that fails on purpose, for tests, the demo
// and the simulator: links cut one way or both, delays, and random packet
// loss, between nodes named as the caller likes. Give each node
// Config.Filter = f.Filter(name), and tell f whose address is whose with
// Name once the node listens. Memberlist's own transport carries every
// packet and stream, so what Faults drops is lost as a venue's Wi-Fi
// loses it.
type Faults struct {
	mu    sync.Mutex
	names map[string]string // addr → node name
	cut   map[[2]string]bool
	delay map[[2]string]time.Duration
	loss  float64 // of packets, not streams
	rnd   *rand.Rand
	// packetsOnly keeps streams through cut links: the loss of a venue's
	// broadcast traffic while its reliable repair still works.
	packetsOnly bool
}

// NewFaults is a network without faults; seed makes its random loss
// repeatable.
func NewFaults(seed uint64) *Faults {
	return &Faults{names: map[string]string{}, cut: map[[2]string]bool{}, delay: map[[2]string]time.Duration{},
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Name says that the node listening at addr (its mesh address) is name.
func (f *Faults) Name(addr, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names[addr] = name
}

// Filter is the Config.Filter of the node named from.
func (f *Faults) Filter(from string) Filter {
	return func(addr string, stream bool) (bool, time.Duration) {
		f.mu.Lock()
		defer f.mu.Unlock()
		link := [2]string{from, f.names[addr]}
		if f.cut[link] && (!stream || !f.packetsOnly) {
			return true, 0
		}
		if !stream && f.loss > 0 && f.rnd.Float64() < f.loss {
			return true, 0
		}
		return false, f.delay[link]
	}
}

// CutLink cuts what from sends to to, one way.
func (f *Faults) CutLink(from, to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[[2]string{from, to}] = true
}

// Partition cuts every link between the two groups, both ways.
func (f *Faults) Partition(a, b []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			f.cut[[2]string{x, y}] = true
			f.cut[[2]string{y, x}] = true
		}
	}
}

// Isolate cuts the named nodes from every other node f knows.
func (f *Faults) Isolate(names ...string) {
	f.mu.Lock()
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	var rest []string
	for _, n := range f.names {
		if !in[n] {
			rest = append(rest, n)
		}
	}
	f.mu.Unlock()
	f.Partition(names, rest)
}

// Heal restores every cut link; delays and loss stay.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
}

// Delay holds back what from sends to each of to, packets and streams.
func (f *Faults) Delay(from string, to []string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range to {
		if t != from {
			f.delay[[2]string{from, t}] = d
		}
	}
}

// SetLoss drops packets (not streams) at random with probability p.
func (f *Faults) SetLoss(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loss = p
}

// PacketsOnly makes cut links drop packets but let streams through.
func (f *Faults) PacketsOnly(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.packetsOnly = on
}
