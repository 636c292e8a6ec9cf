package shop

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

var offerRE = regexp.MustCompile(`https?://\S+/api/v1/shop/waitlist/offer\?token=(\S+)`)

// A sold-out type's line: tickets that come back go to the first in line
// whose quantity fits, held as a pending order and announced by mail with
// a link; a buyer who did not wait cannot take them; an offer that runs
// out passes to the next; a paid offer is bought.
func TestWaitlist(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			mp := startMailpit(t)
			f := newFixture(t, dialect, mp.mailer())
			f.onSale(t, 3)
			f.shop.cfg.AllowUnverified = true
			ctx := context.Background()
			buyers := map[string]store.Account{}
			tokens := map[string]string{}
			for _, n := range []string{"a", "b", "c", "d"} {
				email := n + "@example.org"
				if _, err := f.shop.Register(ctx, Registration{Email: email, Password: "a long password"}); err != nil {
					t.Fatal(err)
				}
				tokens[n], buyers[n], _ = f.shop.Login(ctx, email, "a long password")
			}
			buy := func(who string, n int) (store.ShopOrder, error) {
				return f.shop.Place(ctx, buyers[who], OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: n}}})
			}
			var e apiError
			join := func(who string, n int) (WaitView, int) {
				var v WaitView
				st := f.call(t, "POST", "waitlist", tokens[who], map[string]any{"event": 1042, "type": 1, "quantity": n}, &v)
				return v, st
			}
			if _, st := join("b", 1); st != 400 {
				t.Errorf("joining the line of a type on sale: %d", st)
			}
			held, err := buy("a", 2)
			if err != nil {
				t.Fatal(err)
			}
			paidA, err := buy("a", 1)
			if err != nil {
				t.Fatal(err)
			}
			f.shop.Pay(ctx, paidA.ID, MethodTest)
			if _, err := buy("b", 1); !errors.Is(err, ErrSoldOut) {
				t.Fatalf("sold out: %v", err)
			}
			vb, st := join("b", 1)
			vc, st2 := join("c", 2)
			if st != 201 || st2 != 201 || vb.Position != 1 || vc.Position != 2 || vb.Status != "waiting" {
				t.Fatalf("joining: %d %+v, %d %+v", st, vb, st2, vc)
			}
			if _, st := join("b", 1); st != 400 {
				t.Errorf("joining twice: %d", st)
			}

			// a's 2 held tickets expire: b (1) is offered one and c (2)
			// waits, as only one is left; d, who did not wait, is refused.
			f.clock.Advance(15*time.Minute + time.Second)
			f.shop.ExpireDue(ctx, 10)
			var list struct{ Waitlist []WaitView }
			f.call(t, "GET", "waitlist", tokens["b"], nil, &list)
			if len(list.Waitlist) != 1 || list.Waitlist[0].Status != "offered" || list.Waitlist[0].Order == 0 ||
				!list.Waitlist[0].OfferExpires.Equal(f.clock.Now().Add(30*time.Minute)) {
				t.Fatalf("b's place: %+v", list)
			}
			offerB := list.Waitlist[0].Order
			f.call(t, "GET", "waitlist", tokens["c"], nil, &list)
			if list.Waitlist[0].Status != "waiting" || list.Waitlist[0].Position != 1 {
				t.Errorf("c's place: %+v", list)
			}
			if _, err := buy("d", 1); !errors.Is(err, ErrSoldOut) || !strings.Contains(err.Error(), "waiting list") {
				t.Errorf("a buyer who did not wait: %v", err)
			}
			// The mail's link shows the offer without logging in.
			m := offerRE.FindStringSubmatch(mp.message(t, "b@example.org", "waiting list"))
			if m == nil {
				t.Fatal("no offer link in b's mail")
			}
			var offer WaitView
			if st := f.call(t, "GET", "waitlist/offer?token="+m[1], "", nil, &offer); st != 200 || offer.Order != offerB || offer.Quantity != 1 {
				t.Errorf("the offer link: %d %+v", st, offer)
			}
			if st := f.call(t, "GET", "waitlist/offer?token=tgw_forged", "", nil, &e); st != 404 {
				t.Errorf("a forged offer link: %d", st)
			}
			pools, _ := f.db.Pools(ctx, typePool(1042, 1))
			if pools[typePool(1042, 1)].Taken != 2 {
				t.Errorf("the offer does not hold its ticket: %+v", pools)
			}

			// b lets the offer run out: the ticket and the one cancelled
			// now make 2, for c.
			f.clock.Advance(30*time.Minute + time.Second)
			if _, err := f.shop.Cancel(ctx, paidA.ID, "refund"); err != nil {
				t.Fatal(err)
			}
			f.shop.ExpireDue(ctx, 10)
			f.call(t, "GET", "waitlist", tokens["b"], nil, &list)
			if list.Waitlist[0].Status != "lapsed" {
				t.Errorf("b's place after the offer ran out: %+v", list)
			}
			f.call(t, "GET", "waitlist", tokens["c"], nil, &list)
			if list.Waitlist[0].Status != "offered" || list.Waitlist[0].Quantity != 2 {
				t.Fatalf("c's place: %+v", list)
			}
			var paid OrderView
			if st := f.call(t, "POST", "orders/"+itoa(list.Waitlist[0].Order)+"/pay", tokens["c"], map[string]string{"method": "test"}, &paid); st != 200 || len(paid.Tickets) != 2 {
				t.Fatalf("c pays the offer: %d %+v", st, paid)
			}
			f.call(t, "GET", "waitlist", tokens["c"], nil, &list)
			if list.Waitlist[0].Status != "bought" {
				t.Errorf("c's place after paying: %+v", list)
			}
			pools, _ = f.db.Pools(ctx, typePool(1042, 1))
			if pools[typePool(1042, 1)].Taken != 2 {
				t.Errorf("stock after the line: %+v", pools)
			}
			// With nobody waiting, the last ticket is on sale again.
			if _, err := buy("d", 1); err != nil {
				t.Errorf("the last ticket, nobody waiting: %v", err)
			}
			_ = held
		})
	}
}

