package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The sales channels of a SaleFact.
const (
	ChannelOnline    = "online"     // the storefront
	ChannelBoxOffice = "box_office" // staff at central's box office
	ChannelSeller    = "seller"     // a roaming seller's handheld, offline
)

// SaleFact is one ticket sold, as the reports count it.
type SaleFact struct {
	Event, Serial, Type uint64
	Channel             string // ChannelOnline, ChannelBoxOffice or ChannelSeller
	Method              string // how it was paid: cash, card, alipay, test, …
	Currency            string
	Amount              int64 // what the ticket sold for, minor units
	SoldAt              time.Time
	// Day and Hour are SoldAt at the event's venue (its time zone).
	Day  string
	Hour int
	// Buyer is the shop account (0: none, a walk-up sale); Region and Age
	// the buyer's region ("CN-31", "HK", …) and age band ("25-34") where
	// the buyer gave them, "" where not.
	Buyer       int64
	Region, Age string
}

// LocalDayHour is t's date and hour in the time zone tz (UTC when tz is
// empty or unknown), a SaleFact's Day and Hour.
func LocalDayHour(tz string, t time.Time) (string, int) {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc = time.UTC
	}
	lt := t.In(loc)
	return lt.Format(time.DateOnly), lt.Hour()
}

// AddSaleFact records a ticket sold; the same ticket twice changes nothing.
func (t *Tx) AddSaleFact(f SaleFact) error {
	_, err := t.exec(`INSERT INTO sales_facts (event, serial, type, channel, method, currency, amount, sold_at, day, hour, buyer, region, age)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (event, serial) DO NOTHING`,
		int64(f.Event), int64(f.Serial), int64(f.Type), f.Channel, f.Method, f.Currency, f.Amount, micros(f.SoldAt), f.Day, f.Hour,
		f.Buyer, f.Region, f.Age)
	if err != nil {
		return fmt.Errorf("sale of ticket %d/%d: %w", f.Event, f.Serial, err)
	}
	return nil
}

// RefundFact records that a sold ticket was refunded, amount paid back
// (minor units), at at; a ticket refunded again keeps the first refund.
func (t *Tx) RefundFact(event, serial uint64, amount int64, at time.Time) error {
	_, err := t.exec(`UPDATE sales_facts SET refunded_at = $3, refund = $4 WHERE event = $1 AND serial = $2 AND refunded_at = 0`,
		int64(event), int64(serial), micros(at), amount)
	if err != nil {
		return fmt.Errorf("refund of ticket %d/%d: %w", event, serial, err)
	}
	return nil
}

// RefundFactFully records that a sold ticket was refunded in full at at.
func (t *Tx) RefundFactFully(event, serial uint64, at time.Time) error {
	_, err := t.exec(`UPDATE sales_facts SET refunded_at = $3, refund = amount WHERE event = $1 AND serial = $2 AND refunded_at = 0`,
		int64(event), int64(serial), micros(at))
	if err != nil {
		return fmt.Errorf("refund of ticket %d/%d: %w", event, serial, err)
	}
	return nil
}

// SalesDimensions are what a sales report groups by, and the column each
// one is.
var SalesDimensions = map[string]string{
	"type":    "event, type",
	"event":   "event",
	"day":     "day",
	"hour":    "hour",
	"channel": "channel",
	"method":  "method",
	"region":  "region",
	"age":     "age",
}

// SalesFilter selects the tickets a report counts: sold from From
// (inclusive) until Until (exclusive), of Event when not 0.
type SalesFilter struct {
	From, Until time.Time
	Event       uint64
}

// SalesRow is one group of a sales report, per currency.
type SalesRow struct {
	Event, Type uint64 // by type (both) or event
	Key         string // by day, hour, channel, method, region or age
	Currency    string
	Tickets     int64
	Revenue     int64 // what they sold for, minor units
	Refunded    int64 // tickets refunded
	Refunds     int64 // paid back, minor units
	// Entered is how many of them, not refunded, a gate admitted (by
	// type or event; the others not refunded are no-shows so far).
	Entered int64
}

