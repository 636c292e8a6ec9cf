package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

func init() {
	Tables = append(Tables, "invoice_settings", "invoice_counters", "invoices", "invoice_titles", "einvoices")
}

// Kinds of Invoice.
const (
	InvoiceKind    = "invoice"
	CreditNoteKind = "credit_note"
)

// InvoiceSettings is how an organizer invoices.
type InvoiceSettings struct {
	Organizer     string
	InvoicePrefix string // "INV": numbers INV-2026-000123
	CreditPrefix  string // "CN"
	SellerName    string // "": the organizer's name
	SellerTaxID   string
	SellerAddress string
	// TaxRate is the tax its prices include, in basis points (600 is
	// 6%); 0 prints no tax.
	TaxRate int
}

// PutInvoiceSettings creates or replaces an organizer's settings.
func (t *Tx) PutInvoiceSettings(s InvoiceSettings) error {
	_, err := t.exec(`INSERT INTO invoice_settings (organizer, invoice_prefix, credit_prefix, seller_name, seller_tax_id, seller_address, tax_rate_bp)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (organizer) DO UPDATE SET invoice_prefix = $2, credit_prefix = $3, seller_name = $4,
		seller_tax_id = $5, seller_address = $6, tax_rate_bp = $7`,
		s.Organizer, s.InvoicePrefix, s.CreditPrefix, s.SellerName, s.SellerTaxID, s.SellerAddress, s.TaxRate)
	if err != nil {
		return fmt.Errorf("put invoice settings of %s: %w", s.Organizer, err)
	}
	return nil
}

// InvoiceSettings reads an organizer's settings; one without a row gets
// the defaults (INV, CN, its own name, no tax).
func (d *DB) InvoiceSettings(ctx context.Context, organizer string) (InvoiceSettings, error) {
	s := InvoiceSettings{Organizer: organizer}
	err := d.db.QueryRowContext(ctx, `SELECT invoice_prefix, credit_prefix, seller_name, seller_tax_id, seller_address, tax_rate_bp
		FROM invoice_settings WHERE organizer = $1`, organizer).Scan(&s.InvoicePrefix, &s.CreditPrefix, &s.SellerName, &s.SellerTaxID, &s.SellerAddress, &s.TaxRate)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("invoice settings of %s: %w", organizer, err)
	}
	if s.InvoicePrefix == "" {
		s.InvoicePrefix = "INV"
	}
	if s.CreditPrefix == "" {
		s.CreditPrefix = "CN"
	}
	if s.SellerName == "" {
		s.SellerName = organizer
	}
	return s, nil
}

// InvoiceLine is one line of an invoice: minor units, negative on a
// credit note.
type InvoiceLine struct {
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
	Unit     int64  `json:"unit"`
	Discount int64  `json:"discount"` // taken off the line's quantity × unit
	Total    int64  `json:"total"`
}

// Seller is who sells, as printed on an invoice.
type Seller struct {
	Name    string `json:"name"`
	TaxID   string `json:"tax_id,omitempty"`
	Address string `json:"address,omitempty"`
}

// Invoice is an invoice or a credit note as issued; stored ones never
// change.
type Invoice struct {
	ID        int64
	Kind      string // InvoiceKind or CreditNoteKind
	Source    string // what it was issued for: "order:12", "refund:34", "cancel:12"
	Organizer string
	Series    string // "INV-2026": the sequence its number is taken from
	Seq       int64
	Number    string // "INV-2026-000123"
	Order     int64
	RefundTx  int64 // the pay_transactions row a credit note is for
	Original  int64 // the invoice a credit note credits
	Account   int64
	Currency  string
	Subtotal  int64
	Discount  int64
	Tax       int64 // included in Total
	Total     int64
	TaxRate   int // basis points
	Seller    Seller
	// BuyerTitle and BuyerTaxID are the buyer's invoice title (抬头) and
	// tax number (税号), or the account's name.
	BuyerTitle, BuyerTaxID string
	Language               string // "zh" or "en": the buyer's
	Lines                  []InvoiceLine
	Issued                 time.Time
}

