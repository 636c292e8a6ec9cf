package shop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
)

// start is when event 1042 starts (testdata/venue.yaml).
var start = time.Date(2026, 6, 12, 18, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// ladder is the example: free within 48 hours of purchase, then
// 20%, 30%, 50% as the event approaches, none in the last day.
var ladder = pricing.RefundPolicy{FreeWithin: 48 * time.Hour, Rounding: pricing.RoundHalfEven, Ladder: []pricing.RefundStep{
	{Before: 30 * day, Fee: pricing.Percent(20)},
	{Before: 7 * day, Fee: pricing.Percent(30)},
	{Before: day, Fee: pricing.Percent(50)},
}}

func (f *fixture) buyer(tb testing.TB, email string) store.Account {
	tb.Helper()
	f.shop.cfg.AllowUnverified = true
	a, err := f.shop.Register(context.Background(), Registration{Email: email, Password: "a long password"})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func (f *fixture) buy(tb testing.TB, a store.Account, typ pricing.TypeID, n int) (store.ShopOrder, []store.Ticket) {
	tb.Helper()
	ctx := context.Background()
	o, err := f.shop.Place(ctx, a, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: typ, Quantity: n}}})
	if err != nil {
		tb.Fatal(err)
	}
	o, tickets, err := f.shop.Pay(ctx, o.ID, MethodTest)
	if err != nil {
		tb.Fatal(err)
	}
	return o, tickets
}

// The ladder, end to end on the shop's clock: one order of five tickets
// bought 40 days out, refunded ticket by ticket as the event nears; each
// refund keeps the rest of the order, gives its stock back (to the
// waiting list first) and is counted by the reports.
func TestRefundLadderEndToEnd(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			ctx := context.Background()
			f.clock.Set(start.Add(-40 * day))
			f.onSale(t, 5)
			if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, pricing.RefundPolicy{Ladder: []pricing.RefundStep{{Before: day, Fee: pricing.Percent(120)}}}); !errors.Is(err, ErrBadRequest) {
				t.Errorf("a fee of 120%%: %v, want refused", err)
			}
			if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, ladder); err != nil {
				t.Fatal(err)
			}
			a := f.buyer(t, "ladder@example.org")
			o, tickets := f.buy(t, a, 1, 5)
			waiter := f.buyer(t, "waiter@example.org")
			if _, err := f.shop.JoinWaitlist(ctx, waiter, 1042, 1, 1); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name       string
				at         time.Time
				fee, back  int64
				refused    pricing.Reason
				wantStatus string
			}{
				{"within 48 hours of purchase: free", start.Add(-40*day + time.Hour), 0, 12800, "", StatusPaid},
				{"35 days before: 20%", start.Add(-35 * day), 2560, 10240, "", StatusPaid},
				{"10 days before: 30%", start.Add(-10 * day), 3840, 8960, "", StatusPaid},
				{"3 days before: 50%", start.Add(-3 * day), 6400, 6400, "", StatusPaid},
				{"12 hours before: none", start.Add(-12 * time.Hour), 0, 0, pricing.ReasonTooLate, StatusPaid},
			}
			for i, st := range steps {
				f.clock.Set(st.at)
				tk := tickets[i]
				plan, err := f.shop.PlanRefund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tk.Serial}})
				if err != nil {
					t.Fatalf("%s: plan: %v", st.name, err)
				}
				res, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tk.Serial}})
				if st.refused != "" {
					var re *RefundRefusedError
					if !errors.As(err, &re) || len(re.Refused) != 1 || re.Refused[0].Reason != st.refused || plan.OK() {
						t.Errorf("%s: %v, want refused %s", st.name, err, st.refused)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				back, fee := plan.Total()
				if back.Minor() != st.back || fee.Minor() != st.fee || res.Refund.Amount != st.back || res.Refund.Fee != st.fee || res.Pending {
					t.Errorf("%s: quoted %s back %s fee, refunded %+v; want %d back, %d fee", st.name, back, fee, res.Refund, st.back, st.fee)
				}
				got, all, err := f.shop.Order(ctx, o.ID)
				if err != nil || got.Status != st.wantStatus {
					t.Errorf("%s: order is %s (%v), want %s", st.name, got.Status, err, st.wantStatus)
				}
				valid := 0
				for _, x := range all {
					if x.Status == "valid" {
						valid++
					}
				}
				if valid != 4-i {
					t.Errorf("%s: %d valid tickets left, want %d", st.name, valid, 4-i)
				}
				if i == 0 {
					// The first ticket back went to the waiting list.
					ws, _ := f.shop.Waitlist(ctx, waiter.ID)
					if len(ws) != 1 || ws[0].Status != "offered" {
						t.Errorf("the waiting list after a refund: %+v, want the place offered", ws)
					}
				}
			}
			// Asked again with the same key: the same refund, not another.
			rs, _ := f.db.Refunds(ctx, o.ID)
			if len(rs) != 4 {
				t.Fatalf("%d refunds recorded, want 4", len(rs))
			}
			again, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Key: rs[1].Key})
			if err != nil || again.Refund.ID != rs[1].ID {
				t.Errorf("the same key again: %+v, %v", again.Refund, err)
			}
			if n, _ := f.db.Refunds(ctx, o.ID); len(n) != 4 {
				t.Errorf("%d refunds after a repeat, want 4", len(n))
			}
			// A refunded ticket is not refunded twice.
			if _, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[0].Serial}}); !errors.Is(err, ErrRefusedRefund) {
				t.Errorf("a refunded ticket again: %v", err)
			}
			// The stock: five sold, one offered to the waiter, three back.
			pools, _ := f.db.Pools(ctx, typePool(1042, 1))
			if p := pools[typePool(1042, 1)]; p.Taken != 2 {
				t.Errorf("type 1 pool taken %d, want 2 (one ticket left in the order, one offered)", p.Taken)
			}
			rows, err := f.db.SalesReport(ctx, "type", store.SalesFilter{})
			if err != nil || len(rows) != 1 || rows[0].Refunded != 4 || rows[0].Refunds != 12800+10240+8960+6400 {
				t.Errorf("sales after the refunds: %+v, %v", rows, err)
			}
		})
	}
}

