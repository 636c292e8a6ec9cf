package ops

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/pricing"
)

// orderDoc is an order's invoice or credit note at the counter.
type orderDoc struct {
	Kind, Number, Total, Issued, Href, EInvoice string
}

// orderDocs are an order's invoice and credit notes, issuing what is due.
func (u *UI) orderDocs(r *http.Request, o store.ShopOrder, loc *time.Location) []orderDoc {
	if u.cfg.Invoices == nil || o.PaidAt.IsZero() {
		return nil
	}
	docs, e, err := u.cfg.Invoices.Documents(r.Context(), o.ID)
	if err != nil {
		u.cfg.Logger.Error("ops: invoices of an order", "order", o.ID, "err", err)
		return nil
	}
	lang := web.LangOf(r)
	var out []orderDoc
	for _, d := range docs {
		cur, _ := pricing.ParseCurrency(d.Currency)
		out = append(out, orderDoc{Kind: d.Kind, Number: d.Number, Total: pricing.New(d.Total, cur).Display(lang), Issued: when(d.Issued, loc),
			Href: fmt.Sprintf("/ops/orders/%d/invoices/%s.pdf", o.ID, d.Number), EInvoice: e[d.ID].Number})
	}
	return out
}

// invoicePDF serves one of an order's documents
// (GET /ops/orders/{id}/invoices/{number}.pdf) to any staff role: every
// role reads, and an auditor needs the documents most.
func (u *UI) invoicePDF(w http.ResponseWriter, r *http.Request, s staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	number, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	if err != nil || !ok || u.cfg.Invoices == nil {
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	}
	docs, e, err := u.cfg.Invoices.Documents(r.Context(), id)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	for _, d := range docs {
		if d.Number != number {
			continue
		}
		var buf bytes.Buffer
		if err := u.cfg.Invoices.PDF(r.Context(), &buf, d, e[d.ID]); err != nil {
			u.internal(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, d.Number))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(buf.Bytes())
		return
	}
	http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
}