// SalesReport sums the tickets sold by the dimension by (a key of
// SalesDimensions), in its order.
func (d *DB) SalesReport(ctx context.Context, by string, f SalesFilter) ([]SalesRow, error) {
	cols, ok := SalesDimensions[by]
	if !ok {
		return nil, fmt.Errorf("sales report: no dimension %q", by)
	}
	entered, join := "0", ""
	if by == "type" || by == "event" {
		// An entry or a supervisor's override admitted the ticket: the
		// admitted tickets once, joined to the sales (one hash join, not
		// a look-up per ticket).
		entered = `SUM(CASE WHEN f.refunded_at = 0 AND e.serial IS NOT NULL THEN 1 ELSE 0 END)`
		join = `LEFT JOIN (SELECT DISTINCT event, serial FROM records WHERE kind IN (1, 3)) e ON e.event = f.event AND e.serial = f.serial`
	}
	// Ordered by the columns themselves (an hour as a number), not by the
	// text the key is made of.
	qualified := "f." + strings.ReplaceAll(cols, ", ", ", f.")
	key := "''"
	switch by {
	case "hour":
		key = "CAST(f.hour AS TEXT)"
	case "type", "event":
	default:
		key = qualified
	}
	selEvent, selType := "0", "0"
	if by == "type" || by == "event" {
		selEvent = "f.event"
	}
	if by == "type" {
		selType = "f.type"
	}
	q := fmt.Sprintf(`SELECT %s, %s, %s, f.currency, COUNT(*), SUM(f.amount), SUM(CASE WHEN f.refunded_at > 0 THEN 1 ELSE 0 END), SUM(f.refund), %s
		FROM sales_facts f %s WHERE f.sold_at >= $1 AND f.sold_at < $2 AND ($3 = 0 OR f.event = $3)
		GROUP BY %s, f.currency ORDER BY %s, f.currency`, selEvent, selType, key, entered, join, qualified, qualified)
	until := f.Until
	if until.IsZero() {
		until = time.Unix(1<<40, 0)
	}
	rows, err := d.db.QueryContext(ctx, q, micros(f.From), micros(until), int64(f.Event))
	if err != nil {
		return nil, fmt.Errorf("sales report by %s: %w", by, err)
	}
	defer rows.Close()
	var out []SalesRow
	for rows.Next() {
		var r SalesRow
		var ev, typ int64
		if err := rows.Scan(&ev, &typ, &r.Key, &r.Currency, &r.Tickets, &r.Revenue, &r.Refunded, &r.Refunds, &r.Entered); err != nil {
			return nil, err
		}
		r.Event, r.Type = uint64(ev), uint64(typ)
		out = append(out, r)
	}
	return out, rows.Err()
}

// The steps of the storefront's funnel, in order.
var FunnelSteps = []string{"view", "cart", "checkout", "payment"}

// AddFunnelStep records that a visitor reached a step for an event; the
// same step twice counts once.
func (d *DB) AddFunnelStep(ctx context.Context, event uint64, step, visitor string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO funnel_steps (event, step, visitor, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (event, step, visitor) DO NOTHING`, int64(event), step, visitor, micros(at))
	if err != nil {
		return fmt.Errorf("funnel step %s of event %d: %w", step, event, err)
	}
	return nil
}

// Funnel counts the visitors who reached each step of FunnelSteps for
// event (0: every event) from from until until.
func (d *DB) Funnel(ctx context.Context, event uint64, from, until time.Time) (map[string]int64, error) {
	if until.IsZero() {
		until = time.Unix(1<<40, 0)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT step, COUNT(*) FROM funnel_steps WHERE at >= $1 AND at < $2 AND ($3 = 0 OR event = $3) GROUP BY step`,
		micros(from), micros(until), int64(event))
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var step string
		var n int64
		if err := rows.Scan(&step, &n); err != nil {
			return nil, err
		}
		out[step] = n
	}
	return out, rows.Err()
}
