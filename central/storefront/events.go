package storefront

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/pricing"
)

// eventCard is an event as the pages show it.
type eventCard struct {
	ID                uint64
	Name, Venue, When string
	From              string // the lowest price on sale, displayed
	SoldOut           bool
	Types             []typeRow
}

// typeRow is a ticket type on sale.
type typeRow struct {
	ID          uint64
	Name, Price string
	Left        int64
	OnSale      bool
	SoldOut     bool
	Few         bool // few left: say how many
	Max         int  // the most one order may take
	Qty         int  // what the buyer asked for (the checkout's back link)
}

// FewLeft is the stock under which a type says how many are left.
const FewLeft = 20

// role is what the shop prices for: the buyer's role, or an anonymous
// visitor's (the audience's prices, no VIP types).
func role(b *buyer) string {
	if b == nil {
		return shop.RoleAudience
	}
	return b.Role
}

func (f *Front) cards(r *http.Request, b *buyer) ([]eventCard, error) {
	evs, err := f.cfg.Shop.Events(r.Context(), role(b))
	if err != nil {
		return nil, err
	}
	lang := langOf(r)
	out := make([]eventCard, 0, len(evs))
	for _, e := range evs {
		tz := "UTC"
		if ev, err := f.cfg.Store.Event(r.Context(), e.ID); err == nil && ev.TimeZone != "" {
			tz = ev.TimeZone
		}
		c := eventCard{ID: e.ID, Name: e.Name, Venue: e.Venue, When: when(e.Starts, tz, lang), SoldOut: true}
		var low *pricing.Money
		for _, t := range e.Types {
			row := typeRow{ID: t.ID, Name: t.Name, Price: t.Price.Display(lang), Left: t.Left, OnSale: t.OnSale, SoldOut: t.Left <= 0,
				Few: t.Left > 0 && t.Left < FewLeft, Max: int(min(t.Left, 10))}
			if t.OnSale && t.Left > 0 {
				c.SoldOut = false
				if low == nil {
					low = &t.Price
				} else if cmp, err := t.Price.Cmp(*low); err == nil && cmp < 0 {
					low = &t.Price
				}
			}
			c.Types = append(c.Types, row)
		}
		if low != nil {
			c.From = low.Display(lang)
		}
		out = append(out, c)
	}
	return out, nil
}

func (f *Front) home(w http.ResponseWriter, r *http.Request) {
	b, err := f.who(r)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	cards, err := f.cards(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	f.render(w, r, http.StatusOK, b, "home", "home.title", data{Page: cards, Done: doneKey(r)})
}

// doneKey is the confirmation a redirect asked to show (?done=), if it is
// one of the storefront's.
func doneKey(r *http.Request) string {
	switch v := r.URL.Query().Get("done"); v {
	case "verified", "registered", "logged_out", "cancelled", "paid", "title", "einvoice", "refunded", "refund_pending", "exchanged":
		return "done." + v
	}
	return ""
}

type eventData struct {
	Event eventCard
	Promo string
	// Also are events on sale that buyers of this one also bought for,
	// shown to a buyer who consented to marketing.
	Also []eventCard
}

func (f *Front) eventPage(w http.ResponseWriter, r *http.Request) {
	b, err := f.who(r)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	c, ok, err := f.card(r, b, r.PathValue("event"))
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_event")
		return
	}
	f.step(w, r, c.ID, "view")
	also, err := f.alsoBought(r, b, c.ID)
	if err != nil {
		f.cfg.Logger.Warn("event page: recommendations left out", "event", c.ID, "err", err)
	}
	f.render(w, r, http.StatusOK, b, "event", "event.title", data{Page: eventData{Event: c, Also: also}, Share: shareOf(r, c)})
}

// shareOf is an event page's share card: its name, when and where, the
// lowest price, and the page's address without anything personal in it.
func shareOf(r *http.Request, c eventCard) *web.Share {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	desc := c.When + " · " + c.Venue
	if c.From != "" && !c.SoldOut {
		desc += " · " + c.From
	}
	return &web.Share{Title: c.Name, Description: desc, URL: fmt.Sprintf("%s://%s/events/%d", scheme, r.Host, c.ID)}
}

// alsoMinBuyers is how many buyers of an event must have bought for
// another before the storefront names it: fewer would tell about persons.
const alsoMinBuyers = 3

