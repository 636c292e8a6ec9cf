package storefront

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// place orders what the checkout showed: the shop prices it again and
// holds the tickets, or says why not.
func (f *Front) place(w http.ResponseWriter, r *http.Request, b *buyer) {
	c, ok, err := f.card(r, b, r.PostFormValue("event"))
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_event")
		return
	}
	req, fields, back := orderForm(r.PostFormValue, c)
	o, err := f.cfg.Shop.Place(r.Context(), b.Account, req)
	if err == nil {
		f.step(w, r, c.ID, "checkout")
		http.Redirect(w, r, fmt.Sprintf("/orders/%d", o.ID), http.StatusSeeOther)
		return
	}
	d := checkoutData{Event: c, Items: fields, Promo: req.Promo, Back: back}
	if q, qerr := f.cfg.Shop.Quote(r.Context(), role(b), req); qerr == nil {
		d.Quote, d.OK = quoteOf(q, langOf(r), f.t(r)), q.OK()
	}
	var re *shop.RefusedError
	key, status := "", http.StatusConflict
	switch {
	case errors.As(err, &re):
		d.OK = false
		d.Quote.Refused = nil
		for _, rf := range re.Refused {
			d.Quote.Refused = append(d.Quote.Refused, refusal(rf, f.t(r)))
		}
		key = "error.refused"
	case errors.Is(err, shop.ErrUnverified):
		key, status = "error.unverified", http.StatusForbidden
	case errors.Is(err, shop.ErrSoldOut):
		key = "error.sold_out"
	case errors.Is(err, shop.ErrBadRequest):
		key, status = err.Error(), http.StatusBadRequest
	default:
		f.internal(w, r, err)
		return
	}
	f.render(w, r, status, b, "checkout", "checkout.title", data{Error: key, Page: d})
}

// orderRow is an order in the buyer's list.
type orderRow struct {
	ID                  int64
	Event, When, Status string
	Total               string
	Tickets             int
}

func (f *Front) orderList(w http.ResponseWriter, r *http.Request, b *buyer) {
	os, err := f.cfg.Shop.Orders(r.Context(), b.ID, 100)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	lang := langOf(r)
	rows := make([]orderRow, 0, len(os))
	for _, o := range os {
		ev, tz := f.eventName(r, o.Event)
		n := 0
		for _, it := range o.Items {
			n += it.Quantity
		}
		rows = append(rows, orderRow{ID: o.ID, Event: ev, When: when(o.Created, tz, lang), Status: o.Status, Total: money(o.Total, o.Currency, lang), Tickets: n})
	}
	f.render(w, r, http.StatusOK, b, "orders", "orders.title", data{Page: rows, Done: doneKey(r)})
}

// eventName is an event's name and time zone ("UTC" when unknown).
func (f *Front) eventName(r *http.Request, id uint64) (string, string) {
	ev, err := f.cfg.Store.Event(r.Context(), id)
	if err != nil {
		return fmt.Sprintf("#%d", id), "UTC"
	}
	if ev.TimeZone == "" {
		ev.TimeZone = "UTC"
	}
	return ev.Name, ev.TimeZone
}

func money(minor int64, cur, lang string) string {
	c, err := pricing.ParseCurrency(cur)
	if err != nil {
		return strconv.FormatInt(minor, 10) + " " + cur
	}
	return pricing.New(minor, c).Display(lang)
}

// step is one step of an order's timeline.
type step struct {
	Key   string // the catalog key of its name
	At    string
	State string // done, current, todo, bad
	Note  string // a catalog key of what it means now, or ""
}

type orderData struct {
	ID               int64
	Event, EventWhen string
	Status           string
	Steps            []step
	Quote            quoteView
	Total            string
	Expires          string // the hold's end, when pending
	MinutesLeft      int
	Counter          bool // the buyer chose to pay at the box office
	Tickets          []ticketView
	Revoked          bool
	EventID          uint64
	Invoices         *invoicesView
	// Refundable: the order is paid; its valid tickets may be asked a
	// refund quote for. Refunds are the ones made.
	Refundable bool
	Refunds    []refundRow
}

// ticketView is an issued ticket as the order and tickets pages show it.
type ticketView struct {
	Event, When string
	Serial      uint64
	Type, Seat  string
	Price       string
	Status      string
	Code        string
	QR          template.URL // a data: URL of the PNG, "" without a renderer
}

// QRSize is the side of a ticket's QR code in pixels: a 41-module code
// at 6 px a module, sharp on a phone held to a gate's reader.
const QRSize = 300

func (f *Front) orderOf(r *http.Request, b *buyer) (store.ShopOrder, []store.Ticket, bool, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ShopOrder{}, nil, false, nil
	}
	o, tickets, err := f.cfg.Shop.Order(r.Context(), id)
	if errors.Is(err, shop.ErrNotFound) || err == nil && o.Account != b.ID {
		// Another buyer's order is not found, so ids tell nothing.
		return store.ShopOrder{}, nil, false, nil
	}
	return o, tickets, err == nil, err
}

func (f *Front) orderPage(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	if o.Status == shop.StatusPaid {
		// However it was paid (here, at a provider, at the box office),
		// the buyer seeing it paid ends the funnel.
		f.step(w, r, o.Event, "payment")
	}
	f.showOrder(w, r, b, http.StatusOK, o, tickets, "")
}

