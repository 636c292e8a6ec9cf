package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

func init() { Tables = append(Tables, "settle_runs", "settle_items") }

// The statuses of a SettleItem.
const (
	SettleMissingOurs   = "missing_ours"   // the provider moved money central has no record of
	SettleMissingTheirs = "missing_theirs" // central recorded a movement the provider's bill lacks
	SettleAmountDiffers = "amount_differs" // both have it, with different amounts
)

// SettleRun is one comparison of a provider's bill of a day with the
// transactions central recorded.
type SettleRun struct {
	ID         int64
	Provider   string
	Day        string // the bill's date, in the provider's time zone
	At         time.Time
	By         string // the staff member, or "central" for the daily run
	Source     string // "fetched" from the provider, or "uploaded"
	FileSHA256 string
	Lines      int64 // movements in the bill
	Matched    int64
	// MissingOurs, MissingTheirs and AmountDiffers count the items.
	MissingOurs, MissingTheirs, AmountDiffers int64
	Fees                                      int64 // service fees the bill charged, minor units
}

// SettleItem is a movement the bill and central's record disagree on.
type SettleItem struct {
	ID, Run               int64
	Provider, Day, Status string
	Kind                  string // payment or refund
	Reference             string // as pay_transactions holds it
	Order                 int64  // 0 when central has no record
	OurAmount             int64  // minor units; 0 when central has none
	TheirAmount           int64  // minor units; 0 when the bill has none
	Currency              string
	At                    time.Time
	Resolved              time.Time // zero while open
	ResolvedBy, Note      string
}

// PayTransactionsOf lists a provider's transactions recorded from from
// until until (exclusive), in time order.
func (d *DB) PayTransactionsOf(ctx context.Context, provider string, from, until time.Time) ([]PayTransaction, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, kind, provider, reference, intent, order_id, account, amount, currency, at, buyer_ref, note
		FROM pay_transactions WHERE provider = $1 AND at >= $2 AND at < $3 ORDER BY at, id`, provider, micros(from), micros(until))
	if err != nil {
		return nil, fmt.Errorf("transactions of %s: %w", provider, err)
	}
	defer rows.Close()
	var out []PayTransaction
	for rows.Next() {
		var p PayTransaction
		var at int64
		if err := rows.Scan(&p.ID, &p.Kind, &p.Provider, &p.Reference, &p.Intent, &p.Order, &p.Account, &p.Amount, &p.Currency, &at, &p.BuyerRef, &p.Note); err != nil {
			return nil, fmt.Errorf("transactions of %s: %w", provider, err)
		}
		p.At = fromMicros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddSettleRun stores a run and its items. The open items of earlier runs
// of the same provider and day give way to these; the open items of other
// days whose movement this run matched (listed in settled: kind and
// reference) are resolved by it.
func (t *Tx) AddSettleRun(r SettleRun, items []SettleItem, settled [][2]string) (int64, error) {
	err := t.queryRow(`INSERT INTO settle_runs (provider, day, at, by_user, source, file_sha256, lines, matched, missing_ours, missing_theirs, amount_differs, fees)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		r.Provider, r.Day, micros(r.At), r.By, r.Source, r.FileSHA256, r.Lines, r.Matched, r.MissingOurs, r.MissingTheirs, r.AmountDiffers, r.Fees).Scan(&r.ID)
	if err != nil {
		return 0, fmt.Errorf("settlement run: %w", err)
	}
	if _, err := t.exec(`DELETE FROM settle_items WHERE provider = $1 AND day = $2 AND resolved = 0`, r.Provider, r.Day); err != nil {
		return 0, fmt.Errorf("settlement run: %w", err)
	}
	_, err = t.insertRows(`INSERT INTO settle_items (run, provider, day, status, kind, reference, order_id, our_amount, their_amount, currency, at) VALUES `,
		len(items), func(i int) []any {
			it := items[i]
			return []any{r.ID, r.Provider, r.Day, it.Status, it.Kind, it.Reference, it.Order, it.OurAmount, it.TheirAmount, it.Currency, micros(it.At)}
		}, "")
	if err != nil {
		return 0, fmt.Errorf("settlement items: %w", err)
	}
	for _, k := range settled {
		if _, err := t.exec(`UPDATE settle_items SET resolved = $1, resolved_by = 'central', note = $2
			WHERE provider = $3 AND resolved = 0 AND reference = $4 AND kind = $5 AND status = 'missing_theirs' AND day <> $6`,
			micros(r.At), "in the bill of "+r.Day, r.Provider, k[1], k[0], r.Day); err != nil {
			return 0, fmt.Errorf("settlement items: %w", err)
		}
	}
	return r.ID, nil
}

