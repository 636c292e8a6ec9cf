package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SellerLine is one money record a seller device signed: a ticket sold or
// voided, a shift opened or closed, cash paid in or out. Receipt is the
// sale's receipt number, or the shift's number for shift records.
type SellerLine struct {
	Origin   string
	Seq      uint64
	Device   string
	Kind     int
	Receipt  uint64
	Event    uint64
	Serial   uint64
	Type     uint64
	Amount   int64
	Currency string
	Method   string
	Given    int64
	Ref      string
	Till     string
	Actor    string
	Reason   string
	Note     string
	At       time.Time
}

// AddSellerLine stores a line; it reports false, changing nothing, when
// the record was read before.
func (t *Tx) AddSellerLine(l SellerLine) (bool, error) {
	res, err := t.exec(`INSERT INTO seller_lines (origin, seq, device, kind, receipt, event, serial, type, amount, currency, method,
		given, ref, till, actor, reason, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (origin, seq) DO NOTHING`,
		l.Origin, int64(l.Seq), l.Device, l.Kind, int64(l.Receipt), int64(l.Event), int64(l.Serial), int64(l.Type), l.Amount, l.Currency,
		l.Method, l.Given, l.Ref, l.Till, l.Actor, l.Reason, l.Note, micros(l.At))
	if err != nil {
		return false, fmt.Errorf("seller line %s/%d: %w", l.Origin, l.Seq, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

const lineColumns = `origin, seq, device, kind, receipt, event, serial, type, amount, currency, method, given, ref, till, actor, reason, note, at`

// SellerLines returns an origin's lines of the given kinds with a receipt
// number, in log order; with from and to (sequences, to 0 for no end) the
// lines between them instead, whatever their receipt.
func (t *Tx) SellerLines(origin string, kinds []int, receipt, from, to uint64) ([]SellerLine, error) {
	in, args := inList([]any{origin, int64(receipt), int64(from), int64(to)}, kinds)
	q := `SELECT ` + lineColumns + ` FROM seller_lines WHERE origin = $1 AND kind IN (` + in + `)
		AND ((receipt = $2 AND $3 = 0) OR ($3 > 0 AND seq >= $3 AND (seq <= $4 OR $4 = 0))) ORDER BY seq`
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("seller lines of %s: %w", origin, err)
	}
	defer rows.Close()
	var out []SellerLine
	for rows.Next() {
		var l SellerLine
		var seq, receipt, ev, ser, typ, at int64
		if err := rows.Scan(&l.Origin, &seq, &l.Device, &l.Kind, &receipt, &ev, &ser, &typ, &l.Amount, &l.Currency, &l.Method, &l.Given,
			&l.Ref, &l.Till, &l.Actor, &l.Reason, &l.Note, &at); err != nil {
			return nil, fmt.Errorf("seller lines: %w", err)
		}
		l.Seq, l.Receipt, l.Event, l.Serial, l.Type, l.At = uint64(seq), uint64(receipt), uint64(ev), uint64(ser), uint64(typ), fromMicros(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// inList appends kinds to a query's args and returns their placeholders,
// for an IN (…) of the query.
func inList(args []any, kinds []int) (string, []any) {
	in := make([]string, len(kinds))
	for i, k := range kinds {
		in[i] = fmt.Sprintf("$%d", len(args)+1)
		args = append(args, k)
	}
	return strings.Join(in, ", "), args
}

// UnreadRecords returns up to limit stored records of the given kinds that
// no seller line holds yet, by origin and sequence.
func (d *DB) UnreadRecords(ctx context.Context, kinds []int, limit int) ([]Record, error) {
	in, args := inList([]any{limit}, kinds)
	rows, err := d.db.QueryContext(ctx, `SELECT r.origin, r.seq, r.raw, r.at FROM records r WHERE r.kind IN (`+in+`)
		AND NOT EXISTS (SELECT 1 FROM seller_lines l WHERE l.origin = r.origin AND l.seq = r.seq) ORDER BY r.origin, r.seq LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("unread seller records: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var seq, at int64
		if err := rows.Scan(&r.Origin, &seq, &r.Raw, &at); err != nil {
			return nil, fmt.Errorf("unread seller records: %w", err)
		}
		r.Seq, r.At = uint64(seq), fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Order statuses.
const (
	OrderPaid   = "paid"
	OrderVoided = "voided"
)

// Order is one receipt of a seller: the tickets of one sale, paid together.
type Order struct {
	ID       int64
	Channel  string // "seller"
	Device   string
	Origin   string // the device's key id
	Receipt  uint64
	Event    uint64
	Type     uint64
	Tickets  int
	Total    int64 // minor units of Currency
	Currency string
	Method   string
	Given    int64
	Change   int64
	Ref      string
	Seller   string
	Till     string
	Status   string
	SoldAt   time.Time
	VoidedAt time.Time
	Refunded int64 // paid back by the voids
}

// PutOrder creates or rewrites an order (its figures are recomputed from its
// lines each time one arrives) and returns its id.
func (t *Tx) PutOrder(o Order) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO seller_orders (channel, device, origin, receipt, event, type, tickets, total, currency, method, given,
		change_due, ref, seller, till, status, sold_at, voided_at, refunded)
		VALUES ('seller', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (origin, receipt) DO UPDATE SET tickets = $6, total = $7, given = $10, change_due = $11, status = $15,
		sold_at = $16, voided_at = $17, refunded = $18 RETURNING id`,
		o.Device, o.Origin, int64(o.Receipt), int64(o.Event), int64(o.Type), o.Tickets, o.Total, o.Currency, o.Method, o.Given, o.Change,
		o.Ref, o.Seller, o.Till, o.Status, micros(o.SoldAt), micros(o.VoidedAt), o.Refunded).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("order %s/%d: %w", o.Device, o.Receipt, err)
	}
	return id, nil
}

// Payment is money taken for an order (kind "payment") or paid back
// ("refund").
type Payment struct {
	Kind     string
	Method   string
	Amount   int64
	Currency string
	Ref      string
	At       time.Time
}

// PutPayment records an order's payment or refund, replacing the one held.
func (t *Tx) PutPayment(order int64, p Payment) error {
	_, err := t.exec(`INSERT INTO seller_payments (order_id, kind, method, amount, currency, ref, at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (order_id, kind) DO UPDATE SET amount = $4, at = $7`, order, p.Kind, p.Method, p.Amount, p.Currency, p.Ref, micros(p.At))
	if err != nil {
		return fmt.Errorf("payment of order %d: %w", order, err)
	}
	return nil
}

// Payments lists an order's payments.
func (d *DB) Payments(ctx context.Context, order int64) ([]Payment, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT kind, method, amount, currency, ref, at FROM seller_payments WHERE order_id = $1 ORDER BY kind`, order)
	if err != nil {
		return nil, fmt.Errorf("payments: %w", err)
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		var p Payment
		var at int64
		if err := rows.Scan(&p.Kind, &p.Method, &p.Amount, &p.Currency, &p.Ref, &at); err != nil {
			return nil, err
		}
		p.At = fromMicros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SellerOrders lists the orders of a device, or of every device, by time.
func (d *DB) SellerOrders(ctx context.Context, device string) ([]Order, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, channel, device, origin, receipt, event, type, tickets, total, currency, method, given,
		change_due, ref, seller, till, status, sold_at, voided_at, refunded FROM seller_orders WHERE device = $1 OR $1 = ''
		ORDER BY sold_at, origin, receipt`, device)
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		var o Order
		var receipt, ev, typ, sold, voided int64
		if err := rows.Scan(&o.ID, &o.Channel, &o.Device, &o.Origin, &receipt, &ev, &typ, &o.Tickets, &o.Total, &o.Currency, &o.Method,
			&o.Given, &o.Change, &o.Ref, &o.Seller, &o.Till, &o.Status, &sold, &voided, &o.Refunded); err != nil {
			return nil, fmt.Errorf("orders: %w", err)
		}
		o.Receipt, o.Event, o.Type, o.SoldAt, o.VoidedAt = uint64(receipt), uint64(ev), uint64(typ), fromMicros(sold), fromMicros(voided)
		out = append(out, o)
	}
	return out, rows.Err()
}

// Shift is a seller's shift as central holds it: Report is its cash report
// (JSON), recomputed from its lines whenever one arrives. Day is the
// venue's local date the shift opened on.
type Shift struct {
	Origin   string
	Number   uint64
	Device   string
	Day      string
	Seller   string
	Till     string
	Currency string
	Opened   time.Time
	Closed   time.Time
	Report   []byte
}

// PutShift creates or rewrites a shift.
func (t *Tx) PutShift(s Shift) error {
	_, err := t.exec(`INSERT INTO seller_shifts (origin, number, device, day, seller, till, currency, opened, closed, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (origin, number) DO UPDATE SET closed = $9, report = $10`,
		s.Origin, int64(s.Number), s.Device, s.Day, s.Seller, s.Till, s.Currency, micros(s.Opened), micros(s.Closed), string(s.Report))
	if err != nil {
		return fmt.Errorf("shift %s/%d: %w", s.Device, s.Number, err)
	}
	return nil
}

// ShiftOpenAt is the sequence of the last shift opening of an origin at
// or before seq: the shift a record at seq belongs to.
func (t *Tx) ShiftOpenAt(origin string, openKind int, seq uint64) (uint64, error) {
	var open int64
	err := t.queryRow(`SELECT seq FROM seller_lines WHERE origin = $1 AND kind = $2 AND seq <= $3 ORDER BY seq DESC LIMIT 1`,
		origin, openKind, int64(seq)).Scan(&open)
	return uint64(open), notFound(err, fmt.Sprintf("shift of %s/%d", origin, seq))
}

// SellerShifts lists shifts by device (empty: every device) and day (empty:
// every day), by opening time.
func (d *DB) SellerShifts(ctx context.Context, device, day string) ([]Shift, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT origin, number, device, day, seller, till, currency, opened, closed, report FROM seller_shifts
		WHERE (device = $1 OR $1 = '') AND (day = $2 OR $2 = '') ORDER BY opened, origin, number`, device, day)
	if err != nil {
		return nil, fmt.Errorf("shifts: %w", err)
	}
	defer rows.Close()
	var out []Shift
	for rows.Next() {
		var s Shift
		var number, opened, closed int64
		var report string
		if err := rows.Scan(&s.Origin, &number, &s.Device, &s.Day, &s.Seller, &s.Till, &s.Currency, &opened, &closed, &report); err != nil {
			return nil, fmt.Errorf("shifts: %w", err)
		}
		s.Number, s.Opened, s.Closed, s.Report = uint64(number), fromMicros(opened), fromMicros(closed), []byte(report)
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddSoldTicket puts a ticket a seller sold into the ticket table. It
// reports false when the serial is taken already: sold twice, by a cloned
// device or by an overlapping block.
func (t *Tx) AddSoldTicket(tk Ticket) (bool, error) {
	res, err := t.exec(`INSERT INTO tickets (event, serial, type, status, code, issuer, issued_at, revoked_at) VALUES ($1, $2, $3, $4, '', $5, $6, $7)
		ON CONFLICT (event, serial) DO NOTHING`, int64(tk.Event), int64(tk.Serial), int64(tk.Type), tk.Status, tk.Issuer, micros(tk.IssuedAt), micros(tk.RevokedAt))
	if err != nil {
		return false, fmt.Errorf("sold ticket %d/%d: %w", tk.Event, tk.Serial, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
