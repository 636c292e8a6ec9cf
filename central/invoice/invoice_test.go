package invoice

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// A hundred orders paid at once, each invoice issued by the shop's hook
// while a sweep and a second hook race it for the same orders: one
// invoice per order, numbered INV-2026-000001 to 000100 with no gap and no
// number twice.
func TestNumberingUnderConcurrentOrders(t *testing.T) {
	const n = 100
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, dialect, nil)
			accounts := f.buyers(t, n, "buyer")
			orders := make([]int64, n)
			for i, a := range accounts {
				o, err := f.shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1 + i%3}}})
				if err != nil {
					t.Fatal(err)
				}
				orders[i] = o.ID
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan error, 2*n)
			for _, id := range orders {
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-start
					if _, _, err := f.shop.Pay(ctx, id, shop.MethodTest); err != nil {
						errs <- fmt.Errorf("pay %d: %w", id, err)
					}
				}()
				go func() {
					defer wg.Done()
					<-start
					if _, err := f.inv.Ensure(ctx, id); err != nil {
						errs <- fmt.Errorf("ensure %d: %w", id, err)
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range 5 {
					f.inv.IssueDue(ctx, 256)
				}
			}()
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			f.inv.IssueDue(ctx, 256)
			got, err := f.db.SeriesInvoices(ctx, "arena", "INV-2026")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d invoices, want %d", len(got), n)
			}
			perOrder := map[int64]int{}
			for i, inv := range got {
				if want := fmt.Sprintf("INV-2026-%06d", i+1); inv.Number != want || inv.Seq != int64(i+1) {
					t.Errorf("invoice %d is %s (seq %d), want %s: a gap or a duplicate", i, inv.Number, inv.Seq, want)
				}
				perOrder[inv.Order]++
			}
			for _, id := range orders {
				if perOrder[id] != 1 {
					t.Errorf("order %d has %d invoices, want 1", id, perOrder[id])
				}
				o, err := f.db.Order(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				docs, _ := f.db.OrderInvoices(ctx, id)
				if len(docs) != 1 || docs[0].Total != o.Total || docs[0].Currency != "CNY" {
					t.Errorf("order %d (%d CNY): documents %+v", id, o.Total, docs)
				}
			}
			if todo, err := f.db.InvoiceTodo(ctx, f.inv.cfg.CounterMethods, 10); err != nil || len(todo) != 0 {
				t.Errorf("left to invoice: %v, %v", todo, err)
			}
		})
	}
}

// The invoice's lines are the order's quotation: type, quantity, unit
// price, the voucher's discount, the total; the buyer's title is their
// name until they set one.
func TestInvoiceLines(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.SQLite, func(c *Config) {})
	err := f.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutInvoiceSettings(store.InvoiceSettings{Organizer: "arena", InvoicePrefix: "AR", CreditPrefix: "ARC", SellerName: "Arena Live GmbH",
			SellerTaxID: "DE123456789", TaxRate: 700})
	})
	if err != nil {
		t.Fatal(err)
	}
	a := f.buyers(t, 1, "Lena")[0]
	a.Language = "en"
	if err := f.db.Update(ctx, func(tx *store.Tx) error { return tx.UpdateProfile(a) }); err != nil {
		t.Fatal(err)
	}
	o := f.buy(t, a, "FRIENDS", pricing.Item{Type: 1, Quantity: 2}, pricing.Item{Type: 2, Quantity: 1})
	docs, err := f.db.OrderInvoices(ctx, o.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents %+v, %v", docs, err)
	}
	inv := docs[0]
	if inv.Number != "AR-2026-000001" || inv.Seller.Name != "Arena Live GmbH" || inv.BuyerTitle != "Lena 0" || inv.Language != "en" {
		t.Errorf("invoice %s seller %+v buyer %q lang %s", inv.Number, inv.Seller, inv.BuyerTitle, inv.Language)
	}
	want := []store.InvoiceLine{
		{Name: "Standing", Quantity: 2, Unit: 12800, Discount: 5120, Total: 20480},
		{Name: "Balcony seat", Quantity: 1, Unit: 38000, Discount: 7600, Total: 30400},
	}
	if !slices.Equal(inv.Lines, want) {
		t.Errorf("lines %+v, want %+v", inv.Lines, want)
	}
	if inv.Subtotal != 63600 || inv.Discount != 12720 || inv.Total != 50880 || inv.Total != o.Total {
		t.Errorf("subtotal %d discount %d total %d (order %d)", inv.Subtotal, inv.Discount, inv.Total, o.Total)
	}
	if inv.TaxRate != 700 || inv.Tax != 3329 { // 50880 × 7/107 = 3328.6
		t.Errorf("tax %d at %d", inv.Tax, inv.TaxRate)
	}
	// In English, as the buyer's profile asks.
	var buf bytes.Buffer
	if err := f.inv.PDF(ctx, &buf, inv, store.EInvoice{}); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("TIXGATE_SCREENS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "invoice-en.pdf"), buf.Bytes(), 0o644)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"Invoice", "AR-2026-000001", "Arena Live GmbH", "DE123456789", "Balcony seat", "-CN¥76.00", "CN¥508.80", "of which tax 7%", "CN¥33.29"} {
		if !strings.Contains(text, want) {
			t.Errorf("the English PDF lacks %q:\n%s", want, text)
		}
	}
}

