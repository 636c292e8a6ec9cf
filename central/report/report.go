// Package report is central's analytics: the tickets sold, by every
// channel (online, the box office, roaming sellers), grouped by a dimension
// (ticket type, event, day, hour, channel, payment method, region, age
// band), with their refunds and, by type and event, the entries against
// them (no-shows); and the storefront's funnel from event page to payment.
// It reads the store's sales facts (one row per ticket sold, written by the
// code that sells) and funnel steps; the ops API and the ops screens show
// what it computes, as JSON, CSV or a chart.
package report

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// Query is what a report covers: tickets sold from From until Until
// (exclusive), of Event when not 0, grouped By.
type Query struct {
	By          string
	From, Until time.Time
	Event       uint64
}

// Dimensions are the values By may take, sorted.
func Dimensions() []string {
	dims := make([]string, 0, len(store.SalesDimensions))
	for d := range store.SalesDimensions {
		dims = append(dims, d)
	}
	slices.Sort(dims)
	return dims
}

// ParseQuery reads a query's by (default type), from and until (RFC 3339,
// or a date: the whole day in tz, default UTC) and event; until defaults
// to now, from to 30 days before until. The error says what to give.
func ParseQuery(v url.Values, now time.Time) (Query, error) {
	q := Query{By: v.Get("by")}
	if q.By == "" {
		q.By = "type"
	}
	if _, ok := store.SalesDimensions[q.By]; !ok {
		return q, fmt.Errorf("by %q: one of %s", q.By, strings.Join(Dimensions(), ", "))
	}
	loc := time.UTC
	if tz := v.Get("tz"); tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return q, fmt.Errorf("tz %q: not an IANA time zone like Asia/Shanghai", tz)
		}
	}
	parse := func(name string, endOfDay bool) (time.Time, error) {
		s := v.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q: give a date (2026-12-01) or an RFC 3339 time (2026-12-01T18:00:00+08:00)", name, s)
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	var err error
	if q.Until, err = parse("until", true); err != nil {
		return q, err
	}
	if q.From, err = parse("from", false); err != nil {
		return q, err
	}
	if q.Until.IsZero() {
		q.Until = now
	}
	if q.From.IsZero() {
		q.From = q.Until.AddDate(0, 0, -30)
	}
	if !q.From.Before(q.Until) {
		return q, fmt.Errorf("from %s is not before until %s", q.From.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if s := v.Get("event"); s != "" {
		if q.Event, err = strconv.ParseUint(s, 10, 64); err != nil || q.Event == 0 {
			return q, fmt.Errorf("event %q: an event id", s)
		}
	}
	return q, nil
}

// Sales is a sales report: the tickets sold from From until Until,
// grouped By, a row per group and currency.
type Sales struct {
	By    string     `json:"by"`
	From  time.Time  `json:"from"`
	Until time.Time  `json:"until"`
	Event uint64     `json:"event,omitempty"`
	Rows  []SalesRow `json:"rows"`
}

// SalesRow is one group: its key (the event and type ids by type,
// the event id by event, else the day, hour, channel, method, region or age
// band; "" where the buyer gave none), a name to show, and its figures.
type SalesRow struct {
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

// SalesOf computes the sales report of q.
func SalesOf(ctx context.Context, db *store.DB, q Query) (Sales, error) {
	rows, err := db.SalesReport(ctx, q.By, store.SalesFilter{From: q.From, Until: q.Until, Event: q.Event})
	if err != nil {
		return Sales{}, err
	}
	rep := Sales{By: q.By, From: q.From, Until: q.Until, Event: q.Event, Rows: []SalesRow{}}
	names := map[string]string{}
	for _, sr := range rows {
		row := SalesRow{Key: sr.Key, Currency: sr.Currency, Tickets: sr.Tickets, Revenue: sr.Revenue, Refunds: sr.Refunded, RefundAmount: sr.Refunds}
		if sr.Tickets > 0 {
			row.RefundRate = float64(sr.Refunded) / float64(sr.Tickets)
		}
		switch q.By {
		case "type":
			row.Event, row.Type, row.Key = sr.Event, sr.Type, fmt.Sprintf("%d/%d", sr.Event, sr.Type)
			if _, ok := names[row.Key]; !ok {
				if tt, err := db.TicketType(ctx, sr.Event, sr.Type); err == nil {
					names[row.Key] = tt.Name
				}
			}
		case "event":
			row.Event, row.Key = sr.Event, strconv.FormatUint(sr.Event, 10)
			if _, ok := names[row.Key]; !ok {
				if ev, err := db.Event(ctx, sr.Event); err == nil {
					names[row.Key] = ev.Name
				}
			}
		}
		row.Name = names[row.Key]
		if q.By == "type" || q.By == "event" {
			entered, noShows := sr.Entered, sr.Tickets-sr.Refunded-sr.Entered
			row.Entered, row.NoShows = &entered, &noShows
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}

// FileName is a download name for the report as CSV.
func (rep Sales) FileName() string {
	return fmt.Sprintf("sales-by-%s-%s-%s.csv", rep.By, rep.From.Format("20060102"), rep.Until.Format("20060102"))
}

// WriteCSV writes the report as CSV, amounts in minor units as in the
// JSON, for a spreadsheet.
func (rep Sales) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{rep.By, "name", "currency", "tickets", "revenue_minor", "refunds", "refund_amount_minor", "entered", "no_shows"})
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, r := range rep.Rows {
		cw.Write([]string{csvSafe(r.Key), csvSafe(r.Name), r.Currency, strconv.FormatInt(r.Tickets, 10), strconv.FormatInt(r.Revenue, 10),
			strconv.FormatInt(r.Refunds, 10), strconv.FormatInt(r.RefundAmount, 10), opt(r.Entered), opt(r.NoShows)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a name a spreadsheet would read as a formula a text.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Funnel is the visitors who reached each step of the storefront's
// funnel, and the share who went on from the step before.
type Funnel struct {
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

// FunnelOf computes the funnel of q's period and event.
func FunnelOf(ctx context.Context, db *store.DB, q Query) (Funnel, error) {
	counts, err := db.Funnel(ctx, q.Event, q.From, q.Until)
	if err != nil {
		return Funnel{}, err
	}
	rep := Funnel{From: q.From, Until: q.Until, Event: q.Event}
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
	return rep, nil
}