func (f *Front) showOrder(w http.ResponseWriter, r *http.Request, b *buyer, status int, o store.ShopOrder, tickets []store.Ticket, errKey string) {
	lang := langOf(r)
	name, tz := f.eventName(r, o.Event)
	d := orderData{ID: o.ID, Event: name, Status: o.Status, Total: money(o.Total, o.Currency, lang), Counter: r.URL.Query().Get("pay") == "counter", EventID: o.Event}
	if ev, err := f.cfg.Store.Event(r.Context(), o.Event); err == nil {
		d.EventWhen = when(ev.Starts, tz, lang)
	}
	var q pricing.Quotation
	if json.Unmarshal(o.Quote, &q) == nil {
		d.Quote = quoteOf(q, lang, f.t(r))
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return when(t, tz, lang)
	}
	d.Steps = append(d.Steps, step{Key: "status.placed", At: at(o.Created), State: "done"})
	switch o.Status {
	case shop.StatusPending:
		d.Expires = at(o.Expires)
		d.MinutesLeft = int(o.Expires.Sub(f.now()).Minutes())
		d.Steps = append(d.Steps, step{Key: "status.pending_payment", State: "current", Note: "status.pending_note"},
			step{Key: "status.paid", State: "todo"}, step{Key: "status.issued", State: "todo"})
	case shop.StatusPaid:
		d.Steps = append(d.Steps, step{Key: "status.pending_payment", State: "done"}, step{Key: "status.paid", At: at(o.PaidAt), State: "done"},
			step{Key: "status.issued", At: at(o.PaidAt), State: "current"})
	case shop.StatusExpired:
		d.Steps = append(d.Steps, step{Key: "status.pending_payment", State: "done"}, step{Key: "status.expired", At: at(o.ClosedAt), State: "bad", Note: "status.expired_note"})
	case shop.StatusCancelled:
		if !o.PaidAt.IsZero() {
			d.Steps = append(d.Steps, step{Key: "status.paid", At: at(o.PaidAt), State: "done"})
		}
		d.Steps = append(d.Steps, step{Key: "status.cancelled", At: at(o.ClosedAt), State: "bad"})
	}
	d.Tickets = f.ticketViews(r, o, tickets, name, d.EventWhen)
	d.Invoices = f.invoicesOf(r, b, o, tz)
	for _, t := range d.Tickets {
		d.Revoked = d.Revoked || t.Status != "valid"
	}
	d.Refundable = o.Status == shop.StatusPaid
	d.Refunds = f.refundRows(r, o, tz)
	f.render(w, r, status, b, "order", "order.title", data{Page: d, Error: errKey, Done: doneKey(r)})
}

// ticketViews are an order's tickets with their type, price (what the
// quote says each ticket of its type paid) and QR code.
func (f *Front) ticketViews(r *http.Request, o store.ShopOrder, tickets []store.Ticket, event, evWhen string) []ticketView {
	lang := langOf(r)
	var q pricing.Quotation
	json.Unmarshal(o.Quote, &q)
	paid := map[uint64][]pricing.Money{}
	for _, l := range q.Lines {
		for _, tp := range l.Tickets {
			if !tp.InBundle {
				paid[uint64(tp.Type)] = append(paid[uint64(tp.Type)], tp.Paid)
			}
		}
	}
	names := map[uint64]string{}
	if tts, err := f.cfg.Store.TicketTypes(r.Context(), o.Event); err == nil {
		for _, t := range tts {
			names[t.ID] = t.Name
		}
	}
	tickets = slices.Clone(tickets)
	slices.SortFunc(tickets, func(a, b store.Ticket) int { return int(a.Serial) - int(b.Serial) })
	out := make([]ticketView, 0, len(tickets))
	for _, t := range tickets {
		v := ticketView{Event: event, When: evWhen, Serial: t.Serial, Type: names[t.Type], Seat: t.Seat, Status: t.Status, Code: t.Code}
		if ps := paid[t.Type]; len(ps) > 0 {
			v.Price, paid[t.Type] = ps[0].Display(lang), ps[1:]
		}
		if f.cfg.QR != nil && t.Status == "valid" {
			png, err := f.cfg.QR(t.Code, QRSize)
			if err != nil {
				f.cfg.Logger.Error("storefront: ticket QR", "event", t.Event, "serial", t.Serial, "err", err)
			} else {
				v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
			}
		}
		out = append(out, v)
	}
	return out
}

// pay pays a pending order with the test provider (development): the
// shop issues its tickets at once.
func (f *Front) pay(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, _, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	if r.PostFormValue("method") != shop.MethodTest {
		f.message(w, r, http.StatusBadRequest, b, "error.method")
		return
	}
	_, _, err = f.cfg.Shop.Pay(r.Context(), o.ID, shop.MethodTest)
	key := ""
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=paid", o.ID), http.StatusSeeOther)
		return
	case errors.Is(err, shop.ErrExpired):
		key = "error.expired"
	case errors.Is(err, shop.ErrState):
		key = "error.state"
	default:
		f.internal(w, r, err)
		return
	}
	o, tickets, _, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	f.showOrder(w, r, b, http.StatusConflict, o, tickets, key)
}

// cancel cancels an unpaid order; a paid one is the box office's to
// cancel (a refund).
func (f *Front) cancel(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	if o.Status != shop.StatusPending {
		f.showOrder(w, r, b, http.StatusConflict, o, tickets, "error.state")
		return
	}
	if _, err := f.cfg.Shop.Cancel(r.Context(), o.ID, "order cancelled by the buyer"); err != nil && !errors.Is(err, shop.ErrState) {
		f.internal(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=cancelled", o.ID), http.StatusSeeOther)
}