// Each refund of an order's payment gets its own credit note in the CN
// series, negative, naming the invoice; a refund of a second payment gets
// none; cancelling the order (paid at the counter) credits the rest; and
// sweeping again issues nothing more.
func TestCreditNotePerRefund(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, dialect, nil)
			a := f.buyers(t, 2, "buyer")
			o := f.buy(t, a[0], "", pricing.Item{Type: 1, Quantity: 3}) // ¥384.00
			other := f.buy(t, a[1], "", pricing.Item{Type: 2, Quantity: 1})
			refund := func(ref string, amount int64) {
				t.Helper()
				err := f.db.Update(ctx, func(tx *store.Tx) error {
					_, err := tx.AddPayTransaction(store.PayTransaction{Kind: store.PayRefund, Provider: "alipay", Reference: ref, Intent: "k",
						Order: o.ID, Account: o.Account, Amount: amount, Currency: "CNY", At: f.clock.Now()})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			refund("r-first", 12800)
			refund("dup-second-payment", 38400)
			refund("r-second", 5000)
			if n := f.inv.IssueDue(ctx, 100); n != 1 {
				t.Errorf("swept %d orders, want 1", n)
			}
			if _, err := f.shop.Cancel(ctx, o.ID, "refunded at the counter"); err != nil {
				t.Fatal(err)
			}
			f.inv.IssueDue(ctx, 100)
			f.inv.IssueDue(ctx, 100)
			docs, err := f.db.OrderInvoices(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			type doc struct {
				kind, number string
				total        int64
			}
			var got []doc
			for _, d := range docs {
				got = append(got, doc{d.Kind, d.Number, d.Total})
				if d.Kind == store.CreditNoteKind && d.Original != docs[0].ID {
					t.Errorf("%s credits %d, want invoice %d", d.Number, d.Original, docs[0].ID)
				}
			}
			want := []doc{
				{"invoice", "INV-2026-000001", 38400},
				{"credit_note", "CN-2026-000001", -12800},
				{"credit_note", "CN-2026-000002", -5000},
				{"credit_note", "CN-2026-000003", -20600},
			}
			if !slices.Equal(got, want) {
				t.Errorf("documents\n%+v\nwant\n%+v", got, want)
			}
			if cn := docs[1]; len(cn.Lines) != 1 || cn.Lines[0].Total != -12800 {
				t.Errorf("partial credit lines %+v", cn.Lines)
			}
			if od, _ := f.db.OrderInvoices(ctx, other.ID); len(od) != 1 || od[0].Number != "INV-2026-000002" {
				t.Errorf("the other order's documents: %+v", od)
			}
			// A counter order cancelled in full: the invoice's lines negated.
			whole := f.buy(t, a[1], "", pricing.Item{Type: 1, Quantity: 2})
			if _, err := f.shop.Cancel(ctx, whole.ID, "changed their mind"); err != nil {
				t.Fatal(err)
			}
			wd, _ := f.db.OrderInvoices(ctx, whole.ID)
			if len(wd) != 2 || wd[1].Number != "CN-2026-000004" || wd[1].Total != -25600 || len(wd[1].Lines) != 1 || wd[1].Lines[0].Quantity != -2 {
				t.Errorf("full credit: %+v", wd)
			}
		})
	}
}