// OpenSettleReferences lists the references of a provider's open
// missing_theirs items, kind first, for a run to resolve those it
// matches.
func (d *DB) OpenSettleReferences(ctx context.Context, provider string) (map[[2]string]bool, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT kind, reference FROM settle_items WHERE provider = $1 AND resolved = 0 AND status = 'missing_theirs'`, provider)
	if err != nil {
		return nil, fmt.Errorf("settlement items: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// SettleFilter selects items: of Provider and Day when given; Open only
// the unresolved.
type SettleFilter struct {
	Provider, Day string
	Open          bool
	Limit         int
}

// SettleItems lists items, newest day first.
func (d *DB) SettleItems(ctx context.Context, f SettleFilter) ([]SettleItem, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, run, provider, day, status, kind, reference, order_id, our_amount, their_amount, currency, at, resolved, resolved_by, note
		FROM settle_items WHERE ($1 = '' OR provider = $1) AND ($2 = '' OR day = $2) AND ($3 = 0 OR resolved = 0)
		ORDER BY day DESC, id LIMIT $4`, f.Provider, f.Day, boolInt(f.Open), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("settlement items: %w", err)
	}
	defer rows.Close()
	var out []SettleItem
	for rows.Next() {
		var it SettleItem
		var at, resolved int64
		if err := rows.Scan(&it.ID, &it.Run, &it.Provider, &it.Day, &it.Status, &it.Kind, &it.Reference, &it.Order, &it.OurAmount, &it.TheirAmount,
			&it.Currency, &at, &resolved, &it.ResolvedBy, &it.Note); err != nil {
			return nil, err
		}
		it.At = fromMicros(at)
		if resolved > 0 {
			it.Resolved = fromMicros(resolved)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// SettleRuns lists a provider's runs of a day (every day when empty),
// newest first.
func (d *DB) SettleRuns(ctx context.Context, provider, day string) ([]SettleRun, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, provider, day, at, by_user, source, file_sha256, lines, matched, missing_ours, missing_theirs, amount_differs, fees
		FROM settle_runs WHERE ($1 = '' OR provider = $1) AND ($2 = '' OR day = $2) ORDER BY id DESC LIMIT 100`, provider, day)
	if err != nil {
		return nil, fmt.Errorf("settlement runs: %w", err)
	}
	defer rows.Close()
	var out []SettleRun
	for rows.Next() {
		var r SettleRun
		var at int64
		if err := rows.Scan(&r.ID, &r.Provider, &r.Day, &at, &r.By, &r.Source, &r.FileSHA256, &r.Lines, &r.Matched, &r.MissingOurs, &r.MissingTheirs,
			&r.AmountDiffers, &r.Fees); err != nil {
			return nil, err
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ResolveSettleItem closes an open item with a note.
func (t *Tx) ResolveSettleItem(id int64, by, note string, at time.Time) error {
	res, err := t.exec(`UPDATE settle_items SET resolved = $1, resolved_by = $2, note = $3 WHERE id = $4 AND resolved = 0`,
		micros(at), by, note, id)
	if err != nil {
		return fmt.Errorf("settlement item %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("settlement item %d: no such open item: %w", id, ErrNotFound)
	}
	return nil
}

// AddPayTransactions appends many transactions at once, those already
// held (the same provider, kind and reference) left as they are, and
// returns how many were new.
func (t *Tx) AddPayTransactions(ps []PayTransaction) (int64, error) {
	n, err := t.insertRows(`INSERT INTO pay_transactions (kind, provider, reference, intent, order_id, account, amount, currency, at, buyer_ref, note) VALUES `,
		len(ps), func(i int) []any {
			p := ps[i]
			return []any{p.Kind, p.Provider, p.Reference, p.Intent, p.Order, p.Account, p.Amount, p.Currency, micros(p.At), p.BuyerRef, p.Note}
		}, ` ON CONFLICT (provider, kind, reference) DO NOTHING`)
	if err != nil {
		return n, fmt.Errorf("add transactions: %w", err)
	}
	return n, nil
}

// insertRows inserts n rows, 500 to a statement: insert is the statement
// up to VALUES, row(i) the values of row i, suffix what follows them. It
// returns how many rows were inserted.
func (t *Tx) insertRows(insert string, n int, row func(i int) []any, suffix string) (int64, error) {
	const batch = 500
	var added int64
	for i := 0; i < n; i += batch {
		var q strings.Builder
		q.WriteString(insert)
		var args []any
		for j := i; j < min(i+batch, n); j++ {
			vals := row(j)
			if j > i {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for k := range vals {
				if k > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "$%d", len(args)+k+1)
			}
			q.WriteString(")")
			args = append(args, vals...)
		}
		q.WriteString(suffix)
		res, err := t.exec(q.String(), args...)
		if err != nil {
			return added, err
		}
		m, _ := res.RowsAffected()
		added += m
	}
	return added, nil
}
