package shop

import (
	"context"
	"errors"
	"testing"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
)

// Staff grant a sponsor 4 of a type's 10: they leave the stock at once;
// the sponsor issues them to named guests as orders of 0 by method comp,
// signed tickets in the guest's name, never more than granted; another
// sponsor cannot touch them.
func TestSponsorAllocations(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			f.onSale(t, 10)
			f.shop.cfg.AllowUnverified = true
			ctx := context.Background()
			accounts := map[string]store.Account{}
			tokens := map[string]string{}
			for _, n := range []string{"acme", "other", "fan"} {
				a, err := f.shop.Register(ctx, Registration{Email: n + "@example.org", Password: "a long password"})
				if err != nil {
					t.Fatal(err)
				}
				if n != "fan" {
					f.shop.SetRole(ctx, a.ID, RoleSponsor)
				}
				tokens[n], accounts[n], _ = f.shop.Login(ctx, n+"@example.org", "a long password")
			}
			staff, _ := addStaffToken(ctx, f, "clerk", []string{"box_office"})
			var e apiError
			grant := map[string]any{"sponsor": accounts["fan"].ID, "event": 1042, "type": 1, "quantity": 4}
			if st := f.call(t, "POST", "allocations", staff, grant, &e); st != 400 {
				t.Errorf("a grant to an audience account: %d %+v", st, e)
			}
			grant["sponsor"] = accounts["acme"].ID
			grant["quantity"] = 11
			if st := f.call(t, "POST", "allocations", staff, grant, &e); st != 409 || e.Code != "sold_out" {
				t.Errorf("a grant of more than the stock: %d %+v", st, e)
			}
			grant["quantity"] = 4
			var al AllocationView
			if st := f.call(t, "POST", "allocations", staff, grant, &al); st != 201 || al.Left != 4 || al.GrantedBy != "clerk" {
				t.Fatalf("grant: %d %+v", st, al)
			}
			// The 4 left the stock: 6 remain for buyers.
			if _, err := f.shop.Place(ctx, accounts["fan"], OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 7}}}); !errors.Is(err, ErrSoldOut) {
				t.Errorf("7 of the 6 left: %v", err)
			}
			var list struct{ Allocations []AllocationView }
			if st := f.call(t, "GET", "allocations", tokens["acme"], nil, &list); st != 200 || len(list.Allocations) != 1 || list.Allocations[0].GrantedBy != "" {
				t.Errorf("the sponsor's list: %d %+v", st, list)
			}
			if f.call(t, "GET", "allocations", tokens["other"], nil, &list); len(list.Allocations) != 0 {
				t.Errorf("another sponsor's list: %+v", list)
			}
			issue := "allocations/" + itoa(al.ID) + "/issue"
			if st := f.call(t, "POST", issue, tokens["other"], map[string]any{"guest": "Wang Wu", "quantity": 1}, &e); st != 404 {
				t.Errorf("another sponsor issuing: %d", st)
			}
			if st := f.call(t, "POST", issue, tokens["acme"], map[string]any{"guest": " ", "quantity": 1}, &e); st != 400 {
				t.Errorf("no guest name: %d", st)
			}
			var o OrderView
			if st := f.call(t, "POST", issue, tokens["acme"], map[string]any{"guest": "Wang Wu", "quantity": 3}, &o); st != 201 {
				t.Fatalf("issue: %d %+v", st, o)
			}
			if o.Status != StatusPaid || o.Method != MethodComp || o.Total.Minor() != 0 || o.Guest != "Wang Wu" || len(o.Tickets) != 3 {
				t.Errorf("the guest's order: %+v", o)
			}
			trust := ticket.NewTrustStore(f.keys.RootPublic())
			trust.AddIssuer(f.keys.IssuerCert)
			for _, tk := range o.Tickets {
				if r := trust.Verify(tk.Code, concert); !r.OK() {
					t.Errorf("ticket %d: %s", tk.Serial, r.Reason)
				}
				if got, _ := f.db.Ticket(ctx, 1042, tk.Serial); got.Holder != "Wang Wu" {
					t.Errorf("ticket %d's holder %q", tk.Serial, got.Holder)
				}
			}
			if st := f.call(t, "POST", issue, tokens["acme"], map[string]any{"guest": "Li Si", "quantity": 2}, &e); st != 409 {
				t.Errorf("2 of the 1 left: %d %+v", st, e)
			}
			if st := f.call(t, "POST", issue, tokens["acme"], map[string]any{"guest": "Li Si", "quantity": 1}, &o); st != 201 {
				t.Errorf("the last one: %d %+v", st, o)
			}
			pools, _ := f.db.Pools(ctx, typePool(1042, 1))
			if pools[typePool(1042, 1)].Taken != 4 {
				t.Errorf("stock taken %+v, want the 4 granted", pools)
			}
			// The box office cancels a guest's order: its ticket is
			// revoked and goes back on sale.
			if _, err := f.shop.Cancel(ctx, o.ID, "guest cannot come"); err != nil {
				t.Fatal(err)
			}
			pools, _ = f.db.Pools(ctx, typePool(1042, 1))
			if pools[typePool(1042, 1)].Taken != 3 {
				t.Errorf("stock after cancelling a guest: %+v", pools)
			}
		})
	}
}
