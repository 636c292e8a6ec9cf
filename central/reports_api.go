package central

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

func (s *Server) reportRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/reports/sales", s.ops("read", s.salesReport))
	m.HandleFunc("GET /api/v1/reports/funnel", s.ops("read", s.funnelReport))
}

// SalesReport is GET /api/v1/reports/sales: the tickets sold from From
// until Until, grouped By, a row per group and currency.
type SalesReport struct {
	By    string           `json:"by"`
	From  time.Time        `json:"from"`
	Until time.Time        `json:"until"`
	Event uint64           `json:"event,omitempty"`
	Rows  []SalesReportRow `json:"rows"`
}

// SalesReportRow is one group: its key (the event and type ids by type,
// the event id by event, else the day, hour, channel, method, region or age
// band; "" where the buyer gave none), a name to show, and its figures.
type SalesReportRow struct {
	Key      string `json:"key"`
	Name     string `json:"name,omitempty"`
	Event    uint64 `json:"event,omitempty"`
	Type     uint64 `json:"type,omitempty"`
	Currency string `json:"currency"`
	Tickets  int64  `json:"tickets"`
	Revenue  int64  `json:"revenue"` // minor units of currency
	// Refunds is how many of the tickets were refunded, RefundAmount what
	// was paid back (minor units) and RefundRate Refunds over Tickets.
	Refunds      int64   `json:"refunds"`
	RefundAmount int64   `json:"refund_amount"`
	RefundRate   float64 `json:"refund_rate"`
	// Entered and NoShows, by type and by event: the tickets a gate
	// admitted, and the others.
	Entered *int64 `json:"entered,omitempty"`
	NoShows *int64 `json:"no_shows,omitempty"`
}

// reportPeriod reads from and until (RFC 3339, or a date, the whole day in
// tz, default UTC) and event; until defaults to now, from to 30 days
// before until.
func (s *Server) reportPeriod(r *http.Request) (from, until time.Time, event uint64, err error) {
	q := r.URL.Query()
	loc := time.UTC
	if tz := q.Get("tz"); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return from, until, 0, fmt.Errorf("tz %q: not an IANA time zone like Asia/Shanghai", tz)
		}
	}
	parse := func(name string, endOfDay bool) (time.Time, error) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q: give a date (2026-12-01) or an RFC 3339 time (2026-12-01T18:00:00+08:00)", name, v)
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if until, err = parse("until", true); err != nil {
		return
	}
	if from, err = parse("from", false); err != nil {
		return
	}
	if until.IsZero() {
		until = s.cfg.Clock.Now()
	}
	if from.IsZero() {
		from = until.AddDate(0, 0, -30)
	}
	if !from.Before(until) {
		return from, until, 0, fmt.Errorf("from %s is not before until %s", from.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	if v := q.Get("event"); v != "" {
		if event, err = strconv.ParseUint(v, 10, 64); err != nil || event == 0 {
			return from, until, 0, fmt.Errorf("event %q: an event id", v)
		}
	}
	return from, until, event, nil
}

func (s *Server) salesReport(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if by == "" {
		by = "type"
	}
	if _, ok := store.SalesDimensions[by]; !ok {
		dims := make([]string, 0, len(store.SalesDimensions))
		for d := range store.SalesDimensions {
			dims = append(dims, d)
		}
		slices.Sort(dims)
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, fmt.Sprintf("by %q: one of %s", by, strings.Join(dims, ", ")))
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, fmt.Sprintf("format %q: json or csv", format))
		return
	}
	from, until, event, err := s.reportPeriod(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	rows, err := s.cfg.Store.SalesReport(r.Context(), by, store.SalesFilter{From: from, Until: until, Event: event})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	rep := SalesReport{By: by, From: from, Until: until, Event: event, Rows: []SalesReportRow{}}
	names := map[string]string{}
	for _, sr := range rows {
		row := SalesReportRow{Key: sr.Key, Currency: sr.Currency, Tickets: sr.Tickets, Revenue: sr.Revenue, Refunds: sr.Refunded, RefundAmount: sr.Refunds}
		if sr.Tickets > 0 {
			row.RefundRate = float64(sr.Refunded) / float64(sr.Tickets)
		}
		switch by {
		case "type":
			row.Event, row.Type, row.Key = sr.Event, sr.Type, fmt.Sprintf("%d/%d", sr.Event, sr.Type)
			if _, ok := names[row.Key]; !ok {
				if tt, err := s.cfg.Store.TicketType(r.Context(), sr.Event, sr.Type); err == nil {
					names[row.Key] = tt.Name
				}
			}
		case "event":
			row.Event, row.Key = sr.Event, strconv.FormatUint(sr.Event, 10)
			if _, ok := names[row.Key]; !ok {
				if ev, err := s.cfg.Store.Event(r.Context(), sr.Event); err == nil {
					names[row.Key] = ev.Name
				}
			}
		}
		row.Name = names[row.Key]
		if by == "type" || by == "event" {
			entered, noShows := sr.Entered, sr.Tickets-sr.Refunded-sr.Entered
			row.Entered, row.NoShows = &entered, &noShows
		}
		rep.Rows = append(rep.Rows, row)
	}
	if format == "csv" {
		writeSalesCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// writeSalesCSV writes the report as CSV, amounts in minor units as in the
// JSON, for a spreadsheet.
func writeSalesCSV(w http.ResponseWriter, rep SalesReport) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sales-by-%s-%s.csv"`, rep.By, rep.From.Format("20060102")))
	cw := csv.NewWriter(w)
	cw.Write([]string{rep.By, "name", "currency", "tickets", "revenue_minor", "refunds", "refund_amount_minor", "entered", "no_shows"})
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, r := range rep.Rows {
		cw.Write([]string{r.Key, csvSafe(r.Name), r.Currency, strconv.FormatInt(r.Tickets, 10), strconv.FormatInt(r.Revenue, 10),
			strconv.FormatInt(r.Refunds, 10), strconv.FormatInt(r.RefundAmount, 10), opt(r.Entered), opt(r.NoShows)})
	}
	cw.Flush()
}

// csvSafe keeps a name a spreadsheet would read as a formula a text.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// FunnelReport is GET /api/v1/reports/funnel: the visitors who reached
// each step of the storefront's funnel, and the share who went on from
// the step before.
type FunnelReport struct {
	From  time.Time    `json:"from"`
	Until time.Time    `json:"until"`
	Event uint64       `json:"event,omitempty"`
	Steps []FunnelStep `json:"steps"`
}

// FunnelStep is one step of the funnel.
type FunnelStep struct {
	Step     string  `json:"step"`
	Visitors int64   `json:"visitors"`
	FromPrev float64 `json:"from_previous"` // of the previous step's visitors; 1 for the first
}

func (s *Server) funnelReport(w http.ResponseWriter, r *http.Request) {
	from, until, event, err := s.reportPeriod(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
		return
	}
	counts, err := s.cfg.Store.Funnel(r.Context(), event, from, until)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	rep := FunnelReport{From: from, Until: until, Event: event}
	for i, step := range store.FunnelSteps {
		fs := FunnelStep{Step: step, Visitors: counts[step], FromPrev: 1}
		if i > 0 {
			fs.FromPrev = 0
			if prev := rep.Steps[i-1].Visitors; prev > 0 {
				fs.FromPrev = float64(fs.Visitors) / float64(prev)
			}
		}
		rep.Steps = append(rep.Steps, fs)
	}
	writeJSON(w, http.StatusOK, rep)
}