func TestValidTaxID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"91440300708461136T", true},
		{"91110108551385082Q", true},
		{"91110108551385082R", false}, // check character wrong
		{"9111010855138508", false},
		{"91110108551385O82Q", false}, // O is not in the alphabet
	} {
		if got := ValidTaxID(tc.id); got != tc.want {
			t.Errorf("ValidTaxID(%s) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// While the sweep runs, the shop's hook hands it the order and returns:
// the invoice follows without the payment waiting for it.
func TestSweepTakesTheHook(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t, store.SQLite, nil)
	done := make(chan struct{})
	go func() { f.inv.Sweep(ctx, time.Hour); close(done) }()
	for !f.inv.sweeping.Load() {
		time.Sleep(time.Millisecond)
	}
	o := f.buy(t, f.buyers(t, 1, "buyer")[0], "", pricing.Item{Type: 1, Quantity: 1})
	var docs []store.Invoice
	for i := 0; i < 2000 && len(docs) == 0; i++ {
		docs, _ = f.db.OrderInvoices(ctx, o.ID)
		time.Sleep(5 * time.Millisecond)
	}
	if len(docs) != 1 || docs[0].Number != "INV-2026-000001" {
		t.Errorf("documents %+v", docs)
	}
	cancel()
	<-done
}

// Twenty processes issuing the same document at once store one, all
// get its number, and the number no one kept is not lost: the next
// document takes the one after it.
func TestIssueSameSourceRace(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, dialect, nil)
			doc := func(src string) store.Invoice {
				return store.Invoice{Kind: store.InvoiceKind, Source: src, Organizer: "arena", Series: "INV-2026", Order: 1, Account: 1, Currency: "CNY",
					Total: 100, Seller: store.Seller{Name: "arena"}, Language: "zh", Issued: f.clock.Now()}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			numbers, fresh := map[string]int{}, 0
			start := make(chan struct{})
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					got, isNew, err := f.db.IssueInvoice(ctx, doc("order:1"))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					numbers[got.Number]++
					if isNew {
						fresh++
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(numbers) != 1 || numbers["INV-2026-000001"] != 20 || fresh != 1 {
				t.Errorf("numbers %v, %d new; want INV-2026-000001 for all, one new", numbers, fresh)
			}
			next, _, err := f.db.IssueInvoice(ctx, doc("order:2"))
			if err != nil || next.Number != "INV-2026-000002" {
				t.Errorf("the next document: %s, %v", next.Number, err)
			}
		})
	}
}

// A sponsor's complimentary tickets sell nothing: no invoice, and no
// number used.
func TestNoInvoiceForComplimentary(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.SQLite, nil)
	sp := f.buyers(t, 1, "sponsor")[0]
	sp.Role = shop.RoleSponsor
	if err := f.db.Update(ctx, func(tx *store.Tx) error { return tx.SetAccountRole(sp.ID, sp.Role) }); err != nil {
		t.Fatal(err)
	}
	al, err := f.shop.Grant(ctx, "staff", sp.ID, 1042, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	comp, _, err := f.shop.IssueComp(ctx, sp, al.ID, "A Guest", 2)
	if err != nil {
		t.Fatal(err)
	}
	f.inv.IssueDue(ctx, 10)
	if docs, _ := f.db.OrderInvoices(ctx, comp.ID); len(docs) != 0 {
		t.Errorf("a complimentary order has %+v", docs)
	}
	o := f.buy(t, f.buyers(t, 1, "buyer")[0], "", pricing.Item{Type: 1, Quantity: 1})
	if docs, _ := f.db.OrderInvoices(ctx, o.ID); len(docs) != 1 || docs[0].Number != "INV-2026-000001" {
		t.Errorf("the next paid order's documents %+v", docs)
	}
}
