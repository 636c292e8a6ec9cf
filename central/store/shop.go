package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrSoldOut is returned when a pool has less left than asked for.
var ErrSoldOut = errors.New("sold out")

// Take is n of a stock pool for an order.
type Take struct {
	Pool string
	N    int64
}

// PutPool creates a stock pool or sets its cap; what is taken stays. A cap
// below what is taken already is refused.
func (t *Tx) PutPool(name string, cap int64) error {
	_, err := t.exec(`INSERT INTO shop_pools (name, cap, taken) VALUES ($1, $2, 0) ON CONFLICT (name) DO UPDATE SET cap = $2`, name, cap)
	if err != nil {
		return fmt.Errorf("put pool %s: %w", name, err)
	}
	return nil
}

// EnsurePool creates a pool with cap unless it exists.
func (t *Tx) EnsurePool(name string, cap int64) error {
	_, err := t.exec(`INSERT INTO shop_pools (name, cap, taken) VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING`, name, cap)
	if err != nil {
		return fmt.Errorf("pool %s: %w", name, err)
	}
	return nil
}

// Hold takes stock from every pool for an order and records the holds.
// Each take is one conditional UPDATE (taken + n <= cap) checked by the
// rows it changed: under any number of concurrent buyers, on SQLite (one
// writer at a time) and on PostgreSQL (the row lock, then the condition
// evaluated again on the committed row), a pool is never over-taken.
// Pools are taken in name order, so two orders never deadlock. A pool that
// does not exist or has too little left fails the whole transaction with
// ErrSoldOut, naming the pool.
func (t *Tx) Hold(order int64, takes []Take) error {
	takes = slices.Clone(takes)
	slices.SortFunc(takes, func(a, b Take) int { return strings.Compare(a.Pool, b.Pool) })
	// The hold rows first, the pools last: a pool's row stays locked from
	// its update to the commit, so nothing else should run in between.
	for _, tk := range takes {
		if tk.N <= 0 {
			return fmt.Errorf("hold %s: quantity %d", tk.Pool, tk.N)
		}
		if _, err := t.exec(`INSERT INTO shop_holds (order_id, pool, quantity) VALUES ($1, $2, $3)
			ON CONFLICT (order_id, pool) DO UPDATE SET quantity = shop_holds.quantity + $3`, order, tk.Pool, tk.N); err != nil {
			return fmt.Errorf("hold %s: %w", tk.Pool, err)
		}
	}
	for _, tk := range takes {
		res, err := t.exec(`UPDATE shop_pools SET taken = taken + $2 WHERE name = $1 AND taken + $2 <= cap`, tk.Pool, tk.N)
		if err != nil {
			return fmt.Errorf("hold %s: %w", tk.Pool, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("%s: %w", tk.Pool, ErrSoldOut)
		}
	}
	return nil
}

// Release gives an order's holds back to their pools.
func (t *Tx) Release(order int64) error {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT pool, quantity FROM shop_holds WHERE order_id = $1 ORDER BY pool`, order)
	if err != nil {
		return fmt.Errorf("release order %d: %w", order, err)
	}
	var takes []Take
	for rows.Next() {
		var tk Take
		if err := rows.Scan(&tk.Pool, &tk.N); err != nil {
			rows.Close()
			return fmt.Errorf("release order %d: %w", order, err)
		}
		takes = append(takes, tk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("release order %d: %w", order, err)
	}
	for _, tk := range takes {
		if _, err := t.exec(`UPDATE shop_pools SET taken = taken - $2 WHERE name = $1`, tk.Pool, tk.N); err != nil {
			return fmt.Errorf("release order %d: %s: %w", order, tk.Pool, err)
		}
	}
	if _, err := t.exec(`DELETE FROM shop_holds WHERE order_id = $1`, order); err != nil {
		return fmt.Errorf("release order %d: %w", order, err)
	}
	return nil
}

// Pool is a stock pool's cap and what is taken of it.
type Pool struct {
	Name       string
	Cap, Taken int64
}

// Pools reads the pools named; a name without a pool is left out.
func (d *DB) Pools(ctx context.Context, names ...string) (map[string]Pool, error) {
	out := make(map[string]Pool, len(names))
	if len(names) == 0 {
		return out, nil
	}
	q := `SELECT name, cap, taken FROM shop_pools WHERE name IN (`
	args := make([]any, len(names))
	for i, n := range names {
		if i > 0 {
			q += ", "
		}
		q += fmt.Sprintf("$%d", i+1)
		args[i] = n
	}
	rows, err := d.db.QueryContext(ctx, q+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("pools: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Pool
		if err := rows.Scan(&p.Name, &p.Cap, &p.Taken); err != nil {
			return nil, fmt.Errorf("pools: %w", err)
		}
		out[p.Name] = p
	}
	return out, rows.Err()
}

// Offer is how a ticket type is sold: its price in minor units of a
// currency, who may buy it, when, and the event day it admits on.
type Offer struct {
	Event, Type uint64
	Currency    string
	Price       int64
	Roles       []string
	SaleFrom    time.Time
	SaleUntil   time.Time
	Day         string
	MaxPerOrder int
}

// PutOffer creates or replaces a type's offer.
func (t *Tx) PutOffer(o Offer) error {
	_, err := t.exec(`INSERT INTO shop_offers (event, type, currency, price, roles, sale_from, sale_until, day, max_per_order)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (event, type) DO UPDATE SET currency = $3, price = $4, roles = $5, sale_from = $6, sale_until = $7, day = $8, max_per_order = $9`,
		int64(o.Event), int64(o.Type), o.Currency, o.Price, strings.Join(o.Roles, " "), micros(o.SaleFrom), micros(o.SaleUntil), o.Day, o.MaxPerOrder)
	if err != nil {
		return fmt.Errorf("put offer %d/%d: %w", o.Event, o.Type, err)
	}
	return nil
}

// Offers lists an event's offers by type.
func (d *DB) Offers(ctx context.Context, event uint64) ([]Offer, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT type, currency, price, roles, sale_from, sale_until, day, max_per_order
		FROM shop_offers WHERE event = $1 ORDER BY type`, int64(event))
	if err != nil {
		return nil, fmt.Errorf("offers of %d: %w", event, err)
	}
	defer rows.Close()
	var out []Offer
	for rows.Next() {
		o := Offer{Event: event}
		var typ, from, until int64
		var roles string
		if err := rows.Scan(&typ, &o.Currency, &o.Price, &roles, &from, &until, &o.Day, &o.MaxPerOrder); err != nil {
			return nil, fmt.Errorf("offers of %d: %w", event, err)
		}
		o.Type, o.Roles, o.SaleFrom, o.SaleUntil = uint64(typ), strings.Fields(roles), fromMicros(from), fromMicros(until)
		out = append(out, o)
	}
	return out, rows.Err()
}

// PromotionRow is a promotion as stored: its body is the pricing
// package's JSON, its use count kept here.
type PromotionRow struct {
	ID    string
	Event uint64
	Body  []byte
	Limit int64
	Used  int64
}

// PutPromotion creates or replaces a promotion; its use count stays.
func (t *Tx) PutPromotion(p PromotionRow) error {
	_, err := t.exec(`INSERT INTO shop_promotions (id, event, body, lim, used) VALUES ($1, $2, $3, $4, 0)
		ON CONFLICT (id) DO UPDATE SET event = $2, body = $3, lim = $4`, p.ID, int64(p.Event), string(p.Body), p.Limit)
	if err != nil {
		return fmt.Errorf("put promotion %s: %w", p.ID, err)
	}
	return nil
}

// Promotions lists an event's promotions.
func (d *DB) Promotions(ctx context.Context, event uint64) ([]PromotionRow, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, body, lim, used FROM shop_promotions WHERE event = $1 ORDER BY id`, int64(event))
	if err != nil {
		return nil, fmt.Errorf("promotions of %d: %w", event, err)
	}
	defer rows.Close()
	var out []PromotionRow
	for rows.Next() {
		p := PromotionRow{Event: event}
		var body string
		if err := rows.Scan(&p.ID, &body, &p.Limit, &p.Used); err != nil {
			return nil, fmt.Errorf("promotions of %d: %w", event, err)
		}
		p.Body = []byte(body)
		out = append(out, p)
	}
	return out, rows.Err()
}

// UsePromotion counts one use of a promotion unless its limit is reached
// (ErrSoldOut), with the same conditional update as stock.
func (t *Tx) UsePromotion(id string) error {
	res, err := t.exec(`UPDATE shop_promotions SET used = used + 1 WHERE id = $1 AND (lim = 0 OR used < lim)`, id)
	if err != nil {
		return fmt.Errorf("use promotion %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("promotion %s: %w", id, ErrSoldOut)
	}
	return nil
}

// Account is a buyer's account.
type Account struct {
	ID           int64
	Email        string // "" for an account made by phone
	Phone        string // E.164, "" for an account made by email
	PasswordHash string
	Role         string
	Name         string
	VerifiedAt   time.Time
	Created      time.Time
	// The profile: a contact (a phone or an address to reach the buyer
	// besides the login), a postal address, the language of mails and
	// texts ("zh", "en"), and when the person was deleted (the row stays
	// for the orders, anonymised).
	Contact, Address, Language string
	DeletedAt                  time.Time
}

// AddAccount creates an account and returns its id; a taken email is
// ErrExists. VerifiedAt is kept: an account made by a phone's SMS code is
// verified by it.
func (t *Tx) AddAccount(a Account) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO shop_accounts (email, phone, password_hash, role, name, created, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		nullable(a.Email), nullable(a.Phone), a.PasswordHash, a.Role, a.Name, micros(a.Created), micros(a.VerifiedAt)).Scan(&id)
	if uniqueViolation(err) {
		return 0, fmt.Errorf("account %s: %w", a.Email, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("add account: %w", err)
	}
	return id, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const accountColumns = `id, COALESCE(email, ''), COALESCE(phone, ''), password_hash, role, name, verified_at, created, contact, address, language, deleted_at`

func scanAccount(s interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var v, c, del int64
	err := s.Scan(&a.ID, &a.Email, &a.Phone, &a.PasswordHash, &a.Role, &a.Name, &v, &c, &a.Contact, &a.Address, &a.Language, &del)
	a.VerifiedAt, a.Created, a.DeletedAt = fromMicros(v), fromMicros(c), fromMicros(del)
	return a, err
}

// AccountByPhone finds an account by its phone number.
func (d *DB) AccountByPhone(ctx context.Context, phone string) (Account, error) {
	a, err := scanAccount(d.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM shop_accounts WHERE phone = $1`, phone))
	return a, notFound(err, "account")
}

