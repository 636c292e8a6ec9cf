package shop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tixgate/tixgate/central/store"
)

// errNotPaid marks an order its Within left as it was.
var errNotPaid = errors.New("left unpaid")

// ProviderMethods are the payment providers central/pay may mark an order
// paid by. They are not accepted by Pay or the API's pay route: only a
// provider's verified notification, through PaidByAll, pays with them.
var ProviderMethods = []string{"alipay", "wechat", "unionpay", "stripe"}

// Revive puts an expired order back to pending_payment for another hold,
// taking its stock again in one transaction: a payment that arrived after
// the hold ran out. ErrSoldOut when the stock is gone meanwhile (the order
// stays expired), ErrState when the order is not expired.
func (s *Shop) Revive(ctx context.Context, id int64) error {
	o, _, err := s.Order(ctx, id)
	if err != nil {
		return err
	}
	if o.Status != StatusExpired {
		return fmt.Errorf("order %d is %s: %w", id, o.Status, ErrState)
	}
	sl, err := s.sale(ctx, o.Event)
	if err != nil {
		return err
	}
	takes := sl.takes(o.Account, o.Items)
	limit := sl.pools[accountLimitPool(o.Event)].Cap
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.ReviveOrder(id, s.now().Add(s.cfg.Hold))
		if err != nil {
			return err
		}
		if !ok {
			return ErrState
		}
		if limit > 0 {
			if err := tx.EnsurePool(accountPool(o.Account, o.Event), limit); err != nil {
				return err
			}
		}
		return tx.Hold(id, takes)
	})
	if errors.Is(err, store.ErrSoldOut) {
		return fmt.Errorf("order %d: %w", id, ErrSoldOut)
	}
	if err != nil {
		return fmt.Errorf("revive order %d: %w", id, err)
	}
	return nil
}

// Paid is one order a provider's verified payment pays, for PaidByAll.
type Paid struct {
	Order    int64
	Provider string
	// Within, when set, runs in the transaction before the order is paid
	// (the payment's own record), whatever state the order is in; false
	// leaves the order as it is. It may run more than once (a retried
	// transaction): it must only write through tx.
	Within func(tx *store.Tx) (bool, error)
}

// PaidByAll marks several pending orders paid, each by its provider, in
// one transaction: one commit for many notifications, where one each
// would queue every payment of an event behind the one before (the
// event's serial counter and the venue's manifest sequence are rows each
// payment locks until its commit). It returns an error per order, nil for
// those paid: ErrExpired, ErrState (paid or cancelled meanwhile),
// ErrBadRequest; the orders without an error commit together, with what
// every Within wrote. An order a Within left unpaid has no error.
func (s *Shop) PaidByAll(ctx context.Context, paid []Paid) ([]error, error) {
	errs := make([]error, len(paid))
	type todo struct {
		i     int
		o     store.ShopOrder
		ev    store.Event
		buyer store.Account
		types map[uint64]store.TicketType
	}
	var todos []todo
	events := map[uint64]store.Event{}
	types := map[[2]uint64]store.TicketType{}
	buyers := map[int64]store.Account{}
	for i, p := range paid {
		if !slices.Contains(ProviderMethods, p.Provider) {
			errs[i] = fmt.Errorf("payment provider %q: want one of %v: %w", p.Provider, ProviderMethods, ErrBadRequest)
			continue
		}
		o, _, err := s.Order(ctx, p.Order)
		if err != nil {
			errs[i] = err
			continue
		}
		switch o.Status {
		case StatusPending:
		case StatusExpired:
			errs[i] = ErrExpired
			continue
		default:
			errs[i] = fmt.Errorf("order %d is %s: %w", o.ID, o.Status, ErrState)
			continue
		}
		ev, ok := events[o.Event]
		if !ok {
			if ev, err = s.db.Event(ctx, o.Event); err != nil {
				return nil, err
			}
			events[o.Event] = ev
		}
		t := todo{i: i, o: o, ev: ev, types: map[uint64]store.TicketType{}}
		for _, it := range o.Items {
			tt, ok := types[[2]uint64{o.Event, it.Type}]
			if !ok {
				if tt, err = s.db.TicketType(ctx, o.Event, it.Type); err != nil {
					return nil, err
				}
				types[[2]uint64{o.Event, it.Type}] = tt
			}
			t.types[it.Type] = tt
		}
		if t.buyer, ok = buyers[o.Account]; !ok {
			if t.buyer, err = s.db.Account(ctx, o.Account); err != nil {
				return nil, err
			}
			buyers[o.Account] = t.buyer
		}
		todos = append(todos, t)
	}
	// By event, so that concurrent batches take the events' counters in
	// one order and never deadlock.
	slices.SortStableFunc(todos, func(a, b todo) int { return cmp.Compare(a.o.Event, b.o.Event) })
	issued := make([][]store.Ticket, len(paid))
	now := s.now()
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		byIndex := make(map[int]todo, len(todos))
		for _, t := range todos {
			byIndex[t.i] = t
			issued[t.i], errs[t.i] = nil, nil
		}
		for i, p := range paid {
			if p.Within == nil {
				continue
			}
			pay, err := p.Within(tx)
			if err != nil {
				return err
			}
			if _, ok := byIndex[i]; ok && !pay {
				delete(byIndex, i)
				errs[i] = errNotPaid
			}
		}
		// Every order moved first, the tickets issued last: issuing locks
		// the event's serial counter and the venue's manifest sequence
		// until the commit, so the less comes after them, the less
		// another batch waits.
		for _, t := range todos {
			if _, ok := byIndex[t.i]; !ok {
				continue
			}
			ok, err := tx.MoveOrder(t.o.ID, []string{StatusPending}, StatusPaid, paid[t.i].Provider, now, now)
			if err != nil {
				return err
			}
			if !ok {
				delete(byIndex, t.i)
				errs[t.i] = fmt.Errorf("order %d: %w", t.o.ID, ErrState)
			}
		}
		for _, t := range todos {
			if _, ok := byIndex[t.i]; !ok {
				continue
			}
			for _, it := range t.o.Items {
				tickets, err := s.cfg.Catalog.IssueIn(tx, t.ev, t.types[it.Type], it.Quantity, t.buyer.Name)
				if err != nil {
					return err
				}
				serials := make([]uint64, len(tickets))
				for i, tk := range tickets {
					serials[i] = tk.Serial
				}
				if err := tx.AddOrderTickets(t.o.ID, t.o.Event, serials); err != nil {
					return err
				}
				issued[t.i] = append(issued[t.i], tickets...)
			}
			if err := saleFacts(tx, t.o, t.ev, t.buyer, paid[t.i].Provider, issued[t.i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pay %d orders: %w", len(todos), err)
	}
	for _, t := range todos {
		if errors.Is(errs[t.i], errNotPaid) {
			errs[t.i] = nil // left as it was, as its Within asked
			continue
		}
		if errs[t.i] == nil {
			o := t.o
			o.Status, o.Method, o.PaidAt = StatusPaid, paid[t.i].Provider, now
			s.settled(ctx, o.ID)
			s.confirm(ctx, t.buyer, o, t.ev.Name, issued[t.i])
		}
	}
	return errs, nil
}