// The waiting room lets buyers through at its rate in arrival order, each
// told their place; an order needs an admitted token of its own, within
// its turn.
func TestWaitingRoom(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			f.onSale(t, 100)
			f.shop.cfg.AllowUnverified = true
			ctx := context.Background()
			staff, _ := addStaffToken(ctx, f, "clerk", []string{"box_office"})
			opens := f.clock.Now().Add(time.Minute)
			var room Room
			if st := f.call(t, "PUT", "rooms/1042", staff, map[string]any{"rate_per_minute": 60, "burst": 2, "opens": opens, "admit_minutes": 10, "on": true}, &room); st != 200 {
				t.Fatalf("put room: %d %+v", st, room)
			}
			var buyers []store.Account
			var toks []string
			for i := range 5 {
				var v QueueView
				if st := f.call(t, "POST", "queue", "", map[string]any{"event": 1042}, &v); st != 201 || v.Place != int64(i+1) || v.Admitted {
					t.Fatalf("arrival %d: %d %+v", i+1, st, v)
				}
				toks = append(toks, v.Token)
				a, err := f.shop.Register(ctx, Registration{Email: "q" + itoa(int64(i)) + "@example.org", Password: "a long password"})
				if err != nil {
					t.Fatal(err)
				}
				buyers = append(buyers, a)
			}
			order := func(i int, tok string) error {
				_, err := f.shop.Place(ctx, buyers[i], OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}, Queue: tok, IP: "10.3.0.1"})
				return err
			}
			if err := order(0, ""); !errors.Is(err, ErrQueue) {
				t.Errorf("an order without a token: %v", err)
			}
			if err := order(0, toks[0]); !errors.Is(err, ErrQueue) || !strings.Contains(err.Error(), "not your turn") {
				t.Errorf("before the room opens: %v", err)
			}
			f.clock.Set(opens)
			var v QueueView
			if st := f.call(t, "GET", "queue?token="+toks[2], "", nil, &v); st != 200 || v.Admitted || v.Ahead != 1 || !v.Turn.Equal(opens.Add(time.Second)) {
				t.Errorf("third at the opening: %d %+v", st, v)
			}
			for i, want := range []bool{true, true, false} {
				if err := order(i, toks[i]); (err == nil) != want {
					t.Errorf("arrival %d at the opening: %v", i+1, err)
				}
			}
			if err := order(1, toks[0]); !errors.Is(err, ErrQueue) || !strings.Contains(err.Error(), "another buyer") {
				t.Errorf("another buyer's token: %v", err)
			}
			f.clock.Advance(3 * time.Second) // 1 a second: the 3rd, 4th and 5th are through
			if err := order(2, toks[2]); err != nil {
				t.Errorf("third after a second: %v", err)
			}
			f.clock.Set(opens.Add(3*time.Second + 10*time.Minute))
			if err := order(4, toks[4]); !errors.Is(err, ErrQueue) || !strings.Contains(err.Error(), "ran out") {
				t.Errorf("fifth after its 10 minutes: %v", err)
			}
			bl, _ := f.db.BlockedLog(ctx, store.BlockedFilter{Kind: "waiting_room"})
			if len(bl) != 5 || bl[0].Subject != "event 1042" {
				t.Errorf("blocked log: %+v", bl)
			}
			var e apiError
			if st := f.call(t, "GET", "queue?token=tgq_nothing", "", nil, &e); st != 404 {
				t.Errorf("an unknown token: %d", st)
			}
			// Turned off, the room lets everyone order.
			f.call(t, "PUT", "rooms/1042", staff, map[string]any{"rate_per_minute": 60, "burst": 2, "opens": opens, "on": false}, nil)
			if err := order(4, ""); err != nil {
				t.Errorf("with the room off: %v", err)
			}
			if st := f.call(t, "POST", "queue", "", map[string]any{"event": 1042}, &e); st != 404 {
				t.Errorf("joining a room that is off: %d", st)
			}
		})
	}
}

