package store

import (
	"context"
	"fmt"
	"time"
)

// Ticket is a ticket central issued: its code, signed by central's issuer
// key, and its standing.
type Ticket struct {
	Event     uint64
	Serial    uint64
	Type      uint64
	Status    string // valid or revoked
	Holder    string
	Seat      string
	Code      string
	Issuer    string // key id of the issuer key
	IssuedAt  time.Time
	RevokedAt time.Time
}

// Revocation withdraws a ticket ("ticket", subject EVENT/SERIAL), an
// issuer key or a device key ("issuer", "device", subject the key id).
type Revocation struct {
	Kind    string
	Subject string
	Reason  string
	At      time.Time
}

// AddTickets stores newly issued tickets; a serial already taken is an error.
func (t *Tx) AddTickets(ts []Ticket) error {
	for _, tk := range ts {
		status := tk.Status
		if status == "" {
			status = "valid"
		}
		_, err := t.exec(`INSERT INTO tickets (event, serial, type, status, holder, seat, code, issuer, issued_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			int64(tk.Event), int64(tk.Serial), int64(tk.Type), status, tk.Holder, tk.Seat, tk.Code, tk.Issuer, micros(tk.IssuedAt))
		if err != nil {
			return fmt.Errorf("add ticket %d/%d: %w", tk.Event, tk.Serial, err)
		}
	}
	return nil
}

// Revoke records a revocation; a ticket's status becomes revoked. It
// reports false when the subject was revoked already.
func (t *Tx) Revoke(r Revocation, event, serial uint64) (bool, error) {
	res, err := t.exec(`INSERT INTO revocations (kind, subject, reason, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, subject) DO NOTHING`, r.Kind, r.Subject, r.Reason, micros(r.At))
	if err != nil {
		return false, fmt.Errorf("revoke %s %s: %w", r.Kind, r.Subject, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if r.Kind == "ticket" {
		res, err := t.exec(`UPDATE tickets SET status = 'revoked', revoked_at = $3 WHERE event = $1 AND serial = $2`,
			int64(event), int64(serial), micros(r.At))
		if err != nil {
			return false, fmt.Errorf("revoke ticket %s: %w", r.Subject, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, fmt.Errorf("revoke ticket %s: %w", r.Subject, ErrNotFound)
		}
	}
	return true, nil
}

// Revocations lists every revocation in the order made.
func (d *DB) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT kind, subject, reason, at FROM revocations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		var r Revocation
		var at int64
		if err := rows.Scan(&r.Kind, &r.Subject, &r.Reason, &at); err != nil {
			return nil, err
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Ticket reads one ticket.
func (d *DB) Ticket(ctx context.Context, event, serial uint64) (Ticket, error) {
	var out []Ticket
	err := d.tickets(ctx, `WHERE event = $1 AND serial = $2`, []any{int64(event), int64(serial)}, func(t Ticket) error {
		out = append(out, t)
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("ticket %d/%d: %w", event, serial, ErrNotFound)
	}
	if err != nil {
		return Ticket{}, err
	}
	return out[0], nil
}

// Tickets calls fn for every ticket of an event, by serial.
func (d *DB) Tickets(ctx context.Context, event uint64, fn func(Ticket) error) error {
	return d.tickets(ctx, `WHERE event = $1`, []any{int64(event)}, fn)
}

func (d *DB) tickets(ctx context.Context, where string, args []any, fn func(Ticket) error) error {
	rows, err := d.db.QueryContext(ctx, `SELECT event, serial, type, status, holder, seat, code, issuer, issued_at, revoked_at
		FROM tickets `+where+` ORDER BY event, serial`, args...)
	if err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t Ticket
		var ev, serial, typ, issued, revoked int64
		if err := rows.Scan(&ev, &serial, &typ, &t.Status, &t.Holder, &t.Seat, &t.Code, &t.Issuer, &issued, &revoked); err != nil {
			return fmt.Errorf("tickets: %w", err)
		}
		t.Event, t.Serial, t.Type, t.IssuedAt, t.RevokedAt = uint64(ev), uint64(serial), uint64(typ), fromMicros(issued), fromMicros(revoked)
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}
