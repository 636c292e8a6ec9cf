package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PutRefundPolicy sets an event's refund ladder (the pricing package's
// RefundPolicy as JSON, checked by the caller).
func (t *Tx) PutRefundPolicy(event uint64, body []byte, at time.Time, by string) error {
	_, err := t.exec(`INSERT INTO shop_refund_policies (event, body, updated, updated_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (event) DO UPDATE SET body = $2, updated = $3, updated_by = $4`, int64(event), string(body), micros(at), by)
	if err != nil {
		return fmt.Errorf("refund policy of event %d: %w", event, err)
	}
	return nil
}

// RefundPolicy reads an event's refund ladder; ErrNotFound when none is set.
func (d *DB) RefundPolicy(ctx context.Context, event uint64) ([]byte, error) {
	var body string
	err := d.db.QueryRowContext(ctx, `SELECT body FROM shop_refund_policies WHERE event = $1`, int64(event)).Scan(&body)
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("refund policy of event %d", event))
	}
	return []byte(body), nil
}

// Refund states.
const (
	RefundPending = "pending" // the tickets are revoked; the money is not back yet
	RefundDone    = "done"
)

// ShopRefund is one refund of some of an order's tickets.
type ShopRefund struct {
	ID       int64
	Key      string // idempotency key
	Order    int64
	Currency string
	Amount   int64 // paid back, minor units
	Fee      int64 // kept, minor units
	Method   string
	Actor    string // "buyer" or the staff member
	Reason   string
	Quote    []byte // the pricing package's RefundQuote, JSON
	State    string
	Created  time.Time
	DoneAt   time.Time
	Note     string
	Tickets  []RefundedTicket
	// Kind is RefundKind, or ExchangeKind: the tickets were given back for
	// others.
	Kind string
}

// Kinds of ShopRefund.
const (
	RefundKind   = "refund"
	ExchangeKind = "exchange"
)

// RefundedTicket is a ticket a refund returned and what it paid back.
type RefundedTicket struct {
	Event, Serial uint64
	Amount        int64
}

// AddRefund stores a refund and its tickets and returns its id. A key
// stored already is ErrExists, and so is a ticket refunded already (the
// error names it).
func (t *Tx) AddRefund(r ShopRefund) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT id FROM shop_refunds WHERE key = $1`, r.Key).Scan(&id)
	if err == nil {
		return id, fmt.Errorf("refund %s: %w", r.Key, ErrExists)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("refund %s: %w", r.Key, err)
	}
	for _, tk := range r.Tickets {
		var other int64
		err := t.queryRow(`SELECT refund_id FROM shop_refund_tickets WHERE event = $1 AND serial = $2`, int64(tk.Event), int64(tk.Serial)).Scan(&other)
		if err == nil {
			return 0, fmt.Errorf("ticket %d/%d: refunded already (refund %d): %w", tk.Event, tk.Serial, other, ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("refund %s: %w", r.Key, err)
		}
	}
	if r.Kind == "" {
		r.Kind = RefundKind
	}
	err = t.queryRow(`INSERT INTO shop_refunds (key, order_id, currency, amount, fee, method, actor, reason, quote, state, created, done_at, note, kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		r.Key, r.Order, r.Currency, r.Amount, r.Fee, r.Method, r.Actor, r.Reason, string(r.Quote), r.State, micros(r.Created), micros(r.DoneAt), r.Note, r.Kind).Scan(&id)
	if err != nil {
		if uniqueViolation(err) {
			return 0, fmt.Errorf("refund %s: %w", r.Key, ErrExists)
		}
		return 0, fmt.Errorf("add refund %s: %w", r.Key, err)
	}
	for _, tk := range r.Tickets {
		if _, err := t.exec(`INSERT INTO shop_refund_tickets (event, serial, refund_id, amount) VALUES ($1, $2, $3, $4)`,
			int64(tk.Event), int64(tk.Serial), id, tk.Amount); err != nil {
			if uniqueViolation(err) {
				return 0, fmt.Errorf("ticket %d/%d: refunded already: %w", tk.Event, tk.Serial, ErrExists)
			}
			return 0, fmt.Errorf("add refund %s: ticket %d: %w", r.Key, tk.Serial, err)
		}
	}
	return id, nil
}

// FinishRefund marks a pending refund done: the money is back.
func (d *DB) FinishRefund(ctx context.Context, id int64, at time.Time, note string) error {
	_, err := d.db.ExecContext(ctx, `UPDATE shop_refunds SET state = 'done', done_at = $2, note = $3 WHERE id = $1 AND state = 'pending'`, id, micros(at), note)
	if err != nil {
		return fmt.Errorf("finish refund %d: %w", id, err)
	}
	return nil
}

const refundCols = `id, key, order_id, currency, amount, fee, method, actor, reason, quote, state, created, done_at, note, kind`

