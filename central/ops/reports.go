package ops

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/tixgate/tixgate/central/report"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/pricing"
)

// salesRow is one row of the sales screen: its figures for people, and
// its bar, as a share of the largest revenue in its currency.
type salesRow struct {
	Label, Currency                  string
	Tickets, Refunds                 int64
	Revenue, RefundAmount, RefundPct string
	Entered, NoShows                 string // "" when the dimension has none
	Bar                              float64
}

type funnelRow struct {
	Step     string
	Visitors int64
	Pct      string // of the step before
	Bar      float64
}

type salesData struct {
	base
	By, From, Until string
	Dims            []string
	Rows            []salesRow
	Entries         bool // the rows have entries and no-shows
	CSV             string
	Funnel          []funnelRow
	Error           string
}

// salesPage shows the tickets sold in a period, grouped by a dimension, as
// bars and as a table, with a CSV of the same beside them, and the
// storefront's funnel. Dates are the venue's.
func (u *UI) salesPage(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, _, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	v := r.URL.Query()
	if v.Get("tz") == "" {
		v.Set("tz", loc.String())
	}
	d := salesData{base: b, Dims: report.Dimensions(), By: v.Get("by"), From: v.Get("from"), Until: v.Get("until")}
	if d.By == "" {
		d.By = "type"
	}
	q, err := report.ParseQuery(v, u.cfg.Clock.Now())
	if err != nil {
		d.Error = err.Error()
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "sales", "sales.title", d))
		return
	}
	if d.From == "" {
		d.From = q.From.In(loc).Format("2006-01-02")
	}
	if d.Until == "" {
		d.Until = q.Until.In(loc).Format("2006-01-02")
	}
	if r.URL.Path == "/ops/sales.csv" {
		rep, err := report.SalesOf(r.Context(), u.cfg.Store, q)
		if err != nil {
			u.internal(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, rep.FileName()))
		rep.WriteCSV(w)
		return
	}
	rep, err := report.SalesOf(r.Context(), u.cfg.Store, q)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	lang := web.LangOf(r)
	most := map[string]int64{}
	for _, row := range rep.Rows {
		most[row.Currency] = max(most[row.Currency], row.Revenue)
	}
	for _, row := range rep.Rows {
		money := func(minor int64) string {
			c, err := pricing.ParseCurrency(row.Currency)
			if err != nil {
				return fmt.Sprintf("%d %s", minor, row.Currency)
			}
			return pricing.New(minor, c).Display(lang)
		}
		sr := salesRow{Label: u.salesLabel(r, q.By, row), Currency: row.Currency, Tickets: row.Tickets, Refunds: row.Refunds,
			Revenue: money(row.Revenue), RefundAmount: money(row.RefundAmount), RefundPct: fmt.Sprintf("%.1f%%", 100*row.RefundRate)}
		if m := most[row.Currency]; m > 0 {
			sr.Bar = 100 * float64(row.Revenue) / float64(m)
		}
		if row.Entered != nil {
			d.Entries = true
			sr.Entered, sr.NoShows = fmt.Sprint(*row.Entered), fmt.Sprint(*row.NoShows)
		}
		d.Rows = append(d.Rows, sr)
	}
	csv := url.Values{"by": {q.By}, "from": {d.From}, "until": {d.Until}, "tz": {v.Get("tz")}}
	if b.Venue != "" {
		csv.Set("venue", b.Venue)
	}
	d.CSV = "/ops/sales.csv?" + csv.Encode()
	fun, err := report.FunnelOf(r.Context(), u.cfg.Store, q)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	top := int64(0)
	for _, st := range fun.Steps {
		top = max(top, st.Visitors)
	}
	for i, st := range fun.Steps {
		fr := funnelRow{Step: st.Step, Visitors: st.Visitors}
		if i > 0 {
			fr.Pct = fmt.Sprintf("%.0f%%", 100*st.FromPrev)
		}
		if top > 0 {
			fr.Bar = 100 * float64(st.Visitors) / float64(top)
		}
		d.Funnel = append(d.Funnel, fr)
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "sales", "sales.title", d))
}

// salesLabel is what a row is called on the screen.
func (u *UI) salesLabel(r *http.Request, by string, row report.SalesRow) string {
	switch {
	case row.Name != "":
		return row.Name
	case row.Key == "":
		return u.site.T(r, "sales.unknown")
	case by == "channel" || by == "method":
		if t := u.site.T(r, "sales."+by+"."+row.Key); t != "sales."+by+"."+row.Key {
			return t
		}
	case by == "hour":
		return fmt.Sprintf("%s:00", row.Key)
	}
	return row.Key
}
