package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	return t.markRolledUpChanged(f.Event, micros(f.SoldAt))
}

// RefundFact records that a sold ticket was refunded, amount paid back
// (minor units), at at; a ticket refunded again keeps the first refund.
func (t *Tx) RefundFact(event, serial uint64, amount int64, at time.Time) error {
	return t.refundFact(`UPDATE sales_facts SET refunded_at = $3, refund = $4 WHERE event = $1 AND serial = $2 AND refunded_at = 0 RETURNING sold_at`,
		event, serial, micros(at), amount)
}

// RefundFactFully records that a sold ticket was refunded in full at at.
func (t *Tx) RefundFactFully(event, serial uint64, at time.Time) error {
	return t.refundFact(`UPDATE sales_facts SET refunded_at = $3, refund = amount WHERE event = $1 AND serial = $2 AND refunded_at = 0 RETURNING sold_at`,
		event, serial, micros(at))
}

// refundFact runs one of the refunds' updates, and tells the roll-up when
// the ticket's hour of sale is already rolled up.
func (t *Tx) refundFact(update string, event, serial uint64, args ...any) error {
	var soldAt int64
	err := t.queryRow(update, append([]any{int64(event), int64(serial)}, args...)...).Scan(&soldAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not sold through a channel that counts, or refunded already
	}
	if err != nil {
		return fmt.Errorf("refund of ticket %d/%d: %w", event, serial, err)
	}
	return t.markRolledUpChanged(event, soldAt)
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
