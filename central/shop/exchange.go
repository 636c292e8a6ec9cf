package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// ErrPayDifference is an exchange that costs more than the ticket given
// back: the difference is paid at the box office (staff exchange it with
// PaidAtCounter once they took it).
var ErrPayDifference = errors.New("the exchange costs more: pay the difference at the box office")

// ExchangeAsk is an exchange asked for: one ticket of a paid order for one
// ticket of another type (another day, another seat class) of the event.
type ExchangeAsk struct {
	Order  int64
	Serial uint64
	To     uint64 // the new ticket's type
	// Actor is "" for the buyer, else the staff member; Reason why (staff
	// must give one).
	Actor, Reason string
	// PaidAtCounter: staff took the difference at the counter.
	PaidAtCounter bool
	Key           string
}

// ExchangePlan is an exchange as it would be made now.
type ExchangePlan struct {
	Order store.ShopOrder
	Quote pricing.ExchangeQuote
	// Left is how many tickets of the new type are on sale.
	Left int64
}

// OK reports whether the exchange can go ahead (stock aside).
func (p ExchangePlan) OK() bool { return p.Quote.OK() && p.Left > 0 }

// PlanExchange prices an exchange by pricing.Exchange: the ticket's credit
// (what it paid less what came back), the new ticket at today's price for
// the buyer, the event's exchange fee, and the difference.
func (s *Shop) PlanExchange(ctx context.Context, ask ExchangeAsk) (ExchangePlan, error) {
	o, tickets, err := s.Order(ctx, ask.Order)
	if err != nil {
		return ExchangePlan{}, err
	}
	if o.Status != StatusPaid {
		return ExchangePlan{Order: o}, fmt.Errorf("order %d is %s, not paid: %w", o.ID, o.Status, ErrState)
	}
	var tk *store.Ticket
	for i := range tickets {
		if tickets[i].Serial == ask.Serial {
			tk = &tickets[i]
		}
	}
	if tk == nil {
		return ExchangePlan{Order: o}, fmt.Errorf("order %d has no ticket %d: %w", o.ID, ask.Serial, ErrNotFound)
	}
	if tk.Type == ask.To {
		return ExchangePlan{Order: o}, fmt.Errorf("ticket %d is of type %d already: %w", ask.Serial, ask.To, ErrBadRequest)
	}
	sl, err := s.sale(ctx, o.Event)
	if err != nil {
		return ExchangePlan{}, err
	}
	if _, on := sl.offers[ask.To]; !on {
		return ExchangePlan{Order: o}, fmt.Errorf("type %d of event %d is not on sale: %w", ask.To, o.Event, ErrNotFound)
	}
	buyer, err := s.db.Account(ctx, o.Account)
	if err != nil {
		return ExchangePlan{}, err
	}
	prices, err := s.db.TicketPrices(ctx, o.Event)
	if err != nil {
		return ExchangePlan{}, err
	}
	used, err := s.db.TicketsUsed(ctx, o.Event, []uint64{tk.Serial})
	if err != nil {
		return ExchangePlan{}, err
	}
	cat := sl.catalog
	if !containsType(cat, tk.Type) {
		cat.Types = append(cat.Types, pricing.TicketType{ID: pricing.TypeID(tk.Type), Name: sl.types[tk.Type].Name, Currency: mustCurrency(o.Currency), Starts: sl.event.Starts})
	}
	from := pricing.PaidTicket{ID: strconv.FormatUint(tk.Serial, 10), Type: pricing.TypeID(tk.Type), Paid: paidPerTicket(o, tickets, prices)[tk.Serial],
		PurchasedAt: o.PaidAt, Used: used[tk.Serial]}
	cart := pricing.Cart{Items: []pricing.Item{{Type: pricing.TypeID(ask.To), Quantity: 1}}, Roles: []string{buyer.Role}}
	q, err := pricing.Exchange(cat, sl.promos, from, cart, s.now())
	if err != nil {
		return ExchangePlan{}, fmt.Errorf("exchange of ticket %d: %w", tk.Serial, err)
	}
	if tk.Status != "valid" {
		q.Refused = append(q.Refused, pricing.Refusal{Reason: pricing.ReasonAlreadyRefunded, Type: pricing.TypeID(tk.Type), Ticket: from.ID,
			Detail: fmt.Sprintf("ticket %d is %s", tk.Serial, tk.Status)})
	}
	return ExchangePlan{Order: o, Quote: q, Left: sl.left(ask.To)}, nil
}

