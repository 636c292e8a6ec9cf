package shop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// Refunder sends money back through the provider that took an order's
// payment: amount minor units of it, under key (the same key twice is one
// refund at the provider). It must not cancel the order: the shop revokes
// the refunded tickets itself, and the rest of the order stands.
// central/pay's Payments is one.
type Refunder interface {
	RefundMoney(ctx context.Context, order int64, amount int64, key, reason string) error
}

// SetRefunder gives the shop the provider refunds; without one, orders
// paid through a provider are refunded in tickets and stock, and the
// money stays pending until one is set.
func (s *Shop) SetRefunder(r Refunder) { s.refunder.Store(&r) }

func (s *Shop) moneyBack() Refunder {
	if r := s.refunder.Load(); r != nil {
		return *r
	}
	return nil
}

// ErrRefusedRefund is a refund the event's rules do not allow (a
// *RefundRefusedError says which tickets and why).
var ErrRefusedRefund = errors.New("refund refused")

// RefundRefusedError lists the tickets a refund may not return.
type RefundRefusedError struct{ Refused []pricing.Refusal }

func (e *RefundRefusedError) Error() string {
	var b strings.Builder
	b.WriteString("refund refused:")
	for _, r := range e.Refused {
		b.WriteString(" " + string(r.Reason) + " (" + r.Detail + ")")
	}
	return b.String()
}

func (e *RefundRefusedError) Unwrap() error { return ErrRefusedRefund }

// SetRefundPolicy sets an event's ladder of refund fees, checked by
// RefundPolicy.Validate; by is the staff member, written to the audit log.
func (s *Shop) SetRefundPolicy(ctx context.Context, by string, event uint64, p pricing.RefundPolicy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrBadRequest)
	}
	if _, err := s.db.Event(ctx, event); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("event %d: %w", event, ErrNotFound)
	} else if err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	now := s.now()
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutRefundPolicy(event, body, now, by); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "event.refund_policy", Target: fmt.Sprintf("event %d", event), Detail: string(body)})
	})
}

// RefundPolicy is an event's ladder of refund fees; an event without one
// refunds nothing by itself (the zero policy).
func (s *Shop) RefundPolicy(ctx context.Context, event uint64) (pricing.RefundPolicy, error) {
	var p pricing.RefundPolicy
	body, err := s.db.RefundPolicy(ctx, event)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("refund policy of event %d: %w", event, err)
	}
	return p, nil
}

// RefundAsk is what a refund is asked for.
type RefundAsk struct {
	Order int64
	// Serials are the tickets to refund; empty: every valid ticket of the
	// order.
	Serials []uint64
	// Actor is who asks: "" the buyer, else the staff member (the audit
	// log names them).
	Actor string
	// Reason is why; staff must give one.
	Reason string
	// Supervisor is a supervisor's approval: a ticket scanned in is
	// refunded by the ladder as though it were not (the policy's
	// RefundUsed does the same for everyone).
	Supervisor bool
	// Key makes the refund idempotent: asked twice with one key, it is
	// one refund. Empty: a fresh key.
	Key string
	// Full refunds what was paid, fee-free, whenever it is asked and
	// whether the tickets were used: the event was cancelled or moved
	// (RefundEvent).
	Full bool
}

// RefundPlan is a refund as it would be made now: the pricing package's
// quote and how the money goes back.
type RefundPlan struct {
	Order  store.ShopOrder
	Quote  pricing.RefundQuote
	Method string // the order's payment method: a provider, test or box_office
	// Used lists the tickets asked for that a gate admitted.
	Used []uint64
}

// OK reports whether every ticket asked for can be refunded.
func (p RefundPlan) OK() bool { return p.Quote.OK() && len(p.Quote.Tickets) > 0 }

