package shop

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// The limit per phone counts by the number, so a deleted and re-made
// account of the same phone is still at it; the limit per payment
// instrument refuses the payment that would pass it (the order stays
// pending and another instrument pays it) and frees its share when the
// order is cancelled.
func TestPhoneAndInstrumentLimits(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			dev := &DevSender{}
			f := newFixture(t, dialect, nil)
			f.shop.cfg.SMSSender = dev
			f.shop.cfg.AllowUnverified = true
			f.onSale(t, 100)
			ctx := context.Background()
			if err := f.shop.PutCapacity(ctx, Capacity{Event: 1042, PerPhone: 4, PerInstrument: 5}); err != nil {
				t.Fatal(err)
			}
			const phone = "+8613800138000"
			smsLogin := func() store.Account {
				t.Helper()
				f.clock.Advance(2 * time.Minute)
				if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); err != nil {
					t.Fatal(err)
				}
				_, a, err := f.shop.LoginByCode(ctx, phone, lastCode(t, dev, phone))
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			buy := func(a store.Account, n int) (store.ShopOrder, error) {
				return f.shop.Place(ctx, a, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: n}}, IP: "10.0.0.9"})
			}
			a := smsLogin()
			first, err := buy(a, 4)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.shop.Pay(ctx, first.ID, MethodTest); err != nil {
				t.Fatal(err)
			}
			if err := f.shop.DeleteAccount(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			b := smsLogin()
			if b.ID == a.ID {
				t.Fatal("the same account after deleting")
			}
			if _, err := buy(b, 1); !errors.Is(err, ErrLimit) {
				t.Errorf("a fifth ticket for the phone: %v", err)
			}

			// Two email accounts, one card.
			var orders []store.ShopOrder
			for _, email := range []string{"c@example.org", "d@example.org"} {
				acct, err := f.shop.Register(ctx, Registration{Email: email, Password: "a long password"})
				if err != nil {
					t.Fatal(err)
				}
				o, err := buy(acct, 3)
				if err != nil {
					t.Fatal(err)
				}
				orders = append(orders, o)
			}
			card := Payment{Method: MethodTest, Instrument: "fp_card_4242"}
			if _, _, err := f.shop.PayWith(ctx, orders[0].ID, card); err != nil {
				t.Fatalf("the card's first 3: %v", err)
			}
			if _, _, err := f.shop.PayWith(ctx, orders[1].ID, card); !errors.Is(err, ErrLimit) {
				t.Errorf("the card's next 3 (limit 5): %v", err)
			}
			if o, _, _ := f.shop.Order(ctx, orders[1].ID); o.Status != StatusPending {
				t.Errorf("the refused order is %s, want still pending", o.Status)
			}
			// The API says so in its words.
			staff, _ := addStaffToken(ctx, f, "clerk", []string{"box_office"})
			var e apiError
			if st := f.call(t, "POST", "orders/"+itoa(orders[1].ID)+"/pay", staff, map[string]string{"method": "box_office", "instrument": "fp_card_4242"}, &e); st != 409 || e.Code != "purchase_limit" {
				t.Errorf("pay past the card's limit: %d %+v", st, e)
			}
			if _, err := f.shop.Cancel(ctx, orders[0].ID, "refund"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.shop.PayWith(ctx, orders[1].ID, card); err != nil {
				t.Errorf("the card after its order was cancelled: %v", err)
			}
			bl, _ := f.db.BlockedLog(ctx, store.BlockedFilter{Kind: "purchase_limit"})
			if len(bl) != 3 || bl[2].Subject != "+861****8000" {
				t.Errorf("blocked log %+v", bl)
			}
			if o, _ := f.db.Order(ctx, orders[1].ID); o.Instrument == "" || o.Instrument == card.Instrument {
				t.Errorf("the order's instrument is stored as %q, want its hash", o.Instrument)
			}
		})
	}
}
