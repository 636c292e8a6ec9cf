package central

import (
	"context"
	"net/http"
	"time"

	"github.com/tixgate/tixgate/central/report"
	"github.com/tixgate/tixgate/uplink"
)

func (s *Server) reportRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/reports/sales", s.ops("read", s.salesReport))
	m.HandleFunc("GET /api/v1/reports/funnel", s.ops("read", s.funnelReport))
	m.HandleFunc("GET /api/v1/reports/buyers", s.ops("read", s.buyersReport))
	s.savedReportRoutes(m)
}

// buyersReport is GET /api/v1/reports/buyers (report.Buyers).
func (s *Server) buyersReport(w http.ResponseWriter, r *http.Request) {
	q, err := report.ParseQuery(r.URL.Query(), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	rep, err := report.BuyersOf(r.Context(), s.cfg.Store, q)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// salesReport is GET /api/v1/reports/sales (report.Sales), as JSON or,
// with format=csv, xlsx or pdf, a file.
func (s *Server) salesReport(w http.ResponseWriter, r *http.Request) {
	if !validFormat(w, r, s) {
		return
	}
	q, err := report.ParseQuery(r.URL.Query(), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	rep, err := report.SalesOf(r.Context(), s.cfg.Store, q)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.writeSales(w, r, rep, "Sales")
}

// funnelReport is GET /api/v1/reports/funnel (report.Funnel).
func (s *Server) funnelReport(w http.ResponseWriter, r *http.Request) {
	q, err := report.ParseQuery(r.URL.Query(), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	rep, err := report.FunnelOf(r.Context(), s.cfg.Store, q)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// rollUpLoop keeps the sales reports' hourly roll-up current: at start,
// then every half minute.
func (s *Server) rollUpLoop(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		start := time.Now()
		hours, err := s.cfg.Store.RollUpSales(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.cfg.Logger.Error("sales roll-up", "err", err)
		case hours > 0:
			s.cfg.Logger.Debug("sales roll-up", "hours", hours, "took", time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
