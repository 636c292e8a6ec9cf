package storefront_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/invoice/einvsim"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// The order page's invoices in headless Chromium: a paid order with a
// partial refund shows its invoice and credit note to download and the
// form for the e-invoice's title and tax number; issuing the 数电票 from
// it shows the official number. Screenshots at phone and desktop size in
// Chinese and English (to $TIXGATE_SCREENS when set).
func TestInvoicesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	sim := einvsim.New("tixgate-test", "test-secret-0123456789")
	v := newVenueWith(t, func(cfg *central.Config) {
		sim.Now = cfg.Clock.Now
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		cfg.EInvoice = &invoice.ChinaPlatform{BaseURL: srv.URL, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: cfg.Clock}
	})
	ctx := context.Background()
	if err := v.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutInvoiceSettings(store.InvoiceSettings{Organizer: "arena", SellerName: "北京演出票务有限公司", SellerTaxID: "91110108551385082Q",
			SellerAddress: "北京市海淀区中关村大街 1 号", TaxRate: 600})
	}); err != nil {
		t.Fatal(err)
	}
	const email, pw = "zhang.min@example.org", "correct horse battery"
	a, err := v.srv.Shop.AddVerifiedBuyer(ctx, shop.Registration{Email: email, Password: pw, Name: "张敏"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := v.srv.Shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 2}, {Type: 2, Quantity: 1}}, Promo: "FRIENDS"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.srv.Shop.Pay(ctx, o.ID, shop.MethodTest); err != nil {
		t.Fatal(err)
	}
	// A partial refund, as the payment layer records one.
	if err := v.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AddPayTransaction(store.PayTransaction{Kind: store.PayRefund, Provider: "alipay", Reference: "r-one-ticket", Intent: "k",
			Order: o.ID, Account: a.ID, Amount: 10240, Currency: "CNY", At: concert})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	base := v.http.URL
	br := newBrowser(t)
	run, js := br.run, br.js
	run("log in", chromedp.Navigate(base+"/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("events")))
	order := fmt.Sprintf("/orders/%d", o.ID)
	pending, err := v.srv.Shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	br.screens(base, [3]string{"order-invoices", order, "#invoice-pdf"}, [3]string{"order-pending-title", fmt.Sprintf("/orders/%d", pending.ID), "#invoice-title-form"})
	run("the English page", chromedp.Navigate(base+order+"?lang=en"), chromedp.WaitVisible(chromedp.ID("invoice-pdf")))
	if got := js(`document.getElementById("invoice-pdf").textContent`); got != "Invoice (PDF)" {
		t.Errorf("the invoice link says %q", got)
	}
	if got := js(`document.getElementById("credit-notes").textContent`); !strings.Contains(got, "CN-2026-000001") || !strings.Contains(got, "-CN¥102.40") {
		t.Errorf("the credit notes say %q", got)
	}
	// The invoice's PDF, fetched as the page's link does with the
	// buyer's cookie.
	got := js(`fetch(document.getElementById("invoice-pdf").href).then(r => r.status + " " + r.headers.get("content-type"))`)
	if got != "200 application/pdf" {
		t.Errorf("the invoice link answers %q", got)
	}
	run("issue the e-invoice", chromedp.SetValue(chromedp.ID("inv-title"), "深圳市腾讯计算机系统有限公司"),
		chromedp.SendKeys(chromedp.ID("inv-tax"), "91440300708461136T"),
		chromedp.Click(chromedp.ID("request-einvoice")), chromedp.WaitVisible(chromedp.ID("einvoice-no")))
	if n := len(sim.Issued()); n != 2 { // the blue one, and the red one of the refund
		t.Errorf("the platform issued %d e-invoices, want 2", n)
	}
	br.screens(base, [3]string{"order-einvoice", order, "#einvoice-no"})

	// An auditor finds the order at the ops screens' box office and gets
	// its documents there.
	if err := v.srv.Accounts.Add(ctx, "auditor", staff.Auditor, "correct horse staple", "test"); err != nil {
		t.Fatal(err)
	}
	run("auditor logs in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "auditor"), chromedp.SendKeys(chromedp.ID("password"), "correct horse staple"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitNotPresent(chromedp.ID("login")))
	ops := fmt.Sprintf("/ops/orders?order=%d", o.ID)
	br.screens(base, [3]string{"ops-boxoffice-invoices", ops, "#order-docs"})
	run("the ops order", chromedp.Navigate(base+ops+"&lang=en"), chromedp.WaitVisible(chromedp.ID("order-docs")))
	if got := js(`document.getElementById("order-docs").textContent`); !strings.Contains(got, "INV-2026-000001") || !strings.Contains(got, "CN-2026-000001 · credit note") {
		t.Errorf("the ops order lists %q", got)
	}
	got = js(`fetch(document.querySelector("#order-docs a").href).then(r => r.status + " " + r.headers.get("content-type"))`)
	if got != "200 application/pdf" {
		t.Errorf("the ops invoice link answers %q", got)
	}
}
