package central

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

func (s *Server) invoiceRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/orders/{id}/invoices", s.ops("box_office|read", s.orderInvoices))
	m.HandleFunc("GET /api/v1/orders/{id}/invoices/{file}", s.ops("box_office|read", s.orderInvoicePDF))
}

// InvoiceLine is a line of an invoice in the API.
type InvoiceLine struct {
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
	Unit     int64  `json:"unit"`
	Discount int64  `json:"discount"`
	Total    int64  `json:"total"`
}

// InvoiceDoc is an invoice or credit note in the API: amounts in minor
// units of currency, negative on a credit note.
type InvoiceDoc struct {
	Kind       string        `json:"kind"` // invoice, credit_note
	Number     string        `json:"number"`
	Issued     time.Time     `json:"issued"`
	Credits    string        `json:"credits,omitempty"` // the invoice a credit note credits
	Currency   string        `json:"currency"`
	Subtotal   int64         `json:"subtotal"`
	Discount   int64         `json:"discount"`
	Tax        int64         `json:"tax"`
	TaxRate    int           `json:"tax_rate_bp"`
	Total      int64         `json:"total"`
	Seller     store.Seller  `json:"seller"`
	BuyerTitle string        `json:"buyer_title"`
	BuyerTaxID string        `json:"buyer_tax_id,omitempty"`
	Lines      []InvoiceLine `json:"lines"`
	EInvoice   *EInvoiceRef  `json:"einvoice,omitempty"`
	PDF        string        `json:"pdf"` // its path in this API
}

// EInvoiceRef is the e-invoice a tax platform issued for a document.
type EInvoiceRef struct {
	Provider string    `json:"provider"`
	Number   string    `json:"number"`
	Issued   time.Time `json:"issued"`
}

// orderInvoices is GET /api/v1/orders/{id}/invoices: the order's invoice
// and credit notes, issuing what is due first.
func (s *Server) orderInvoices(w http.ResponseWriter, r *http.Request) {
	id, ok := s.orderID(w, r)
	if !ok {
		return
	}
	docs, e, err := s.Invoices.Documents(r.Context(), id)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	numbers := map[int64]string{}
	for _, d := range docs {
		numbers[d.ID] = d.Number
	}
	out := struct {
		Order     int64        `json:"order"`
		Documents []InvoiceDoc `json:"documents"`
	}{Order: id, Documents: []InvoiceDoc{}}
	for _, d := range docs {
		v := InvoiceDoc{Kind: d.Kind, Number: d.Number, Issued: d.Issued, Credits: numbers[d.Original], Currency: d.Currency, Subtotal: d.Subtotal,
			Discount: d.Discount, Tax: d.Tax, TaxRate: d.TaxRate, Total: d.Total, Seller: d.Seller, BuyerTitle: d.BuyerTitle, BuyerTaxID: d.BuyerTaxID,
			Lines: []InvoiceLine{}, PDF: fmt.Sprintf("/api/v1/orders/%d/invoices/%s.pdf", id, d.Number)}
		for _, l := range d.Lines {
			v.Lines = append(v.Lines, InvoiceLine(l))
		}
		if x, ok := e[d.ID]; ok {
			v.EInvoice = &EInvoiceRef{Provider: x.Provider, Number: x.Number, Issued: x.Issued}
		}
		out.Documents = append(out.Documents, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// orderInvoicePDF is GET /api/v1/orders/{id}/invoices/{number}.pdf.
func (s *Server) orderInvoicePDF(w http.ResponseWriter, r *http.Request) {
	id, ok := s.orderID(w, r)
	if !ok {
		return
	}
	number, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	docs, e, err := s.Invoices.Documents(r.Context(), id)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	for _, d := range docs {
		if !ok || d.Number != number {
			continue
		}
		var buf bytes.Buffer
		if err := s.Invoices.PDF(r.Context(), &buf, d, e[d.ID]); err != nil {
			s.internal(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, d.Number))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(buf.Bytes())
		return
	}
	s.fail(w, http.StatusNotFound, "not_found", fmt.Sprintf("order %d has no document %q", id, r.PathValue("file")))
}

func (s *Server) orderID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "order id: want a positive integer")
		return 0, false
	}
	if _, err := s.cfg.Store.Order(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		s.fail(w, http.StatusNotFound, "not_found", fmt.Sprintf("no order %d", id))
		return 0, false
	} else if err != nil {
		s.internal(w, r, err)
		return 0, false
	}
	return id, true
}
