package ops

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/pricing"
)

// A supervisor, for refunds of tickets already scanned in, is an admin:
// box-office staff refund by the event's rules, and an admin may approve
// the refund of a ticket a gate let in.
func maySupervise(r staff.Role) bool { return r == staff.Admin }

type refundFormData struct {
	base
	ID           int64
	Buyer, Event string
	Whole        bool
	Serials      []string
	Key          string
	Reason       string
	Supervisor   bool
	MaySupervise bool
	// Missing: no paid order of that number to refund.
	Missing bool
	Quote   shop.RefundView
}

func askedSerials(vals []string) ([]uint64, bool) {
	var out []uint64
	for _, v := range vals {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil || n == 0 {
			return nil, false
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, len(out) <= 50
}

// refundForm shows the box office's refund of tickets of an order (GET
// /ops/orders/{id}/refund?ticket=S…; none: the whole order): the same
// quote the buyer sees, a reason to give, and a supervisor's approval
// when a ticket was scanned in.
func (u *UI) refundForm(w http.ResponseWriter, r *http.Request, s staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	serials, ok := askedSerials(r.URL.Query()["ticket"])
	if err != nil || !ok || u.cfg.Shop == nil {
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	}
	u.showRefundForm(w, r, s, http.StatusOK, refundFormData{ID: id, Whole: len(serials) == 0, Key: shop.NewRefundKey()}, serials)
}

func (u *UI) showRefundForm(w http.ResponseWriter, r *http.Request, s staff.Session, status int, d refundFormData, serials []uint64) {
	b, _, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Error = d.Error
	d.base = b
	d.MaySupervise = maySupervise(s.Role)
	d.Serials = nil
	for _, n := range serials {
		d.Serials = append(d.Serials, strconv.FormatUint(n, 10))
	}
	// A supervisor sees what the refund would pay with their approval;
	// the checkbox still has to be ticked.
	plan, err := u.cfg.Shop.PlanRefund(r.Context(), shop.RefundAsk{Order: d.ID, Serials: serials, Supervisor: d.MaySupervise})
	switch {
	case errors.Is(err, shop.ErrNotFound), errors.Is(err, shop.ErrState):
		// As the box office's search does: the page says so.
		d.Error, d.Missing = u.site.T(r, "boxoffice.unknown"), true
		if errors.Is(err, shop.ErrState) {
			d.Error = u.site.T(r, "refund.error.state")
		}
		u.site.Render(w, r, status, u.page(s, "refund", "refund.title", d))
		return
	case err != nil:
		u.internal(w, r, err)
		return
	}
	o := plan.Order
	if a, err := u.cfg.Store.Account(r.Context(), o.Account); err == nil {
		d.Buyer = strings.TrimSpace(strings.Join([]string{a.Name, a.Email, a.Phone}, " "))
	}
	names := map[uint64]string{}
	if ev, err := u.cfg.Store.Event(r.Context(), o.Event); err == nil {
		d.Event = ev.Name
	}
	if tts, err := u.cfg.Store.TicketTypes(r.Context(), o.Event); err == nil {
		for _, t := range tts {
			names[t.ID] = t.Name
		}
	}
	policy, err := u.cfg.Shop.RefundPolicy(r.Context(), o.Event)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d.Quote = shop.DescribeRefund(plan, policy, names, web.LangOf(r), func(k string, a ...any) string { return u.site.T(r, k, a...) })
	u.site.Render(w, r, status, u.page(s, "refund", "refund.title", d))
}

// refundSave makes a box-office refund (POST /ops/orders/{id}/refund):
// a reason is required, and it is written to the audit log with the
// staff member.
func (u *UI) refundSave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	r.ParseForm()
	serials, ok := askedSerials(r.PostForm["ticket"])
	if err != nil || !ok || u.cfg.Shop == nil {
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	}
	d := refundFormData{ID: id, Whole: len(serials) == 0, Key: strings.TrimSpace(r.PostFormValue("key")),
		Reason: strings.TrimSpace(r.PostFormValue("reason")), Supervisor: r.PostFormValue("supervisor") == "on"}
	if d.Key == "" {
		d.Key = shop.NewRefundKey()
	}
	if d.Reason == "" {
		d.Error = u.site.T(r, "refund.error.reason")
		u.showRefundForm(w, r, s, http.StatusBadRequest, d, serials)
		return
	}
	res, err := u.cfg.Shop.Refund(r.Context(), shop.RefundAsk{Order: id, Serials: serials, Actor: s.User, Reason: d.Reason,
		Supervisor: d.Supervisor && maySupervise(s.Role), Key: d.Key})
	switch {
	case err == nil:
	case errors.Is(err, shop.ErrRefusedRefund):
		d.Error = u.site.T(r, "refund.error.refused")
		u.showRefundForm(w, r, s, http.StatusConflict, d, serials)
		return
	case errors.Is(err, shop.ErrState), errors.Is(err, shop.ErrNotFound):
		http.Error(w, u.site.T(r, "refund.error.state"), http.StatusConflict)
		return
	case errors.Is(err, shop.ErrBadRequest):
		d.Error = err.Error()
		u.showRefundForm(w, r, s, http.StatusBadRequest, d, serials)
		return
	default:
		u.internal(w, r, err)
		return
	}
	done := "boxoffice.refunded"
	if res.Pending {
		done = "boxoffice.refund_pending"
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/orders?order=%d&done=%s", id, done), http.StatusSeeOther)
}

type policyData struct {
	base
	// MayRefundAll: the role may refund the whole event (admin);
	// Progress is the latest such refund, when there was one.
	MayRefundAll bool
	Progress     *shop.EventRefund
	EventID      uint64
	EventName    string
	FreeWithin   string
	Ladder       string
	RefundUsed   bool
	ExchangeFee  string
	Currency     string
}

// policyForm shows an event's refund rules (GET /ops/events/{event}/refunds).
func (u *UI) policyForm(w http.ResponseWriter, r *http.Request, s staff.Session) {
	e, ok := u.eventOf(w, r)
	if !ok || u.cfg.Shop == nil {
		if ok {
			http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		}
		return
	}
	b, _, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Venue, b.Done = e.Venue, r.FormValue("done")
	if b.Done != "policy.saved" && b.Done != "policy.refund_all_started" && b.Done != "policy.refund_all_incomplete" {
		b.Done = ""
	}
	p, err := u.cfg.Shop.RefundPolicy(r.Context(), e.ID)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d := policyData{base: b, EventID: e.ID, EventName: e.Name, FreeWithin: strconv.FormatInt(int64(p.FreeWithin/time.Hour), 10), RefundUsed: p.RefundUsed}
	d.MayRefundAll = maySupervise(s.Role)
	if pr, ok := u.cfg.Shop.EventRefundProgress(e.ID); ok {
		d.Progress = &pr
	}
	var lines []string
	for _, st := range p.Ladder {
		lines = append(lines, fmt.Sprintf("%s %s", formatDays(st.Before), st.Fee))
	}
	d.Ladder = strings.Join(lines, "\n")
	if !p.ExchangeFee.IsZero() {
		d.ExchangeFee, d.Currency = p.ExchangeFee.String(), p.ExchangeFee.Currency().Code()
	}
	if d.Currency == "" {
		d.Currency = u.eventCurrency(r, e.ID)
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "policy", "policy.title", d))
}

// formatDays says a step's time before the start in days (with a decimal
// part for hours: "0.5" is 12 hours).
func formatDays(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', -1, 64)
}

// eventCurrency is the currency the event's tickets sell in (CNY when
// none is on sale yet).
func (u *UI) eventCurrency(r *http.Request, event uint64) string {
	offers, err := u.cfg.Store.Offers(r.Context(), event)
	if err == nil && len(offers) > 0 {
		return offers[0].Currency
	}
	return "CNY"
}

// policySave sets an event's refund rules (POST /ops/events/{event}/refunds),
// checked by RefundPolicy.Validate.
func (u *UI) policySave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	e, ok := u.eventOf(w, r)
	if !ok || u.cfg.Shop == nil {
		if ok {
			http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		}
		return
	}
	b, _, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Venue = e.Venue
	d := policyData{base: b, EventID: e.ID, EventName: e.Name, FreeWithin: strings.TrimSpace(r.PostFormValue("free_within")),
		Ladder: r.PostFormValue("ladder"), RefundUsed: r.PostFormValue("refund_used") == "on",
		ExchangeFee: strings.TrimSpace(r.PostFormValue("exchange_fee")), Currency: u.eventCurrency(r, e.ID)}
	bad := func(msg string) {
		d.Error = msg
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "policy", "policy.title", d))
	}
	p := pricing.RefundPolicy{RefundUsed: d.RefundUsed, Rounding: pricing.RoundHalfEven}
	if d.FreeWithin != "" {
		h, err := strconv.ParseInt(d.FreeWithin, 10, 64)
		if err != nil || h < 0 || h > 24*365 {
			bad(u.site.T(r, "policy.error.hours"))
			return
		}
		p.FreeWithin = time.Duration(h) * time.Hour
	}
	for _, line := range strings.Split(d.Ladder, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			bad(u.site.T(r, "policy.error.line", "line", line))
			return
		}
		days, err1 := strconv.ParseFloat(f[0], 64)
		rate, err2 := pricing.ParseRate(f[1])
		if err1 != nil || err2 != nil || days < 0 || days > 3650 {
			bad(u.site.T(r, "policy.error.line", "line", line))
			return
		}
		p.Ladder = append(p.Ladder, pricing.RefundStep{Before: time.Duration(days * float64(24*time.Hour)).Round(time.Hour), Fee: rate})
	}
	if d.ExchangeFee != "" {
		c, err := pricing.ParseCurrency(d.Currency)
		if err == nil {
			p.ExchangeFee, err = pricing.Parse(d.ExchangeFee, c)
		}
		if err != nil {
			bad(u.site.T(r, "policy.error.fee"))
			return
		}
	}
	if err := u.cfg.Shop.SetRefundPolicy(r.Context(), s.User, e.ID, p); err != nil {
		if errors.Is(err, shop.ErrBadRequest) {
			bad(err.Error())
			return
		}
		u.internal(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/events/%d/refunds?done=policy.saved", e.ID), http.StatusSeeOther)
}

// refundRows lists an order's refunds for the box office.
func (u *UI) refundRows(r *http.Request, o store.ShopOrder, loc *time.Location) []string {
	rs, err := u.cfg.Store.Refunds(r.Context(), o.ID)
	if err != nil {
		return nil
	}
	lang := web.LangOf(r)
	var out []string
	for _, x := range rs {
		c, _ := pricing.ParseCurrency(x.Currency)
		var serials []string
		for _, tk := range x.Tickets {
			serials = append(serials, strconv.FormatUint(tk.Serial, 10))
		}
		actor, reason := x.Actor, x.Reason
		if actor == "buyer" {
			actor, reason = u.site.T(r, "boxoffice.refund_by_buyer"), ""
		}
		line := u.site.T(r, "boxoffice.refund_row", "at", when(x.Created, loc), "actor", actor, "serials", strings.Join(serials, ", "),
			"back", pricing.New(x.Amount, c).Display(lang), "fee", pricing.New(x.Fee, c).Display(lang))
		if reason != "" {
			line += " · " + reason
		}
		if x.State == store.RefundPending {
			line += " · " + u.site.T(r, "boxoffice.refund_pending")
		}
		out = append(out, line)
	}
	return out
}

// refundAll refunds every buyer of a cancelled or moved event (POST
// /ops/events/{event}/refund-all, admin): in the background, each order
// in full; the rules' page shows the progress.
func (u *UI) refundAll(w http.ResponseWriter, r *http.Request, s staff.Session) {
	e, ok := u.eventOf(w, r)
	if !ok {
		return
	}
	if u.cfg.Shop == nil {
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || len(reason) > 200 || r.PostFormValue("confirm") != "on" {
		http.Redirect(w, r, fmt.Sprintf("/ops/events/%d/refunds?done=policy.refund_all_incomplete", e.ID), http.StatusSeeOther)
		return
	}
	if _, err := u.cfg.Shop.RefundEvent(r.Context(), e.ID, s.User, reason); err != nil && !errors.Is(err, shop.ErrState) {
		u.internal(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/events/%d/refunds?done=policy.refund_all_started", e.ID), http.StatusSeeOther)
}