// alsoBought is up to three events on sale that buyers of event also
// bought for, from the sales central recorded itself (no tracker), for a
// logged-in buyer who consented to marketing; none for anyone else.
func (f *Front) alsoBought(r *http.Request, b *buyer, event uint64) ([]eventCard, error) {
	if b == nil {
		return nil, nil
	}
	consents, err := f.cfg.Store.Consents(r.Context(), b.ID)
	if err != nil {
		return nil, err
	}
	granted := false
	for _, c := range consents { // the latest marketing consent decides
		if c.Kind == "marketing" {
			granted = c.Granted
		}
	}
	if !granted {
		return nil, nil
	}
	others, err := f.cfg.Store.AlsoBought(r.Context(), event, alsoMinBuyers, 10)
	if err != nil || len(others) == 0 {
		return nil, err
	}
	cards, err := f.cards(r, b)
	if err != nil {
		return nil, err
	}
	var out []eventCard
	for _, o := range others {
		for _, c := range cards {
			if c.ID == o.Event && len(out) < 3 {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// card is one event's card; ok is false when it is not on sale.
func (f *Front) card(r *http.Request, b *buyer, id string) (eventCard, bool, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return eventCard{}, false, nil
	}
	cards, err := f.cards(r, b)
	if err != nil {
		return eventCard{}, false, err
	}
	for _, c := range cards {
		if c.ID == n {
			return c, true, nil
		}
	}
	return eventCard{}, false, nil
}

// quoteView is a quotation as the checkout and the order pages show it.
type quoteView struct {
	Lines           []lineView
	Subtotal, Total string
	Discount        string // "" when nothing is off
	Refused         []string
}

type lineView struct {
	Name, Price, Unit, Subtotal, Total string
	Quantity                           int
	Discounts                          []discountView
}

type discountView struct{ Name, Amount string }

// quoteOf says a quotation in lang; t translates refusals.
func quoteOf(q pricing.Quotation, lang string, t func(string, ...any) string) quoteView {
	var v quoteView
	for _, l := range q.Lines {
		lv := lineView{Name: l.Name, Quantity: l.Quantity, Unit: l.Unit.Display(lang), Subtotal: l.Subtotal.Display(lang), Total: l.Total.Display(lang)}
		for _, d := range l.Discounts {
			neg, _ := d.Amount.Neg()
			lv.Discounts = append(lv.Discounts, discountView{Name: d.Name, Amount: neg.Display(lang)})
		}
		v.Lines = append(v.Lines, lv)
	}
	if len(q.Totals) == 1 {
		tot := q.Totals[0]
		v.Subtotal, v.Total = tot.Subtotal.Display(lang), tot.Total.Display(lang)
		if !tot.Discount.IsZero() {
			neg, _ := tot.Discount.Neg()
			v.Discount = neg.Display(lang)
		}
	}
	for _, rf := range q.Refused {
		v.Refused = append(v.Refused, refusal(rf, t))
	}
	return v
}

// refusal says why the pricing refused a line or a code.
func refusal(rf pricing.Refusal, t func(string, ...any) string) string {
	key := "refused." + string(rf.Reason)
	if s := t(key, "code", rf.Code); s != key {
		return s
	}
	return rf.Detail
}

type checkoutData struct {
	Event eventCard
	Items []itemField
	Promo string
	Quote quoteView
	OK    bool // the quote has no refusal: the buyer may order
	Back  string
}

// itemField is a quantity the checkout's form carries on to the order.
type itemField struct {
	Name  string
	Value int
}

// orderForm reads the quantities (q<type>) and the promotion code of the
// event page's form.
func orderForm(get func(string) string, c eventCard) (shop.OrderRequest, []itemField, string) {
	req := shop.OrderRequest{Event: c.ID, Promo: trimCode(get("promo"))}
	var fields []itemField
	for _, t := range c.Types {
		name := fmt.Sprintf("q%d", t.ID)
		n, err := strconv.Atoi(get(name))
		if err != nil || n <= 0 {
			continue
		}
		req.Items = append(req.Items, pricing.Item{Type: pricing.TypeID(t.ID), Quantity: n})
		fields = append(fields, itemField{Name: name, Value: n})
	}
	back := fmt.Sprintf("/events/%d", c.ID)
	return req, fields, back
}

func trimCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// checkout shows the quote of the event page's choice, from the shop's
// Quote (the pricing package), and the button that orders it.
func (f *Front) checkout(w http.ResponseWriter, r *http.Request) {
	b, err := f.who(r)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	c, ok, err := f.card(r, b, r.URL.Query().Get("event"))
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok {
		f.message(w, r, http.StatusNotFound, b, "error.no_event")
		return
	}
	req, fields, back := orderForm(r.URL.Query().Get, c)
	d := checkoutData{Event: c, Items: fields, Promo: req.Promo, Back: back}
	if len(req.Items) == 0 {
		f.render(w, r, http.StatusBadRequest, b, "event", "event.title", data{Error: "error.no_items", Page: eventData{Event: c, Promo: req.Promo}})
		return
	}
	q, err := f.cfg.Shop.Quote(r.Context(), role(b), req)
	if errors.Is(err, shop.ErrBadRequest) {
		f.render(w, r, http.StatusBadRequest, b, "event", "event.title", data{Error: err.Error(), Page: eventData{Event: c, Promo: req.Promo}})
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	d.Quote, d.OK = quoteOf(q, langOf(r), f.t(r)), q.OK()
	f.step(w, r, c.ID, "cart")
	f.render(w, r, http.StatusOK, b, "checkout", "checkout.title", data{Page: d, Next: r.URL.RequestURI()})
}

func (f *Front) t(r *http.Request) func(string, ...any) string {
	return func(k string, a ...any) string { return f.site.T(r, k, a...) }
}

// when says a time in the event's zone as a reader of lang expects it.
func when(t time.Time, tz, lang string) string {
	t = t.In(location(tz))
	if lang == "zh" {
		wd := []string{"日", "一", "二", "三", "四", "五", "六"}[t.Weekday()]
		return fmt.Sprintf("%d年%d月%d日（周%s）%s", t.Year(), t.Month(), t.Day(), wd, t.Format("15:04"))
	}
	return t.Format("Mon 2 Jan 2006, 15:04")
}

// zones caches the events' time zones: time.LoadLocation reads the zone
// database from disk on every call. A venue has one zone; the map grows
// by the venues' zones only.
var zones sync.Map

func location(tz string) *time.Location {
	if l, ok := zones.Load(tz); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC // not cached: the zone is the store's, not a visitor's
	}
	zones.Store(tz, loc)
	return loc
}
