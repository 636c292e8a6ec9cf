package edge

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tixgate/tixgate/ledger/record"
)

// metrics are the node's Prometheus series. Every figure is kept as it
// happens, so a scrape costs the same with ten tickets or ten million:
// nothing walks Badger on a scrape.
type metrics struct {
	reg       *prometheus.Registry
	scans     *prometheus.CounterVec // by result, reason, source
	latency   prometheus.Histogram   // decision time, seconds
	lag       prometheus.Histogram   // origin clock to receipt, seconds
	turnstile *prometheus.CounterVec // admissions by outcome
	overrides prometheus.Counter     // supervisor overrides
	refused   *prometheus.CounterVec // API calls refused, by why
	records   atomic.Int64           // records held, every origin
}

func newMetrics(n *Node, records int) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.records.Store(int64(records))
	m.scans = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_scans_total",
		Help: "Scans decided, by result, reason and input."}, []string{"result", "reason", "source"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tixgate_decision_seconds",
		Help:    "Time from a code read to its recorded decision.",
		Buckets: []float64{.0002, .0005, .001, .002, .003, .005, .01, .025, .05, .1, .25}})
	m.lag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tixgate_mesh_propagation_seconds",
		Help:    "Time from a peer's record (its clock) to its arrival here: the window in which one ticket can pass two gates.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}})
	m.turnstile = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_turnstile_admissions_total",
		Help: "Turnstile openings by outcome: passed, no_passage (annulled with count-on-passage), free_egress."}, []string{"outcome"})
	m.overrides = prometheus.NewCounter(prometheus.CounterOpts{Name: "tixgate_overrides_total", Help: "Supervisor overrides recorded."})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_api_refused_total",
		Help: "API calls refused, by why: auth, request."}, []string{"why"})
	m.reg.MustRegister(m.scans, m.latency, m.lag, m.turnstile, m.overrides, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_ledger_records", Help: "Records held, from every device."},
			func() float64 { return float64(m.records.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_ledger_disk_bytes", Help: "Ledger size on disk."},
			func() float64 { return float64(n.ledger.DiskSize()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_manifest_seq", Help: "Last manifest change applied."},
			func() float64 { return float64(n.ledger.ManifestSeq()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_mesh_queued", Help: "Records waiting in the mesh's broadcast queue."},
			func() float64 { return float64(n.mesh.Stats().Queued) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_nonces", Help: "Scan nonces remembered for idempotent retries."},
			func() float64 { return float64(n.nonces.len()) }),
		newPeersCollector(n),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tixgate_mesh_records_in_total", Help: "Records received from peers."},
			func() float64 { return float64(n.mesh.Stats().RecordsIn) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tixgate_mesh_rejected_total", Help: "Records and changes from peers the ledger refused."},
			func() float64 { return float64(n.mesh.Stats().Rejected) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tixgate_mesh_dropped_total", Help: "Mesh messages dropped because the inbox was full."},
			func() float64 { return float64(n.mesh.Stats().Dropped) }),
	)
	return m
}

// received counts a record newly stored; a peer's also gives its lag.
func (m *metrics) received(raw []byte, local bool, now time.Time) {
	m.records.Add(1)
	if local {
		return
	}
	if r, err := record.Unmarshal(raw); err == nil {
		if lag := now.Sub(r.HLC.Time()); lag >= 0 {
			m.lag.Observe(lag.Seconds())
		}
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// peersCollector reports the mesh's members by state.
type peersCollector struct {
	n    *Node
	desc *prometheus.Desc
}

func newPeersCollector(n *Node) *peersCollector {
	return &peersCollector{n: n, desc: prometheus.NewDesc("tixgate_mesh_peers", "Peers of the venue mesh by state.", []string{"state"}, nil)}
}

func (c *peersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *peersCollector) Collect(ch chan<- prometheus.Metric) {
	by := map[string]int{"alive": 0, "unverified": 0}
	for _, p := range c.n.mesh.Peers() {
		by[p.State]++
	}
	for state, k := range by {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(k), state)
	}
}
