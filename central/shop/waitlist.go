package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// The waiting list. A buyer who finds a type sold out joins its line
// (POST waitlist). When tickets of the type come back (an order cancelled
// or expired, the quota raised), the first in line is offered them as
// soon as there are enough for the quantity they asked (those behind
// wait: the line keeps its order): a pending order is made for them at
// the price of the day, holding the stock for WaitlistConfig.OfferLife,
// and a link with a token is mailed to them (GET waitlist/offer?token=…). Paying the order buys
// the tickets; letting it expire offers them to the next in line. While
// anyone waits for a type, its freed tickets are not sold to buyers who
// did not wait.

// WaitlistConfig is how offers are made.
type WaitlistConfig struct {
	// OfferLife is how long an offer holds its tickets: long enough to
	// read a mail and pay, short enough that a line moves when people
	// have lost interest.
	OfferLife time.Duration
	// MaxQuantity bounds what one place asks for.
	MaxQuantity int
}

// DefaultWaitlistConfig: 30 minutes, up to 6 tickets a place.
func DefaultWaitlistConfig() WaitlistConfig {
	return WaitlistConfig{OfferLife: 30 * time.Minute, MaxQuantity: 6}
}

// WaitView is a place on a waiting list.
type WaitView struct {
	ID       int64  `json:"id"`
	Event    uint64 `json:"event"`
	Type     uint64 `json:"type"`
	Quantity int    `json:"quantity"`
	// Status is waiting, offered, bought, lapsed or left.
	Status string `json:"status"`
	// Position is the place in line while waiting, 1 first.
	Position int       `json:"position,omitempty"`
	Joined   time.Time `json:"joined"`
	// Order is the order holding the offered tickets, to pay before
	// OfferExpires.
	Order        int64     `json:"order,omitempty"`
	OfferExpires time.Time `json:"offer_expires,omitzero"`
}

func (s *Shop) waitView(ctx context.Context, w store.WaitEntry) (WaitView, error) {
	v := WaitView{ID: w.ID, Event: w.Event, Type: w.Type, Quantity: w.Quantity, Status: w.Status, Joined: w.Joined, Order: w.Order}
	switch w.Status {
	case "waiting":
		n, err := s.db.WaitPosition(ctx, w)
		if err != nil {
			return v, err
		}
		v.Position = n
	case "offered":
		o, err := s.db.Order(ctx, w.Order)
		if err != nil {
			return v, err
		}
		v.OfferExpires = o.Expires
	}
	return v, nil
}

// JoinWaitlist puts a buyer in line for quantity tickets of a sold-out
// type; one place per buyer and type.
func (s *Shop) JoinWaitlist(ctx context.Context, buyer store.Account, event, typ uint64, quantity int) (WaitView, error) {
	if quantity <= 0 || quantity > s.cfg.Waitlist.MaxQuantity {
		return WaitView{}, fmt.Errorf("waiting list: quantity %d: want 1 to %d: %w", quantity, s.cfg.Waitlist.MaxQuantity, ErrBadRequest)
	}
	sl, err := s.sale(ctx, event)
	if err != nil {
		return WaitView{}, err
	}
	o, ok := sl.offers[typ]
	if !ok || len(o.Roles) > 0 && !containsRole(o.Roles, buyer.Role) {
		return WaitView{}, fmt.Errorf("waiting list: type %d of event %d is not on sale: %w", typ, event, ErrNotFound)
	}
	waiting, err := s.db.WaitingCounts(ctx, event)
	if err != nil {
		return WaitView{}, err
	}
	if sl.left(typ) >= int64(quantity) && waiting[typ] == 0 {
		return WaitView{}, fmt.Errorf("type %d is not sold out: order it: %w", typ, ErrBadRequest)
	}
	mine, err := s.db.AccountWaits(ctx, buyer.ID)
	if err != nil {
		return WaitView{}, err
	}
	for _, w := range mine {
		if w.Event == event && w.Type == typ && (w.Status == "waiting" || w.Status == "offered") {
			return WaitView{}, fmt.Errorf("you are on this waiting list already (place %d): %w", w.ID, ErrBadRequest)
		}
	}
	w := store.WaitEntry{Event: event, Type: typ, Account: buyer.ID, Quantity: quantity, Joined: s.now(), Status: "waiting"}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		w.ID, err = tx.JoinWaitlist(w)
		return err
	})
	if err != nil {
		return WaitView{}, err
	}
	// Tickets may be free already (the line was formed while some were
	// held): offer them now.
	s.offerFreed(ctx, event)
	got, err := s.db.AccountWaits(ctx, buyer.ID)
	if err != nil {
		return WaitView{}, err
	}
	for _, g := range got {
		if g.ID == w.ID {
			return s.waitView(ctx, g)
		}
	}
	return s.waitView(ctx, w)
}

