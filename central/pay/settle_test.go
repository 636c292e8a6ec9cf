package pay

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/pay/paysim"
	"github.com/tixgate/tixgate/central/settle"
	"github.com/tixgate/tixgate/central/store"
)

// TestReconcileWithBills pays four orders and refunds part of one
// through each Chinese provider's simulator, fetches the day's bill the
// way central does (signed requests, the download checked), and
// reconciles it: everything matches and the service fees are recorded
// once however often the day is run. Then a bill with a payment dropped,
// an amount changed and a stranger's payment added: each is found, as
// missing on theirs, amount differs and missing on ours.
func TestReconcileWithBills(t *testing.T) {
	ar, asim := alipayRig(t)
	wr, wsim := wechatRig(t)
	for _, c := range []struct {
		rig  rig
		edit func(func([]paysim.BillRow) []paysim.BillRow)
	}{
		{ar, func(e func([]paysim.BillRow) []paysim.BillRow) { (*asim).BillEdit = e }},
		{wr, func(e func([]paysim.BillRow) []paysim.BillRow) { (*wsim).BillEdit = e }},
	} {
		for _, dialect := range dialects() {
			t.Run(c.rig.name+"/"+string(dialect), func(t *testing.T) {
				ctx := context.Background()
				r := c.rig
				f := newFixture(t, dialect, 20, r.bind(t))
				var orders []store.ShopOrder
				for range 4 {
					o := f.place(t, 1)
					r.start(t, f, o.ID)
					if st, body := f.notify(t, r.name, r.pay(t, f, intentKey(o.ID, r.name))); !r.acked(st, body) {
						t.Fatalf("notification refused: %d %s", st, body)
					}
					orders = append(orders, o)
				}
				if st, _ := f.refund(t, orders[0].ID, 5000, "part-1"); st != 200 {
					t.Fatalf("refund: %d\n%s", st, f.logs)
				}
				day := f.clock.Now().In(settle.Location)
				f.clock.Advance(24 * time.Hour) // a bill is there the day after

				run := func() settle.Result {
					t.Helper()
					file, err := f.pay.Bill(ctx, r.name, day)
					if err != nil {
						t.Fatal(err)
					}
					lines, err := settle.Parse(r.name, file)
					if err != nil {
						t.Fatal(err)
					}
					res, err := settle.Reconcile(ctx, f.db, r.name, day, lines, file, "fetched", "central", f.clock.Now())
					if err != nil {
						t.Fatal(err)
					}
					return res
				}
				res := run()
				if res.Run.Matched != 5 || len(res.Items) != 0 || res.Run.Lines != 5 {
					t.Fatalf("a bill that agrees: %+v, items %+v", res.Run, res.Items)
				}
				fee := (12800*paysim.FeeRate + 5000) / 10000
				if res.Run.Fees != int64(4*fee) {
					t.Errorf("fees %d, want %d", res.Run.Fees, 4*fee)
				}
				run() // the same day again
				var fees int64
				for _, o := range orders {
					fees += f.money(t, o.ID)["fees"]
				}
				if fees != 4 {
					t.Errorf("%d fee transactions after two runs, want 4", fees)
				}

				// Planted: one payment the bill lacks, one amount that
				// differs, one payment central never heard of.
				lost, changed := intentKey(orders[1].ID, r.name), intentKey(orders[2].ID, r.name)
				c.edit(func(rows []paysim.BillRow) []paysim.BillRow {
					var out []paysim.BillRow
					for _, row := range rows {
						switch {
						case row.OutTradeNo == lost && !row.Refund:
							continue
						case row.OutTradeNo == changed && !row.Refund:
							row.Amount -= 100
						}
						out = append(out, row)
					}
					stranger := rows[0]
					stranger.Refund, stranger.TradeNo, stranger.OutTradeNo, stranger.Amount = false, "4200009999202606069999", "elsewhere-1", 9900
					return append(out, stranger)
				})
				defer c.edit(nil)
				res = run()
				got := map[string][]int64{}
				for _, it := range res.Items {
					got[it.Status] = append(got[it.Status], it.Order, it.OurAmount, it.TheirAmount)
				}
				want := map[string][]int64{
					store.SettleMissingTheirs: {orders[1].ID, 12800, 0},
					store.SettleAmountDiffers: {orders[2].ID, 12800, 12700},
					store.SettleMissingOurs:   {0, 0, 9900},
				}
				for status, w := range want {
					if !slices.Equal(got[status], w) {
						t.Errorf("%s: order, ours, theirs %v, want %v", status, got[status], w)
					}
				}
				if res.Run.Matched != 3 || res.Run.MissingOurs != 1 || res.Run.MissingTheirs != 1 || res.Run.AmountDiffers != 1 {
					t.Errorf("run %+v", res.Run)
				}
				open, err := f.db.SettleItems(ctx, store.SettleFilter{Provider: r.name, Open: true})
				if err != nil || len(open) != 3 {
					t.Fatalf("open items: %d, %v", len(open), err)
				}
				resolve := func(note string) error {
					return f.db.Update(ctx, func(tx *store.Tx) error {
						return tx.ResolveSettleItem(open[0].ID, "finance@example.org", note, f.clock.Now())
					})
				}
				if err := resolve("asked the provider"); err != nil {
					t.Fatal(err)
				}
				if err := resolve("again"); err == nil {
					t.Error("an item resolved twice")
				}
				if open, _ = f.db.SettleItems(ctx, store.SettleFilter{Provider: r.name, Open: true}); len(open) != 2 {
					t.Errorf("%d open items after one resolved, want 2", len(open))
				}
			})
		}
	}
}