// AccountByEmail finds an account by its (normalised) email.
func (d *DB) AccountByEmail(ctx context.Context, email string) (Account, error) {
	a, err := scanAccount(d.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM shop_accounts WHERE email = $1`, email))
	return a, notFound(err, "account")
}

// Account reads an account.
func (d *DB) Account(ctx context.Context, id int64) (Account, error) {
	a, err := scanAccount(d.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM shop_accounts WHERE id = $1`, id))
	return a, notFound(err, "account")
}

// SetAccountRole changes an account's role.
func (t *Tx) SetAccountRole(id int64, role string) error {
	_, err := t.exec(`UPDATE shop_accounts SET role = $2 WHERE id = $1`, id, role)
	return err
}

// AddShopToken stores the hash of a buyer's token of a kind ("session",
// "verify") until expires.
func (t *Tx) AddShopToken(hash []byte, kind string, account int64, expires time.Time) error {
	if _, err := t.exec(`INSERT INTO shop_tokens (hash, kind, account, expires) VALUES ($1, $2, $3, $4)`, hash, kind, account, micros(expires)); err != nil {
		return fmt.Errorf("add %s token: %w", kind, err)
	}
	return nil
}

// ShopToken returns the account of an unexpired token of a kind.
func (d *DB) ShopToken(ctx context.Context, hash []byte, kind string, now time.Time) (Account, error) {
	a, err := scanAccount(d.db.QueryRowContext(ctx, `SELECT `+accountColumns+`
		FROM shop_accounts WHERE id = (SELECT account FROM shop_tokens WHERE hash = $1 AND kind = $2 AND expires > $3)`, hash, kind, micros(now)))
	return a, notFound(err, kind+" token")
}

