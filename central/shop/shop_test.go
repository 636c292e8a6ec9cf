package shop

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
)

// onSale puts type 1 (standing, gate G1) and a VIP-only type 2 of event
// 1042 on sale, with a 20% voucher.
func (f *fixture) onSale(tb testing.TB, quota int64) {
	tb.Helper()
	ctx := context.Background()
	for _, o := range []Offer{
		{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: quota, MaxPerOrder: 10},
		{Event: 1042, Type: 2, Price: pricing.New(38000, pricing.CNY), Quota: 50, Roles: []string{RoleVIP}},
	} {
		if err := f.shop.PutOffer(ctx, o); err != nil {
			tb.Fatal(err)
		}
	}
	err := f.shop.PutPromotion(ctx, 1042, pricing.Promotion{ID: "friends", Name: "Friends", Code: "FRIENDS", Off: pricing.Percent(20),
		Rounding: pricing.RoundHalfEven, Limit: 100})
	if err != nil {
		tb.Fatal(err)
	}
}

var linkRE = regexp.MustCompile(`https?://\S+/api/v1/shop/verify\?token=(\S+)`)

// A buyer registers, verifies the email by the link mailed through SMTP,
// buys two tickets with a voucher, pays with the test provider and reads
// the order: the codes verify against the organizer's root, and a gate
// that pulled the manifest admits one of them once.
func TestBuyEndToEnd(t *testing.T) {
	mp := startMailpit(t)
	f := newFixture(t, store.SQLite, mp.mailer())
	f.onSale(t, 1000)
	const email, pw = "li.wei@example.org", "correct horse battery"

	var acct map[string]any
	if st := f.call(t, "POST", "accounts", "", map[string]string{"email": email, "password": pw, "name": "Li Wei"}, &acct); st != 201 {
		t.Fatalf("register: %d %v", st, acct)
	}
	var login struct {
		Token    string
		Verified bool
	}
	if st := f.call(t, "POST", "login", "", map[string]string{"email": email, "password": pw}, &login); st != 200 || login.Verified {
		t.Fatalf("login: %d %+v", st, login)
	}
	order := map[string]any{"event": 1042, "items": []map[string]int{{"type": 1, "quantity": 2}}, "promo": "friends"}
	var e apiError
	if st := f.call(t, "POST", "orders", login.Token, order, &e); st != 403 || e.Code != "email_not_verified" {
		t.Fatalf("order before verifying: %d %+v", st, e)
	}
	m := linkRE.FindStringSubmatch(mp.message(t, email, "Confirm your email"))
	if m == nil {
		t.Fatal("no verification link in the mail")
	}
	if st := f.call(t, "GET", "verify?token="+m[1], "", nil, nil); st != 200 {
		t.Fatalf("verify: %d", st)
	}
	if st := f.call(t, "GET", "verify?token="+m[1], "", nil, &e); st != 404 {
		t.Errorf("a verification link worked twice: %d", st)
	}

	var placed OrderView
	if st := f.call(t, "POST", "orders", login.Token, order, &placed); st != 201 || placed.Status != StatusPending {
		t.Fatalf("order: %d %+v", st, placed)
	}
	// 2 × ¥128.00 less 20% each: ¥204.80, from the pricing package's quote.
	if placed.Total != pricing.New(20480, pricing.CNY) || len(placed.Tickets) != 0 || !placed.Expires.Equal(f.clock.Now().Add(15*time.Minute)) {
		t.Errorf("placed %+v", placed)
	}
	var paid OrderView
	if st := f.call(t, "POST", "orders/"+itoa(placed.ID)+"/pay", login.Token, map[string]string{"method": "test"}, &paid); st != 200 {
		t.Fatalf("pay: %d %+v", st, paid)
	}
	if st := f.call(t, "POST", "orders/"+itoa(placed.ID)+"/pay", login.Token, map[string]string{"method": "test"}, &e); st != 409 || e.Code != "wrong_state" {
		t.Errorf("paid twice: %d %+v", st, e)
	}
	var got OrderView
	if st := f.call(t, "GET", "orders/"+itoa(placed.ID), login.Token, nil, &got); st != 200 || got.Status != StatusPaid || len(got.Tickets) != 2 {
		t.Fatalf("order: %d %+v", st, got)
	}
	// The reports count the two tickets online, each at what was paid.
	rows, err := f.db.SalesReport(context.Background(), "channel", store.SalesFilter{})
	if err != nil || len(rows) != 1 || rows[0] != (store.SalesRow{Key: "online", Currency: "CNY", Tickets: 2, Revenue: 20480}) {
		t.Errorf("sales by channel: %+v, %v", rows, err)
	}
	confirmation := mp.message(t, email, "confirmed")
	trust := ticket.NewTrustStore(f.keys.RootPublic())
	if err := trust.AddIssuer(f.keys.IssuerCert); err != nil {
		t.Fatal(err)
	}
	for _, tk := range got.Tickets {
		if r := trust.Verify(tk.Code, concert); !r.OK() {
			t.Errorf("ticket %d: %s %s", tk.Serial, r.Reason, r.Detail)
		}
		if !strings.Contains(confirmation, tk.Code) {
			t.Errorf("the confirmation mail lacks ticket %d's code", tk.Serial)
		}
	}

	// A gate of the venue pulls the manifest and scans.
	var buf bytes.Buffer
	f.db.Changes(context.Background(), "arena", 0, 0, func(c store.Change) error { buf.Write(c.Line); buf.WriteByte('\n'); return nil })
	dir := t.TempDir()
	lcfg := ledger.TestConfig(dir)
	lcfg.Clock, lcfg.Logger = ticket.NewManualClock(concert), quiet()
	if err := ledger.Init(ledger.Provision{Dir: dir, Keys: f.keys, Device: "gate-1", Venue: "arena", Now: concert.Add(-time.Hour)}, lcfg); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err = l.Import(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	for i, want := range []ticket.Reason{ticket.ReasonOK, "already_used"} {
		d, err := l.Decide(context.Background(), ledger.Scan{Text: got.Tickets[0].Code, Gate: "G1", Direction: rules.In})
		if err != nil || d.Reason != want {
			t.Errorf("scan %d: %s %s, %v; want %s", i+1, d.Reason, d.Detail, err, want)
		}
	}
}

// Every route with every role: who may call it gets past the guard, every
// other role is refused with 401 (no credentials) or 403.
func TestRoutesCheckRoles(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	f.onSale(t, 100)
	f.shop.cfg.AllowUnverified = true
	ctx := context.Background()
	n := 0
	// login makes a new account of a role and returns its session.
	login := func(role string) string {
		n++
		email := fmt.Sprintf("%s-%d@example.org", role, n)
		a, err := f.shop.Register(ctx, Registration{Email: email, Password: "a long password " + role})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.shop.SetRole(ctx, a.ID, role); err != nil {
			t.Fatal(err)
		}
		tok, _, err := f.shop.Login(ctx, email, "a long password "+role)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tokens := map[string]string{roleAnonymous: ""}
	for _, role := range BuyerRoles {
		tokens[role] = login(role)
	}
	staff, err := addStaffToken(ctx, f, "clerk", []string{"box_office"})
	if err != nil {
		t.Fatal(err)
	}
	tokens[roleBoxOffice] = staff
	if tokens[roleOps], err = addStaffToken(ctx, f, "planner", []string{"ops"}); err != nil {
		t.Fatal(err)
	}
	reader, _ := addStaffToken(ctx, f, "viewer", []string{"read"})
	for _, rt := range f.shop.routes() {
		for _, role := range append(slices.Clone(Roles), "read-only staff") {
			tok := tokens[role]
			if role == "read-only staff" {
				tok = reader
			}
			if rt.method == "DELETE" && rt.path == "me" && slices.Contains(BuyerRoles, role) {
				tok = login(role) // deleting an account ends its sessions
			}
			path := strings.ReplaceAll(rt.path, "{id}", "999")
			st := f.call(t, rt.method, path, tok, nil, nil)
			allowed := slices.Contains(rt.allow, role)
			switch {
			case allowed && (st == 401 || st == 403):
				t.Errorf("%s %s as %s: %d, want it let through", rt.method, rt.path, role, st)
			case !allowed && role == roleAnonymous && st != 401:
				t.Errorf("%s %s as %s: %d, want 401", rt.method, rt.path, role, st)
			case !allowed && role != roleAnonymous && st != 403:
				t.Errorf("%s %s as %s: %d, want 403", rt.method, rt.path, role, st)
			}
		}
	}
	// The VIP-only type shows to VIPs and is refused to the audience.
	for _, tt := range []struct {
		role string
		want int
	}{{RoleAudience, 1}, {RoleVIP, 2}} {
		var evs struct{ Events []EventView }
		f.call(t, "GET", "events", tokens[tt.role], nil, &evs)
		if len(evs.Events) != 1 || len(evs.Events[0].Types) != tt.want {
			t.Errorf("events for %s: %+v, want %d types", tt.role, evs, tt.want)
		}
	}
	var e apiError
	vip := map[string]any{"event": 1042, "items": []map[string]int{{"type": 2, "quantity": 1}}}
	if st := f.call(t, "POST", "orders", tokens[RoleAudience], vip, &e); st != 409 || len(e.Refused) != 1 || e.Refused[0].Reason != pricing.ReasonRoleRequired {
		t.Errorf("audience buying VIP: %d %+v", st, e)
	}
	var o OrderView
	if st := f.call(t, "POST", "orders", tokens[RoleVIP], vip, &o); st != 201 {
		t.Fatalf("VIP buying VIP: %d %+v", st, o)
	}
	// Another buyer cannot see it, nor pay it at the box-office rate.
	if st := f.call(t, "GET", "orders/"+itoa(o.ID), tokens[RoleSponsor], nil, &e); st != 404 {
		t.Errorf("another buyer's order: %d", st)
	}
	if st := f.call(t, "POST", "orders/"+itoa(o.ID)+"/pay", tokens[RoleVIP], map[string]string{"method": "box_office"}, &e); st != 403 {
		t.Errorf("a buyer marking paid at the box office: %d", st)
	}
	var paid OrderView
	if st := f.call(t, "POST", "orders/"+itoa(o.ID)+"/pay", staff, map[string]string{"method": "box_office"}, &paid); st != 200 || paid.Method != MethodBoxOffice || len(paid.Tickets) != 1 {
		t.Errorf("box office pays: %d %+v", st, paid)
	}
}

func addStaffToken(ctx context.Context, f *fixture, user string, scopes []string) (string, error) {
	tok, hash, err := newToken("tgo_")
	if err != nil {
		return "", err
	}
	return tok, f.db.Update(ctx, func(tx *store.Tx) error {
		return tx.AddAPIToken(user, "box_office", user, scopes, hash, f.clock.Now())
	})
}

// A hold runs out after 15 minutes: paying then is refused, the stock is
// back, and a cancelled paid order's tickets are revoked in the manifest.
func TestHoldsExpireAndCancelRevokes(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			f.onSale(t, 3)
			f.shop.cfg.AllowUnverified = true
			ctx := context.Background()
			a, err := f.shop.Register(ctx, Registration{Email: "b@example.org", Password: "a long password"})
			if err != nil {
				t.Fatal(err)
			}
			buy := func(n int) (store.ShopOrder, error) {
				return f.shop.Place(ctx, a, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: n}}})
			}
			first, err := buy(3)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := buy(1); err == nil || !strings.Contains(err.Error(), "sold out") {
				t.Fatalf("a fourth ticket of three: %v", err)
			}
			f.clock.Advance(15*time.Minute + time.Second)
			if _, _, err := f.shop.Pay(ctx, first.ID, MethodTest); err != ErrExpired {
				t.Errorf("paying an expired order: %v", err)
			}
			second, err := buy(2)
			if err != nil {
				t.Fatalf("stock did not come back: %v", err)
			}
			_, tickets, err := f.shop.Pay(ctx, second.ID, MethodTest)
			if err != nil || len(tickets) != 2 {
				t.Fatalf("pay: %v", err)
			}
			if _, err := f.shop.Cancel(ctx, second.ID, "refund"); err != nil {
				t.Fatal(err)
			}
			for _, tk := range tickets {
				got, _ := f.db.Ticket(ctx, tk.Event, tk.Serial)
				if got.Status != "revoked" {
					t.Errorf("ticket %d is %s after the cancel", tk.Serial, got.Status)
				}
			}
			// The reports: two tickets sold, both refunded in full.
			if rows, err := f.db.SalesReport(ctx, "type", store.SalesFilter{}); err != nil || len(rows) != 1 || rows[0].Tickets != 2 ||
				rows[0].Refunded != 2 || rows[0].Refunds != rows[0].Revenue || rows[0].Revenue == 0 {
				t.Errorf("sales after the refund: %+v, %v", rows, err)
			}
			if _, err := buy(3); err != nil {
				t.Errorf("a cancelled order's stock did not come back: %v", err)
			}
		})
	}
}
