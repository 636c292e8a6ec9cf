package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// Order statuses.
const (
	StatusPending   = "pending_payment"
	StatusPaid      = "paid"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
)

// Payment methods.
const (
	MethodTest      = "test"       // the development provider: paid at once
	MethodBoxOffice = "box_office" // staff took the money at the counter
)

// OrderRequest is what a buyer orders.
type OrderRequest struct {
	Event uint64         `json:"event"`
	Items []pricing.Item `json:"items"`
	Promo string         `json:"promo,omitempty"`
	// Captcha is the solved proof-of-work challenge, when it is on.
	Captcha *CaptchaAnswer `json:"captcha,omitempty"`
	// Queue is the waiting room's token (POST queue), when the event's
	// room is on: it proves the buyer's turn came.
	Queue string `json:"queue,omitempty"`
	// IP is the client's address, for the rate limits and the blocked
	// log (set by the API from the connection, never from the body).
	IP string `json:"-"`
}

// RefusedError is an order the pricing refused: a type not on sale, a
// quantity over the limit, a promotion code that does not apply.
type RefusedError struct{ Refused []pricing.Refusal }

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("order refused:")
	for _, r := range e.Refused {
		b.WriteString(" " + string(r.Reason) + " (" + r.Detail + ")")
	}
	return b.String()
}

// maxItems bounds an order's lines and tickets.
const maxItems, maxTickets = 20, 50

// Place prices an order with the pricing package's Quote and holds its
// tickets until Config.Hold has passed, in one transaction: either every
// ticket is held and the order is pending_payment, or nothing is and the
// buyer is told why (ErrSoldOut, a *RefusedError).
func (s *Shop) Place(ctx context.Context, buyer store.Account, req OrderRequest) (store.ShopOrder, error) {
	if !s.cfg.AllowUnverified && buyer.VerifiedAt.IsZero() {
		return store.ShopOrder{}, ErrUnverified
	}
	if len(req.Items) == 0 || len(req.Items) > maxItems {
		return store.ShopOrder{}, fmt.Errorf("order: want 1 to %d items: %w", maxItems, ErrBadRequest)
	}
	if len(req.Promo) > 64 {
		return store.ShopOrder{}, fmt.Errorf("order: promotion code longer than 64: %w", ErrBadRequest)
	}
	qty := map[uint64]int{}
	total := 0
	for _, it := range req.Items {
		if it.Quantity <= 0 || it.Quantity > maxTickets {
			return store.ShopOrder{}, fmt.Errorf("order: type %d: quantity %d: want 1 to %d: %w", it.Type, it.Quantity, maxTickets, ErrBadRequest)
		}
		qty[uint64(it.Type)] += it.Quantity
		total += it.Quantity
	}
	if total > maxTickets {
		return store.ShopOrder{}, fmt.Errorf("order: %d tickets: at most %d: %w", total, maxTickets, ErrBadRequest)
	}
	if err := s.CheckRate(ctx, req.IP, buyer.ID, "order"); err != nil {
		return store.ShopOrder{}, err
	}
	roomOn, waiting, err := s.db.EventLines(ctx, req.Event)
	if err != nil {
		return store.ShopOrder{}, err
	}
	if roomOn {
		if err := s.admitted(ctx, buyer, req); err != nil {
			return store.ShopOrder{}, err
		}
	}
	if err := s.CheckCaptcha(ctx, req.Captcha, req.IP, buyer.ID, "order"); err != nil {
		return store.ShopOrder{}, err
	}
	s.expireSometimes(ctx)
	sl, err := s.sale(ctx, req.Event)
	if err != nil {
		return store.ShopOrder{}, err
	}
	// What the snapshot already shows sold out is refused before any
	// write: in a rush most buyers hear it at once, without queueing for
	// the pool's row. The conditional update below stays the only guard.
	for typ, n := range qty {
		if _, on := sl.offers[typ]; on && sl.left(typ) < int64(n) {
			return store.ShopOrder{}, ErrSoldOut
		}
	}
	// Tickets that came back while buyers wait for the type are theirs:
	// offer them, and tell this buyer to join the line.
	for typ := range qty {
		if waiting[typ] > 0 {
			s.offerFreed(ctx, req.Event)
			return store.ShopOrder{}, fmt.Errorf("type %d: %d buyers are on its waiting list: join it (POST %swaitlist): %w", typ, waiting[typ], PathPrefix, ErrSoldOut)
		}
	}
	cart := pricing.Cart{Items: req.Items, Roles: []string{buyer.Role}}
	if req.Promo != "" {
		cart.Codes = []string{req.Promo}
	}
	now := s.now()
	q, err := pricing.Quote(cart, sl.catalog, sl.promos, now)
	if err != nil {
		return store.ShopOrder{}, fmt.Errorf("order: price: %w", err)
	}
	if !q.OK() {
		return store.ShopOrder{}, &RefusedError{Refused: q.Refused}
	}
	if len(q.Totals) != 1 {
		return store.ShopOrder{}, fmt.Errorf("order: %d currencies in one order: %w", len(q.Totals), ErrBadRequest)
	}
	quote, err := json.Marshal(q)
	if err != nil {
		return store.ShopOrder{}, err
	}
	o := store.ShopOrder{Account: buyer.ID, Event: req.Event, Status: StatusPending, Currency: q.Totals[0].Currency.Code(),
		Total: q.Totals[0].Total.Minor(), Quote: quote, Created: now, Expires: now.Add(s.cfg.Hold)}
	for typ, n := range qty {
		o.Items = append(o.Items, store.ShopOrderItem{Type: typ, Quantity: n})
	}
	slices.SortFunc(o.Items, func(a, b store.ShopOrderItem) int { return int(a.Type) - int(b.Type) })
	takes, ensure := s.orderTakes(sl, buyer, o.Items)
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if o.ID, err = tx.AddOrder(o); err != nil {
			return err
		}
		for _, p := range ensure {
			if err := tx.EnsurePool(p.Name, p.Cap); err != nil {
				return err
			}
		}
		if err := tx.Hold(o.ID, takes); err != nil {
			return err
		}
		for _, id := range q.Applied {
			if err := tx.UsePromotion(id); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrSoldOut) {
		what := err.Error()
		switch {
		case strings.HasPrefix(what, "account:"):
			s.block(ctx, "purchase_limit", "order: the purchase limit per account", req.IP, buyer.ID, fmt.Sprintf("event %d", req.Event))
			return store.ShopOrder{}, fmt.Errorf("the purchase limit per account for this event is reached: %w: %w", ErrLimit, ErrSoldOut)
		case strings.HasPrefix(what, "phone:"):
			s.block(ctx, "purchase_limit", "order: the purchase limit per phone", req.IP, buyer.ID, maskPhone(buyer.Phone))
			return store.ShopOrder{}, fmt.Errorf("the purchase limit per phone number for this event is reached: %w: %w", ErrLimit, ErrSoldOut)
		case strings.HasPrefix(what, "promotion"):
			return store.ShopOrder{}, &RefusedError{Refused: []pricing.Refusal{{Reason: pricing.ReasonExhausted, Code: req.Promo, Detail: "the promotion's uses ran out"}}}
		}
		return store.ShopOrder{}, ErrSoldOut
	}
	if err != nil {
		return store.ShopOrder{}, fmt.Errorf("order: %w", err)
	}
	return o, nil
}

