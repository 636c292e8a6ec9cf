package storefront

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/pricing"
)

// loggedIn is a client logged in as a new verified buyer.
func (f *fixture) loggedIn(t *testing.T, email string) *client {
	t.Helper()
	if _, err := f.shop.AddVerifiedBuyer(context.Background(), shop.Registration{Email: email, Password: "a long password", Name: "Wang Fang"}); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	tok := c.csrf("/login")
	if st, _, _ := c.post("/login", url.Values{"csrf": {tok}, "email": {email}, "password": {"a long password"}}); st != 303 {
		t.Fatalf("login %s: %d", email, st)
	}
	return c
}

// pdfTextOf reads a PDF back with poppler.
func pdfTextOf(t *testing.T, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	return string(text)
}

// The buyer of a paid order sets a company's invoice title and tax
// number, gets the 数电票, downloads the invoice's PDF from the order
// page and, once the order is cancelled, the credit note's; another buyer
// gets none of them.
func TestInvoiceDownload(t *testing.T) {
	f := newFixture(t, 100)
	ctx := context.Background()
	c := f.loggedIn(t, "wang@example.org")
	o, err := f.shop.Place(ctx, mustAccount(t, f, "wang@example.org"), shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	order := "/orders/" + strconv.FormatInt(o.ID, 10)
	if _, body := get2(c, order+"?lang=en"); strings.Contains(body, `id="invoice-pdf"`) || strings.Contains(body, `id="request-einvoice"`) ||
		!strings.Contains(body, `id="invoice-title-form"`) {
		t.Error("an unpaid order shows an invoice, or offers no title for the invoice to come")
	}
	if st, _, _ := c.get(order + "/invoice.pdf"); st != 404 {
		t.Errorf("the invoice of an unpaid order: %d, want 404", st)
	}
	if _, _, err := f.shop.Pay(ctx, o.ID, shop.MethodTest); err != nil {
		t.Fatal(err)
	}
	_, body := get2(c, order+"?lang=en")
	for _, want := range []string{`id="invoices"`, "Invoice (PDF)", "INV-2026-000001", `href="` + order + `/invoice.pdf"`, `id="invoice-title-form"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the order page lacks %q", want)
		}
	}
	if _, body := get2(c, order+"?lang=zh"); !strings.Contains(body, "发票（PDF）") {
		t.Error("the Chinese order page lacks 发票（PDF）")
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	st, _, body := c.post(order+"/invoice-title", url.Values{"csrf": {tok}, "title": {"深圳市腾讯计算机系统有限公司"}, "tax_id": {"91440300708461136X"}, "einvoice": {"1"}})
	if st != 400 || !strings.Contains(body, `id="error"`) || !strings.Contains(body, "统一社会信用代码") {
		t.Errorf("a bad tax number: %d", st)
	}
	if st, _, body := c.post(order+"/invoice-title?lang=en", url.Values{"csrf": {tok}, "title": {"  "}}); st != 400 || !strings.Contains(body, "Enter the invoice title") {
		t.Errorf("an empty title: %d", st)
	}
	if len(f.einv.Issued()) != 0 {
		t.Error("an e-invoice was issued with a bad tax number")
	}
	st, loc, _ := c.post(order+"/invoice-title", url.Values{"csrf": {tok}, "title": {"深圳市腾讯计算机系统有限公司"}, "tax_id": {"91440300708461136t"}, "einvoice": {"1"}})
	if st != 303 || !strings.Contains(loc, "done=einvoice") {
		t.Fatalf("title and e-invoice: %d %s", st, loc)
	}
	issued := f.einv.Issued()
	if len(issued) != 1 {
		t.Fatalf("the platform issued %+v", issued)
	}
	var blue string
	for no := range issued {
		blue = no
	}
	if _, body := get2(c, order+"?lang=en"); !strings.Contains(body, "E-invoice no. "+blue) || strings.Contains(body, `id="invoice-title-form"`) {
		t.Error("the order page does not show the e-invoice's number (or still offers to issue one)")
	}
	st, _, pdf := c.get(order + "/invoice.pdf")
	if st != 200 || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("invoice.pdf: %d", st)
	}
	// The invoice was issued with the account's name; the e-invoice with
	// the title set since.
	text := pdfTextOf(t, pdf)
	for _, want := range []string{"INV-2026-000001", "Wang Fang", blue, "¥256.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the invoice's PDF lacks %q:\n%s", want, text)
		}
	}

	other := f.loggedIn(t, "li@example.org")
	for _, p := range []string{order + "/invoice.pdf", order + "/credit-notes/CN-2026-000001.pdf"} {
		if st, _, body := other.get(p); st != 404 || strings.HasPrefix(body, "%PDF") {
			t.Errorf("another buyer: %s: %d, want 404", p, st)
		}
	}
	if st, loc, _ := f.client(t).get(order + "/invoice.pdf"); st != 303 || !strings.HasPrefix(loc, "/login") {
		t.Errorf("nobody logged in: %d %s", st, loc)
	}

	if _, err := f.shop.Cancel(ctx, o.ID, "refunded at the counter"); err != nil {
		t.Fatal(err)
	}
	_, body = get2(c, order+"?lang=en")
	if !strings.Contains(body, "CN-2026-000001") || !strings.Contains(body, order+"/credit-notes/CN-2026-000001.pdf") || !strings.Contains(body, "Red e-invoice no.") {
		t.Errorf("the order page lacks the credit note and its red e-invoice")
	}
	st, _, pdf = c.get(order + "/credit-notes/CN-2026-000001.pdf")
	if st != 200 || !strings.Contains(pdfTextOf(t, pdf), "-¥256.00") {
		t.Errorf("the credit note's PDF: %d", st)
	}
	if st, _, _ := other.get(order + "/credit-notes/CN-2026-000001.pdf"); st != 404 {
		t.Errorf("another buyer's credit note: %d", st)
	}
	if st, _, _ := c.get(order + "/credit-notes/CN-2026-000009.pdf"); st != 404 {
		t.Errorf("an unknown credit note: %d", st)
	}

	// A title set before paying is the invoice's.
	o2, err := f.shop.Place(ctx, mustAccount(t, f, "wang@example.org"), shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	order2 := "/orders/" + strconv.FormatInt(o2.ID, 10)
	if st, loc, _ := c.post(order2+"/invoice-title", url.Values{"csrf": {tok}, "title": {"北京演出票务有限公司"}, "tax_id": {"91110108551385082Q"}}); st != 303 ||
		!strings.Contains(loc, "done=title") {
		t.Fatalf("the title of a pending order: %d %s", st, loc)
	}
	if _, _, err := f.shop.Pay(ctx, o2.ID, shop.MethodTest); err != nil {
		t.Fatal(err)
	}
	_, _, pdf = c.get(order2 + "/invoice.pdf")
	if text := pdfTextOf(t, pdf); !strings.Contains(text, "INV-2026-000002") || !strings.Contains(text, "北京演出票务有限公司") || !strings.Contains(text, "91110108551385082Q") {
		t.Errorf("the invoice of an order whose title was set before paying:\n%s", text)
	}
}

func get2(c *client, path string) (int, string) {
	c.tb.Helper()
	st, _, body := c.get(path)
	if st != 200 {
		c.tb.Fatalf("%s: %d", path, st)
	}
	return st, body
}
