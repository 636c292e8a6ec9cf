package pay

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
)

// rig is one provider with its server, as the suite drives it.
type rig struct {
	name string
	// providers makes the adapter (and any other the test needs) for
	// central's notification routes under notifyBase.
	providers func(tb testing.TB, notifyBase string, clock ticket.Clock) []Provider
	// start asks for the payment of an order as the buyer's browser and
	// checks what the browser was told to do.
	start func(tb testing.TB, f *fixture, order int64)
	// pay has the provider take the buyer's money for the payment key
	// and returns the notification it sends.
	pay func(tb testing.TB, f *fixture, key string) notification
	// forge is a notification of a payment of key that the provider did
	// not sign.
	forge func(tb testing.TB, f *fixture, key string) notification
	// refunded is what the provider holds refunded of key.
	refunded func(tb testing.TB, key string) int64
	// acked tells a taken notification's answer from a refused one's.
	acked func(status int, body string) bool
}

// suite runs the tests every provider must pass.
func suite(t *testing.T, r rig) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Run("pay and callback", func(t *testing.T) {
				f := newFixture(t, dialect, 10, r.bind(t))
				o := f.place(t, 2)
				r.start(t, f, o.ID)
				n := r.pay(t, f, intentKey(o.ID, r.name))
				if st, body := f.notify(t, r.name, n); !r.acked(st, body) {
					t.Fatalf("notification refused: %d %s\n%s", st, body, f.logs)
				}
				got, tickets := f.order(t, o.ID)
				if got.Status != shop.StatusPaid || got.Method != r.name || len(tickets) != 2 {
					t.Fatalf("order after the notification: %s by %q with %d tickets", got.Status, got.Method, len(tickets))
				}
				if m := f.money(t, o.ID); m["payment"] != 25600 || m["payments"] != 1 || m["refunds"] != 0 {
					t.Errorf("transactions: %v, want one payment of 25600", m)
				}
			})
			t.Run("refund and partial refund", func(t *testing.T) {
				f := newFixture(t, dialect, 10, r.bind(t))
				o := f.place(t, 2)
				r.start(t, f, o.ID)
				key := intentKey(o.ID, r.name)
				if st, body := f.notify(t, r.name, r.pay(t, f, key)); !r.acked(st, body) {
					t.Fatalf("notification refused: %d %s", st, body)
				}
				if st, m := f.refund(t, o.ID, 5000, "part-1"); st != 200 || m.Amount != 5000 {
					t.Fatalf("partial refund: %d %+v\n%s", st, m, f.logs)
				}
				if st, m := f.refund(t, o.ID, 5000, "part-1"); st != 200 || m.Amount != 5000 {
					t.Fatalf("the same refund again: %d %+v", st, m)
				}
				if got := r.refunded(t, key); got != 5000 {
					t.Errorf("the provider refunded %d after one partial refund told twice, want 5000", got)
				}
				if o2, _ := f.order(t, o.ID); o2.Status != shop.StatusPaid {
					t.Errorf("a partly refunded order is %s", o2.Status)
				}
				if st, _ := f.refund(t, o.ID, 25600, "too-much"); st != 400 {
					t.Errorf("a refund of more than is left: %d, want 400", st)
				}
				if st, m := f.refund(t, o.ID, 0, "rest"); st != 200 || m.Amount != 20600 {
					t.Fatalf("refund of the rest: %d %+v", st, m)
				}
				if got := r.refunded(t, key); got != 25600 {
					t.Errorf("the provider refunded %d in all, want 25600", got)
				}
				got, tickets := f.order(t, o.ID)
				if got.Status != shop.StatusCancelled {
					t.Errorf("a wholly refunded order is %s, want cancelled", got.Status)
				}
				for _, tk := range tickets {
					if tk.Status != "revoked" {
						t.Errorf("ticket %d of a refunded order is %s", tk.Serial, tk.Status)
					}
				}
				if m := f.money(t, o.ID); m["refund"] != 25600 || m["refunds"] != 2 {
					t.Errorf("transactions: %v, want two refunds making 25600", m)
				}
				// Each refund has its credit note against the invoice.
				icfg := invoice.DefaultConfig(f.db)
				icfg.Clock, icfg.Logger = f.clock, quietLog()
				docs, err := invoice.New(icfg).Ensure(context.Background(), o.ID)
				var totals []int64
				for _, d := range docs {
					totals = append(totals, d.Total)
				}
				if err != nil || !slices.Equal(totals, []int64{25600, -5000, -20600}) || docs[2].Number != "CN-2026-000002" {
					t.Errorf("invoice and credit notes: %v, %v", totals, err)
				}
			})
			t.Run("ticket refunds by the event's ladder", func(t *testing.T) {
				f := newFixture(t, dialect, 10, r.bind(t))
				f.shop.SetRefunder(f.pay)
				ladder := pricing.RefundPolicy{FreeWithin: 48 * time.Hour, Rounding: pricing.RoundHalfEven, Ladder: []pricing.RefundStep{
					{Before: 7 * 24 * time.Hour, Fee: pricing.Percent(20)}, {Before: 24 * time.Hour, Fee: pricing.Percent(50)}}}
				if err := f.shop.SetRefundPolicy(t.Context(), "ops", 1042, ladder); err != nil {
					t.Fatal(err)
				}
				o := f.place(t, 2)
				r.start(t, f, o.ID)
				key := intentKey(o.ID, r.name)
				if st, body := f.notify(t, r.name, r.pay(t, f, key)); !r.acked(st, body) {
					t.Fatalf("notification refused: %d %s", st, body)
				}
				_, tickets := f.order(t, o.ID)
				f.clock.Advance(3 * 24 * time.Hour) // past the free 48 hours: 50%
				res, err := f.shop.Refund(t.Context(), shop.RefundAsk{Order: o.ID, Serials: []uint64{tickets[0].Serial}})
				if err != nil || res.Pending || res.Refund.Amount != 6400 {
					t.Fatalf("refund of one ticket: %+v, %v\n%s", res.Refund, err, f.logs)
				}
				if got := r.refunded(t, key); got != 6400 {
					t.Errorf("the provider refunded %d for one ticket at 50%%, want 6400", got)
				}
				if got, tks := f.order(t, o.ID); got.Status != shop.StatusPaid || tks[1].Status != "valid" || tks[0].Status != "revoked" {
					t.Errorf("after one ticket's refund: order %s, tickets %s and %s", got.Status, tks[0].Status, tks[1].Status)
				}
				res, err = f.shop.Refund(t.Context(), shop.RefundAsk{Order: o.ID})
				if err != nil || res.Pending || res.Refund.Amount != 6400 {
					t.Fatalf("refund of the rest: %+v, %v", res.Refund, err)
				}
				if got := r.refunded(t, key); got != 12800 {
					t.Errorf("the provider refunded %d in all, want 12800", got)
				}
				if got, _ := f.order(t, o.ID); got.Status != shop.StatusCancelled {
					t.Errorf("every ticket refunded: the order is %s, want cancelled", got.Status)
				}
				if m := f.money(t, o.ID); m["refund"] != 12800 || m["refunds"] != 2 {
					t.Errorf("transactions: %v, want two refunds making 12800", m)
				}
			})
			t.Run("forged callback", func(t *testing.T) {
				f := newFixture(t, dialect, 10, r.bind(t))
				o := f.place(t, 1)
				r.start(t, f, o.ID)
				if st, body := f.notify(t, r.name, r.forge(t, f, intentKey(o.ID, r.name))); r.acked(st, body) {
					t.Errorf("a forged notification was taken: %d %s", st, body)
				}
				if got, _ := f.order(t, o.ID); got.Status != shop.StatusPending {
					t.Errorf("a forged notification moved the order to %s", got.Status)
				}
				if m := f.money(t, o.ID); len(m) != 0 {
					t.Errorf("a forged notification recorded %v", m)
				}
				if !strings.Contains(f.logs.String(), "payment notification refused") {
					t.Errorf("the forged notification was not logged:\n%s", f.logs)
				}
			})
			t.Run("replayed callback", func(t *testing.T) {
				f := newFixture(t, dialect, 10, r.bind(t))
				o := f.place(t, 1)
				r.start(t, f, o.ID)
				n := r.pay(t, f, intentKey(o.ID, r.name))
				for i := 0; i < 3; i++ {
					if st, body := f.notify(t, r.name, n); !r.acked(st, body) {
						t.Fatalf("notification %d refused: %d %s", i, st, body)
					}
				}
				got, tickets := f.order(t, o.ID)
				if got.Status != shop.StatusPaid || len(tickets) != 1 {
					t.Errorf("order after a replay: %s with %d tickets", got.Status, len(tickets))
				}
				if m := f.money(t, o.ID); m["payments"] != 1 || m["refunds"] != 0 {
					t.Errorf("transactions after a replay: %v", m)
				}
				if r.refunded(t, intentKey(o.ID, r.name)) != 0 {
					t.Error("a replay refunded the payment")
				}
				if !strings.Contains(f.logs.String(), "payment notification replayed") {
					t.Errorf("the replay was not logged")
				}
			})
			t.Run("late payment, stock still there", func(t *testing.T) {
				f := newFixture(t, dialect, 2, r.bind(t))
				o := f.place(t, 2)
				r.start(t, f, o.ID)
				f.clock.Advance(16 * time.Minute)
				if got, _ := f.order(t, o.ID); got.Status != shop.StatusExpired {
					t.Fatalf("order after its hold: %s", got.Status)
				}
				if st, body := f.notify(t, r.name, r.pay(t, f, intentKey(o.ID, r.name))); !r.acked(st, body) {
					t.Fatalf("late notification refused: %d %s", st, body)
				}
				if got, tickets := f.order(t, o.ID); got.Status != shop.StatusPaid || len(tickets) != 2 {
					t.Errorf("a late payment with the stock there: %s with %d tickets, want paid", got.Status, len(tickets))
				}
				if r.refunded(t, intentKey(o.ID, r.name)) != 0 {
					t.Error("a late payment with the stock there was refunded")
				}
			})
			t.Run("late payment, sold out meanwhile", func(t *testing.T) {
				f := newFixture(t, dialect, 2, r.bind(t))
				o := f.place(t, 2)
				r.start(t, f, o.ID)
				f.clock.Advance(16 * time.Minute)
				other := f.place(t, 2) // the stock came back and sold again
				if _, _, err := f.shop.Pay(t.Context(), other.ID, shop.MethodTest); err != nil {
					t.Fatal(err)
				}
				if st, body := f.notify(t, r.name, r.pay(t, f, intentKey(o.ID, r.name))); !r.acked(st, body) {
					t.Fatalf("late notification refused: %d %s\n%s", st, body, f.logs)
				}
				if got, tickets := f.order(t, o.ID); got.Status != shop.StatusExpired || len(tickets) != 0 {
					t.Errorf("a late payment of sold-out stock: %s with %d tickets, want expired", got.Status, len(tickets))
				}
				if got := r.refunded(t, intentKey(o.ID, r.name)); got != 25600 {
					t.Errorf("the provider refunded %d of a late payment of sold-out stock, want 25600", got)
				}
				if m := f.money(t, o.ID); m["payment"] != 25600 || m["refund"] != 25600 {
					t.Errorf("transactions: %v, want the payment and its refund", m)
				}
				// Told again, it refunds nothing more.
				f.notify(t, r.name, r.pay(t, f, intentKey(o.ID, r.name)))
				if m := f.money(t, o.ID); m["refunds"] != 1 {
					t.Errorf("transactions after the notification again: %v", m)
				}
			})
		})
	}
}

// bind adapts the rig's providers to the fixture's constructor.
func (r rig) bind(tb testing.TB) func(string, ticket.Clock) []Provider {
	return func(base string, clock ticket.Clock) []Provider { return r.providers(tb, base, clock) }
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
