package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/pricing"
)

func quotaCommands() *command {
	return &command{name: "quotas", summary: "seller handhelds' offline quotas", subs: []*command{
		{name: "allocate", usage: "--db DSN --data DIR --device NAME --event N --type N --count N --price 120.00 [--currency CNY] [--until TIME] [--request-block N --request-max N]",
			summary: "reserve a block of serials for a seller, certify it for the device's key and sign it and its price list into the manifest", run: runCentralQuotasAllocate},
		{name: "list", usage: "--db DSN --data DIR [--device NAME]", summary: "list the seller quotas", run: runCentralQuotasList},
		{name: "cap", usage: "--db DSN --data DIR --quota ID --keep N [--reason TEXT]", summary: "keep a quota's first N serials; the unsold rest is revoked everywhere", run: runCentralQuotasCap},
		{name: "revoke", usage: "--db DSN --data DIR --quota ID [--reason TEXT]", summary: "revoke a quota: every unsold serial of its block is revoked everywhere", run: runCentralQuotasRevoke},
	}}
}

func (c *centralEnv) quotas(e *env) *quota.Quotas {
	cfg := quota.DefaultConfig(c.db, c.keys, c.catalog(e))
	cfg.Clock, cfg.Logger = clockFunc(e.now), e.log
	return quota.New(cfg)
}

func runCentralQuotasAllocate(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	device := cl.String("device", "", "the seller device's name")
	var event, typ, count, reqBlock, reqMax uintFlag
	cl.Var(&event, "event", "event id")
	cl.Var(&typ, "type", "ticket type id")
	cl.Var(&count, "count", "serials in the block: the most the device can sell offline")
	price := cl.String("price", "", "price of one ticket, a decimal amount: 120.00")
	currency := cl.String("currency", "CNY", "ISO 4217 currency of the price")
	until := cl.String("until", "", "end of the block's validity, RFC 3339 (default: the event's end); its tickets are refused at the gates after it")
	cl.Var(&reqBlock, "request-block", "let the device ask for blocks of this many serials on its own")
	cl.Var(&reqMax, "request-max", "…while it holds at most this many serials of the event and type")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "device": *device != "", "event": event.set, "type": typ.set,
		"count": count.set, "price": *price != ""}); err != nil {
		return err
	}
	amount, err := parsePrice(*price, *currency)
	if err != nil {
		return err
	}
	cur := amount.Currency()
	end, err := parseWhen("until", *until)
	if err != nil {
		return err
	}
	if reqBlock.set != reqMax.set {
		return usageError("--request-block and --request-max go together")
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := c.quotas(e).Allocate(ctx, quota.Allocation{Device: *device, Event: event.v, Type: typ.v, Count: count.v, Price: amount.Minor(),
		Currency: cur.String(), Until: end, RequestBlock: reqBlock.v, RequestMax: reqMax.v})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "quota %d: %s may sell event %d type %d, serials %d-%d, at %s, until %s\n", q.ID, q.Device, q.Event, q.Type,
		q.SerialMin, q.SerialMax, pricing.New(q.Price, cur), q.NotAfter.Format(time.RFC3339))
	return nil
}

func runCentralQuotasList(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	device := cl.String("device", "", "only this device's quotas")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	qs, err := c.db.Quotas(ctx, *device)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDEVICE\tEVENT\tTYPE\tSERIALS\tSELLABLE TO\tPRICE\tUNTIL\tSTATUS")
	for _, q := range qs {
		price := strconv.FormatInt(q.Price, 10) + " " + q.Currency
		if cur, err := pricing.ParseCurrency(q.Currency); err == nil {
			price = pricing.New(q.Price, cur).String()
		}
		kept := strconv.FormatUint(q.KeptMax, 10)
		if q.KeptMax < q.SerialMin {
			kept = "-"
		}
		status := q.Status
		if q.Asked {
			status += " (asked)"
		}
		if q.Reason != "" {
			status += ": " + q.Reason
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d-%d\t%s\t%s\t%s\t%s\n", q.ID, q.Device, q.Event, q.Type, q.SerialMin, q.SerialMax, kept, price,
			q.NotAfter.Format(time.RFC3339), status)
	}
	return tw.Flush()
}

func runCentralQuotasCap(ctx context.Context, e *env, cl *cmdline) error {
	return capQuota(ctx, e, cl, true)
}

func runCentralQuotasRevoke(ctx context.Context, e *env, cl *cmdline) error {
	return capQuota(ctx, e, cl, false)
}

func capQuota(ctx context.Context, e *env, cl *cmdline, capping bool) error {
	dsn, data := centralFlags(cl)
	var id, keep uintFlag
	cl.Var(&id, "quota", "the quota's id (tixgate central quotas list)")
	if capping {
		cl.Var(&keep, "keep", "how many of the block's first serials the device keeps")
	}
	reason := cl.String("reason", "", "why (recorded, and told to the venue's devices)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "quota": id.set, "keep": keep.set || !capping}); err != nil {
		return err
	}
	if capping && keep.v == 0 {
		return usageError("--keep 0 keeps nothing: use tixgate central quotas revoke")
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	q, n, err := c.quotas(e).Cap(ctx, int64(id.v), keep.v, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "quota %d of %s: %s; %d unsold serials revoked\n", q.ID, q.Device, q.Status, n)
	return nil
}
