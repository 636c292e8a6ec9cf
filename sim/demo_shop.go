package sim

import (
	"context"
	"fmt"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/pricing"
)

// DemoBuyer is the storefront's demo buyer in demo.json: an account whose
// email is confirmed already, to buy with the test payment.
type DemoBuyer struct {
	URL      string `json:"url"` // the storefront
	Email    string `json:"email"`
	Password string `json:"password"`
	Promo    string `json:"promo"` // a voucher code on sale
}

const demoBuyerEmail, demoPromo = "buyer@demo.example", "DEMO10"

// putOnSale puts the sample event's types on central's storefront, with a
// voucher, and makes the demo buyer.
func (d *Demo) putOnSale(ctx context.Context, info *DemoInfo) error {
	prices := map[uint64]int64{DemoGeneral: 18_000, DemoVIP: 58_000}
	for _, t := range info.Types {
		o := shop.Offer{Event: DemoEvent, Type: t.ID, Price: pricing.New(prices[t.ID], pricing.CNY), Quota: int64(max(50, d.cfg.Tickets/10)), MaxPerOrder: 10}
		if err := d.Central.Shop.PutOffer(ctx, o); err != nil {
			return fmt.Errorf("demo: storefront: %w", err)
		}
	}
	err := d.Central.Shop.PutPromotion(ctx, DemoEvent, pricing.Promotion{ID: "demo10", Name: "Demo 10%", Code: demoPromo, Off: pricing.Percent(10),
		Rounding: pricing.RoundHalfEven, Limit: 1000})
	if err != nil {
		return fmt.Errorf("demo: storefront: %w", err)
	}
	pw, err := randomSecret(12)
	if err != nil {
		return err
	}
	if _, err := d.Central.Shop.AddVerifiedBuyer(ctx, shop.Registration{Email: demoBuyerEmail, Password: pw, Name: "Demo Buyer"}); err != nil {
		return fmt.Errorf("demo: storefront: %w", err)
	}
	info.Buyer = DemoBuyer{Email: demoBuyerEmail, Password: pw, Promo: demoPromo}
	d.say("central: the storefront sells event %d (voucher %s); demo buyer %s", DemoEvent, demoPromo, demoBuyerEmail)
	return nil
}
