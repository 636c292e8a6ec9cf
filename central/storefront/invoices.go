package storefront

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
)

// invoicesView is the order page's invoices: the invoice, its credit
// notes, their e-invoices, and the buyer's invoice title.
type invoicesView struct {
	OrderID    int64
	CSRF       string
	Invoice    *docView
	Credits    []docView
	Title      string
	TaxID      string
	EInvoicing bool // the buyer may ask for a 数电票
	Pending    bool // not paid yet: only the title can be set
	Asked      bool // and did
}

type docView struct {
	Number, Issued, Total string
	Href                  string
	EInvoice              string // the official number, "" without
}

// invoicesOf is what the order page shows of an order's invoices; nil
// when invoicing is off or the order was never paid.
func (f *Front) invoicesOf(r *http.Request, b *buyer, o store.ShopOrder, tz string) *invoicesView {
	is := f.cfg.Invoices
	if is == nil {
		return nil
	}
	if o.Status == shop.StatusPending {
		// The invoice is issued as the order is paid: its title can be
		// set now.
		v := &invoicesView{OrderID: o.ID, CSRF: b.csrf(), Pending: true}
		if t, err := is.Title(r.Context(), b.Account); err == nil {
			v.Title, v.TaxID = t.Title, t.TaxID
		}
		return v
	}
	if o.PaidAt.IsZero() {
		return nil
	}
	docs, e, err := is.Documents(r.Context(), o.ID)
	if err != nil {
		f.cfg.Logger.Error("storefront: invoices of an order", "order", o.ID, "err", err)
		return nil
	}
	lang := langOf(r)
	v := &invoicesView{OrderID: o.ID, CSRF: b.csrf(), EInvoicing: is.EInvoicing(o.Currency)}
	if t, err := is.Title(r.Context(), b.Account); err == nil {
		v.Title, v.TaxID = t.Title, t.TaxID
	}
	for _, d := range docs {
		dv := docView{Number: d.Number, Issued: when(d.Issued, tz, lang), Total: money(d.Total, d.Currency, lang), EInvoice: e[d.ID].Number}
		if d.Kind == store.InvoiceKind {
			dv.Href = fmt.Sprintf("/orders/%d/invoice.pdf", o.ID)
			v.Invoice, v.Asked = &dv, dv.EInvoice != ""
			continue
		}
		dv.Href = fmt.Sprintf("/orders/%d/credit-notes/%s.pdf", o.ID, d.Number)
		v.Credits = append(v.Credits, dv)
	}
	if v.Invoice == nil {
		return nil
	}
	return v
}

// invoicePDF serves the order's invoice (GET /orders/{id}/invoice.pdf)
// or one of its credit notes (GET /orders/{id}/credit-notes/{number}.pdf)
// to the order's buyer only: another's order is not found.
func (f *Front) invoicePDF(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, _, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok || f.cfg.Invoices == nil {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	docs, e, err := f.cfg.Invoices.Documents(r.Context(), o.ID)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	want, kind := "", store.InvoiceKind
	if file := r.PathValue("file"); file != "" {
		var ok bool
		if want, ok = strings.CutSuffix(file, ".pdf"); !ok {
			f.message(w, r, http.StatusNotFound, b, "error.no_invoice")
			return
		}
		kind = store.CreditNoteKind
	}
	for _, d := range docs {
		if d.Kind != kind || want != "" && d.Number != want {
			continue
		}
		var buf bytes.Buffer
		if err := f.cfg.Invoices.PDF(r.Context(), &buf, d, e[d.ID]); err != nil {
			f.cfg.Logger.Error("storefront: invoice pdf", "number", d.Number, "err", err)
			f.message(w, r, http.StatusServiceUnavailable, b, "error.pdf")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, d.Number))
		h.Set("Cache-Control", "private, no-store")
		w.Write(buf.Bytes())
		return
	}
	f.message(w, r, http.StatusNotFound, b, "error.no_invoice")
}

// invoiceTitle sets the buyer's invoice title and tax number (POST
// /orders/{id}/invoice-title), for the e-invoice and the invoices to come.
func (f *Front) invoiceTitle(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok || f.cfg.Invoices == nil {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	err = f.cfg.Invoices.SetTitle(r.Context(), b.ID, r.PostFormValue("title"), r.PostFormValue("tax_id"))
	if errors.Is(err, invoice.ErrBadTitle) || errors.Is(err, invoice.ErrBadTaxID) {
		key := "error.invoice_title"
		if errors.Is(err, invoice.ErrBadTaxID) {
			key = "error.tax_id"
		}
		f.showOrder(w, r, b, http.StatusBadRequest, o, tickets, key)
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if r.PostFormValue("einvoice") != "" {
		f.requestEInvoice(w, r, b)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=title#invoices", o.ID), http.StatusSeeOther)
}

// requestEInvoice asks for the order's 数电票 (POST /orders/{id}/einvoice).
func (f *Front) requestEInvoice(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok || f.cfg.Invoices == nil {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	_, err = f.cfg.Invoices.RequestEInvoice(r.Context(), o.ID)
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=einvoice#invoices", o.ID), http.StatusSeeOther)
	case errors.Is(err, invoice.ErrNotPaid), errors.Is(err, invoice.ErrNoProvider):
		f.showOrder(w, r, b, http.StatusConflict, o, tickets, "error.einvoice_none")
	default:
		f.cfg.Logger.Warn("storefront: e-invoice not issued", "order", o.ID, "err", err)
		f.showOrder(w, r, b, http.StatusBadGateway, o, tickets, "error.einvoice")
	}
}
