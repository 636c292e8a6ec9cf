package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// arrivals timestamps every record as each node stores it.
type arrivals struct {
	mu sync.Mutex
	at map[string]map[string]time.Time // record id → node → when
}

func watch(c *cluster) *arrivals {
	a := &arrivals{at: map[string]map[string]time.Time{}}
	for _, nd := range c.nodes {
		name := nd.name
		nd.ledger.OnRecord(func(raw []byte, _ bool) {
			now := time.Now()
			r, err := record.Unmarshal(raw)
			if err != nil {
				return
			}
			a.mu.Lock()
			m := a.at[r.ID()]
			if m == nil {
				m = map[string]time.Time{}
				a.at[r.ID()] = m
			}
			if _, ok := m[name]; !ok {
				m[name] = now
			}
			a.mu.Unlock()
		})
	}
	return a
}

// everywhere returns when the last node stored the record, once all have.
func (a *arrivals) everywhere(id string, nodes int) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.at[id]
	if len(m) < nodes {
		return time.Time{}, false
	}
	var last time.Time
	for _, t := range m {
		if t.After(last) {
			last = t
		}
	}
	return last, true
}

func venueConfig(eager bool) func(*Config) {
	return func(c *Config) {
		d := DefaultConfig()
		c.GossipInterval, c.GossipNodes, c.RetransmitMult = d.GossipInterval, d.GossipNodes, d.RetransmitMult
		c.ProbeInterval, c.ProbeTimeout, c.PushPullInterval = d.ProbeInterval, d.ProbeTimeout, d.PushPullInterval
		c.EagerPush = eager
	}
}

func trafficOut(c *cluster) uint64 {
	var n uint64
	for _, nd := range c.nodes {
		st := nd.mesh.Stats()
		n += st.PacketBytesOut + st.StreamBytesOut
	}
	return n
}