// A whole order refunded at once returns what the tickets one by one
// would, and cancels the order.
func TestRefundWholeOrder(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	f.clock.Set(start.Add(-40 * day))
	f.onSale(t, 10)
	if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, ladder); err != nil {
		t.Fatal(err)
	}
	o, _ := f.buy(t, f.buyer(t, "whole@example.org"), 1, 3)
	f.clock.Set(start.Add(-35 * day))
	res, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Actor: "box-li", Reason: "cannot come"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Refund.Amount != 3*10240 || res.Refund.Fee != 3*2560 || len(res.Refund.Tickets) != 3 {
		t.Errorf("refund %+v", res.Refund)
	}
	if got, _, _ := f.shop.Order(ctx, o.ID); got.Status != StatusCancelled {
		t.Errorf("order is %s, want cancelled", got.Status)
	}
	pools, _ := f.db.Pools(ctx, typePool(1042, 1))
	if p := pools[typePool(1042, 1)]; p.Taken != 0 {
		t.Errorf("pool taken %d after the whole refund, want 0", p.Taken)
	}
	log, _ := f.db.AuditLog(ctx, 10)
	if len(log) == 0 || log[0].Action != "order.refund" || log[0].Actor != "box-li" {
		t.Errorf("audit %+v, want the staff refund", log)
	}
	if _, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Actor: "box-li"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("a staff refund without a reason: %v", err)
	}
}

// gate is a venue gate's ledger fed from central's manifest.
type gate struct {
	l   *ledger.Ledger
	f   *fixture
	seq uint64
}