// Verify marks an account's email verified by a verification token and
// spends the token; an unknown or expired token is ErrNotFound.
func (t *Tx) Verify(hash []byte, now time.Time) (int64, error) {
	var id int64
	err := t.queryRow(`DELETE FROM shop_tokens WHERE hash = $1 AND kind = 'verify' AND expires > $2 RETURNING account`, hash, micros(now)).Scan(&id)
	if err != nil {
		return 0, notFound(err, "verification link")
	}
	if _, err := t.exec(`UPDATE shop_accounts SET verified_at = $2 WHERE id = $1 AND verified_at = 0`, id, micros(now)); err != nil {
		return 0, fmt.Errorf("verify account %d: %w", id, err)
	}
	return id, nil
}

// ShopOrder is a buyer's order.
type ShopOrder struct {
	ID       int64
	Account  int64
	Event    uint64
	Status   string
	Currency string
	Total    int64
	Quote    []byte // the pricing package's quotation, JSON
	Method   string
	Created  time.Time
	Expires  time.Time
	PaidAt   time.Time
	ClosedAt time.Time
	Items    []ShopOrderItem
	// Guest is the named guest of a sponsor's complimentary order.
	Guest string
	// Instrument is the hash of the payment instrument it was paid with.
	Instrument string
}

// ShopOrderItem is a quantity of one type in an order.
type ShopOrderItem struct {
	Type     uint64
	Quantity int
}