func containsType(cat pricing.Catalog, typ uint64) bool {
	for _, t := range cat.Types {
		if uint64(t.ID) == typ {
			return true
		}
	}
	return false
}

// Exchange gives a ticket back for one of another type, in one
// transaction: the old ticket is revoked at the gates and its stock
// returns, the new one is held from stock, issued (a signed code, in the
// manifest) and added to the order, at what it cost. A cheaper new ticket
// pays the difference back through the order's provider (as a refund,
// pending while the provider does not take it); a dearer one is refused
// with ErrPayDifference unless staff took the difference at the counter.
// The same Key twice is one exchange.
func (s *Shop) Exchange(ctx context.Context, ask ExchangeAsk) (RefundResult, store.Ticket, error) {
	if ask.Key == "" {
		ask.Key = NewRefundKey()
	}
	if len(ask.Key) > 48 || strings.Trim(ask.Key, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != "" {
		return RefundResult{}, store.Ticket{}, fmt.Errorf("exchange key: want 1 to 48 of 0-9 A-Z a-z _ -: %w", ErrBadRequest)
	}
	if ask.Actor != "" && strings.TrimSpace(ask.Reason) == "" {
		return RefundResult{}, store.Ticket{}, fmt.Errorf("a staff exchange needs a reason: %w", ErrBadRequest)
	}
	if ask.PaidAtCounter && ask.Actor == "" {
		return RefundResult{}, store.Ticket{}, fmt.Errorf("only staff take a difference at the counter: %w", ErrBadRequest)
	}
	if r, err := s.db.RefundByKey(ctx, ask.Key); err == nil {
		res, err := s.payBack(ctx, r, RefundPlan{})
		return res, store.Ticket{}, err
	}
	plan, err := s.PlanExchange(ctx, ask)
	if err != nil {
		return RefundResult{}, store.Ticket{}, err
	}
	q := plan.Quote
	if !q.OK() {
		return RefundResult{}, store.Ticket{}, &RefundRefusedError{Refused: q.Refused}
	}
	if plan.Left <= 0 {
		return RefundResult{}, store.Ticket{}, ErrSoldOut
	}
	if q.Difference.Sign() > 0 && !ask.PaidAtCounter {
		return RefundResult{}, store.Ticket{}, fmt.Errorf("exchange of ticket %d: %s to pay: %w", ask.Serial, q.Difference, ErrPayDifference)
	}
	o := plan.Order
	ev, err := s.db.Event(ctx, o.Event)
	if err != nil {
		return RefundResult{}, store.Ticket{}, err
	}
	newType, err := s.db.TicketType(ctx, o.Event, ask.To)
	if err != nil {
		return RefundResult{}, store.Ticket{}, err
	}
	buyer, err := s.db.Account(ctx, o.Account)
	if err != nil {
		return RefundResult{}, store.Ticket{}, err
	}
	sl, err := s.sale(ctx, o.Event)
	if err != nil {
		return RefundResult{}, store.Ticket{}, err
	}
	back := pricing.Zero(q.Difference.Currency())
	if q.Difference.Sign() < 0 {
		back, _ = q.Difference.Neg()
	}
	quote, _ := json.Marshal(q)
	toQuote, _ := json.Marshal(q.To)
	total, _ := q.To.Total(q.Difference.Currency())
	actor, reason := ask.Actor, strings.TrimSpace(ask.Reason)
	if actor == "" {
		actor = "buyer"
	}
	if reason == "" {
		reason = "exchanged by the buyer"
	}
	now := s.now()
	r := store.ShopRefund{Kind: store.ExchangeKind, Key: ask.Key, Order: o.ID, Currency: o.Currency, Amount: back.Minor(), Fee: q.Fee.Minor(),
		Method: o.Method, Actor: actor, Reason: reason, Quote: quote, State: store.RefundPending, Created: now,
		Tickets: []store.RefundedTicket{{Event: o.Event, Serial: ask.Serial, Amount: back.Minor()}}}
	if back.IsZero() || o.Method == MethodTest || o.Method == MethodBoxOffice {
		r.State, r.DoneAt = store.RefundDone, now
	}
	if ask.PaidAtCounter && q.Difference.Sign() > 0 {
		r.Note = "the difference " + q.Difference.String() + " was paid at the box office"
	}
	var issued store.Ticket
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if r.ID, err = tx.AddRefund(r); err != nil {
			return err
		}
		why := fmt.Sprintf("exchanged for a ticket of type %d: %s", ask.To, reason)
		if err := s.cfg.Catalog.RevokeTicketIn(tx, ev.Venue, o.Event, ask.Serial, why, time.Time{}); err != nil {
			return err
		}
		if err := tx.RefundFact(o.Event, ask.Serial, q.Credit.Minor(), now); err != nil {
			return err
		}
		if err := tx.ReleaseSome(o.ID, sl.stockTakes([]store.ShopOrderItem{{Type: uint64(q.From.Type), Quantity: 1}})); err != nil {
			return err
		}
		if err := tx.Hold(o.ID, sl.stockTakes([]store.ShopOrderItem{{Type: ask.To, Quantity: 1}})); err != nil {
			return err
		}
		got, err := s.cfg.Catalog.IssueIn(tx, ev, newType, 1, holderName(buyer, o))
		if err != nil {
			return err
		}
		issued = got[0]
		if err := tx.AddOrderTickets(o.ID, o.Event, []uint64{issued.Serial}); err != nil {
			return err
		}
		if err := tx.PutTicketPrice(o.Event, issued.Serial, o.Currency, total.Total.Minor()); err != nil {
			return err
		}
		method := o.Method
		if ask.PaidAtCounter {
			method = MethodBoxOffice
		}
		if err := saleFacts(tx, store.ShopOrder{ID: o.ID, Currency: o.Currency, Quote: toQuote}, ev, buyer, method, []store.Ticket{issued}, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: actor, Action: "order.exchange", Target: fmt.Sprintf("order %d", o.ID),
			Detail: fmt.Sprintf("ticket %d for ticket %d of type %d, difference %s, fee %s: %s", ask.Serial, issued.Serial, ask.To, q.Difference, q.Fee, reason)})
	})
	if errors.Is(err, store.ErrSoldOut) {
		return RefundResult{}, store.Ticket{}, ErrSoldOut
	}
	if errors.Is(err, store.ErrExists) {
		return RefundResult{}, store.Ticket{}, fmt.Errorf("exchange of ticket %d: %w: %w", ask.Serial, err, ErrState)
	}
	if err != nil {
		return RefundResult{}, store.Ticket{}, fmt.Errorf("exchange of ticket %d: %w", ask.Serial, err)
	}
	s.offerFreed(ctx, o.Event)
	s.log.Info("ticket exchanged", "order", o.ID, "from", ask.Serial, "to", issued.Serial, "difference", q.Difference.String(), "actor", actor)
	res, err := s.payBack(ctx, r, RefundPlan{Order: o})
	return res, issued, err
}

