package shop

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tixgate/tixgate/central/store"
)

// ProviderMethods are the payment providers central/pay may mark an order
// paid by. They are not accepted by Pay or the API's pay route: only a
// provider's verified notification, through PaidBy, pays with them.
var ProviderMethods = []string{"alipay", "wechat", "unionpay", "stripe"}

// PaidBy marks a pending order paid by a provider whose payment central/pay
// verified, as Pay does for the test and box office methods.
func (s *Shop) PaidBy(ctx context.Context, id int64, provider string) (store.ShopOrder, []store.Ticket, error) {
	if !slices.Contains(ProviderMethods, provider) {
		return store.ShopOrder{}, nil, fmt.Errorf("payment provider %q: want one of %v: %w", provider, ProviderMethods, ErrBadRequest)
	}
	return s.pay(ctx, id, provider)
}

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