func (f *fixture) gate(tb testing.TB, clock ticket.Clock) *gate {
	tb.Helper()
	dir := tb.TempDir()
	lcfg := ledger.TestConfig(dir)
	lcfg.Clock, lcfg.Logger = clock, quiet()
	if err := ledger.Init(ledger.Provision{Dir: dir, Keys: f.keys, Device: "gate-1", Venue: "arena", Now: clock.Now().Add(-time.Hour)}, lcfg); err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return &gate{l: l, f: f}
}

// pull imports central's manifest changes since the last pull.
func (g *gate) pull(tb testing.TB) {
	tb.Helper()
	var buf bytes.Buffer
	err := g.f.db.Changes(context.Background(), "arena", g.seq, 0, func(c store.Change) error {
		buf.Write(c.Line)
		buf.WriteByte('\n')
		g.seq = c.Seq
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := g.l.Import(context.Background(), &buf, nil); err != nil {
		tb.Fatal(err)
	}
}

func (g *gate) scan(tb testing.TB, code string) ticket.Reason {
	tb.Helper()
	d, err := g.l.Decide(context.Background(), ledger.Scan{Text: code, Gate: "G1", Direction: rules.In})
	if err != nil {
		tb.Fatal(err)
	}
	return d.Reason
}

// push hands the gate's records to central, as an upload does after
// intake verified them.
func (g *gate) push(tb testing.TB) {
	tb.Helper()
	raws, err := g.l.Records(g.l.Identity().Cert.ID(), 1, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var rows []store.Record
	for _, raw := range raws {
		r, err := record.Unmarshal(raw)
		if err != nil {
			tb.Fatal(err)
		}
		h := record.HashOf(raw)
		var prev []byte
		if r.Seq > 1 {
			prev = r.Prev[:]
		}
		rows = append(rows, store.Record{Origin: r.Origin.String(), Seq: r.Seq, Hash: h[:], Prev: prev, Raw: raw, Kind: int(r.Kind),
			Event: r.Event, Serial: r.Serial, Type: r.Type, Gate: r.Gate, Zone: r.Zone, At: r.HLC.Time()})
	}
	if _, err := g.f.db.StoreRecords(context.Background(), rows, g.f.clock.Now(), "gate-1"); err != nil {
		tb.Fatal(err)
	}
}

// A refund of a scanned-in ticket is refused, or needs a supervisor, or
// is allowed when the event's rules say so; a refund of an unscanned
// ticket revokes it through the manifest, and the gate then refuses it,
// while the order's other tickets still open the gate.
func TestRefundScannedAndRevokedAtGate(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			ctx := context.Background()
			doors := start.Add(-90 * time.Minute) // admission is 16:00 UTC, the start 18:00
			f.clock.Set(doors.Add(-2 * day))
			f.onSale(t, 100)
			// Refunds up to the start at a 10% fee: the ticket's being
			// scanned in is what decides here, not the time.
			policy := pricing.RefundPolicy{Rounding: pricing.RoundHalfEven, Ladder: []pricing.RefundStep{{Before: 0, Fee: pricing.Percent(10)}}}
			if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, policy); err != nil {
				t.Fatal(err)
			}
			o, tickets := f.buy(t, f.buyer(t, "gate@example.org"), 1, 3)
			gateClock := ticket.NewManualClock(doors)
			g := f.gate(t, gateClock)
			g.pull(t)
			f.clock.Set(doors.Add(10 * time.Minute))
			gateClock.Set(doors.Add(10 * time.Minute))
			if r := g.scan(t, tickets[0].Code); r != ticket.ReasonOK {
				t.Fatalf("scan of ticket 1: %s", r)
			}
			g.push(t)

			// Scanned in: refused by default.
			_, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[0].Serial}, Actor: "box-li", Reason: "left early"})
			var re *RefundRefusedError
			if !errors.As(err, &re) || len(re.Refused) != 1 || re.Refused[0].Reason != pricing.ReasonUsed {
				t.Fatalf("refund of a scanned-in ticket: %v, want refused as used", err)
			}
			// Unscanned: refunded, revoked, the rest of the order stands.
			res, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[1].Serial}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Refund.Amount != 11520 || res.Refund.Fee != 1280 {
				t.Errorf("refund %+v, want 115.20 back, 12.80 fee", res.Refund)
			}
			if got, _, _ := f.shop.Order(ctx, o.ID); got.Status != StatusPaid {
				t.Errorf("a partial refund left the order %s, want paid", got.Status)
			}
			if tk, _ := f.db.Ticket(ctx, 1042, tickets[1].Serial); tk.Status != "revoked" {
				t.Errorf("refunded ticket is %s", tk.Status)
			}
			g.pull(t)
			if r := g.scan(t, tickets[1].Code); r != ticket.ReasonRevoked {
				t.Errorf("the gate on the refunded ticket: %s, want revoked", r)
			}
			if r := g.scan(t, tickets[2].Code); r != ticket.ReasonOK {
				t.Errorf("the gate on the order's other ticket: %s, want ok", r)
			}
			g.push(t)

			// A supervisor approves the scanned-in ticket's refund.
			res, err = f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[0].Serial}, Actor: "admin-wu", Reason: "show cut short", Supervisor: true})
			if err != nil || res.Refund.Amount != 11520 {
				t.Fatalf("a supervisor's refund of a scanned-in ticket: %+v, %v", res.Refund, err)
			}
			// The event's rules may allow it for everyone (RefundUsed).
			if _, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[2].Serial}}); !errors.Is(err, ErrRefusedRefund) {
				t.Errorf("the buyer's refund of the scanned-in ticket 3: %v, want refused", err)
			}
			policy.RefundUsed = true
			if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, policy); err != nil {
				t.Fatal(err)
			}
			if _, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[2].Serial}}); err != nil {
				t.Errorf("with RefundUsed: %v", err)
			}
			if got, _, _ := f.shop.Order(ctx, o.ID); got.Status != StatusCancelled {
				t.Errorf("every ticket refunded, the order is %s, want cancelled", got.Status)
			}
		})
	}
}

