package shop

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/pricing"
)

// A buyer fills in the profile, gives and withdraws marketing consent
// (each recorded with its time and words), exports everything held, and
// deletes the account: paid orders stay for accounting, tied to nobody;
// the unpaid one is cancelled and its stock returns; the sessions end and
// the email can register again.
func TestProfileExportDelete(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			f.onSale(t, 5)
			f.shop.cfg.AllowUnverified = true
			ctx := context.Background()
			const email, pw = "zhang.san@example.org", "a long password"
			if _, err := f.shop.Register(ctx, Registration{Email: email, Password: pw, Name: "Zhang"}); err != nil {
				t.Fatal(err)
			}
			tok, buyer, err := f.shop.Login(ctx, email, pw)
			if err != nil {
				t.Fatal(err)
			}
			var p Profile
			if st := f.call(t, "GET", "me", tok, nil, &p); st != 200 || p.Email != email || p.Name != "Zhang" || p.Marketing.Granted ||
				p.MarketingWording != DefaultProfileConfig().Wording["zh"] {
				t.Fatalf("me: %d %+v", st, p)
			}
			change := map[string]any{"name": "张三", "contact": "+8613900001111", "address": "上海市浦东新区 1 号", "language": "zh", "marketing": true}
			if st := f.call(t, "PATCH", "me", tok, change, &p); st != 200 {
				t.Fatalf("patch me: %d %+v", st, p)
			}
			granted := f.clock.Now()
			if p.Name != "张三" || p.Contact != "+8613900001111" || p.Language != "zh" || !p.Marketing.Granted || p.Marketing.Language != "zh" ||
				p.Marketing.Wording != DefaultProfileConfig().Wording["zh"] || !p.Marketing.At.Equal(granted) {
				t.Errorf("after patch: %+v", p)
			}
			var e apiError
			for _, bad := range []map[string]any{{"language": "fr"}, {"name": strings.Repeat("x", 129)}, {"address": "a\x00b"}, {"unknown": 1}} {
				if st := f.call(t, "PATCH", "me", tok, bad, &e); st != 400 {
					t.Errorf("patch %v: %d %+v", bad, st, e)
				}
			}
			f.clock.Advance(time.Hour)
			f.call(t, "PATCH", "me", tok, map[string]any{"marketing": false, "language": "en"}, &p)
			if p.Marketing.Granted || p.Language != "en" || p.Name != "张三" {
				t.Errorf("after withdrawing: %+v", p)
			}

			// One paid order, one pending.
			paid, err := f.shop.Place(ctx, buyer, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 2}}})
			if err != nil {
				t.Fatal(err)
			}
			_, tickets, err := f.shop.Pay(ctx, paid.ID, MethodTest)
			if err != nil {
				t.Fatal(err)
			}
			pending, err := f.shop.Place(ctx, buyer, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 3}}})
			if err != nil {
				t.Fatal(err)
			}

			var ex Export
			if st := f.call(t, "GET", "me/export", tok, nil, &ex); st != 200 {
				t.Fatalf("export: %d", st)
			}
			if ex.Profile.Address != "上海市浦东新区 1 号" || len(ex.Consents) != 2 || !ex.Consents[0].Granted || ex.Consents[1].Granted ||
				len(ex.Orders) != 2 || len(ex.Orders[0].Tickets) != 2 || ex.Orders[0].Tickets[0].Code != tickets[0].Code {
				b, _ := json.Marshal(ex)
				t.Errorf("export: %s", b)
			}

			if st := f.call(t, "DELETE", "me", tok, nil, nil); st != 204 {
				t.Fatalf("delete me: %d", st)
			}
			if st := f.call(t, "GET", "me", tok, nil, &e); st != 401 {
				t.Errorf("the session after deleting: %d", st)
			}
			if _, _, err := f.shop.Login(ctx, email, pw); err != ErrCredentials {
				t.Errorf("login after deleting: %v", err)
			}
			a, err := f.db.Account(ctx, buyer.ID)
			if err != nil || a.Email != "" || a.Name != "" || a.Contact != "" || a.Address != "" || a.PasswordHash != "" || a.DeletedAt.IsZero() {
				t.Errorf("the account row after deleting: %+v, %v", a, err)
			}
			if cs, _ := f.db.Consents(ctx, buyer.ID); len(cs) != 0 {
				t.Errorf("consents kept: %+v", cs)
			}
			o, _, err := f.shop.Order(ctx, paid.ID)
			if err != nil || o.Status != StatusPaid || o.Total != paid.Total {
				t.Errorf("the paid order after deleting: %+v, %v", o, err)
			}
			if o, _, _ := f.shop.Order(ctx, pending.ID); o.Status != StatusCancelled {
				t.Errorf("the pending order after deleting: %s", o.Status)
			}
			pools, _ := f.db.Pools(ctx, typePool(1042, 1))
			if pools[typePool(1042, 1)].Taken != 2 {
				t.Errorf("stock taken after deleting: %+v, want the paid 2", pools)
			}
			if _, err := f.shop.Register(ctx, Registration{Email: email, Password: pw}); err != nil {
				t.Errorf("registering the email again: %v", err)
			}
		})
	}
}
