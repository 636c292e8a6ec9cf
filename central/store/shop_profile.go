package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// UpdateProfile changes an account's profile fields.
func (t *Tx) UpdateProfile(a Account) error {
	_, err := t.exec(`UPDATE shop_accounts SET name = $2, contact = $3, address = $4, language = $5 WHERE id = $1 AND deleted_at = 0`,
		a.ID, a.Name, a.Contact, a.Address, a.Language)
	if err != nil {
		return fmt.Errorf("profile of %d: %w", a.ID, err)
	}
	return nil
}

// Consent is one consent given or withdrawn, with the words shown.
type Consent struct {
	ID       int64
	Account  int64
	Kind     string // "marketing"
	Granted  bool
	Wording  string
	Language string
	At       time.Time
}

// AddConsent records a consent given or withdrawn.
func (t *Tx) AddConsent(c Consent) error {
	_, err := t.exec(`INSERT INTO shop_consents (account, kind, granted, wording, language, at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.Account, c.Kind, boolInt(c.Granted), c.Wording, c.Language, micros(c.At))
	if err != nil {
		return fmt.Errorf("consent of %d: %w", c.Account, err)
	}
	return nil
}

// Consents lists an account's consents, oldest first.
func (d *DB) Consents(ctx context.Context, account int64) ([]Consent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, kind, granted, wording, language, at FROM shop_consents WHERE account = $1 ORDER BY id`, account)
	if err != nil {
		return nil, fmt.Errorf("consents of %d: %w", account, err)
	}
	defer rows.Close()
	out := []Consent{}
	for rows.Next() {
		c := Consent{Account: account}
		var g int
		var at int64
		if err := rows.Scan(&c.ID, &c.Kind, &g, &c.Wording, &c.Language, &at); err != nil {
			return nil, fmt.Errorf("consents of %d: %w", account, err)
		}
		c.Granted, c.At = g == 1, fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AccountOrders lists the ids of an account's orders, oldest first.
func (d *DB) AccountOrders(ctx context.Context, account int64) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM shop_orders WHERE account = $1 ORDER BY id`, account)
	if err != nil {
		return nil, fmt.Errorf("orders of %d: %w", account, err)
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

// DeleteAccount removes the person from an account: the login, the
// profile, the consents, the sessions and links, the places on waiting
// lists. The row stays, anonymised, for the orders accounting keeps.
func (t *Tx) DeleteAccount(id int64, now time.Time) error {
	for _, q := range []string{
		`UPDATE shop_accounts SET email = NULL, phone = NULL, password_hash = '', name = '', contact = '', address = '', language = '', deleted_at = $2 WHERE id = $1`,
		`DELETE FROM shop_tokens WHERE account = $1`,
		`DELETE FROM shop_consents WHERE account = $1`,
		`UPDATE shop_waitlist SET status = 'left', token_hash = NULL WHERE account = $1 AND status = 'waiting'`,
		`UPDATE shop_queue SET account = 0 WHERE account = $1`,
	} {
		args := []any{id}
		if strings.Contains(q, "$2") {
			args = append(args, micros(now))
		}
		if _, err := t.exec(q, args...); err != nil {
			return fmt.Errorf("delete account %d: %w", id, err)
		}
	}
	return nil
}