// moneyBack is a Refunder that fails until told not to, to show a refund
// whose money did not go back stays pending and is retried.
type moneyBack struct {
	fail bool
	sent map[string]int64
}

func (m *moneyBack) RefundMoney(_ context.Context, order int64, amount int64, key, _ string) error {
	if m.fail {
		return errors.New("provider down")
	}
	m.sent[key] += amount
	return nil
}

// An order paid through a provider gets its money back through the
// Refunder; while the provider is down the refund stays pending (the
// tickets are revoked at once) and RetryRefunds finishes it once.
func TestRefundThroughProviderRetried(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	f.clock.Set(start.Add(-40 * day))
	f.onSale(t, 10)
	if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, ladder); err != nil {
		t.Fatal(err)
	}
	o, tickets := f.buy(t, f.buyer(t, "provider@example.org"), 1, 2)
	// As though a provider had paid it.
	if err := f.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.MoveOrder(o.ID, []string{StatusPaid}, StatusPaid, "alipay", f.clock.Now(), time.Time{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m := &moneyBack{fail: true, sent: map[string]int64{}}
	f.shop.SetRefunder(m)
	res, err := f.shop.Refund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{tickets[0].Serial}})
	if err != nil || !res.Pending {
		t.Fatalf("refund with the provider down: %+v, %v; want pending", res, err)
	}
	if tk, _ := f.db.Ticket(ctx, 1042, tickets[0].Serial); tk.Status != "revoked" {
		t.Errorf("ticket is %s while its money is pending", tk.Status)
	}
	m.fail = false
	if n := f.shop.RetryRefunds(ctx, 10); n != 1 {
		t.Errorf("retried %d, want 1", n)
	}
	if n := f.shop.RetryRefunds(ctx, 10); n != 0 {
		t.Errorf("retried %d the second time, want 0", n)
	}
	if m.sent[res.Refund.Key] != 12800 || len(m.sent) != 1 {
		t.Errorf("sent %v, want 128.00 once", m.sent)
	}
}

