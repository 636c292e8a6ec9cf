package central

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/report"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// The buyers' figures of a fixture worked out by hand: who bought, who
// bought for another event too, the hours from the sale start to the
// online sales, and the events the same buyers bought for.
func TestBuyersReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		tok, _ := AddAPIToken(ctx, f.db, f.clock, "audit-bot", "read", []string{"read"})
		onSale := now0.Add(-100 * time.Hour)
		if err := f.srv.Shop.PutOffer(ctx, shop.Offer{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 100, SaleFrom: onSale}); err != nil {
			t.Fatal(err)
		}
		// Buyers 1-4 at event 1042; 1 and 2 also at 7001, 1 also at 7002
		// (refunded: not counted as bought), 3 also at 7002. A walk-up
		// (buyer 0) counts for nobody.
		facts := []struct {
			event, serial uint64
			buyer         int64
			channel       string
			after         time.Duration // after the sale start
			refunded      bool
		}{
			{1042, 1, 1, store.ChannelOnline, 30 * time.Minute, false},
			{1042, 2, 2, store.ChannelOnline, 90 * time.Minute, false},
			{1042, 3, 3, store.ChannelOnline, 2*time.Hour + time.Minute, false},
			{1042, 4, 4, store.ChannelOnline, 50 * time.Hour, false},
			{1042, 5, 0, store.ChannelSeller, 60 * time.Hour, false},
			{7001, 1, 1, store.ChannelOnline, 70 * time.Hour, false},
			{7001, 2, 2, store.ChannelOnline, 70 * time.Hour, false},
			{7002, 1, 1, store.ChannelOnline, 71 * time.Hour, true},
			{7002, 2, 3, store.ChannelOnline, 72 * time.Hour, false},
		}
		err := f.db.Update(ctx, func(tx *store.Tx) error {
			for _, fc := range facts {
				at := onSale.Add(fc.after)
				if err := tx.AddSaleFact(store.SaleFact{Event: fc.event, Serial: fc.serial, Type: 1, Channel: fc.channel, Method: "alipay", Currency: "CNY",
					Amount: 12800, SoldAt: at, Day: at.Format(time.DateOnly), Hour: at.Hour(), Buyer: fc.buyer}); err != nil {
					return err
				}
				if fc.refunded {
					if err := tx.RefundFactFully(fc.event, fc.serial, at.Add(time.Hour)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		code, b := f.get("/api/v1/reports/buyers?event=1042&from=2026-06-01&until=2026-06-13", tok)
		var rep report.Buyers
		if code != http.StatusOK || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("%d %s", code, b)
		}
		// Buyers 1-4; 1, 2 and 3 bought for another event (1's 7002 was
		// refunded, but 7001 counts). Hours after the start of event
		// 1042's four online sales: 0, 1, 2, 50: the median is 1 (the
		// second of four), the 90th percentile 50.
		if rep.Buyers != 4 || rep.RepeatBuyers != 3 || rep.SinceOnSale.Tickets != 4 || rep.SinceOnSale.P50 != 1 || rep.SinceOnSale.P90 != 50 {
			t.Errorf("buyers %d, repeat %d, since on-sale %+v", rep.Buyers, rep.RepeatBuyers, rep.SinceOnSale)
		}
		// 7001: buyers 1 and 2; 7002: buyer 3 (buyer 1's refunded).
		if len(rep.AlsoBought) != 2 || rep.AlsoBought[0].Event != 7001 || rep.AlsoBought[0].Buyers != 2 || rep.AlsoBought[1].Event != 7002 || rep.AlsoBought[1].Buyers != 1 {
			t.Errorf("also bought %+v", rep.AlsoBought)
		}
	})
}