// IssueInvoice stores inv under the next number of its organizer's
// series and returns it with its number, and whether it is new: an
// invoice of the same source is returned as stored instead, and no number
// is used. The number is taken in the transaction that inserts the row,
// by updating the series' counter row: on SQLite one writer at a time, on
// PostgreSQL the row lock until the commit, so the numbers of a series
// have no gaps and no duplicates however many are issued at once; a
// transaction that fails gives its number back with its rollback.
func (d *DB) IssueInvoice(ctx context.Context, inv Invoice) (Invoice, bool, error) {
	lines, err := json.Marshal(inv.Lines)
	if err != nil {
		return inv, false, err
	}
	seller, err := json.Marshal(inv.Seller)
	if err != nil {
		return inv, false, err
	}
	var out Invoice
	var fresh bool
	err = d.Update(ctx, func(tx *Tx) error {
		got, err := scanInvoice(tx.queryRow(`SELECT `+invoiceColumns+` FROM invoices WHERE source = $1`, inv.Source))
		if err == nil {
			out, fresh = got, false
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var seq int64
		if err := tx.queryRow(`INSERT INTO invoice_counters (organizer, series, last) VALUES ($1, $2, 1)
			ON CONFLICT (organizer, series) DO UPDATE SET last = invoice_counters.last + 1 RETURNING last`, inv.Organizer, inv.Series).Scan(&seq); err != nil {
			return fmt.Errorf("number of series %s: %w", inv.Series, err)
		}
		n := inv
		n.Seq, n.Number = seq, fmt.Sprintf("%s-%06d", inv.Series, seq)
		if err := tx.queryRow(`INSERT INTO invoices (kind, source, organizer, series, seq, number, order_id, refund_tx, original, account,
			currency, subtotal, discount, tax, total, tax_rate_bp, seller, buyer_title, buyer_tax_id, language, lines, issued)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id`,
			n.Kind, n.Source, n.Organizer, n.Series, n.Seq, n.Number, n.Order, n.RefundTx, n.Original, n.Account, n.Currency,
			n.Subtotal, n.Discount, n.Tax, n.Total, n.TaxRate, string(seller), n.BuyerTitle, n.BuyerTaxID, n.Language, string(lines),
			micros(n.Issued)).Scan(&n.ID); err != nil {
			return err
		}
		out, fresh = n, true
		return nil
	})
	if uniqueViolation(err) {
		// Issued meanwhile by another process for the same source: ours
		// rolled back, number and all.
		got, gerr := scanInvoice(d.db.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE source = $1`, inv.Source))
		if gerr != nil {
			return inv, false, fmt.Errorf("issue %s: %w", inv.Source, errors.Join(err, gerr))
		}
		return got, false, nil
	}
	if err != nil {
		return inv, false, fmt.Errorf("issue %s %s: %w", inv.Kind, inv.Source, err)
	}
	return out, fresh, nil
}

const invoiceColumns = `id, kind, source, organizer, series, seq, number, order_id, refund_tx, original, account, currency,
	subtotal, discount, tax, total, tax_rate_bp, seller, buyer_title, buyer_tax_id, language, lines, issued`

func scanInvoice(s interface{ Scan(...any) error }) (Invoice, error) {
	var i Invoice
	var seller, lines string
	var issued int64
	err := s.Scan(&i.ID, &i.Kind, &i.Source, &i.Organizer, &i.Series, &i.Seq, &i.Number, &i.Order, &i.RefundTx, &i.Original, &i.Account,
		&i.Currency, &i.Subtotal, &i.Discount, &i.Tax, &i.Total, &i.TaxRate, &seller, &i.BuyerTitle, &i.BuyerTaxID, &i.Language, &lines, &issued)
	if err != nil {
		return i, err
	}
	i.Issued = fromMicros(issued)
	if err := json.Unmarshal([]byte(seller), &i.Seller); err != nil {
		return i, fmt.Errorf("invoice %d: seller: %w", i.ID, err)
	}
	if err := json.Unmarshal([]byte(lines), &i.Lines); err != nil {
		return i, fmt.Errorf("invoice %d: lines: %w", i.ID, err)
	}
	return i, nil
}

// OrderInvoices lists an order's invoice and credit notes in the order
// issued.
func (d *DB) OrderInvoices(ctx context.Context, order int64) ([]Invoice, error) {
	return d.invoices(ctx, `WHERE order_id = $1 ORDER BY id`, order)
}

// SeriesInvoices lists the invoices of an organizer's series by number.
func (d *DB) SeriesInvoices(ctx context.Context, organizer, series string) ([]Invoice, error) {
	return d.invoices(ctx, `WHERE organizer = $1 AND series = $2 ORDER BY seq`, organizer, series)
}

func (d *DB) invoices(ctx context.Context, where string, args ...any) ([]Invoice, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+invoiceColumns+` FROM invoices `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("invoices: %w", err)
	}
	defer rows.Close()
	var out []Invoice
	for rows.Next() {
		i, err := scanInvoice(rows)
		if err != nil {
			return nil, fmt.Errorf("invoices: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// InvoiceTodo lists up to limit orders that lack an invoice or a credit
// note (orders of nothing sold, complimentary ones, have none): paid
// without an invoice; with a refund (not of a second or late
// payment, which no invoice counted) without a credit note; cancelled
// after a payment at the counter or in test without a credit note; with
// a credit note of an e-invoiced invoice whose reversal is not issued yet
// (the platform was down). counterMethods are the payment methods whose refunds are not recorded
// as transactions.
func (d *DB) InvoiceTodo(ctx context.Context, counterMethods []string, limit int) ([]int64, error) {
	args := []any{limit}
	in := ""
	for i, m := range counterMethods {
		if i > 0 {
			in += ", "
		}
		args = append(args, m)
		in += fmt.Sprintf("$%d", len(args))
	}
	if in == "" {
		in = "''"
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM (
		SELECT o.id FROM shop_orders o WHERE o.paid_at > 0 AND o.total > 0 AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id AND i.kind = 'invoice')
		UNION SELECT t.order_id FROM pay_transactions t JOIN shop_orders o ON o.id = t.order_id
			WHERE t.kind = 'refund' AND o.paid_at > 0 AND o.total > 0 AND t.reference NOT LIKE 'dup-%' AND t.reference NOT LIKE 'late-%'
			AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.refund_tx = t.id)
		UNION SELECT o.id FROM shop_orders o WHERE o.status = 'cancelled' AND o.paid_at > 0 AND o.total > 0 AND o.method IN (`+in+`)
			AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id AND i.kind = 'credit_note' AND i.refund_tx = 0)
		UNION SELECT c.order_id FROM invoices c JOIN einvoices b ON b.invoice_id = c.original
			WHERE c.kind = 'credit_note' AND NOT EXISTS (SELECT 1 FROM einvoices r WHERE r.invoice_id = c.id)
	) todo ORDER BY id LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("orders to invoice: %w", err)
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

// InvoiceTitle is the title and tax number a buyer wants on invoices.
type InvoiceTitle struct {
	Account int64
	Title   string // 抬头: a person's name or a company's
	TaxID   string // 税号: a company's unified social credit code, "" for a person
	Updated time.Time
}

// PutInvoiceTitle sets a buyer's invoice title.
func (t *Tx) PutInvoiceTitle(it InvoiceTitle) error {
	_, err := t.exec(`INSERT INTO invoice_titles (account, title, tax_id, updated) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account) DO UPDATE SET title = $2, tax_id = $3, updated = $4`, it.Account, it.Title, it.TaxID, micros(it.Updated))
	if err != nil {
		return fmt.Errorf("invoice title of account %d: %w", it.Account, err)
	}
	return nil
}

// InvoiceTitle reads a buyer's invoice title; ErrNotFound when none is set.
func (d *DB) InvoiceTitle(ctx context.Context, account int64) (InvoiceTitle, error) {
	it := InvoiceTitle{Account: account}
	var u int64
	err := d.db.QueryRowContext(ctx, `SELECT title, tax_id, updated FROM invoice_titles WHERE account = $1`, account).Scan(&it.Title, &it.TaxID, &u)
	it.Updated = fromMicros(u)
	return it, notFound(err, fmt.Sprintf("invoice title of account %d", account))
}

// EInvoice is an e-invoice a tax platform issued for an invoice (blue)
// or a credit note (red).
type EInvoice struct {
	Invoice  int64
	Provider string
	Number   string // the platform's invoice number
	Title    string
	TaxID    string
	Issued   time.Time
	Detail   string // what else the platform answered (a verification code, a link)
}

// AddEInvoice records an e-invoice and reports whether it was new: an
// invoice has at most one.
func (t *Tx) AddEInvoice(e EInvoice) (bool, error) {
	res, err := t.exec(`INSERT INTO einvoices (invoice_id, provider, number, title, tax_id, issued, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (invoice_id) DO NOTHING`, e.Invoice, e.Provider, e.Number, e.Title, e.TaxID, micros(e.Issued), e.Detail)
	if err != nil {
		return false, fmt.Errorf("e-invoice of invoice %d: %w", e.Invoice, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// OrderEInvoices lists the e-invoices of an order's invoices, by invoice.
func (d *DB) OrderEInvoices(ctx context.Context, order int64) (map[int64]EInvoice, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT e.invoice_id, e.provider, e.number, e.title, e.tax_id, e.issued, e.detail
		FROM einvoices e JOIN invoices i ON i.id = e.invoice_id WHERE i.order_id = $1`, order)
	if err != nil {
		return nil, fmt.Errorf("e-invoices of order %d: %w", order, err)
	}
	defer rows.Close()
	out := map[int64]EInvoice{}
	for rows.Next() {
		var e EInvoice
		var at int64
		if err := rows.Scan(&e.Invoice, &e.Provider, &e.Number, &e.Title, &e.TaxID, &at, &e.Detail); err != nil {
			return nil, err
		}
		e.Issued = fromMicros(at)
		out[e.Invoice] = e
	}
	return out, rows.Err()
}
