package shop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// Offer puts a ticket type on sale.
type Offer struct {
	Event, Type uint64
	// Price is what one ticket lists at.
	Price pricing.Money
	// Roles, when set, may buy the type (a VIP-only type: "vip").
	Roles []string
	// SaleFrom and SaleUntil bound the on-sale window; zero is open.
	SaleFrom, SaleUntil time.Time
	// Quota is how many tickets of the type are for sale in all.
	Quota int64
	// Day, when set, is the event day (YYYY-MM-DD) the type admits on: its
	// tickets count against that day's capacity too.
	Day         string
	MaxPerOrder int
}

func typePool(event, typ uint64) string       { return fmt.Sprintf("type:%d/%d", event, typ) }
func eventPool(event uint64) string           { return fmt.Sprintf("event:%d", event) }
func dayPool(event uint64, day string) string { return fmt.Sprintf("day:%d/%s", event, day) }
func accountPool(account int64, event uint64) string {
	return fmt.Sprintf("account:%d/%d", account, event)
}

// accountLimitPool is the name of an event's per-account limit setting,
// phoneLimitPool and instrumentLimitPool the per-phone and
// per-payment-instrument ones.
func accountLimitPool(event uint64) string    { return fmt.Sprintf("limit:%d", event) }
func phoneLimitPool(event uint64) string      { return fmt.Sprintf("limit-phone:%d", event) }
func instrumentLimitPool(event uint64) string { return fmt.Sprintf("limit-instrument:%d", event) }

// phonePool and instrumentPool count what one phone number and one
// payment instrument bought of an event; they are named by a hash, so the
// pool table holds no number.
func phonePool(phone string, event uint64) string {
	return fmt.Sprintf("phone:%s/%d", shortHash(phone), event)
}
func instrumentPool(fingerprint string, event uint64) string {
	return fmt.Sprintf("instrument:%s/%d", shortHash(fingerprint), event)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte("tixgate/shop/v1\x00" + s))
	return hex.EncodeToString(sum[:12])
}

// isLimitPool reports whether a sold-out error names a buyer's limit (an
// account's, a phone's, an instrument's) rather than stock.
func isLimitPool(err error) bool {
	for _, p := range []string{"account:", "phone:", "instrument:"} {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}

// orderTakes are the pools an order of items by buyer takes from, and
// the buyer's limit pools to create first.
func (s *Shop) orderTakes(sl *sale, buyer store.Account, items []store.ShopOrderItem) ([]store.Take, []store.Pool) {
	takes := sl.takes(buyer.ID, items)
	var ensure []store.Pool
	if lim, ok := sl.pools[accountLimitPool(sl.event.ID)]; ok {
		ensure = append(ensure, store.Pool{Name: accountPool(buyer.ID, sl.event.ID), Cap: lim.Cap})
	}
	if lim, ok := sl.pools[phoneLimitPool(sl.event.ID)]; ok && buyer.Phone != "" {
		var n int64
		for _, it := range items {
			n += int64(it.Quantity)
		}
		name := phonePool(buyer.Phone, sl.event.ID)
		ensure = append(ensure, store.Pool{Name: name, Cap: lim.Cap})
		takes = append(takes, store.Take{Pool: name, N: n})
	}
	return takes, ensure
}

// PutOffer puts a type of an existing event on sale, or changes its offer;
// lowering the quota below what is sold or held is refused.
func (s *Shop) PutOffer(ctx context.Context, o Offer) error {
	if _, err := s.db.TicketType(ctx, o.Event, o.Type); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	if o.Price.Currency().IsZero() || o.Price.Sign() < 0 || o.Quota < 0 {
		return fmt.Errorf("offer %d/%d: want a price with a currency and a quota: %w", o.Event, o.Type, ErrBadRequest)
	}
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutOffer(store.Offer{Event: o.Event, Type: o.Type, Currency: o.Price.Currency().Code(), Price: o.Price.Minor(),
			Roles: o.Roles, SaleFrom: o.SaleFrom, SaleUntil: o.SaleUntil, Day: o.Day, MaxPerOrder: o.MaxPerOrder}); err != nil {
			return err
		}
		return tx.PutPool(typePool(o.Event, o.Type), o.Quota)
	})
	if err != nil {
		return fmt.Errorf("offer %d/%d: %w", o.Event, o.Type, err)
	}
	// A raised quota goes to the type's waiting list first.
	s.offerFreed(ctx, o.Event)
	return nil
}

// Capacity bounds an event across its types: the hall (Day ""), or one
// event day, and what one account may buy of the event (PerAccount, 0:
// no limit).
type Capacity struct {
	Event      uint64
	Day        string
	Cap        int64
	PerAccount int64
	// PerPhone bounds what one phone number's account buys of the event
	// (accounts made by SMS sign-in), PerInstrument what one payment
	// instrument pays for (the fingerprint the payment layer passes): a
	// buyer with many email accounts still has one card. 0: no limit.
	PerPhone, PerInstrument int64
}

