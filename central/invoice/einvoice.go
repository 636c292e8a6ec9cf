package invoice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// Provider is a tax authority's e-invoicing platform: China's fully
// digital e-invoice (数电票) through a service provider (ChinaPlatform),
// and room for others (Italy's SDI, India's IRP, a Peppol access point)
// behind the same two calls. Issue makes the official invoice of one of
// ours; Reverse makes the official credit of one of our credit notes
// against the official invoice it credits (China: a red invoice, 红字发
// 票, against the blue one).
//
// Both must be idempotent by Document.Key (our number): asking twice for
// one document returns the same official number and issues nothing more.
type Provider interface {
	Name() string
	Issue(ctx context.Context, d Document) (Receipt, error)
	Reverse(ctx context.Context, d Document, original Receipt) (Receipt, error)
}

// Document is an invoice or credit note as a platform is told of it.
type Document struct {
	// Key is our number (INV-2026-000123): the platform's idempotency key.
	Key      string
	Seller   store.Seller
	Buyer    Buyer
	Currency string
	Total    int64 // minor units, negative on a credit note
	Tax      int64 // included in Total
	TaxRate  int   // basis points
	Lines    []store.InvoiceLine
	Issued   time.Time
	// Reason is why a credit note credits (a refund).
	Reason string
}

// Buyer is who an e-invoice is made out to.
type Buyer struct {
	Title string // 抬头: a person's or a company's name
	TaxID string // 税号: "" for a person
	Email string // where the platform delivers it, when it does
}

// Receipt is what a platform answered.
type Receipt struct {
	Number string // the official number (数电票号码: 20 digits)
	Issued time.Time
	Detail string // anything else worth keeping (a verification link)
}

// ErrNoProvider is no e-invoicing configured.
var ErrNoProvider = errors.New("no e-invoicing configured")

// ErrNotPaid is an e-invoice asked for an order not invoiced (not paid,
// or refunded in full).
var ErrNotPaid = errors.New("nothing to e-invoice")

func document(inv store.Invoice, b Buyer) Document {
	return Document{Key: inv.Number, Seller: inv.Seller, Buyer: b, Currency: inv.Currency, Total: inv.Total, Tax: inv.Tax,
		TaxRate: inv.TaxRate, Lines: inv.Lines, Issued: inv.Issued}
}

// RequestEInvoice issues the e-invoice of an order's invoice, made out to
// the buyer's invoice title and tax number as set now (SetTitle), and
// returns it; one issued already is returned as it is. An order whose
// invoice is credited in full gets none (ErrNotPaid).
func (is *Issuer) RequestEInvoice(ctx context.Context, order int64) (store.EInvoice, error) {
	if is.cfg.EInvoice == nil {
		return store.EInvoice{}, ErrNoProvider
	}
	docs, err := is.Ensure(ctx, order)
	if err != nil {
		return store.EInvoice{}, err
	}
	inv, ok := find(docs, fmt.Sprintf("order:%d", order))
	if !ok {
		return store.EInvoice{}, fmt.Errorf("order %d: %w", order, ErrNotPaid)
	}
	have, err := is.db.OrderEInvoices(ctx, order)
	if err != nil {
		return store.EInvoice{}, err
	}
	if e, ok := have[inv.ID]; ok {
		return e, nil
	}
	if !is.EInvoicing(inv.Currency) {
		return store.EInvoice{}, fmt.Errorf("order %d: not in %s: %w", order, inv.Currency, ErrNoProvider)
	}
	if creditable(inv, docs) <= 0 {
		return store.EInvoice{}, fmt.Errorf("order %d is refunded in full: %w", order, ErrNotPaid)
	}
	buyer, err := is.db.Account(ctx, inv.Account)
	if err != nil {
		return store.EInvoice{}, err
	}
	t, err := is.Title(ctx, buyer)
	if err != nil {
		return store.EInvoice{}, err
	}
	b := Buyer{Title: t.Title, TaxID: t.TaxID, Email: buyer.Email}
	rc, err := is.cfg.EInvoice.Issue(ctx, document(inv, b))
	if err != nil {
		return store.EInvoice{}, fmt.Errorf("e-invoice of %s: %w", inv.Number, err)
	}
	e := store.EInvoice{Invoice: inv.ID, Provider: is.cfg.EInvoice.Name(), Number: rc.Number, Title: b.Title, TaxID: b.TaxID, Issued: rc.Issued, Detail: rc.Detail}
	if err := is.db.Update(ctx, func(tx *store.Tx) error { _, err := tx.AddEInvoice(e); return err }); err != nil {
		return store.EInvoice{}, err
	}
	is.log.Info("e-invoice issued", "order", order, "invoice", inv.Number, "provider", e.Provider, "number", e.Number)
	// A refund that came while the platform answered is reversed now.
	if err := is.reverseEInvoices(ctx, order, docs); err != nil {
		return e, err
	}
	return e, nil
}

// reverseEInvoices reverses, for each credit note of an order whose
// invoice has an e-invoice, the part it credits (a red invoice).
func (is *Issuer) reverseEInvoices(ctx context.Context, order int64, docs []store.Invoice) error {
	if is.cfg.EInvoice == nil {
		return nil
	}
	var credits bool
	for _, d := range docs {
		credits = credits || d.Kind == store.CreditNoteKind
	}
	if !credits {
		return nil
	}
	have, err := is.db.OrderEInvoices(ctx, order)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if d.Kind != store.CreditNoteKind {
			continue
		}
		blue, ok := have[d.Original]
		if _, done := have[d.ID]; !ok || done {
			continue
		}
		b := Buyer{Title: blue.Title, TaxID: blue.TaxID}
		doc := document(d, b)
		doc.Reason = "refund"
		rc, err := is.cfg.EInvoice.Reverse(ctx, doc, Receipt{Number: blue.Number, Issued: blue.Issued})
		if err != nil {
			return fmt.Errorf("red e-invoice of %s: %w", d.Number, err)
		}
		e := store.EInvoice{Invoice: d.ID, Provider: is.cfg.EInvoice.Name(), Number: rc.Number, Title: b.Title, TaxID: b.TaxID, Issued: rc.Issued, Detail: rc.Detail}
		if err := is.db.Update(ctx, func(tx *store.Tx) error { _, err := tx.AddEInvoice(e); return err }); err != nil {
			return err
		}
		is.log.Info("red e-invoice issued", "order", order, "credit_note", d.Number, "number", e.Number, "blue", blue.Number)
	}
	return nil
}

// Currencies is what a Provider may also have: the currencies it
// invoices in (a national platform invoices in its own); without it, any.
type Currencies interface{ Currencies() []string }

// EInvoicing reports whether buyers may ask for e-invoices of documents
// in currency.
func (is *Issuer) EInvoicing(currency string) bool {
	if is.cfg.EInvoice == nil {
		return false
	}
	if c, ok := is.cfg.EInvoice.(Currencies); ok {
		return contains(c.Currencies(), currency)
	}
	return true
}