// ExchangeTarget is a type a ticket may be exchanged for.
type ExchangeTarget struct {
	Type  uint64
	Name  string
	Day   string // the event day it admits on, "" for every day
	Price pricing.Money
	Left  int64
}

// ExchangeTargets lists the types on sale that a ticket of an order may
// be exchanged for (not its own, and open to the buyer's role).
func (s *Shop) ExchangeTargets(ctx context.Context, order int64, serial uint64) ([]ExchangeTarget, error) {
	o, tickets, err := s.Order(ctx, order)
	if err != nil {
		return nil, err
	}
	var own uint64
	for _, t := range tickets {
		if t.Serial == serial {
			own = t.Type
		}
	}
	buyer, err := s.db.Account(ctx, o.Account)
	if err != nil {
		return nil, err
	}
	sl, err := s.sale(ctx, o.Event)
	if err != nil {
		return nil, err
	}
	var out []ExchangeTarget
	for _, t := range sl.catalog.Types {
		id := uint64(t.ID)
		off := sl.offers[id]
		if id == own || len(off.Roles) > 0 && !containsRole(off.Roles, buyer.Role) {
			continue
		}
		out = append(out, ExchangeTarget{Type: id, Name: t.Name, Day: off.Day, Price: pricing.New(off.Price, t.Currency), Left: sl.left(id)})
	}
	return out, nil
}