// PutCapacity sets an event's or an event day's capacity and the
// per-account limit.
func (s *Shop) PutCapacity(ctx context.Context, c Capacity) error {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		name := eventPool(c.Event)
		if c.Day != "" {
			name = dayPool(c.Event, c.Day)
		}
		if c.Cap > 0 {
			if err := tx.PutPool(name, c.Cap); err != nil {
				return err
			}
		}
		for _, l := range []struct {
			name string
			n    int64
		}{{accountLimitPool(c.Event), c.PerAccount}, {phoneLimitPool(c.Event), c.PerPhone}, {instrumentLimitPool(c.Event), c.PerInstrument}} {
			if l.n > 0 {
				if err := tx.PutPool(l.name, l.n); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("capacity of %d: %w", c.Event, err)
	}
	return nil
}

// PutPromotion adds or replaces a promotion of an event, as the pricing
// package defines one; its use count is kept by the store.
func (s *Shop) PutPromotion(ctx context.Context, event uint64, p pricing.Promotion) error {
	p.Used = 0
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrBadRequest)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutPromotion(store.PromotionRow{ID: p.ID, Event: event, Body: body, Limit: int64(p.Limit)})
	})
}

// sale is what is on sale for one event now: the pricing catalog and
// promotions Quote reads, and the pools each type takes from.
type sale struct {
	event   store.Event
	types   map[uint64]store.TicketType
	offers  map[uint64]store.Offer
	pools   map[string]store.Pool
	catalog pricing.Catalog
	promos  []pricing.Promotion
}

func (s *Shop) sale(ctx context.Context, event uint64) (*sale, error) {
	ev, err := s.db.Event(ctx, event)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("event %d: %w", event, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	offers, err := s.db.Offers(ctx, event)
	if err != nil {
		return nil, err
	}
	types, err := s.db.TicketTypes(ctx, event)
	if err != nil {
		return nil, err
	}
	sl := &sale{event: ev, types: map[uint64]store.TicketType{}, offers: map[uint64]store.Offer{}}
	for _, t := range types {
		sl.types[t.ID] = t
	}
	names := []string{eventPool(event), accountLimitPool(event), phoneLimitPool(event), instrumentLimitPool(event)}
	for _, o := range offers {
		names = append(names, typePool(event, o.Type))
		if o.Day != "" {
			names = append(names, dayPool(event, o.Day))
		}
	}
	if sl.pools, err = s.db.Pools(ctx, names...); err != nil {
		return nil, err
	}
	for _, o := range offers {
		tt, ok := sl.types[o.Type]
		if !ok {
			continue
		}
		cur, err := pricing.ParseCurrency(o.Currency)
		if err != nil {
			return nil, fmt.Errorf("offer %d/%d: %w", event, o.Type, err)
		}
		sl.offers[o.Type] = o
		sl.catalog.Types = append(sl.catalog.Types, pricing.TicketType{
			ID: pricing.TypeID(o.Type), Name: tt.Name, Currency: cur,
			Prices: []pricing.PriceRule{{Name: "list", Price: pricing.New(o.Price, cur), From: o.SaleFrom, Until: o.SaleUntil}},
			Roles:  o.Roles, MaxPerOrder: o.MaxPerOrder, Starts: ev.Starts,
			Sold: sl.pools[typePool(event, o.Type)].Taken,
		})
	}
	if sl.catalog.Refunds, err = s.RefundPolicy(ctx, event); err != nil {
		return nil, err
	}
	rows, err := s.db.Promotions(ctx, event)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		var p pricing.Promotion
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return nil, fmt.Errorf("promotion %s: %w", r.ID, err)
		}
		p.Used = int(r.Used)
		sl.promos = append(sl.promos, p)
	}
	return sl, nil
}

// left is how many tickets of a type are not sold or held.
func (sl *sale) left(typ uint64) int64 {
	p, ok := sl.pools[typePool(sl.event.ID, typ)]
	if !ok {
		return 0
	}
	left := p.Cap - p.Taken
	if ep, ok := sl.pools[eventPool(sl.event.ID)]; ok {
		left = min(left, ep.Cap-ep.Taken)
	}
	if o := sl.offers[typ]; o.Day != "" {
		if dp, ok := sl.pools[dayPool(sl.event.ID, o.Day)]; ok {
			left = min(left, dp.Cap-dp.Taken)
		}
	}
	return max(left, 0)
}

// takes are the pools an order of items by account takes from: the
// stock's and the account's limit.
func (sl *sale) takes(account int64, items []store.ShopOrderItem) []store.Take {
	out := sl.stockTakes(items)
	if _, ok := sl.pools[accountLimitPool(sl.event.ID)]; ok {
		var all int64
		for _, it := range items {
			all += int64(it.Quantity)
		}
		out = append(out, store.Take{Pool: accountPool(account, sl.event.ID), N: all})
	}
	return out
}

// stockTakes are the stock pools items take from: the types', the days',
// the hall's.
func (sl *sale) stockTakes(items []store.ShopOrderItem) []store.Take {
	var out []store.Take
	var all int64
	days := map[string]int64{}
	for _, it := range items {
		n := int64(it.Quantity)
		all += n
		out = append(out, store.Take{Pool: typePool(sl.event.ID, it.Type), N: n})
		if d := sl.offers[it.Type].Day; d != "" {
			if _, ok := sl.pools[dayPool(sl.event.ID, d)]; ok {
				days[d] += n
			}
		}
	}
	for d, n := range days {
		out = append(out, store.Take{Pool: dayPool(sl.event.ID, d), N: n})
	}
	if _, ok := sl.pools[eventPool(sl.event.ID)]; ok {
		out = append(out, store.Take{Pool: eventPool(sl.event.ID), N: all})
	}
	return out
}