// BenchmarkSystemPropagation: the time from a scan until every node of the
// venue holds its record, p50 and p99, with the venue LAN configuration
// (DefaultConfig) on loopback; and the traffic each node sends while the
// venue scans 100 tickets a second.
func BenchmarkSystemPropagation(b *testing.B) {
	for _, tc := range []struct {
		nodes int
		eager bool
		loss  float64 // of packets
	}{{10, true, 0}, {50, true, 0}, {100, true, 0}, {50, false, 0}, {50, true, 0.2}} {
		mode := "eager+gossip"
		if !tc.eager {
			mode = "gossip-only"
		}
		name := fmt.Sprintf("nodes=%d/%s", tc.nodes, mode)
		if tc.loss > 0 {
			name += fmt.Sprintf("/loss=%.0f%%", tc.loss*100)
		}
		b.Run(name, func(b *testing.B) {
			c := newCluster(b, tc.nodes, venueConfig(tc.eager))
			c.net.setLoss(tc.loss)
			a := watch(c)
			rnd := rand.New(rand.NewPCG(1, uint64(tc.nodes)))
			const samples = 60
			var lat []time.Duration
			serial := uint64(10_000)
			for range b.N {
				for range samples {
					serial++
					nd := c.nodes[rnd.IntN(len(c.nodes))]
					start := time.Now()
					d := c.scanAt(nd, serial)
					if !d.OK() {
						b.Fatal(ledgertest.Describe(d))
					}
					var done time.Time
					ledgertest.WaitFor(b, 10*time.Second, "record everywhere", func() bool {
						var ok bool
						done, ok = a.everywhere(d.Record, tc.nodes)
						return ok
					})
					lat = append(lat, done.Sub(start))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")

			// Bandwidth: 100 scans a second across the venue for 5 s.
			before, start := trafficOut(c), time.Now()
			tick := time.NewTicker(10 * time.Millisecond)
			for range 500 {
				<-tick.C
				serial++
				c.scanAt(c.nodes[rnd.IntN(len(c.nodes))], serial)
			}
			tick.Stop()
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(trafficOut(c)-before)/secs/float64(tc.nodes)/1e3, "kB/s/node@100scans/s")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkSystemDoubleEntryWindow: one ticket scanned at two connected
// gates some time apart; the largest gap at which both let it in.
func BenchmarkSystemDoubleEntryWindow(b *testing.B) {
	for _, eager := range []bool{true, false} {
		name := "eager+gossip"
		if !eager {
			name = "gossip-only"
		}
		b.Run(name, func(b *testing.B) {
			c := newCluster(b, 10, venueConfig(eager))
			gaps := []time.Duration{0, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
				10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
			serial := uint64(50_000)
			var window time.Duration
			for range b.N {
				for _, gap := range gaps {
					for range 10 {
						serial++
						code := c.venue.Code(ticket.Ticket{Serial: serial})
						first := ledgertest.Scan(b, c.nodes[0].ledger, code, "G1")
						time.Sleep(gap)
						second := ledgertest.Scan(b, c.nodes[9].ledger, code, "G2")
						if first.OK() && second.OK() && gap > window {
							window = gap
						}
					}
				}
			}
			b.ReportMetric(ms(window), "window-ms")
		})
	}
}

// BenchmarkSystemCatchUp: a node that missed 100,000 records restarts and
// fetches them from a peer.
func BenchmarkSystemCatchUp(b *testing.B) {
	const missed = 100_000
	for range b.N {
		c := newCluster(b, 3, venueConfig(true))
		down := c.nodes[2]
		down.mesh.Shutdown()
		down.ledger.Close()
		// A fourth device's day of scans, stored at gate-1 while gate-3 is
		// down: signed, chained records, as the device made them.
		recs := signedRecords(b, c.venue, "gate-x", missed)
		if err := c.nodes[0].ledger.AddDeviceCert(recs.cert); err != nil {
			b.Fatal(err)
		}
		st, errs := c.nodes[0].ledger.Ingest(recs.raws)
		if len(errs) > 0 || st.Stored != missed {
			b.Fatalf("ingest at gate-1: %+v %v", st, errs[:min(3, len(errs))])
		}
		down.ledger = c.venue.OpenDir(down.dir)
		c.start(down)
		start := time.Now()
		if _, err := down.mesh.Join([]string{c.nodes[0].mesh.Addr()}); err != nil {
			b.Fatal(err)
		}
		ledgertest.WaitFor(b, 120*time.Second, "the node catches up", func() bool {
			vv, _ := down.ledger.VersionVector()
			return vv[recs.origin] == missed
		})
		b.ReportMetric(time.Since(start).Seconds(), "catchup-s")
		b.ReportMetric(float64(missed)/time.Since(start).Seconds(), "records/s")
	}
}

type recordSet struct {
	dir    string // the device's directory
	origin ticket.KeyID
	cert   ticket.DeviceCert
	raws   [][]byte
}

// signedRecords makes n entry records of a provisioned device, chained as
// its ledger would chain them.
func signedRecords(tb testing.TB, v *ledgertest.Venue, device string, n int) recordSet {
	tb.Helper()
	dir := v.Provision(device)
	id, err := ledger.LoadIdentity(dir)
	if err != nil {
		tb.Fatal(err)
	}
	rs := recordSet{dir: dir, origin: id.ID(), cert: id.Cert}
	var prev record.Hash
	t0 := time.Now().Add(-time.Hour)
	for i := range n {
		r := record.Record{Seq: uint64(i + 1), Prev: prev, HLC: record.NewHLC(t0.Add(time.Duration(i)*time.Millisecond), 0),
			Kind: record.KindEntry, Event: ledgertest.Event, Serial: uint64(200_000 + i), Type: 1, Gate: "G3"}
		if err := r.Sign(id.Key); err != nil {
			tb.Fatal(err)
		}
		raw := r.Marshal()
		prev = record.HashOf(raw)
		rs.raws = append(rs.raws, raw)
	}
	return rs
}

// BenchmarkSystemAckedOnNoPeer: how long after a scan is answered its
// record is still on no peer, p50 and p99 (the time until the first peer
// stores it), and the share of scans whose record had already been sent to
// every peer when the answer came.
func BenchmarkSystemAckedOnNoPeer(b *testing.B) {
	for _, eager := range []bool{true, false} {
		name := "eager+gossip"
		if !eager {
			name = "gossip-only"
		}
		b.Run(name, func(b *testing.B) {
			c := newCluster(b, 5, venueConfig(eager))
			a := watch(c)
			serial := uint64(60_000)
			var gaps []time.Duration
			sentFirst := 0
			for range b.N {
				for range 100 {
					serial++
					nd := c.nodes[0]
					before := nd.mesh.Stats().EagerSent
					d := c.scanAt(nd, serial)
					acked := time.Now()
					if nd.mesh.Stats().EagerSent-before >= uint64(len(c.nodes)-1) {
						sentFirst++
					}
					if !d.OK() {
						b.Fatal(ledgertest.Describe(d))
					}
					var first time.Time
					ledgertest.WaitFor(b, 10*time.Second, "a peer holds the record", func() bool {
						a.mu.Lock()
						defer a.mu.Unlock()
						for node, at := range a.at[d.Record] {
							if node != nd.name && (first.IsZero() || at.Before(first)) {
								first = at
							}
						}
						return !first.IsZero()
					})
					gaps = append(gaps, max(0, first.Sub(acked)))
				}
			}
			slices.Sort(gaps)
			b.ReportMetric(ms(gaps[len(gaps)/2]), "p50-ms")
			b.ReportMetric(ms(gaps[len(gaps)*99/100]), "p99-ms")
			b.ReportMetric(float64(sentFirst)*100/float64(len(gaps)), "%sent-before-answer")
		})
	}
}
