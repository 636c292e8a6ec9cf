package central

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are central's Prometheus series, counted as things happen in
// this process; several processes behind one load balancer are summed by
// the scraper.
type metrics struct {
	reg         *prometheus.Registry
	records     *prometheus.CounterVec // pushed records by outcome
	refusals    *prometheus.CounterVec // refused records by reason
	enrollments *prometheus.CounterVec // by result
	pulled      prometheus.Counter     // manifest changes served
	pulls       prometheus.Counter     // manifest pulls
	opsRefused  *prometheus.CounterVec // refused ops API calls by code
	suspended   prometheus.Counter     // requests of suspended devices refused
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_central_records_total",
		Help: "Records devices pushed, by outcome: stored, duplicate, refused."}, []string{"outcome"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_central_refusals_total",
		Help: "Pushed records refused, by reason."}, []string{"reason"})
	m.enrollments = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_central_enrollments_total",
		Help: "Enrollment requests, by result: ok or the error code."}, []string{"result"})
	m.pulled = prometheus.NewCounter(prometheus.CounterOpts{Name: "tixgate_central_manifest_changes_served_total",
		Help: "Manifest changes streamed to devices."})
	m.pulls = prometheus.NewCounter(prometheus.CounterOpts{Name: "tixgate_central_manifest_pulls_total", Help: "Manifest pulls begun."})
	m.opsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tixgate_central_ops_refused_total",
		Help: "Ops API calls refused, by code: unauthorized, forbidden, rate_limited."}, []string{"code"})
	m.suspended = prometheus.NewCounter(prometheus.CounterOpts{Name: "tixgate_central_suspended_requests_total",
		Help: "Requests of suspended devices refused with device_suspended."})
	m.reg.MustRegister(m.records, m.refusals, m.enrollments, m.pulled, m.pulls, m.opsRefused, m.suspended,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
