package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/store"
)

// runCentralInvoiceSettings sets how an organizer invoices.
func runCentralInvoiceSettings(ctx context.Context, e *env, cl *cmdline) error {
	dsn, data := centralFlags(cl)
	org := cl.String("organizer", "", "the organizer (a venue's, as imported; by default the venue's name)")
	inv := cl.String("invoice-prefix", "INV", "the invoices' prefix: INV numbers INV-2026-000001")
	cn := cl.String("credit-prefix", "CN", "the credit notes' prefix")
	name := cl.String("seller-name", "", "the seller printed on invoices (default: the organizer's name)")
	taxID := cl.String("seller-tax-id", "", "the seller's tax number (a unified social credit code in China, a VAT number elsewhere)")
	addr := cl.String("seller-address", "", "the seller's address, one line")
	rate := cl.String("tax-rate", "0", "the tax the prices include, in percent: 6, 13, 7.5; 0 prints no tax")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "organizer": *org != ""}); err != nil {
		return err
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(*rate, "%"), 64)
	if err != nil || pct < 0 || pct > 100 {
		return usageError("central invoice settings: --tax-rate %q: want a percentage from 0 to 100", *rate)
	}
	c, err := openCentral(ctx, e, *dsn, *data)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg := invoice.DefaultConfig(c.db)
	cfg.Clock, cfg.Logger = clockFunc(e.now), e.log
	s := store.InvoiceSettings{Organizer: *org, InvoicePrefix: *inv, CreditPrefix: *cn, SellerName: *name, SellerTaxID: *taxID, SellerAddress: *addr,
		TaxRate: int(math.Round(pct * 100))}
	if err := invoice.New(cfg).PutSettings(ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "organizer %s invoices as %s-YYYY-NNNNNN and credits as %s-YYYY-NNNNNN, tax %s%%\n", s.Organizer, s.InvoicePrefix, s.CreditPrefix,
		strconv.FormatFloat(float64(s.TaxRate)/100, 'f', -1, 64))
	return nil
}

// eInvoicer is the e-invoicing platform from central's flags; nil
// without --einvoice-url. Its secret comes from TIXGATE_EINVOICE_SECRET,
// never from a flag (flags show in the process list).
func eInvoicer(url, appID string, e *env) (invoice.Provider, error) {
	if url == "" {
		return nil, nil
	}
	secret := os.Getenv("TIXGATE_EINVOICE_SECRET")
	if appID == "" || secret == "" {
		return nil, usageError("central: --einvoice-url needs --einvoice-app-id and the app secret in TIXGATE_EINVOICE_SECRET")
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://127.0.0.1") && !strings.HasPrefix(url, "http://localhost") {
		return nil, usageError("central: --einvoice-url %q: want https:// (plain http only to this machine)", url)
	}
	return &invoice.ChinaPlatform{BaseURL: url, AppID: appID, Secret: secret, Clock: clockFunc(e.now)}, nil
}