func containsRole(roles []string, role string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

// Waitlist lists a buyer's places.
func (s *Shop) Waitlist(ctx context.Context, account int64) ([]WaitView, error) {
	ws, err := s.db.AccountWaits(ctx, account)
	if err != nil {
		return nil, err
	}
	out := []WaitView{}
	for _, w := range ws {
		v, err := s.waitView(ctx, w)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// LeaveWaitlist gives up a place that is still waiting.
func (s *Shop) LeaveWaitlist(ctx context.Context, account, id int64) error {
	var ok bool
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		ok, err = tx.SetWaitStatus(id, account, "left")
		return err
	})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("place %d: not yours or not waiting: %w", id, ErrNotFound)
	}
	return nil
}

// Offer is a waiting-list offer as its link shows it.
func (s *Shop) Offer(ctx context.Context, token string) (WaitView, error) {
	w, err := s.db.WaitByToken(ctx, tokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return WaitView{}, fmt.Errorf("waiting-list offer unknown: %w", ErrNotFound)
	}
	if err != nil {
		return WaitView{}, err
	}
	if w.Status == "offered" {
		// Reading it expires it when its time ran out.
		if _, _, err := s.Order(ctx, w.Order); err != nil {
			return WaitView{}, err
		}
		if w, err = s.db.WaitByToken(ctx, tokenHash(token)); err != nil {
			return WaitView{}, err
		}
	}
	return s.waitView(ctx, w)
}

// offerFreed offers an event's free tickets to the first in each type's
// line, as long as there are tickets for the next in line. Each offer is
// one transaction that takes the stock as an order does, so an offer
// never oversells, and a place is offered once (waiting → offered is
// conditional). Failures are logged: the tickets stay on sale for the
// next try.
func (s *Shop) offerFreed(ctx context.Context, event uint64) {
	ctx = context.WithoutCancel(ctx)
	waiting, err := s.db.WaitingCounts(ctx, event)
	if err != nil || len(waiting) == 0 {
		return
	}
	for typ := range waiting {
		for range 50 {
			if !s.offerNext(ctx, event, typ) {
				break
			}
		}
	}
}

