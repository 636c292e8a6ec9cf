package storefront

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
)

type exchangeTargetView struct {
	Type             uint64
	Name, Day, Price string
	SoldOut, Chosen  bool
}

type exchangePageData struct {
	ID               int64
	Event, EventWhen string
	Serial           uint64
	Type             string
	Targets          []exchangeTargetView
	To               uint64
	Key              string
	Quote            *shop.ExchangeView
}

// exchangeAsk reads ticket= and to= of a query or form.
func exchangeAsk(get func(string) string) (serial, to uint64, ok bool) {
	serial, err := strconv.ParseUint(get("ticket"), 10, 64)
	if err != nil || serial == 0 {
		return 0, 0, false
	}
	if v := get("to"); v != "" {
		if to, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return serial, to, true
}

// exchangePage offers the types a ticket may be exchanged for (GET
// /orders/{id}/exchange?ticket=S) and, with to=T, the quote: what the
// ticket is worth, the new one's price, the fee and the difference.
func (f *Front) exchangePage(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	serial, to, good := exchangeAsk(r.URL.Query().Get)
	if !ok || !good {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	f.showExchange(w, r, b, http.StatusOK, o, tickets, serial, to, "")
}

func (f *Front) showExchange(w http.ResponseWriter, r *http.Request, b *buyer, status int, o store.ShopOrder, tickets []store.Ticket, serial, to uint64, errKey string) {
	if o.Status != shop.StatusPaid {
		f.showOrder(w, r, b, http.StatusConflict, o, tickets, "error.refund_state")
		return
	}
	lang := langOf(r)
	names := f.typeNames(r, o.Event)
	name, tz := f.eventName(r, o.Event)
	d := exchangePageData{ID: o.ID, Event: name, Serial: serial, To: to, Key: shop.NewRefundKey()}
	for _, t := range tickets {
		if t.Serial == serial {
			d.Type = names[t.Type]
		}
	}
	if d.Type == "" {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	if ev, err := f.cfg.Store.Event(r.Context(), o.Event); err == nil {
		d.EventWhen = when(ev.Starts, tz, lang)
	}
	targets, err := f.cfg.Shop.ExchangeTargets(r.Context(), o.ID, serial)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	for _, t := range targets {
		tv := exchangeTargetView{Type: t.Type, Name: t.Name, Day: t.Day, Price: t.Price.Display(lang), SoldOut: t.Left <= 0, Chosen: t.Type == to}
		d.Targets = append(d.Targets, tv)
	}
	if to != 0 {
		plan, err := f.cfg.Shop.PlanExchange(r.Context(), shop.ExchangeAsk{Order: o.ID, Serial: serial, To: to})
		switch {
		case errors.Is(err, shop.ErrNotFound), errors.Is(err, shop.ErrBadRequest):
			errKey = "error.exchange_type"
		case err != nil:
			f.internal(w, r, err)
			return
		default:
			v := shop.DescribeExchange(plan, names, lang, f.t(r))
			d.Quote = &v
		}
	}
	f.render(w, r, status, b, "exchange", "exchange.title", data{Page: d, Error: errKey})
}

// exchangeConfirm makes the exchange (POST /orders/{id}/exchange) when it
// costs the buyer nothing more; a dearer one is shown again with the way
// to the box office.
func (f *Front) exchangeConfirm(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	serial, to, good := exchangeAsk(r.PostFormValue)
	if !ok || !good || to == 0 {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	res, _, err := f.cfg.Shop.Exchange(r.Context(), shop.ExchangeAsk{Order: o.ID, Serial: serial, To: to, Key: strings.TrimSpace(r.PostFormValue("key"))})
	key := ""
	switch {
	case err == nil:
		done := "exchanged"
		if res.Pending {
			done = "refund_pending"
		}
		http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=%s", o.ID, done), http.StatusSeeOther)
		return
	case errors.Is(err, shop.ErrPayDifference):
		key = "error.exchange_pay"
	case errors.Is(err, shop.ErrSoldOut):
		key = "error.sold_out"
	case errors.Is(err, shop.ErrRefusedRefund):
		key = "error.exchange_refused"
	case errors.Is(err, shop.ErrState), errors.Is(err, shop.ErrNotFound), errors.Is(err, shop.ErrBadRequest):
		key = "error.refund_state"
	default:
		f.internal(w, r, err)
		return
	}
	f.showExchange(w, r, b, http.StatusConflict, o, tickets, serial, to, key)
}