// Order reads an order, expiring it first when its hold ran out.
func (s *Shop) Order(ctx context.Context, id int64) (store.ShopOrder, []store.Ticket, error) {
	o, err := s.db.Order(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return o, nil, fmt.Errorf("order %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return o, nil, err
	}
	if o.Status == StatusPending && !s.now().Before(o.Expires) {
		if err := s.expire(ctx, id); err != nil {
			return o, nil, err
		}
		return s.Order(ctx, id)
	}
	var tickets []store.Ticket
	if o.Status == StatusPaid || o.Status == StatusCancelled {
		if tickets, err = s.db.OrderTickets(ctx, id); err != nil {
			return o, nil, err
		}
	}
	return o, tickets, nil
}

// Pay marks a pending order paid by method and issues its tickets through
// central's catalog in the same transaction: signed codes, and manifest
// changes the venue's gates get with their next pull. Paying an order
// whose hold ran out is ErrExpired; paying twice is ErrState. The
// confirmation mail goes out after the commit.
func (s *Shop) Pay(ctx context.Context, id int64, method string) (store.ShopOrder, []store.Ticket, error) {
	return s.PayWith(ctx, id, Payment{Method: method})
}

// Payment is how an order is paid (POST orders/{id}/pay).
type Payment struct {
	Method string `json:"method"`
	// Instrument is the payment layer's fingerprint of the card or
	// account that pays (the same for every payment by it, never the
	// card number): with Capacity.PerInstrument set, it bounds what one
	// instrument buys of an event. Only its hash is stored.
	Instrument string `json:"instrument,omitempty"`
	// IP is the client's address, for the blocked log.
	IP string `json:"-"`
}

// PayWith is Pay with the payment's instrument: past the event's limit
// per instrument the payment is refused (ErrLimit) and the order stays
// pending, to be paid otherwise.
func (s *Shop) PayWith(ctx context.Context, id int64, p Payment) (store.ShopOrder, []store.Ticket, error) {
	method := p.Method
	if method != MethodTest && method != MethodBoxOffice {
		return store.ShopOrder{}, nil, fmt.Errorf("payment method %q: want test or box_office: %w", method, ErrBadRequest)
	}
	if len(p.Instrument) > 256 {
		return store.ShopOrder{}, nil, fmt.Errorf("payment instrument: at most 256 bytes: %w", ErrBadRequest)
	}
	o, _, err := s.Order(ctx, id)
	if err != nil {
		return o, nil, err
	}
	switch o.Status {
	case StatusExpired:
		return o, nil, ErrExpired
	case StatusPending:
	default:
		return o, nil, fmt.Errorf("order %d is %s: %w", id, o.Status, ErrState)
	}
	ev, err := s.db.Event(ctx, o.Event)
	if err != nil {
		return o, nil, err
	}
	types := map[uint64]store.TicketType{}
	for _, it := range o.Items {
		if types[it.Type], err = s.db.TicketType(ctx, o.Event, it.Type); err != nil {
			return o, nil, err
		}
	}
	buyer, err := s.db.Account(ctx, o.Account)
	if err != nil {
		return o, nil, err
	}
	var instTake []store.Take
	var instPool store.Pool
	if p.Instrument != "" {
		pools, err := s.db.Pools(ctx, instrumentLimitPool(o.Event))
		if err != nil {
			return o, nil, err
		}
		if lim, ok := pools[instrumentLimitPool(o.Event)]; ok {
			instPool = store.Pool{Name: instrumentPool(p.Instrument, o.Event), Cap: lim.Cap}
			var n int64
			for _, it := range o.Items {
				n += int64(it.Quantity)
			}
			instTake = []store.Take{{Pool: instPool.Name, N: n}}
		}
	}
	var tickets []store.Ticket
	now := s.now()
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		tickets = tickets[:0]
		ok, err := tx.MoveOrder(id, []string{StatusPending}, StatusPaid, method, now, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrState
		}
		if instTake != nil {
			if err := tx.EnsurePool(instPool.Name, instPool.Cap); err != nil {
				return err
			}
			if err := tx.Hold(id, instTake); err != nil {
				return err
			}
		}
		if p.Instrument != "" {
			if err := tx.SetOrderInstrument(id, shortHash(p.Instrument)); err != nil {
				return err
			}
		}
		if err := tx.SettleWait(id, "bought"); err != nil {
			return err
		}
		for _, it := range o.Items {
			issued, err := s.cfg.Catalog.IssueIn(tx, ev, types[it.Type], it.Quantity, holderName(buyer, o))
			if err != nil {
				return err
			}
			serials := make([]uint64, len(issued))
			for i, t := range issued {
				serials[i] = t.Serial
			}
			if err := tx.AddOrderTickets(id, o.Event, serials); err != nil {
				return err
			}
			tickets = append(tickets, issued...)
		}
		return saleFacts(tx, o, ev, buyer, method, tickets, now)
	})
	if errors.Is(err, ErrState) {
		// Lost a race: with its expiry, a cancel or another payment.
		o, _, _ = s.Order(ctx, id)
		if o.Status == StatusExpired {
			return o, nil, ErrExpired
		}
		return o, nil, fmt.Errorf("order %d is %s: %w", id, o.Status, ErrState)
	}
	if errors.Is(err, store.ErrSoldOut) && strings.HasPrefix(err.Error(), "instrument:") {
		s.block(ctx, "purchase_limit", "payment: the purchase limit per payment instrument", p.IP, o.Account, fmt.Sprintf("event %d", o.Event))
		return o, nil, fmt.Errorf("the purchase limit per payment instrument for this event is reached: pay with another: %w", ErrLimit)
	}
	if err != nil {
		return o, nil, fmt.Errorf("pay order %d: %w", id, err)
	}
	o.Status, o.Method, o.PaidAt = StatusPaid, method, now
	s.settled(ctx, id)
	s.confirm(ctx, buyer, o, ev.Name, tickets)
	return o, tickets, nil
}