// Total is what the refund pays back and keeps.
func (p RefundPlan) Total() (back, fee pricing.Money) {
	c := mustCurrency(p.Order.Currency)
	back, fee = pricing.Zero(c), pricing.Zero(c)
	for _, t := range p.Quote.Totals {
		if t.Currency == c {
			back, fee = t.Refund, t.Fee
		}
	}
	return back, fee
}

// PlanRefund prices a refund of some of a paid order's tickets (or all of
// them) by the event's ladder, at the shop's clock, without making it.
func (s *Shop) PlanRefund(ctx context.Context, ask RefundAsk) (RefundPlan, error) {
	o, tickets, err := s.Order(ctx, ask.Order)
	if err != nil {
		return RefundPlan{}, err
	}
	if o.Status != StatusPaid {
		return RefundPlan{Order: o}, fmt.Errorf("order %d is %s, not paid: %w", o.ID, o.Status, ErrState)
	}
	pick := map[uint64]bool{}
	for _, s := range ask.Serials {
		pick[s] = true
	}
	whole := len(pick) == 0
	var chosen []store.Ticket
	for _, t := range tickets {
		if whole && t.Status == "valid" || pick[t.Serial] {
			chosen = append(chosen, t)
			delete(pick, t.Serial)
		}
	}
	if len(pick) > 0 {
		var missing []string
		for s := range pick {
			missing = append(missing, strconv.FormatUint(s, 10))
		}
		slices.Sort(missing)
		return RefundPlan{Order: o}, fmt.Errorf("order %d has no ticket %s: %w", o.ID, strings.Join(missing, ", "), ErrNotFound)
	}
	sl, err := s.sale(ctx, o.Event)
	if err != nil {
		return RefundPlan{}, err
	}
	cat := sl.catalog
	// A type taken off sale since keeps its name and start for refunds.
	for _, t := range tickets {
		if !slices.ContainsFunc(cat.Types, func(tt pricing.TicketType) bool { return uint64(tt.ID) == t.Type }) {
			name := sl.types[t.Type].Name
			cat.Types = append(cat.Types, pricing.TicketType{ID: pricing.TypeID(t.Type), Name: name, Currency: mustCurrency(o.Currency), Starts: sl.event.Starts})
		}
	}
	serials := make([]uint64, len(chosen))
	for i, t := range chosen {
		serials[i] = t.Serial
	}
	used, err := s.db.TicketsUsed(ctx, o.Event, serials)
	if err != nil {
		return RefundPlan{}, err
	}
	prices, err := s.db.TicketPrices(ctx, o.Event)
	if err != nil {
		return RefundPlan{}, err
	}
	paid := paidPerTicket(o, tickets, prices)
	plan := RefundPlan{Order: o, Method: o.Method}
	pts := make([]pricing.PaidTicket, 0, len(chosen))
	var revoked []pricing.Refusal
	for _, t := range chosen {
		if used[t.Serial] {
			plan.Used = append(plan.Used, t.Serial)
		}
		if t.Status != "valid" {
			revoked = append(revoked, pricing.Refusal{Reason: pricing.ReasonAlreadyRefunded, Type: pricing.TypeID(t.Type), Ticket: strconv.FormatUint(t.Serial, 10),
				Detail: fmt.Sprintf("ticket %d is %s", t.Serial, t.Status)})
			continue
		}
		pts = append(pts, pricing.PaidTicket{ID: strconv.FormatUint(t.Serial, 10), Type: pricing.TypeID(t.Type), Paid: paid[t.Serial],
			PurchasedAt: o.PaidAt, Used: used[t.Serial] && !ask.Supervisor})
	}
	if ask.Full {
		// The event's own rules do not apply: no fee, no deadline.
		cat.Refunds = pricing.RefundPolicy{RefundUsed: true, Rounding: pricing.RoundHalfEven, Ladder: []pricing.RefundStep{{Before: 0, Fee: 0}}}
		for i := range cat.Types {
			cat.Types[i].Starts = s.now().Add(time.Hour) // counted as before the start
		}
		for i := range pts {
			pts[i].Used = false
		}
	}
	q, err := pricing.Refund(cat, pts, s.now())
	if err != nil {
		return RefundPlan{}, fmt.Errorf("refund of order %d: %w", o.ID, err)
	}
	q.Refused = append(revoked, q.Refused...)
	plan.Quote = q
	return plan, nil
}