// AddOrder stores a new order with its items and returns its id.
func (t *Tx) AddOrder(o ShopOrder) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO shop_orders (account, event, status, currency, total, quote, created, expires, method, paid_at, guest)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		o.Account, int64(o.Event), o.Status, o.Currency, o.Total, string(o.Quote), micros(o.Created), micros(o.Expires), o.Method, micros(o.PaidAt), o.Guest).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add order: %w", err)
	}
	for _, it := range o.Items {
		if _, err := t.exec(`INSERT INTO shop_order_items (order_id, type, quantity) VALUES ($1, $2, $3)`, id, int64(it.Type), it.Quantity); err != nil {
			return 0, fmt.Errorf("add order %d: type %d: %w", id, it.Type, err)
		}
	}
	return id, nil
}

// MoveOrder changes an order's status from one of from to to, and reports
// whether it did; paid sets the method and the payment time, expired and
// cancelled the closing time. Pass notAfter to require that the order's
// hold has not run out by then (a payment), zero otherwise.
func (t *Tx) MoveOrder(id int64, from []string, to, method string, now, notAfter time.Time) (bool, error) {
	q := `UPDATE shop_orders SET status = $2`
	args := []any{id, to, micros(now)}
	switch to {
	case "paid":
		q += `, paid_at = $3, method = $4`
		args = append(args, method)
	default:
		q += `, closed_at = $3`
	}
	q += ` WHERE id = $1 AND status IN (`
	for i, f := range from {
		if i > 0 {
			q += ", "
		}
		args = append(args, f)
		q += fmt.Sprintf("$%d", len(args))
	}
	q += `)`
	if !notAfter.IsZero() {
		args = append(args, micros(notAfter))
		q += fmt.Sprintf(` AND expires > $%d`, len(args))
	}
	res, err := t.exec(q, args...)
	if err != nil {
		return false, fmt.Errorf("order %d to %s: %w", id, to, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AddOrderTickets links issued tickets to their order.
func (t *Tx) AddOrderTickets(order int64, event uint64, serials []uint64) error {
	for _, s := range serials {
		if _, err := t.exec(`INSERT INTO shop_order_tickets (order_id, event, serial) VALUES ($1, $2, $3)`, order, int64(event), int64(s)); err != nil {
			return fmt.Errorf("order %d: ticket %d: %w", order, s, err)
		}
	}
	return nil
}

// Order reads a buyer's order with its items.
func (d *DB) Order(ctx context.Context, id int64) (ShopOrder, error) {
	var o ShopOrder
	var ev, created, expires, paid, closed int64
	var quote string
	err := d.db.QueryRowContext(ctx, `SELECT id, account, event, status, currency, total, quote, method, created, expires, paid_at, closed_at, guest, instrument
		FROM shop_orders WHERE id = $1`, id).Scan(&o.ID, &o.Account, &ev, &o.Status, &o.Currency, &o.Total, &quote, &o.Method, &created, &expires, &paid, &closed,
		&o.Guest, &o.Instrument)
	if err != nil {
		return o, notFound(err, fmt.Sprintf("order %d", id))
	}
	o.Event, o.Quote = uint64(ev), []byte(quote)
	o.Created, o.Expires, o.PaidAt, o.ClosedAt = fromMicros(created), fromMicros(expires), fromMicros(paid), fromMicros(closed)
	rows, err := d.db.QueryContext(ctx, `SELECT type, quantity FROM shop_order_items WHERE order_id = $1 ORDER BY type`, id)
	if err != nil {
		return o, fmt.Errorf("order %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var it ShopOrderItem
		var typ int64
		if err := rows.Scan(&typ, &it.Quantity); err != nil {
			return o, fmt.Errorf("order %d: %w", id, err)
		}
		it.Type = uint64(typ)
		o.Items = append(o.Items, it)
	}
	return o, rows.Err()
}

// OrderTickets lists the tickets issued for an order.
func (d *DB) OrderTickets(ctx context.Context, order int64) ([]Ticket, error) {
	var out []Ticket
	err := d.tickets(ctx, `WHERE (event, serial) IN (SELECT event, serial FROM shop_order_tickets WHERE order_id = $1)`, []any{order},
		func(t Ticket) error { out = append(out, t); return nil })
	return out, err
}

// ExpiredOrders lists the pending orders whose hold ran out by now.
func (d *DB) ExpiredOrders(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM shop_orders WHERE status = 'pending_payment' AND expires <= $1 ORDER BY expires LIMIT $2`,
		micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("expired orders: %w", err)
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