func (s *Shop) confirm(ctx context.Context, buyer store.Account, o store.ShopOrder, event string, tickets []store.Ticket) {
	if buyer.Email == "" {
		return // an account made by phone: its tickets are on its order page
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Order %d for %s is paid: %s %s.\n订单 %d 已付款。\n\nYour tickets / 您的门票:\n", o.ID, event,
		pricing.New(o.Total, mustCurrency(o.Currency)).Format(), o.Currency, o.ID)
	for _, t := range tickets {
		fmt.Fprintf(&b, "\n%d/%d  %s\n", t.Event, t.Serial, t.Code)
	}
	if err := s.cfg.Mailer.Send(ctx, Message{To: buyer.Email, Subject: fmt.Sprintf("Order %d confirmed / 订单 %d 已确认", o.ID, o.ID), Body: b.String()}); err != nil {
		s.log.Warn("order confirmation not sent", "order", o.ID, "err", err)
	}
}

func mustCurrency(code string) pricing.Currency {
	c, _ := pricing.ParseCurrency(code)
	return c
}

// Cancel cancels an order: a pending one's holds return to stock; a paid
// one's tickets are revoked at the gates (a revocation change) and their
// stock returns.
func (s *Shop) Cancel(ctx context.Context, id int64, reason string) (store.ShopOrder, error) {
	o, tickets, err := s.Order(ctx, id)
	if err != nil {
		return o, err
	}
	if o.Status != StatusPending && o.Status != StatusPaid {
		return o, fmt.Errorf("order %d is %s: %w", id, o.Status, ErrState)
	}
	ev, err := s.db.Event(ctx, o.Event)
	if err != nil {
		return o, err
	}
	now := s.now()
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.MoveOrder(id, []string{o.Status}, StatusCancelled, "", now, time.Time{})
		if err != nil {
			return err
		}
		if !ok {
			return ErrState
		}
		for _, t := range tickets {
			if err := s.cfg.Catalog.RevokeTicketIn(tx, ev.Venue, t.Event, t.Serial, reason, time.Time{}); err != nil {
				return err
			}
			if err := tx.RefundFactFully(t.Event, t.Serial, now); err != nil {
				return err
			}
		}
		if err := tx.SettleWait(id, "lapsed"); err != nil {
			return err
		}
		return tx.Release(id)
	})
	if err != nil {
		return o, fmt.Errorf("cancel order %d: %w", id, err)
	}
	s.settled(ctx, id)
	s.offerFreed(ctx, o.Event)
	return s.db.Order(ctx, id)
}