// paidPerTicket is what each ticket of an order paid: what an exchange
// recorded for a ticket it issued (prices), else its type's prices in the
// order's quote, given to the tickets of the type in serial order.
func paidPerTicket(o store.ShopOrder, tickets []store.Ticket, prices map[uint64]int64) map[uint64]pricing.Money {
	var q pricing.Quotation
	json.Unmarshal(o.Quote, &q)
	byType := map[uint64][]pricing.Money{}
	inBundle := map[uint64][]pricing.Money{}
	for _, l := range q.Lines {
		for _, tp := range l.Tickets {
			if tp.InBundle {
				inBundle[uint64(tp.Type)] = append(inBundle[uint64(tp.Type)], tp.Paid)
			} else {
				byType[uint64(tp.Type)] = append(byType[uint64(tp.Type)], tp.Paid)
			}
		}
	}
	tickets = slices.Clone(tickets)
	slices.SortFunc(tickets, func(a, b store.Ticket) int { return int(a.Serial) - int(b.Serial) })
	out := map[uint64]pricing.Money{}
	cur := mustCurrency(o.Currency)
	zero := pricing.Zero(cur)
	for _, t := range tickets {
		if p, ok := prices[t.Serial]; ok {
			out[t.Serial] = pricing.New(p, cur)
			continue
		}
		switch {
		case len(byType[t.Type]) > 0:
			out[t.Serial], byType[t.Type] = byType[t.Type][0], byType[t.Type][1:]
		case len(inBundle[t.Type]) > 0:
			out[t.Serial], inBundle[t.Type] = inBundle[t.Type][0], inBundle[t.Type][1:]
		default:
			out[t.Serial] = zero
		}
	}
	return out
}

// RefundResult is a refund made.
type RefundResult struct {
	Refund store.ShopRefund
	Plan   RefundPlan
	// Pending: the tickets are revoked, the provider has not taken the
	// refund yet (it is tried again; RetryRefunds).
	Pending bool
}

// NewRefundKey is a fresh idempotency key for a refund form.
func NewRefundKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "rf" + hex.EncodeToString(b)
}

