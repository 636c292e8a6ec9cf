package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func init() {
	Tables = append(Tables, "pay_intents", "pay_transactions", "pay_claims")
}

// PayIntent is a payment central asked a provider for.
type PayIntent struct {
	Key      string // the idempotency key and merchant order number the provider reports back
	Order    int64
	Account  int64 // the order's buyer
	Provider string
	Amount   int64 // minor units of Currency
	Currency string
	Created  time.Time
}

// AddPayIntent stores an intent unless one with its key exists, and
// returns the stored one: asking twice for one order's payment is one
// intent.
func (t *Tx) AddPayIntent(in PayIntent) (PayIntent, error) {
	if _, err := t.exec(`INSERT INTO pay_intents (key, order_id, account, provider, amount, currency, created) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (key) DO NOTHING`, in.Key, in.Order, in.Account, in.Provider, in.Amount, in.Currency, micros(in.Created)); err != nil {
		return in, fmt.Errorf("add payment intent %s: %w", in.Key, err)
	}
	var c int64
	err := t.queryRow(`SELECT key, order_id, account, provider, amount, currency, created FROM pay_intents WHERE key = $1`, in.Key).
		Scan(&in.Key, &in.Order, &in.Account, &in.Provider, &in.Amount, &in.Currency, &c)
	in.Created = fromMicros(c)
	return in, notFound(err, "payment intent "+in.Key)
}

// PayIntent reads an intent by its key.
func (d *DB) PayIntent(ctx context.Context, key string) (PayIntent, error) {
	var in PayIntent
	var c int64
	err := d.db.QueryRowContext(ctx, `SELECT key, order_id, account, provider, amount, currency, created FROM pay_intents WHERE key = $1`, key).
		Scan(&in.Key, &in.Order, &in.Account, &in.Provider, &in.Amount, &in.Currency, &c)
	in.Created = fromMicros(c)
	return in, notFound(err, "payment intent "+key)
}

// Kinds of PayTransaction.
const (
	PayPayment    = "payment"
	PayRefund     = "refund"
	PayFee        = "fee"
	PayChargeback = "chargeback"
)

// PayTransaction is one movement of money; stored ones never change.
type PayTransaction struct {
	ID        int64
	Kind      string
	Provider  string
	Reference string // the provider's id of the movement; unique per provider and kind
	Intent    string // the intent's key
	Order     int64
	Account   int64
	Amount    int64 // positive, minor units of Currency
	Currency  string
	At        time.Time
	BuyerRef  string // the provider's id of the payer, when it tells
	Note      string
}

// AddPayTransaction appends a transaction and reports whether it was new:
// one with the same provider, kind and reference is there already when
// not, and nothing is written.
func (t *Tx) AddPayTransaction(p PayTransaction) (bool, error) {
	res, err := t.exec(`INSERT INTO pay_transactions (kind, provider, reference, intent, order_id, account, amount, currency, at, buyer_ref, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (provider, kind, reference) DO NOTHING`,
		p.Kind, p.Provider, p.Reference, p.Intent, p.Order, p.Account, p.Amount, p.Currency, micros(p.At), p.BuyerRef, p.Note)
	if err != nil {
		return false, fmt.Errorf("add %s %s/%s: %w", p.Kind, p.Provider, p.Reference, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PayTransactions lists an order's transactions in the order stored.
func (d *DB) PayTransactions(ctx context.Context, order int64) ([]PayTransaction, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, kind, provider, reference, intent, order_id, account, amount, currency, at, buyer_ref, note
		FROM pay_transactions WHERE order_id = $1 ORDER BY id`, order)
	if err != nil {
		return nil, fmt.Errorf("transactions of order %d: %w", order, err)
	}
	defer rows.Close()
	var out []PayTransaction
	for rows.Next() {
		var p PayTransaction
		var at int64
		if err := rows.Scan(&p.ID, &p.Kind, &p.Provider, &p.Reference, &p.Intent, &p.Order, &p.Account, &p.Amount, &p.Currency, &at, &p.BuyerRef, &p.Note); err != nil {
			return nil, fmt.Errorf("transactions of order %d: %w", order, err)
		}
		p.At = fromMicros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ClaimOrder makes a payment the one that pays an order unless another
// did first, and returns the provider and reference of the one that did.
func (t *Tx) ClaimOrder(order int64, provider, reference string, now time.Time) (string, string, error) {
	// One statement: on a conflict the no-op update returns the row that
	// is there.
	var p, r string
	err := t.queryRow(`INSERT INTO pay_claims (order_id, provider, reference, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (order_id) DO UPDATE SET order_id = pay_claims.order_id RETURNING provider, reference`,
		order, provider, reference, micros(now)).Scan(&p, &r)
	if err != nil {
		return "", "", fmt.Errorf("claim order %d: %w", order, err)
	}
	return p, r, nil
}

// ReviveOrder puts an expired order back to pending_payment until expires
// and reports whether it was expired; its stock must be held again in the
// same transaction (Hold).
func (t *Tx) ReviveOrder(id int64, expires time.Time) (bool, error) {
	res, err := t.exec(`UPDATE shop_orders SET status = 'pending_payment', expires = $2, closed_at = 0 WHERE id = $1 AND status = 'expired'`,
		id, micros(expires))
	if err != nil {
		return false, fmt.Errorf("revive order %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PayClaim returns the provider and reference of the payment that paid an
// order; ErrNotFound when none did.
func (d *DB) PayClaim(ctx context.Context, order int64) (string, string, error) {
	var p, r string
	err := d.db.QueryRowContext(ctx, `SELECT provider, reference FROM pay_claims WHERE order_id = $1`, order).Scan(&p, &r)
	return p, r, notFound(err, fmt.Sprintf("payment of order %d", order))
}

// PaidByClaim reports whether an order is paid by a provider and its
// claim is that provider's payment of reference: a notification of that
// payment told again has nothing left to do.
func (d *DB) PaidByClaim(ctx context.Context, order int64, provider, reference string) (bool, error) {
	var status, method string
	err := d.db.QueryRowContext(ctx, `SELECT o.status, o.method FROM pay_claims c JOIN shop_orders o ON o.id = c.order_id
		WHERE c.order_id = $1 AND c.provider = $2 AND c.reference = $3`, order, provider, reference).Scan(&status, &method)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, fmt.Errorf("claim of order %d: %w", order, err)
	}
	return status == "paid" && method == provider, nil
}