func (d *DB) refunds(ctx context.Context, where string, args ...any) ([]ShopRefund, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+refundCols+` FROM shop_refunds `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("refunds: %w", err)
	}
	var out []ShopRefund
	for rows.Next() {
		var r ShopRefund
		var quote string
		var created, done int64
		if err := rows.Scan(&r.ID, &r.Key, &r.Order, &r.Currency, &r.Amount, &r.Fee, &r.Method, &r.Actor, &r.Reason, &quote, &r.State, &created, &done, &r.Note, &r.Kind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("refunds: %w", err)
		}
		r.Quote, r.Created, r.DoneAt = []byte(quote), fromMicros(created), fromMicros(done)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("refunds: %w", err)
	}
	for i := range out {
		trows, err := d.db.QueryContext(ctx, `SELECT event, serial, amount FROM shop_refund_tickets WHERE refund_id = $1 ORDER BY serial`, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("refund %d: %w", out[i].ID, err)
		}
		for trows.Next() {
			var ev, serial int64
			var tk RefundedTicket
			if err := trows.Scan(&ev, &serial, &tk.Amount); err != nil {
				trows.Close()
				return nil, fmt.Errorf("refund %d: %w", out[i].ID, err)
			}
			tk.Event, tk.Serial = uint64(ev), uint64(serial)
			out[i].Tickets = append(out[i].Tickets, tk)
		}
		trows.Close()
		if err := trows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Refunds lists an order's refunds, oldest first.
func (d *DB) Refunds(ctx context.Context, order int64) ([]ShopRefund, error) {
	return d.refunds(ctx, `WHERE order_id = $1 ORDER BY id`, order)
}

// RefundByKey reads a refund by its idempotency key.
func (d *DB) RefundByKey(ctx context.Context, key string) (ShopRefund, error) {
	rs, err := d.refunds(ctx, `WHERE key = $1`, key)
	if err != nil {
		return ShopRefund{}, err
	}
	if len(rs) == 0 {
		return ShopRefund{}, fmt.Errorf("refund %s: %w", key, ErrNotFound)
	}
	return rs[0], nil
}

// PendingRefunds lists up to limit refunds whose money is not back yet,
// oldest first.
func (d *DB) PendingRefunds(ctx context.Context, limit int) ([]ShopRefund, error) {
	return d.refunds(ctx, `WHERE state = 'pending' ORDER BY id LIMIT $1`, limit)
}

// TicketsUsed reports which of an event's tickets a gate admitted (an
// entry or a supervisor's override among the records reconciled from
// the gates).
func (d *DB) TicketsUsed(ctx context.Context, event uint64, serials []uint64) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	if len(serials) == 0 {
		return out, nil
	}
	args := []any{int64(event)}
	var in strings.Builder
	for i, s := range serials {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, int64(s))
		fmt.Fprintf(&in, "$%d", len(args))
	}
	rows, err := d.db.QueryContext(ctx, `SELECT DISTINCT serial FROM records WHERE kind IN (1, 3) AND event = $1 AND serial IN (`+in.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("tickets used of event %d: %w", event, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[uint64(s)] = true
	}
	return out, rows.Err()
}

// ReleaseSome gives back part of an order's holds: n of each pool taken,
// where the order holds that much of it (a refunded ticket's stock); the
// rest stays held.
func (t *Tx) ReleaseSome(order int64, takes []Take) error {
	for _, tk := range takes {
		res, err := t.exec(`UPDATE shop_holds SET quantity = quantity - $3 WHERE order_id = $1 AND pool = $2 AND quantity >= $3`, order, tk.Pool, tk.N)
		if err != nil {
			return fmt.Errorf("release %s of order %d: %w", tk.Pool, order, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			continue // not held by the order (a pool made after it was placed)
		}
		if _, err := t.exec(`UPDATE shop_pools SET taken = taken - $2 WHERE name = $1 AND taken >= $2`, tk.Pool, tk.N); err != nil {
			return fmt.Errorf("release %s of order %d: %w", tk.Pool, order, err)
		}
	}
	if _, err := t.exec(`DELETE FROM shop_holds WHERE order_id = $1 AND quantity <= 0`, order); err != nil {
		return fmt.Errorf("release order %d: %w", order, err)
	}
	return nil
}

// PutTicketPrice records what a ticket issued by an exchange paid.
func (t *Tx) PutTicketPrice(event, serial uint64, currency string, paid int64) error {
	_, err := t.exec(`INSERT INTO shop_ticket_prices (event, serial, currency, paid) VALUES ($1, $2, $3, $4)
		ON CONFLICT (event, serial) DO UPDATE SET currency = $3, paid = $4`, int64(event), int64(serial), currency, paid)
	if err != nil {
		return fmt.Errorf("price of ticket %d/%d: %w", event, serial, err)
	}
	return nil
}

// TicketPrices reads what an event's tickets issued by exchanges paid,
// by serial (minor units; the currency is the order's).
func (d *DB) TicketPrices(ctx context.Context, event uint64) (map[uint64]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT serial, paid FROM shop_ticket_prices WHERE event = $1`, int64(event))
	if err != nil {
		return nil, fmt.Errorf("ticket prices of event %d: %w", event, err)
	}
	defer rows.Close()
	out := map[uint64]int64{}
	for rows.Next() {
		var s, p int64
		if err := rows.Scan(&s, &p); err != nil {
			return nil, err
		}
		out[uint64(s)] = p
	}
	return out, rows.Err()
}

// PaidOrders lists the ids of an event's paid orders, oldest first.
func (d *DB) PaidOrders(ctx context.Context, event uint64) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM shop_orders WHERE event = $1 AND status = 'paid' ORDER BY id`, int64(event))
	if err != nil {
		return nil, fmt.Errorf("paid orders of event %d: %w", event, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