// Refund refunds tickets of a paid order by the event's ladder, or refuses
// (a *RefundRefusedError) when any ticket asked for may not be refunded.
// In one transaction the refund is recorded, the tickets are revoked at
// the gates (a signed revocation in the manifest, as Cancel does), their
// stock returns, and the order is cancelled once no ticket of it is left;
// then the waiting list is offered the stock first, and the money goes
// back through the order's provider (Refunder) — box-office and test
// payments are recorded as paid back at once. Asking again with the same
// Key is the same refund (and retries its money when it is pending).
func (s *Shop) Refund(ctx context.Context, ask RefundAsk) (RefundResult, error) {
	if ask.Key == "" {
		ask.Key = NewRefundKey()
	}
	if len(ask.Key) > 48 || strings.Trim(ask.Key, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != "" {
		return RefundResult{}, fmt.Errorf("refund key: want 1 to 48 of 0-9 A-Z a-z _ -: %w", ErrBadRequest)
	}
	if ask.Actor != "" && strings.TrimSpace(ask.Reason) == "" {
		return RefundResult{}, fmt.Errorf("a staff refund needs a reason: %w", ErrBadRequest)
	}
	if len(ask.Reason) > 200 {
		return RefundResult{}, fmt.Errorf("reason: at most 200 bytes: %w", ErrBadRequest)
	}
	if r, err := s.db.RefundByKey(ctx, ask.Key); err == nil {
		if r.Order != ask.Order {
			return RefundResult{}, fmt.Errorf("refund key %s is another order's: %w", ask.Key, ErrBadRequest)
		}
		return s.payBack(ctx, r, RefundPlan{})
	} else if !errors.Is(err, store.ErrNotFound) {
		return RefundResult{}, err
	}
	plan, err := s.PlanRefund(ctx, ask)
	if err != nil {
		return RefundResult{}, err
	}
	if !plan.OK() {
		return RefundResult{Plan: plan}, &RefundRefusedError{Refused: plan.Quote.Refused}
	}
	o := plan.Order
	ev, err := s.db.Event(ctx, o.Event)
	if err != nil {
		return RefundResult{}, err
	}
	sl, err := s.sale(ctx, o.Event)
	if err != nil {
		return RefundResult{}, err
	}
	back, fee := plan.Total()
	quote, err := json.Marshal(plan.Quote)
	if err != nil {
		return RefundResult{}, err
	}
	actor := ask.Actor
	if actor == "" {
		actor = "buyer"
	}
	reason := strings.TrimSpace(ask.Reason)
	if reason == "" {
		reason = "asked for by the buyer"
	}
	now := s.now()
	r := store.ShopRefund{Key: ask.Key, Order: o.ID, Currency: o.Currency, Amount: back.Minor(), Fee: fee.Minor(), Method: o.Method,
		Actor: actor, Reason: reason, Quote: quote, State: store.RefundPending, Created: now}
	direct := o.Method == MethodTest || o.Method == MethodBoxOffice || back.IsZero()
	if direct {
		r.State, r.DoneAt = store.RefundDone, now
		r.Note = map[string]string{MethodTest: "the test provider: nothing to send back", MethodBoxOffice: "paid back at the box office"}[o.Method]
		if back.IsZero() {
			r.Note = "nothing to pay back"
		}
	}
	lines := map[uint64]pricing.RefundLine{}
	for _, l := range plan.Quote.Tickets {
		n, _ := strconv.ParseUint(l.Ticket, 10, 64)
		lines[n] = l
		r.Tickets = append(r.Tickets, store.RefundedTicket{Event: o.Event, Serial: n, Amount: l.Refund.Minor()})
	}
	_, all, err := s.Order(ctx, o.ID)
	if err != nil {
		return RefundResult{}, err
	}
	left := 0
	for _, t := range all {
		if _, ours := lines[t.Serial]; !ours && t.Status == "valid" {
			left++
		}
	}
	why := "refunded: " + reason
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if r.ID, err = tx.AddRefund(r); err != nil {
			return err
		}
		for _, tk := range r.Tickets {
			if err := s.cfg.Catalog.RevokeTicketIn(tx, ev.Venue, tk.Event, tk.Serial, why, time.Time{}); err != nil {
				return err
			}
			if err := tx.RefundFact(tk.Event, tk.Serial, tk.Amount, now); err != nil {
				return err
			}
			typ := uint64(lines[tk.Serial].Type)
			takes := sl.takes(o.Account, []store.ShopOrderItem{{Type: typ, Quantity: 1}})
			if err := tx.ReleaseSome(o.ID, takes); err != nil {
				return err
			}
		}
		if left == 0 {
			ok, err := tx.MoveOrder(o.ID, []string{StatusPaid}, StatusCancelled, "", now, time.Time{})
			if err != nil {
				return err
			}
			if !ok {
				return ErrState
			}
			if err := tx.Release(o.ID); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("%d tickets, %s back, %s fee: %s", len(r.Tickets), back, fee, reason)
		if ask.Supervisor && len(plan.Used) > 0 {
			detail += fmt.Sprintf(" (scanned-in tickets %v approved by a supervisor)", plan.Used)
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: actor, Action: "order.refund", Target: fmt.Sprintf("order %d", o.ID), Detail: detail})
	})
	if errors.Is(err, store.ErrExists) {
		if prior, perr := s.db.RefundByKey(ctx, ask.Key); perr == nil && prior.Order == o.ID {
			return s.payBack(ctx, prior, plan) // a double click that raced
		}
		return RefundResult{}, fmt.Errorf("refund of order %d: %w: %w", o.ID, err, ErrState)
	}
	if errors.Is(err, ErrState) {
		return RefundResult{}, fmt.Errorf("order %d changed while it was refunded: %w", o.ID, ErrState)
	}
	if err != nil {
		return RefundResult{}, fmt.Errorf("refund of order %d: %w", o.ID, err)
	}
	s.offerFreed(ctx, o.Event)
	s.log.Info("order refunded", "order", o.ID, "tickets", len(r.Tickets), "back", back.String(), "fee", fee.String(), "actor", actor)
	s.mailRefund(context.WithoutCancel(ctx), o, ev.Name, r, back, fee)
	return s.payBack(ctx, r, plan)
}

