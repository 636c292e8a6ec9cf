package invoice

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// pdfText is the text pdftotext (poppler-utils) reads from a PDF: what a
// reader's viewer shows, so a glyph drawn from a font that lacks it, or
// an unembedded font, would not read back.
func pdfText(tb testing.TB, pdf []byte) string {
	tb.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		tb.Fatal("pdftotext not found: install poppler-utils")
	}
	dir := tb.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", in, "-").CombinedOutput()
	if err != nil {
		tb.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func pdfInfo(tb testing.TB, pdf []byte) string {
	tb.Helper()
	in := filepath.Join(tb.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", in).CombinedOutput()
	if err != nil {
		tb.Fatalf("pdfinfo: %v: %s", err, out)
	}
	return string(out)
}

// The invoice's PDF opens, is one A4 page, and shows its number, the
// seller, the buyer's Chinese title and tax number, the lines and the
// total; its credit note's PDF shows its own number and the invoice's.
func TestPDF(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.SQLite, nil)
	err := f.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutInvoiceSettings(store.InvoiceSettings{Organizer: "arena", SellerName: "北京演出票务有限公司", SellerTaxID: "91110108551385082Q",
			SellerAddress: "北京市海淀区中关村大街 1 号", TaxRate: 600})
	})
	if err != nil {
		t.Fatal(err)
	}
	a := f.buyers(t, 1, "buyer")[0]
	if err := f.inv.SetTitle(ctx, a.ID, "深圳市腾讯计算机系统有限公司", "91440300708461136t"); err != nil {
		t.Fatal(err)
	}
	if err := f.inv.SetTitle(ctx, a.ID, "某公司", "91440300708461136X"); err == nil {
		t.Error("a tax number with a wrong check character was accepted")
	}
	o := f.buy(t, a, "", pricing.Item{Type: 1, Quantity: 2})
	if _, err := f.shop.Cancel(ctx, o.ID, "refund"); err != nil {
		t.Fatal(err)
	}
	docs, e, err := f.inv.Documents(ctx, o.ID)
	if err != nil || len(docs) != 2 {
		t.Fatalf("documents %+v, %v", docs, err)
	}
	var buf bytes.Buffer
	if err := f.inv.PDF(ctx, &buf, docs[0], e[docs[0].ID]); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	if dir := os.Getenv("TIXGATE_SCREENS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "invoice.pdf"), buf.Bytes(), 0o644)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"发票", "INV-2026-000001", "北京演出票务有限公司", "深圳市腾讯计算机系统有限公司", "91440300708461136T",
		"Standing", "¥256.00", "¥14.49", "价税合计", "Summer Concert"} {
		if !strings.Contains(text, want) {
			t.Errorf("the invoice's PDF lacks %q:\n%s", want, text)
		}
	}
	if info := strings.Join(strings.Fields(pdfInfo(t, buf.Bytes())), " "); !strings.Contains(info, "(A4)") || !strings.Contains(info, "Pages: 1 ") {
		t.Errorf("not one A4 page:\n%s", info)
	}
	buf.Reset()
	if err := f.inv.PDF(ctx, &buf, docs[1], e[docs[1].ID]); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("TIXGATE_SCREENS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "credit-note.pdf"), buf.Bytes(), 0o644)
	}
	text = pdfText(t, buf.Bytes())
	for _, want := range []string{"贷项通知单", "CN-2026-000001", "INV-2026-000001", "-¥256.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the credit note's PDF lacks %q:\n%s", want, text)
		}
	}
}