// settled tells Config.Settled of an order paid or cancelled.
func (s *Shop) settled(ctx context.Context, id int64) {
	if s.cfg.Settled != nil {
		s.cfg.Settled(ctx, id)
	}
}

// expire ends a pending order whose hold ran out and returns its stock.
func (s *Shop) expire(ctx context.Context, id int64) error {
	now := s.now()
	freed := false
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		freed = false
		ok, err := tx.MoveOrder(id, []string{StatusPending}, StatusExpired, "", now, time.Time{})
		if err != nil || !ok {
			return err
		}
		if err := tx.SettleWait(id, "lapsed"); err != nil {
			return err
		}
		if err := tx.Release(id); err != nil {
			return err
		}
		freed = true
		return nil
	})
	if err == nil && freed {
		if o, err := s.db.Order(ctx, id); err == nil {
			s.offerFreed(ctx, o.Event)
		}
	}
	return err
}

// holderName is the name printed on an order's tickets: a sponsor's
// guest's, else the buyer's.
func holderName(buyer store.Account, o store.ShopOrder) string {
	if o.Guest != "" {
		return o.Guest
	}
	return buyer.Name
}

// ExpireDue expires up to limit pending orders whose holds ran out and
// returns how many; orders are placed through it too, so stock held by
// abandoned carts comes back without a separate sweeper.
func (s *Shop) ExpireDue(ctx context.Context, limit int) int {
	ids, err := s.db.ExpiredOrders(ctx, s.now(), limit)
	if err != nil {
		s.log.Warn("expire orders", "err", err)
		return 0
	}
	n := 0
	for _, id := range ids {
		if err := s.expire(ctx, id); err != nil {
			s.log.Warn("expire order", "order", id, "err", err)
			continue
		}
		n++
	}
	return n
}

// Sweep expires held orders whose time ran out every interval until ctx
// ends, so their tickets return, and go to waiting lists, even when
// nobody is ordering.
func (s *Shop) Sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for s.ExpireDue(ctx, 256) == 256 && ctx.Err() == nil {
		}
		s.RetryRefunds(ctx, 64)
	}
}

// expireSometimes runs ExpireDue at most once a second, so a rush of
// orders does not each scan for expired ones.
func (s *Shop) expireSometimes(ctx context.Context) {
	now := s.now().UnixNano()
	last := s.lastSweep.Load()
	if now-last < int64(time.Second) && now >= last || !s.lastSweep.CompareAndSwap(last, now) {
		return
	}
	s.ExpireDue(ctx, 64)
}