// payBack sends a pending refund's money through the order's provider.
func (s *Shop) payBack(ctx context.Context, r store.ShopRefund, plan RefundPlan) (RefundResult, error) {
	res := RefundResult{Refund: r, Plan: plan, Pending: r.State == store.RefundPending}
	if !res.Pending {
		return res, nil
	}
	m := s.moneyBack()
	if m == nil {
		s.log.Warn("refund pending: no payment provider is configured to send it", "order", r.Order, "refund", r.ID)
		return res, nil
	}
	if err := m.RefundMoney(ctx, r.Order, r.Amount, r.Key, r.Reason); err != nil {
		s.log.Warn("refund pending: the provider did not take it yet", "order", r.Order, "refund", r.ID, "err", err)
		return res, nil
	}
	now := s.now()
	if err := s.db.FinishRefund(ctx, r.ID, now, "paid back through "+r.Method); err != nil {
		return res, err
	}
	res.Refund.State, res.Refund.DoneAt, res.Pending = store.RefundDone, now, false
	return res, nil
}

// RetryRefunds sends the money of up to limit pending refunds again and
// returns how many are done.
func (s *Shop) RetryRefunds(ctx context.Context, limit int) int {
	rs, err := s.db.PendingRefunds(ctx, limit)
	if err != nil {
		s.log.Warn("pending refunds", "err", err)
		return 0
	}
	n := 0
	for _, r := range rs {
		if res, err := s.payBack(ctx, r, RefundPlan{}); err == nil && !res.Pending {
			n++
		}
	}
	return n
}

func (s *Shop) mailRefund(ctx context.Context, o store.ShopOrder, event string, r store.ShopRefund, back, fee pricing.Money) {
	buyer, err := s.db.Account(ctx, o.Account)
	if err != nil || buyer.Email == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Refund of order %d for %s: %d tickets, %s %s back (fee %s).\n订单 %d 退款：%d 张门票，退还 %s %s（手续费 %s）。\n\nRefunded tickets / 已退门票:\n",
		o.ID, event, len(r.Tickets), back.Format(), o.Currency, fee.Format(), o.ID, len(r.Tickets), back.Format(), o.Currency, fee.Format())
	for _, t := range r.Tickets {
		fmt.Fprintf(&b, "  %d/%d\n", t.Event, t.Serial)
	}
	if r.Actor != "buyer" {
		fmt.Fprintf(&b, "\nReason / 原因: %s\n", r.Reason)
	}
	b.WriteString("\nThese tickets no longer open the gates. / 这些门票已不能入场。\n")
	if err := s.cfg.Mailer.Send(ctx, Message{To: buyer.Email, Subject: fmt.Sprintf("Refund of order %d / 订单 %d 退款", o.ID, o.ID), Body: b.String()}); err != nil {
		s.log.Warn("refund mail not sent", "order", o.ID, "err", err)
	}
}