// The refund API: the rules set and read in hours and percentages, a
// buyer's quote and refund (one key, one refund), the box office's refund
// that needs a reason, and a supervisor's approval only with the admin
// scope.
func TestRefundAPI(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	f.clock.Set(start.Add(-40 * day))
	f.onSale(t, 10)
	clerk, err := addStaffToken(ctx, f, "clerk", []string{"box_office"})
	if err != nil {
		t.Fatal(err)
	}
	boss, err := addStaffToken(ctx, f, "boss", []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"free_within_hours": 48, "refund_used": false, "ladder": []map[string]any{
		{"hours_before": 720, "fee": "20%"}, {"hours_before": 168, "fee": "30%"}, {"hours_before": 24, "fee": "50%"}}}
	var e apiError
	if st := f.call(t, "PUT", "events/1042/refund-policy", "", doc, &e); st != 401 {
		t.Errorf("rules without credentials: %d", st)
	}
	bad := map[string]any{"ladder": []map[string]any{{"hours_before": 24, "fee": "20%"}, {"hours_before": 720, "fee": "30%"}}}
	if st := f.call(t, "PUT", "events/1042/refund-policy", clerk, bad, &e); st != 400 || e.Code != "bad_request" {
		t.Errorf("a ladder out of order: %d %+v", st, e)
	}
	var got PolicyDoc
	if st := f.call(t, "PUT", "events/1042/refund-policy", clerk, doc, &got); st != 200 || len(got.Ladder) != 3 || got.Ladder[1].Fee != "30%" {
		t.Fatalf("set the rules: %d %+v", st, got)
	}
	if p, _ := f.shop.RefundPolicy(ctx, 1042); p.FreeWithin != 48*time.Hour || p.Ladder[0].Before != 30*day || p.Ladder[2].Fee != pricing.Percent(50) {
		t.Errorf("stored %+v", p)
	}
	if st := f.call(t, "GET", "events/1042/refund-policy", "", nil, &got); st != 200 || got.FreeWithinHours != 48 {
		t.Errorf("read the rules: %d %+v", st, got)
	}

	a := f.buyer(t, "api@example.org")
	o, tickets := f.buy(t, a, 1, 3)
	f.clock.Set(start.Add(-10 * day))
	tok, _, err := f.shop.Login(ctx, "api@example.org", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	var q RefundQuoteView
	path := "orders/" + itoa(o.ID) + "/refund"
	if st := f.call(t, "GET", path+"?ticket="+strconv.FormatUint(tickets[0].Serial, 10), tok, nil, &q); st != 200 || !q.OK || q.Back != pricing.New(8960, pricing.CNY) || q.Fee != pricing.New(3840, pricing.CNY) {
		t.Fatalf("quote: %d %+v", st, q)
	}
	other := f.buyer(t, "other@example.org")
	otherTok, _, _ := f.shop.Login(ctx, other.Email, "a long password")
	if st := f.call(t, "GET", path, otherTok, nil, &e); st != 404 {
		t.Errorf("another buyer's quote: %d", st)
	}
	body := map[string]any{"tickets": []uint64{tickets[0].Serial}}
	var made RefundMade
	for i := range 2 {
		if st := f.callKey(t, "POST", path, tok, "key-1", body, &made); st != 200 || made.Back != pricing.New(8960, pricing.CNY) || made.State != "done" {
			t.Fatalf("refund %d: %d %+v", i, st, made)
		}
	}
	if rs, _ := f.db.Refunds(ctx, o.ID); len(rs) != 1 {
		t.Errorf("one key twice made %d refunds", len(rs))
	}
	if st := f.call(t, "POST", path, tok, map[string]any{"supervisor": true}, &e); st != 403 {
		t.Errorf("a buyer as supervisor: %d", st)
	}
	if st := f.call(t, "POST", path, clerk, map[string]any{"tickets": []uint64{tickets[1].Serial}}, &e); st != 400 {
		t.Errorf("the box office without a reason: %d %+v", st, e)
	}
	if st := f.call(t, "POST", path, clerk, map[string]any{"tickets": []uint64{tickets[1].Serial}, "reason": "x", "supervisor": true}, &e); st != 403 {
		t.Errorf("box_office scope as supervisor: %d %+v", st, e)
	}
	if st := f.call(t, "POST", path, boss, map[string]any{"tickets": []uint64{tickets[1].Serial}, "reason": "goodwill", "supervisor": true}, &made); st != 200 || made.Actor != "boss" {
		t.Errorf("the admin's refund: %d %+v", st, made)
	}
	f.clock.Set(start.Add(-12 * time.Hour))
	if st := f.call(t, "POST", path, tok, map[string]any{}, &e); st != 409 || e.Code != "refund_refused" || len(e.Refused) != 1 || e.Refused[0].Reason != pricing.ReasonTooLate {
		t.Errorf("a refund in the last day: %d %+v", st, e)
	}
}

// An exchange to a cheaper type pays the difference (less the exchange
// fee) back and keeps the order; the old ticket is revoked at the gate
// and the new one opens it. One to a dearer type is the box office's,
// once the difference is paid at the counter.
func TestExchange(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	f.clock.Set(start.Add(-20 * day))
	f.onSale(t, 10)
	if err := f.shop.PutOffer(ctx, Offer{Event: 1042, Type: 3, Price: pricing.New(9800, pricing.CNY), Quota: 1}); err != nil {
		t.Fatal(err)
	}
	policy := ladder
	policy.ExchangeFee = pricing.New(1000, pricing.CNY)
	if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, policy); err != nil {
		t.Fatal(err)
	}
	a := f.buyer(t, "swap@example.org")
	if err := f.shop.SetRole(ctx, a.ID, RoleVIP); err != nil {
		t.Fatal(err)
	}
	a, _ = f.db.Account(ctx, a.ID)
	o, tickets := f.buy(t, a, 1, 2)
	if err := f.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.MoveOrder(o.ID, []string{StatusPaid}, StatusPaid, "alipay", f.clock.Now(), time.Time{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m := &moneyBack{sent: map[string]int64{}}
	f.shop.SetRefunder(m)

	plan, err := f.shop.PlanExchange(ctx, ExchangeAsk{Order: o.ID, Serial: tickets[0].Serial, To: 3})
	if err != nil || !plan.OK() || plan.Quote.Difference != pricing.New(-2000, pricing.CNY) {
		t.Fatalf("plan: %+v, %v; want ¥20.00 back (98 + 10 fee - 128)", plan.Quote, err)
	}
	res, issued, err := f.shop.Exchange(ctx, ExchangeAsk{Order: o.ID, Serial: tickets[0].Serial, To: 3})
	if err != nil || res.Refund.Amount != 2000 || res.Refund.Kind != store.ExchangeKind || issued.Type != 3 {
		t.Fatalf("exchange: %+v, %+v, %v", res.Refund, issued, err)
	}
	got, all, _ := f.shop.Order(ctx, o.ID)
	if got.Status != StatusPaid || len(all) != 3 {
		t.Errorf("after the exchange: %s with %d tickets, want paid with 3 (one revoked)", got.Status, len(all))
	}
	// Type 3 had one ticket: it is gone.
	if _, _, err := f.shop.Exchange(ctx, ExchangeAsk{Order: o.ID, Serial: tickets[1].Serial, To: 3}); !errors.Is(err, ErrSoldOut) {
		t.Errorf("exchange into a sold-out type: %v", err)
	}
	// A refund of the new ticket starts from what it cost (98).
	f.clock.Advance(3 * day)
	rp, err := f.shop.PlanRefund(ctx, RefundAsk{Order: o.ID, Serials: []uint64{issued.Serial}})
	if b, _ := rp.Total(); err != nil || b != pricing.New(6860, pricing.CNY) {
		t.Errorf("refund quote of the new ticket: %s, %v; want ¥68.60 (98 less 30%%, 17 days out)", b, err)
	}
	// Dearer: the buyer is sent to the counter, the box office does it.
	if _, _, err := f.shop.Exchange(ctx, ExchangeAsk{Order: o.ID, Serial: tickets[1].Serial, To: 2}); !errors.Is(err, ErrPayDifference) {
		t.Errorf("a dearer exchange by the buyer: %v", err)
	}
	res, vip, err := f.shop.Exchange(ctx, ExchangeAsk{Order: o.ID, Serial: tickets[1].Serial, To: 2, Actor: "box-li", Reason: "upgrade", PaidAtCounter: true})
	if err != nil || vip.Type != 2 || res.Refund.Amount != 0 {
		t.Fatalf("the box office's upgrade: %+v, %v", res.Refund, err)
	}
	if len(m.sent) != 1 {
		t.Errorf("money sent back %v, want the first exchange's ¥20.00 only", m.sent)
	}
	g := f.gate(t, ticket.NewManualClock(start.Add(-time.Hour)))
	g.pull(t)
	for code, want := range map[string]ticket.Reason{tickets[0].Code: ticket.ReasonRevoked, issued.Code: ticket.ReasonOK, tickets[1].Code: ticket.ReasonRevoked} {
		if r := g.scan(t, code); r != want {
			t.Errorf("the gate: %s, want %s", r, want)
		}
	}
}

// An event cancelled: ops refund every buyer in one action, in full
// (no fee, even in the last day when the ladder allows nothing), with
// the progress shown, and every buyer mailed.
func TestRefundEvent(t *testing.T) {
	mp := startMailpit(t)
	f := newFixture(t, store.SQLite, mp.mailer())
	ctx := context.Background()
	f.clock.Set(start.Add(-10 * day))
	f.onSale(t, 100)
	if err := f.shop.SetRefundPolicy(ctx, "ops-ann", 1042, ladder); err != nil {
		t.Fatal(err)
	}
	var orders []store.ShopOrder
	for i := range 3 {
		o, _ := f.buy(t, f.buyer(t, fmt.Sprintf("fan%d@example.org", i)), 1, i+1)
		orders = append(orders, o)
	}
	f.clock.Set(start.Add(-12 * time.Hour))
	if _, err := f.shop.RefundEvent(ctx, 1042, "admin-wu", ""); !errors.Is(err, ErrBadRequest) {
		t.Errorf("without a reason: %v", err)
	}
	p, err := f.shop.RefundEvent(ctx, 1042, "admin-wu", "the concert is cancelled")
	if err != nil || p.Orders != 3 {
		t.Fatalf("refund the event: %+v, %v", p, err)
	}
	for deadline := time.Now().Add(30 * time.Second); p.Running && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p, _ = f.shop.EventRefundProgress(1042)
	}
	if p.Running || p.Done != 3 || p.Failed != 0 {
		t.Fatalf("progress %+v", p)
	}
	for i, o := range orders {
		got, tickets, _ := f.shop.Order(ctx, o.ID)
		rs, _ := f.db.Refunds(ctx, o.ID)
		if got.Status != StatusCancelled || len(rs) != 1 || rs[0].Amount != int64(i+1)*12800 || rs[0].Fee != 0 {
			t.Errorf("order %d: %s, refunds %+v", o.ID, got.Status, rs)
		}
		for _, tk := range tickets {
			if tk.Status != "revoked" {
				t.Errorf("order %d ticket %d is %s", o.ID, tk.Serial, tk.Status)
			}
		}
		if mail := mp.message(t, fmt.Sprintf("fan%d@example.org", i), "Refund of order"); !strings.Contains(mail, "the concert is cancelled") {
			t.Errorf("fan %d's mail: %q", i, mail)
		}
	}
	// Again: nothing is left, nothing is refunded twice.
	p, err = f.shop.RefundEvent(ctx, 1042, "admin-wu", "the concert is cancelled")
	if err != nil || p.Orders != 0 {
		t.Errorf("again: %+v, %v", p, err)
	}
}
