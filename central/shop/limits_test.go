package shop

import (
	"context"
	"errors"
	"testing"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// Quotas across types: the hall's capacity, an event day's, and what one
// account may buy of the event, each refusing the order that would pass it
// and holding nothing of it.
func TestCapacityAndLimits(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	f.shop.cfg.AllowUnverified = true
	ctx := context.Background()
	for _, o := range []Offer{
		{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 100, Day: "2026-06-12"},
		{Event: 1042, Type: 3, Price: pricing.New(9900, pricing.CNY), Quota: 100, Day: "2026-06-12"},
		{Event: 1042, Type: 4, Price: pricing.New(5000, pricing.CNY), Quota: 100},
	} {
		if err := f.shop.PutOffer(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []Capacity{{Event: 1042, Cap: 12, PerAccount: 6}, {Event: 1042, Day: "2026-06-12", Cap: 8}} {
		if err := f.shop.PutCapacity(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	accounts := map[string]store.Account{}
	for _, name := range []string{"a", "b", "c"} {
		a, err := f.shop.Register(ctx, Registration{Email: name + "@example.org", Password: "a long password"})
		if err != nil {
			t.Fatal(err)
		}
		accounts[name] = a
	}
	tests := []struct {
		name, who string
		items     []pricing.Item
		want      error
	}{
		{"within everything", "a", []pricing.Item{{Type: 1, Quantity: 3}, {Type: 3, Quantity: 2}}, nil},
		{"past the account's limit of 6", "a", []pricing.Item{{Type: 4, Quantity: 2}}, ErrSoldOut},
		{"the account's last one", "a", []pricing.Item{{Type: 4, Quantity: 1}}, nil},
		{"past the day's 8 across types", "b", []pricing.Item{{Type: 1, Quantity: 2}, {Type: 3, Quantity: 2}}, ErrSoldOut},
		{"the day's last 3", "b", []pricing.Item{{Type: 3, Quantity: 3}}, nil},
		{"another day's type, within the hall", "b", []pricing.Item{{Type: 4, Quantity: 2}}, nil},
		{"past the hall's 12", "c", []pricing.Item{{Type: 4, Quantity: 2}}, ErrSoldOut},
		{"the hall's last one", "c", []pricing.Item{{Type: 4, Quantity: 1}}, nil},
	}
	for _, tt := range tests {
		_, err := f.shop.Place(ctx, accounts[tt.who], OrderRequest{Event: 1042, Items: tt.items})
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	pools, _ := f.db.Pools(ctx, eventPool(1042), dayPool(1042, "2026-06-12"), typePool(1042, 4))
	if pools[eventPool(1042)].Taken != 12 || pools[dayPool(1042, "2026-06-12")].Taken != 8 || pools[typePool(1042, 4)].Taken != 4 {
		t.Errorf("pools after the table: %+v", pools)
	}
}
