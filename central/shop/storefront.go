package shop

import (
	"context"
	"fmt"
	"slices"

	pwhash "github.com/tixgate/tixgate/central/password"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// Events lists the events with something on sale as a caller of role
// sees them: a role-restricted type (VIP only) only to its roles and to
// the box office. The storefront's pages and GET events both read it.
func (s *Shop) Events(ctx context.Context, role string) ([]EventView, error) {
	evs, err := s.db.Events(ctx, "")
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []EventView{}
	for _, e := range evs {
		sl, err := s.sale(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		v := EventView{ID: e.ID, Venue: e.Venue, Name: e.Name, Starts: e.Starts, Ends: e.Ends, Days: e.Days}
		waiting, err := s.db.WaitingCounts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		if room, err := s.db.Room(ctx, e.ID); err == nil {
			v.WaitingRoom = room.Active
		}
		for _, t := range sl.catalog.Types {
			o := sl.offers[uint64(t.ID)]
			// A role-restricted type (VIP only) is shown only to its roles
			// and to staff.
			if len(o.Roles) > 0 && !slices.Contains(o.Roles, role) && role != roleBoxOffice {
				continue
			}
			v.Types = append(v.Types, TypeView{ID: uint64(t.ID), Name: t.Name, Price: t.Prices[0].Price, Left: sl.left(uint64(t.ID)),
				OnSale:   (o.SaleFrom.IsZero() || !now.Before(o.SaleFrom)) && (o.SaleUntil.IsZero() || now.Before(o.SaleUntil)),
				SaleFrom: o.SaleFrom, SaleUntil: o.SaleUntil, Roles: o.Roles, Waiting: waiting[uint64(t.ID)]})
		}
		if len(v.Types) > 0 {
			out = append(out, v)
		}
	}
	return out, nil
}

// Quote prices an order as Place would for a buyer of role, holding
// nothing: what the checkout page shows before the buyer orders.
func (s *Shop) Quote(ctx context.Context, role string, req OrderRequest) (pricing.Quotation, error) {
	if len(req.Items) == 0 || len(req.Items) > maxItems {
		return pricing.Quotation{}, fmt.Errorf("order: want 1 to %d items: %w", maxItems, ErrBadRequest)
	}
	sl, err := s.sale(ctx, req.Event)
	if err != nil {
		return pricing.Quotation{}, err
	}
	cart := pricing.Cart{Items: req.Items, Roles: []string{role}}
	if req.Promo != "" {
		cart.Codes = []string{req.Promo}
	}
	q, err := pricing.Quote(cart, sl.catalog, sl.promos, s.now())
	if err != nil {
		return q, fmt.Errorf("quote: %w", err)
	}
	return q, nil
}

// Orders lists a buyer's orders, newest first (at most limit), each read
// as Order reads it: a pending one whose hold ran out is expired first.
func (s *Shop) Orders(ctx context.Context, account int64, limit int) ([]store.ShopOrder, error) {
	ids, err := s.db.RecentAccountOrders(ctx, account, limit)
	if err != nil {
		return nil, err
	}
	out := make([]store.ShopOrder, 0, len(ids))
	for _, id := range ids {
		o, _, err := s.Order(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Logout ends a session; an unknown token is not an error.
func (s *Shop) Logout(ctx context.Context, tok string) error {
	return s.db.Update(ctx, func(tx *store.Tx) error { return tx.DeleteShopToken(tokenHash(tok), "session") })
}

// AddVerifiedBuyer creates an audience account whose email needs no
// confirmation link: a demo's buyer, whose address receives no mail.
func (s *Shop) AddVerifiedBuyer(ctx context.Context, r Registration) (store.Account, error) {
	email, err := normalizeEmail(r.Email)
	if err != nil {
		return store.Account{}, err
	}
	if n := len([]rune(r.Password)); n < 10 || len(r.Password) > 256 {
		return store.Account{}, fmt.Errorf("password: use 10 to 256 characters: %w", ErrBadRequest)
	}
	hash, err := pwhash.Hash(r.Password, s.cfg.Password)
	if err != nil {
		return store.Account{}, err
	}
	now := s.now()
	a := store.Account{Email: email, PasswordHash: hash, Role: RoleAudience, Name: r.Name, Created: now, VerifiedAt: now}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		a.ID, err = tx.AddAccount(a)
		return err
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("add buyer %s: %w", email, err)
	}
	return a, nil
}
