package ops

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/web"
)

type exchangeTarget struct {
	Type             uint64
	Name, Day, Price string
	SoldOut, Chosen  bool
}

type exchangeFormData struct {
	base
	ID      int64
	Serial  uint64
	To      uint64
	Buyer   string
	Event   string
	Targets []exchangeTarget
	Key     string
	Reason  string
	Counter bool
	Missing bool
	Quote   *shop.ExchangeView
}

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

// exchangeForm shows the box office's exchange of a ticket (GET
// /ops/orders/{id}/exchange?ticket=S[&to=T]): the types to pick, the
// quote, a reason, and whether the difference was taken at the counter.
func (u *UI) exchangeForm(w http.ResponseWriter, r *http.Request, s staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	serial, to, ok := exchangeAsk(r.URL.Query().Get)
	if err != nil || !ok || u.cfg.Shop == nil {
		serial, to = 0, 0
	}
	u.showExchangeForm(w, r, s, http.StatusOK, exchangeFormData{ID: id, Serial: serial, To: to, Key: shop.NewRefundKey()})
}

func (u *UI) showExchangeForm(w http.ResponseWriter, r *http.Request, s staff.Session, status int, d exchangeFormData) {
	b, _, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Error = d.Error
	d.base = b
	missing := func(key string) {
		d.Missing, d.Error = true, u.site.T(r, key)
		u.site.Render(w, r, status, u.page(s, "exchange", "exchange.title", d))
	}
	if u.cfg.Shop == nil || d.Serial == 0 {
		missing("boxoffice.unknown")
		return
	}
	o, _, err := u.cfg.Shop.Order(r.Context(), d.ID)
	if err != nil || o.Status != shop.StatusPaid {
		missing("refund.error.state")
		return
	}
	if a, err := u.cfg.Store.Account(r.Context(), o.Account); err == nil {
		d.Buyer = strings.TrimSpace(strings.Join([]string{a.Name, a.Email, a.Phone}, " "))
	}
	if ev, err := u.cfg.Store.Event(r.Context(), o.Event); err == nil {
		d.Event = ev.Name
	}
	lang := web.LangOf(r)
	targets, err := u.cfg.Shop.ExchangeTargets(r.Context(), o.ID, d.Serial)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	for _, t := range targets {
		d.Targets = append(d.Targets, exchangeTarget{Type: t.Type, Name: t.Name, Day: t.Day, Price: t.Price.Display(lang), SoldOut: t.Left <= 0, Chosen: t.Type == d.To})
	}
	if d.To != 0 {
		plan, err := u.cfg.Shop.PlanExchange(r.Context(), shop.ExchangeAsk{Order: o.ID, Serial: d.Serial, To: d.To})
		switch {
		case errors.Is(err, shop.ErrNotFound), errors.Is(err, shop.ErrBadRequest), errors.Is(err, shop.ErrState):
			d.Error = err.Error()
		case err != nil:
			u.internal(w, r, err)
			return
		default:
			names := map[uint64]string{}
			if tts, err := u.cfg.Store.TicketTypes(r.Context(), o.Event); err == nil {
				for _, t := range tts {
					names[t.ID] = t.Name
				}
			}
			v := shop.DescribeExchange(plan, names, lang, func(k string, a ...any) string { return u.site.T(r, k, a...) })
			d.Quote = &v
		}
	}
	u.site.Render(w, r, status, u.page(s, "exchange", "exchange.title", d))
}

// exchangeSave makes a box-office exchange (POST
// /ops/orders/{id}/exchange), with a reason for the audit log.
func (u *UI) exchangeSave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	serial, to, ok := exchangeAsk(r.PostFormValue)
	if err != nil || !ok || to == 0 || u.cfg.Shop == nil {
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	}
	d := exchangeFormData{ID: id, Serial: serial, To: to, Key: strings.TrimSpace(r.PostFormValue("key")),
		Reason: strings.TrimSpace(r.PostFormValue("reason")), Counter: r.PostFormValue("paid_at_counter") == "on"}
	if d.Reason == "" {
		d.Error = u.site.T(r, "refund.error.reason")
		u.showExchangeForm(w, r, s, http.StatusBadRequest, d)
		return
	}
	res, _, err := u.cfg.Shop.Exchange(r.Context(), shop.ExchangeAsk{Order: id, Serial: serial, To: to, Actor: s.User, Reason: d.Reason,
		PaidAtCounter: d.Counter, Key: d.Key})
	switch {
	case err == nil:
	case errors.Is(err, shop.ErrPayDifference):
		d.Error = u.site.T(r, "exchange.error.counter")
	case errors.Is(err, shop.ErrSoldOut):
		d.Error = u.site.T(r, "exchange.error.sold_out")
	case errors.Is(err, shop.ErrRefusedRefund):
		d.Error = u.site.T(r, "exchange.error.refused")
	case errors.Is(err, shop.ErrState), errors.Is(err, shop.ErrNotFound), errors.Is(err, shop.ErrBadRequest):
		d.Error = err.Error()
	default:
		u.internal(w, r, err)
		return
	}
	if err != nil {
		d.Key = shop.NewRefundKey()
		u.showExchangeForm(w, r, s, http.StatusConflict, d)
		return
	}
	done := "boxoffice.exchanged"
	if res.Pending {
		done = "boxoffice.refund_pending"
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/orders?order=%d&done=%s", id, done), http.StatusSeeOther)
}
