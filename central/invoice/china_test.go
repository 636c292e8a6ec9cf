package invoice

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/invoice/einvsim"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// platform starts the simulated e-invoicing platform over HTTP.
func platform(tb testing.TB, f *fixture) (*einvsim.Server, string) {
	tb.Helper()
	sim := einvsim.New("tixgate-test", "test-secret-0123456789")
	sim.Now = f.clock.Now
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	return sim, srv.URL
}

// A buyer asks for the 数电票 of a paid order with their company's title
// and tax number: the platform issues a blue invoice (asking again issues
// nothing more); a partial refund reverses that much with a red one
// against it, and the platform holds the rest as not reversed.
func TestEInvoiceAgainstSimulator(t *testing.T) {
	var sim *einvsim.Server
	f := newFixture(t, store.SQLite, nil)
	sim, url := platform(t, f)
	f.inv.cfg.EInvoice = &ChinaPlatform{BaseURL: url, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: f.clock}
	ctx := context.Background()
	if err := f.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutInvoiceSettings(store.InvoiceSettings{Organizer: "arena", SellerName: "北京演出票务有限公司", SellerTaxID: "91110108551385082Q", TaxRate: 600})
	}); err != nil {
		t.Fatal(err)
	}
	a := f.buyers(t, 1, "buyer")[0]
	o := f.buy(t, a, "", pricing.Item{Type: 1, Quantity: 2})
	if err := f.inv.SetTitle(ctx, a.ID, "深圳市腾讯计算机系统有限公司", "91440300708461136T"); err != nil {
		t.Fatal(err)
	}
	blue, err := f.inv.RequestEInvoice(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.inv.RequestEInvoice(ctx, o.ID)
	if err != nil || again.Number != blue.Number {
		t.Errorf("asked again: %+v, %v; want %s", again, err, blue.Number)
	}
	issued := sim.Issued()
	if len(issued) != 1 || issued[blue.Number].Total != 25600 || issued[blue.Number].BuyerTax != "91440300708461136T" ||
		issued[blue.Number].BuyerName != "深圳市腾讯计算机系统有限公司" || issued[blue.Number].Serial != "INV-2026-000001" {
		t.Fatalf("the platform issued %+v", issued)
	}
	err = f.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.AddPayTransaction(store.PayTransaction{Kind: store.PayRefund, Provider: "alipay", Reference: "r-one", Intent: "k",
			Order: o.ID, Account: a.ID, Amount: 12800, Currency: "CNY", At: f.clock.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.inv.IssueDue(ctx, 10)
	docs, e, err := f.inv.Documents(ctx, o.ID)
	if err != nil || len(docs) != 2 {
		t.Fatalf("documents %+v, %v", docs, err)
	}
	red, ok := e[docs[1].ID]
	if !ok || red.Number == blue.Number || len(red.Number) != 20 {
		t.Fatalf("red e-invoice %+v (blue %s)", red, blue.Number)
	}
	issued = sim.Issued()
	if r := issued[red.Number]; r.Kind != "red" || r.Original != blue.Number || r.Total != -12800 || issued[blue.Number].Left != 12800 {
		t.Errorf("the platform's red invoice %+v, blue left %d", r, issued[blue.Number].Left)
	}
}

// The platform refuses a request signed with another secret, and the
// adapter refuses an answer the platform did not sign: nothing is
// recorded either way.
func TestEInvoiceForgedSignature(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	sim, url := platform(t, f)
	ctx := context.Background()
	a := f.buyers(t, 1, "buyer")[0]
	o := f.buy(t, a, "", pricing.Item{Type: 1, Quantity: 1})
	f.inv.cfg.EInvoice = &ChinaPlatform{BaseURL: url, AppID: "tixgate-test", Secret: "a-guessed-secret", Clock: f.clock}
	_, err := f.inv.RequestEInvoice(ctx, o.ID)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "1001") {
		t.Errorf("a forged request: %v, want the platform's refusal 1001", err)
	}
	// A man in the middle answering for the platform.
	mitm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Timestamp", "1")
		w.Header().Set("X-Nonce", "0123456789abcdef")
		w.Header().Set("X-Signature", "Zm9yZ2Vk")
		w.Write([]byte(`{"code":"0000","msg":"ok","data":{"invoiceNo":"26110000000000000099","issueTime":"2026-06-05T10:00:00Z","serialNo":"INV-2026-000001"}}`))
	}))
	defer mitm.Close()
	f.inv.cfg.EInvoice = &ChinaPlatform{BaseURL: mitm.URL, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: f.clock}
	if _, err := f.inv.RequestEInvoice(ctx, o.ID); err == nil || !strings.Contains(err.Error(), "not signed by the platform") {
		t.Errorf("a forged answer: %v", err)
	}
	if e, _ := f.db.OrderEInvoices(ctx, o.ID); len(e) != 0 {
		t.Errorf("recorded %+v", e)
	}
	if len(sim.Issued()) != 0 {
		t.Errorf("the platform issued %+v", sim.Issued())
	}
	// The right secret works.
	f.inv.cfg.EInvoice = &ChinaPlatform{BaseURL: url, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: f.clock}
	if _, err := f.inv.RequestEInvoice(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	// A signed request sent again as it was (a replay) is refused.
	body := `{"serialNo":"X-1","sellerTaxNo":"","sellerName":"s","buyerName":"b","buyerTaxNo":"","buyerEmail":"","invoiceKind":"normal",` +
		`"totalAmount":"1.00","totalTax":"0.00","items":[{"name":"n","quantity":1,"unitPrice":"1.00","amount":"1.00","taxRate":"0","taxAmount":"0.00"}]}`
	ts := strconv.FormatInt(f.clock.Now().Unix(), 10)
	send := func() int {
		req, _ := http.NewRequest(http.MethodPost, url+"/openapi/v2/invoice/blue", strings.NewReader(body))
		req.Header.Set("X-App-Id", "tixgate-test")
		req.Header.Set("X-Timestamp", ts)
		req.Header.Set("X-Nonce", "replayed-nonce-0001")
		req.Header.Set("X-Signature", einvsim.Sign("test-secret-0123456789", "POST", "/openapi/v2/invoice/blue", ts, "replayed-nonce-0001", []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if first, second := send(), send(); first != http.StatusOK || second != http.StatusUnauthorized {
		t.Errorf("a request and its replay: HTTP %d and %d, want 200 and 401", first, second)
	}
}

// The platform is idempotent by our number: a document sent again (a
// retry after central crashed before recording the answer) gets the same
// official number; another document under a used number is refused; a
// red invoice larger than what is left of the blue one is refused.
func TestChinaPlatformIdempotent(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	sim, url := platform(t, f)
	p := &ChinaPlatform{BaseURL: url, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: f.clock}
	ctx := context.Background()
	d := Document{Key: "INV-2026-000042", Seller: store.Seller{Name: "北京演出票务有限公司"}, Buyer: Buyer{Title: "张敏"}, Currency: "CNY", Total: 25600,
		Lines: []store.InvoiceLine{{Name: "Standing", Quantity: 2, Unit: 12800, Total: 25600}}}
	first, err := p.Issue(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Issue(ctx, d)
	if err != nil || again.Number != first.Number || len(sim.Issued()) != 1 {
		t.Errorf("sent again: %+v, %v; want %s and one invoice", again, err, first.Number)
	}
	other := d
	other.Total, other.Lines = 12800, []store.InvoiceLine{{Name: "Standing", Quantity: 1, Unit: 12800, Total: 12800}}
	if _, err := p.Issue(ctx, other); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "3003") {
		t.Errorf("another document under a used number: %v", err)
	}
	red := Document{Key: "CN-2026-000042", Currency: "CNY", Total: -30000, Lines: []store.InvoiceLine{{Name: "Refund", Quantity: 1, Unit: -30000, Total: -30000}}}
	if _, err := p.Reverse(ctx, red, first); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "3002") {
		t.Errorf("reversing more than the blue invoice: %v", err)
	}
	if _, err := p.Issue(ctx, Document{Key: "INV-2026-000043", Currency: "USD", Total: 100}); err == nil || !strings.Contains(err.Error(), "CNY") {
		t.Errorf("an invoice in dollars: %v", err)
	}
}

// A refund while the platform is down gets its credit note at once and
// its red e-invoice from the sweep once the platform is back.
func TestRedEInvoiceRetried(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	sim, url := platform(t, f)
	up := &ChinaPlatform{BaseURL: url, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: f.clock}
	f.inv.cfg.EInvoice = up
	ctx := context.Background()
	a := f.buyers(t, 1, "buyer")[0]
	o := f.buy(t, a, "", pricing.Item{Type: 1, Quantity: 2})
	if _, err := f.inv.RequestEInvoice(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	f.inv.cfg.EInvoice = &ChinaPlatform{BaseURL: down.URL, AppID: "tixgate-test", Secret: "test-secret-0123456789", Clock: f.clock}
	if _, err := f.shop.Cancel(ctx, o.ID, "refunded at the counter"); err != nil {
		t.Fatal(err)
	}
	docs, e, _ := f.inv.Documents(ctx, o.ID)
	if len(docs) != 2 || len(e) != 1 {
		t.Fatalf("while the platform is down: %d documents, %d e-invoices; want the credit note without its red e-invoice", len(docs), len(e))
	}
	f.inv.cfg.EInvoice = up
	if n := f.inv.IssueDue(ctx, 10); n != 1 {
		t.Errorf("the sweep found %d orders to finish, want 1", n)
	}
	if e, _ := f.db.OrderEInvoices(ctx, o.ID); len(e) != 2 || len(sim.Issued()) != 2 {
		t.Errorf("after the sweep: %d e-invoices here, %d at the platform; want 2", len(e), len(sim.Issued()))
	}
	if n := f.inv.IssueDue(ctx, 10); n != 0 {
		t.Errorf("a second sweep found %d orders", n)
	}
}
