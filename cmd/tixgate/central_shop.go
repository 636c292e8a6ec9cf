package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/pricing"
)

func runCentralShopOffer(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	var event, typ, quota, maxPer uintFlag
	cl.Var(&event, "event", "event id")
	cl.Var(&typ, "type", "ticket type id")
	price := cl.String("price", "", "price of one ticket, a decimal amount: 128.00")
	currency := cl.String("currency", "CNY", "ISO 4217 currency of the price")
	cl.Var(&quota, "quota", "how many tickets of the type are on sale online in all")
	vip := cl.Bool("vip", false, "only VIP members may buy the type")
	from := cl.String("from", "", "on sale from, RFC 3339 (default: now)")
	until := cl.String("until", "", "on sale until, RFC 3339 (default: open)")
	cl.Var(&maxPer, "max-per-order", "the most tickets of the type one order may hold (default: no limit)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "event": event.set, "type": typ.set, "price": *price != "", "quota": quota.set}); err != nil {
		return err
	}
	amount, err := parsePrice(*price, *currency)
	if err != nil {
		return err
	}
	o := shop.Offer{Event: event.v, Type: typ.v, Price: amount, Quota: int64(quota.v), MaxPerOrder: int(maxPer.v)}
	if *vip {
		o.Roles = []string{"vip"}
	}
	if o.SaleFrom, err = parseWhen("from", *from); err != nil {
		return err
	}
	if o.SaleUntil, err = parseWhen("until", *until); err != nil {
		return err
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg := shop.DefaultConfig(c.db, c.catalog(e))
	cfg.Clock, cfg.Logger = clockFunc(e.now), e.log
	if err := shop.New(cfg).PutOffer(ctx, o); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "event %d type %d on sale online: %d tickets at %s\n", o.Event, o.Type, o.Quota, amount)
	return nil
}

// parsePrice reads a decimal price in a currency: "128.00" "CNY".
func parsePrice(price, currency string) (pricing.Money, error) {
	cur, err := pricing.ParseCurrency(currency)
	if err != nil {
		return pricing.Money{}, usageError("--currency: %v", err)
	}
	amount, err := pricing.Parse(price, cur)
	if err != nil {
		return pricing.Money{}, usageError("--price: %v", err)
	}
	return amount, nil
}

// parseWhen reads an RFC 3339 flag; empty is the zero time.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, usageError("--%s %q: want a time like 2026-06-12T23:00:00+08:00", flag, s)
	}
	return t, nil
}