// offerNext makes one offer for a type and reports whether another may
// follow.
func (s *Shop) offerNext(ctx context.Context, event, typ uint64) bool {
	first, err := s.db.FirstWaiting(ctx, event, typ, 1)
	if err != nil || len(first) == 0 {
		return false
	}
	w := first[0]
	sl, err := s.sale(ctx, event)
	if err != nil {
		s.log.Warn("waiting list offer", "event", event, "err", err)
		return false
	}
	if _, on := sl.offers[typ]; !on || sl.left(typ) < int64(w.Quantity) {
		return false
	}
	buyer, err := s.db.Account(ctx, w.Account)
	if err != nil {
		return false
	}
	now := s.now()
	items := []store.ShopOrderItem{{Type: typ, Quantity: w.Quantity}}
	q, err := pricing.Quote(pricing.Cart{Items: []pricing.Item{{Type: pricing.TypeID(typ), Quantity: w.Quantity}}, Roles: []string{buyer.Role}},
		sl.catalog, sl.promos, now)
	lapse := func(why string) bool {
		s.log.Info("waiting list place lapsed", "place", w.ID, "why", why)
		s.db.Update(ctx, func(tx *store.Tx) error { _, err := tx.SetWaitStatus(w.ID, 0, "lapsed"); return err })
		return true
	}
	if err != nil || !q.OK() || len(q.Totals) != 1 {
		return lapse("the pricing refused the place's tickets")
	}
	quote, _ := json.Marshal(q)
	o := store.ShopOrder{Account: buyer.ID, Event: event, Status: StatusPending, Currency: q.Totals[0].Currency.Code(), Total: q.Totals[0].Total.Minor(),
		Quote: quote, Created: now, Expires: now.Add(s.cfg.Waitlist.OfferLife), Items: items}
	tok, th, err := newToken("tgw_")
	if err != nil {
		return false
	}
	takes, ensure := s.orderTakes(sl, buyer, items)
	var offered bool
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
		if offered, err = tx.OfferWait(w.ID, o.ID, th, now); err != nil {
			return err
		}
		if !offered {
			return errAlreadyOffered
		}
		return nil
	})
	switch {
	case errors.Is(err, errAlreadyOffered):
		return true // another process offered it: on to the next
	case errors.Is(err, store.ErrSoldOut) && !isLimitPool(err):
		return false // the type's own stock is short: wait for more
	case errors.Is(err, store.ErrSoldOut):
		return lapse("the buyer's purchase limit: " + err.Error())
	case err != nil:
		s.log.Warn("waiting list offer", "place", w.ID, "err", err)
		return false
	}
	s.log.Info("waiting list offer made", "place", w.ID, "order", o.ID)
	if buyer.Email != "" {
		link := strings.TrimRight(s.cfg.BaseURL, "/") + PathPrefix + "waitlist/offer?token=" + tok
		err := s.cfg.Mailer.Send(ctx, Message{To: buyer.Email, Subject: "Tickets for you from the waiting list / 候补门票已为您保留",
			Body: fmt.Sprintf("%d ticket(s) you waited for are held for you until %s UTC. Pay order %d before then:\n"+
				"您候补的 %d 张门票已为您保留至 %s（UTC），请在此之前支付订单 %d：\n\n%s\n",
				w.Quantity, o.Expires.UTC().Format("2006-01-02 15:04"), o.ID, w.Quantity, o.Expires.UTC().Format("2006-01-02 15:04"), o.ID, link)})
		if err != nil {
			s.log.Warn("waiting list mail not sent", "place", w.ID, "err", err)
		}
	}
	if buyer.Phone != "" {
		mins := strconv.Itoa(int(s.cfg.Waitlist.OfferLife.Minutes()))
		err := s.cfg.SMSSender.Send(ctx, SMS{To: buyer.Phone, Kind: KindOffer, Params: map[string]string{"order": strconv.FormatInt(o.ID, 10), "minutes": mins},
			Text: fmt.Sprintf("Tickets you waited for are held for you for %s minutes: pay order %d. 您候补的门票已保留 %s 分钟，请支付订单 %d。", mins, o.ID, mins, o.ID)})
		if err != nil {
			s.log.Warn("waiting list sms not sent", "place", w.ID, "err", err)
		}
	}
	return true
}

var errAlreadyOffered = errors.New("place offered already")

func (s *Shop) apiJoinWaitlist(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Event    uint64 `json:"event"`
		Type     uint64 `json:"type"`
		Quantity int    `json:"quantity"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.CheckRate(r.Context(), clientIP(r), c.account.ID, "waiting list"); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.JoinWaitlist(r.Context(), c.account, req.Event, req.Type, req.Quantity)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Shop) apiWaitlist(w http.ResponseWriter, r *http.Request, c caller) {
	s.expireSometimes(r.Context())
	vs, err := s.Waitlist(r.Context(), c.account.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"waitlist": vs})
}

func (s *Shop) apiLeaveWaitlist(w http.ResponseWriter, r *http.Request, c caller) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		fail(w, http.StatusBadRequest, "bad_request", "place id: want a positive number")
		return
	}
	if err := s.LeaveWaitlist(r.Context(), c.account.ID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Shop) apiOffer(w http.ResponseWriter, r *http.Request, _ caller) {
	v, err := s.Offer(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
