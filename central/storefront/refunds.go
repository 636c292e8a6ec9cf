package storefront

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
)

type refundPageData struct {
	ID               int64
	Event, EventWhen string
	Whole            bool
	Serials          []string
	Key              string
	Quote            shop.RefundView
}

// askedSerials reads the ticket fields of a refund's query or form.
func askedSerials(vals []string) ([]uint64, bool) {
	var out []uint64
	for _, v := range vals {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return nil, false
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, len(out) <= 50
}

// refundQuote shows what refunding tickets of an order (GET
// /orders/{id}/refund?ticket=S…; no ticket: the whole order) would pay
// back, with the fee and why, and the form that confirms it.
func (f *Front) refundQuote(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, _, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	serials, ok := askedSerials(r.URL.Query()["ticket"])
	if !ok {
		f.message(w, r, http.StatusBadRequest, b, "error.no_order")
		return
	}
	f.showRefund(w, r, b, http.StatusOK, o, serials, "")
}

func (f *Front) showRefund(w http.ResponseWriter, r *http.Request, b *buyer, status int, o store.ShopOrder, serials []uint64, errKey string) {
	plan, err := f.cfg.Shop.PlanRefund(r.Context(), shop.RefundAsk{Order: o.ID, Serials: serials})
	switch {
	case errors.Is(err, shop.ErrState):
		_, tickets, _, _ := f.orderOf(r, b)
		f.showOrder(w, r, b, http.StatusConflict, o, tickets, "error.refund_state")
		return
	case errors.Is(err, shop.ErrNotFound):
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	case err != nil:
		f.internal(w, r, err)
		return
	}
	policy, err := f.cfg.Shop.RefundPolicy(r.Context(), o.Event)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	lang := langOf(r)
	name, tz := f.eventName(r, o.Event)
	d := refundPageData{ID: o.ID, Event: name, Whole: len(serials) == 0, Key: shop.NewRefundKey()}
	if ev, err := f.cfg.Store.Event(r.Context(), o.Event); err == nil {
		d.EventWhen = when(ev.Starts, tz, lang)
	}
	for _, s := range serials {
		d.Serials = append(d.Serials, strconv.FormatUint(s, 10))
	}
	d.Quote = shop.DescribeRefund(plan, policy, f.typeNames(r, o.Event), lang, f.t(r))
	f.render(w, r, status, b, "refund", "refund.title", data{Page: d, Error: errKey})
}

func (f *Front) typeNames(r *http.Request, event uint64) map[uint64]string {
	names := map[uint64]string{}
	if tts, err := f.cfg.Store.TicketTypes(r.Context(), event); err == nil {
		for _, t := range tts {
			names[t.ID] = t.Name
		}
	}
	return names
}

// refundConfirm makes the refund the quote showed (POST
// /orders/{id}/refund): priced again now, so a buyer who waited past a
// step of the ladder sees the new quote instead.
func (f *Front) refundConfirm(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, _, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	r.ParseForm()
	serials, ok := askedSerials(r.PostForm["ticket"])
	if !ok {
		f.message(w, r, http.StatusBadRequest, b, "error.no_order")
		return
	}
	// The amount the buyer saw must still be the amount: else show the
	// new quote.
	plan, err := f.cfg.Shop.PlanRefund(r.Context(), shop.RefundAsk{Order: o.ID, Serials: serials})
	if err == nil {
		if back, _ := plan.Total(); strconv.FormatInt(back.Minor(), 10) != r.PostFormValue("back") && r.PostFormValue("back") != "" {
			f.showRefund(w, r, b, http.StatusConflict, o, serials, "error.refund_changed")
			return
		}
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	res, err := f.cfg.Shop.Refund(r.Context(), shop.RefundAsk{Order: o.ID, Serials: serials, Key: key})
	switch {
	case err == nil:
	case errors.Is(err, shop.ErrRefusedRefund):
		f.showRefund(w, r, b, http.StatusConflict, o, serials, "error.refund_refused")
		return
	case errors.Is(err, shop.ErrState):
		f.showRefund(w, r, b, http.StatusConflict, o, serials, "error.refund_state")
		return
	case errors.Is(err, shop.ErrBadRequest), errors.Is(err, shop.ErrNotFound):
		f.message(w, r, http.StatusBadRequest, b, "error.refund_state")
		return
	default:
		f.internal(w, r, err)
		return
	}
	done := "refunded"
	if res.Pending {
		done = "refund_pending"
	}
	http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=%s", o.ID, done), http.StatusSeeOther)
}

// refundRow is a refund made, in the order page.
type refundRow struct {
	At      string
	Serials string // the tickets' numbers
	Back    string
	Fee     string
	Pending bool
}

func (f *Front) refundRows(r *http.Request, o store.ShopOrder, tz string) []refundRow {
	rs, err := f.cfg.Store.Refunds(r.Context(), o.ID)
	if err != nil {
		f.cfg.Logger.Warn("storefront: refunds of an order", "order", o.ID, "err", err)
		return nil
	}
	lang := langOf(r)
	var out []refundRow
	for _, x := range rs {
		var serials []string
		for _, tk := range x.Tickets {
			serials = append(serials, strconv.FormatUint(tk.Serial, 10))
		}
		out = append(out, refundRow{At: when(x.Created, tz, lang), Serials: strings.Join(serials, ", "), Back: money(x.Amount, x.Currency, lang),
			Fee: money(x.Fee, x.Currency, lang), Pending: x.State == store.RefundPending})
	}
	return out
}
