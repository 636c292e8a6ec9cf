package store

import (
	"context"
	"fmt"
	"time"
)

// ShopSecret returns the box office's secret of a name, making it from
// fresh on first use: every central process on the database reads the
// same one, whichever made it.
func (d *DB) ShopSecret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if _, err := d.db.ExecContext(ctx, `INSERT INTO shop_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v []byte
	if err := d.db.QueryRowContext(ctx, `SELECT value FROM shop_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

// SpendCaptcha records a captcha challenge as answered and reports false
// when it was answered before (a replay). Spent challenges are forgotten
// once expired, as by then they are refused for their age.
func (d *DB) SpendCaptcha(ctx context.Context, id string, expires, now time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, `INSERT INTO shop_captcha_spent (id, expires) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, micros(expires))
	if err != nil {
		return false, fmt.Errorf("spend captcha: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 1 && expires.UnixNano()%64 == 0 {
		// About one answer in 64 sweeps the expired ones.
		d.db.ExecContext(ctx, `DELETE FROM shop_captcha_spent WHERE expires < $1`, micros(now))
	}
	return n == 1, nil
}

// Blocked is one refusal by the box office's anti-fraud checks.
type Blocked struct {
	ID int64
	At time.Time
	// Kind is what refused: "rate_limit", "captcha", "purchase_limit",
	// "waiting_room".
	Kind string
	// Reason says why in words.
	Reason string
	IP     string
	// Account is the buyer's account, 0 for none.
	Account int64
	// Subject is what was limited: a masked phone number, an event.
	Subject string
}

// AddBlocked records a refusal; every 256th record also forgets those
// from before keepSince, so the log does not grow without bound.
func (d *DB) AddBlocked(ctx context.Context, b Blocked, keepSince time.Time) error {
	var id int64
	err := d.db.QueryRowContext(ctx, `INSERT INTO shop_blocked (at, kind, reason, ip, account, subject) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		micros(b.At), b.Kind, b.Reason, b.IP, b.Account, b.Subject).Scan(&id)
	if err != nil {
		return fmt.Errorf("record refusal: %w", err)
	}
	if id%256 == 0 {
		if _, err := d.db.ExecContext(ctx, `DELETE FROM shop_blocked WHERE at < $1`, micros(keepSince)); err != nil {
			return fmt.Errorf("forget old refusals: %w", err)
		}
	}
	return nil
}

// BlockedFilter selects refusals: of a kind ("" any), of an account (0
// any), after an id (paging, newest first below before when set).
type BlockedFilter struct {
	Kind    string
	Account int64
	Before  int64
	Limit   int
}

// BlockedLog lists refusals, newest first.
func (d *DB) BlockedLog(ctx context.Context, f BlockedFilter) ([]Blocked, error) {
	q := `SELECT id, at, kind, reason, ip, account, subject FROM shop_blocked WHERE ($1 = '' OR kind = $1) AND (CAST($2 AS BIGINT) = 0 OR account = $2) AND (CAST($3 AS BIGINT) = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := d.db.QueryContext(ctx, q, f.Kind, f.Account, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("blocked log: %w", err)
	}
	defer rows.Close()
	out := []Blocked{}
	for rows.Next() {
		var b Blocked
		var at int64
		if err := rows.Scan(&b.ID, &at, &b.Kind, &b.Reason, &b.IP, &b.Account, &b.Subject); err != nil {
			return nil, fmt.Errorf("blocked log: %w", err)
		}
		b.At = fromMicros(at)
		out = append(out, b)
	}
	return out, rows.Err()
}