// Sweep expires held orders with nobody ordering, and their tickets go to
// the waiting list.
func TestSweepExpires(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	f.onSale(t, 1)
	f.shop.cfg.AllowUnverified = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _ := f.shop.Register(ctx, Registration{Email: "a@example.org", Password: "a long password"})
	b, _ := f.shop.Register(ctx, Registration{Email: "b@example.org", Password: "a long password"})
	o, err := f.shop.Place(ctx, a, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.shop.JoinWaitlist(ctx, b, 1042, 1, 1); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(16 * time.Minute)
	go f.shop.Sweep(ctx, 5*time.Millisecond)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, _ := f.db.Order(ctx, o.ID)
		ws, _ := f.shop.Waitlist(ctx, b.ID)
		if got.Status == StatusExpired && len(ws) == 1 && ws[0].Status == "offered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s of sweeping: order %s, place %+v", got.Status, ws)
		}
	}
}

// Arrivals at once, through two central processes, get distinct places
// 1…n; freed tickets offered by both processes at once go to one place
// each, never beyond the stock.
func TestLinesUnderRaces(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			f.onSale(t, 4)
			f.shop.cfg.AllowUnverified = true
			other := New(f.shop.cfg)
			ctx := context.Background()
			if err := f.shop.PutRoom(ctx, Room{Event: 1042, Rate: 60, Burst: 10, Opens: f.clock.Now(), On: true}); err != nil {
				t.Fatal(err)
			}
			const n = 100
			places := make(chan int64, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := []*Shop{f.shop, other}[i%2].JoinQueue(ctx, 1042, 0, "")
					if err != nil {
						t.Error(err)
						return
					}
					places <- v.Place
				}()
			}
			wg.Wait()
			close(places)
			seen := map[int64]bool{}
			for p := range places {
				if seen[p] || p < 1 || p > n {
					t.Errorf("place %d twice or out of 1…%d", p, n)
				}
				seen[p] = true
			}
			if len(seen) != n {
				t.Errorf("%d places for %d arrivals", len(seen), n)
			}
			f.shop.PutRoom(ctx, Room{Event: 1042, Rate: 60, Opens: f.clock.Now(), On: false})

			// 4 held, 6 waiting for one each; the hold expires and both
			// processes offer at once.
			var buyers []store.Account
			for i := range 7 {
				a, err := f.shop.Register(ctx, Registration{Email: "w" + itoa(int64(i)) + "@example.org", Password: "a long password"})
				if err != nil {
					t.Fatal(err)
				}
				buyers = append(buyers, a)
			}
			held, err := f.shop.Place(ctx, buyers[0], OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 4}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range buyers[1:] {
				if _, err := f.shop.JoinWaitlist(ctx, b, 1042, 1, 1); err != nil {
					t.Fatal(err)
				}
			}
			f.clock.Advance(16 * time.Minute)
			if err := f.shop.expire(ctx, held.ID); err != nil {
				t.Fatal(err)
			}
			for range 8 {
				wg.Add(1)
				go func() { defer wg.Done(); other.offerFreed(ctx, 1042); f.shop.offerFreed(ctx, 1042) }()
			}
			wg.Wait()
			offered := 0
			for _, b := range buyers[1:] {
				ws, _ := f.shop.Waitlist(ctx, b.ID)
				if ws[0].Status == "offered" {
					offered++
				}
			}
			pools, _ := f.db.Pools(ctx, typePool(1042, 1))
			if offered != 4 || pools[typePool(1042, 1)].Taken != 4 {
				t.Errorf("%d offered, %d taken; want 4 and 4", offered, pools[typePool(1042, 1)].Taken)
			}
			for i, b := range buyers[1:] {
				ws, _ := f.shop.Waitlist(ctx, b.ID)
				if want := map[bool]string{true: "offered", false: "waiting"}[i < 4]; ws[0].Status != want {
					t.Errorf("place %d is %s, want %s (in order)", i+1, ws[0].Status, want)
				}
			}
		})
	}
}

// A buyer who signed in by phone hears of an offer by SMS.
func TestWaitlistOfferBySMS(t *testing.T) {
	dev := &DevSender{}
	f := newFixture(t, store.SQLite, nil)
	f.shop.cfg.SMSSender = dev
	f.shop.cfg.AllowUnverified = true
	f.onSale(t, 1)
	ctx := context.Background()
	const phone = "+8613800138000"
	if err := f.shop.SendCode(ctx, phone, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	_, b, err := f.shop.LoginByCode(ctx, phone, lastCode(t, dev, phone))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.shop.Register(ctx, Registration{Email: "a@example.org", Password: "a long password"})
	o, err := f.shop.Place(ctx, a, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.shop.JoinWaitlist(ctx, b, 1042, 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.shop.Cancel(ctx, o.ID, "changed my mind"); err != nil {
		t.Fatal(err)
	}
	ws, _ := f.shop.Waitlist(ctx, b.ID)
	out := dev.Outbox()
	last := out[len(out)-1]
	if len(ws) != 1 || ws[0].Status != "offered" || last.To != phone || last.Kind != KindOffer ||
		last.Params["order"] != itoa(ws[0].Order) || last.Params["minutes"] != "30" {
		t.Errorf("place %+v, last text %+v", ws, last)
	}
}
