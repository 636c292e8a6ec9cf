package receipt

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func sample(lang string) Receipt {
	return Receipt{Lang: lang, Number: 7, Device: "seller-1", Venue: "工人体育场", At: time.Date(2026, 12, 3, 19, 42, 0, 0, time.UTC),
		Event: "Concert 演唱会", Type: "Standard 普通票", Tickets: []Line{{Label: "#900000", Value: "¥128.00"}, {Label: "#900001", Value: "¥128.00"}},
		Totals: []Line{{Label: "Total 合计", Value: "¥256.00", Bold: true}, {Label: "Change 找零", Value: "¥44.00"}}}
}

// A receipt and a shift report are PDFs that embed both fonts and carry
// their number; where poppler's pdftotext is installed, the text drawn
// reads back in both scripts.
func TestDocuments(t *testing.T) {
	p := New(DefaultConfig())
	for _, tc := range []struct {
		name  string
		draw  func(*bytes.Buffer) error
		title string
		want  []string
	}{
		{"receipt zh", func(b *bytes.Buffer) error { return p.Receipt(b, sample("zh")) }, "Receipt 7", []string{"收据", "7", "¥256.00", "工人体育场", "Concert"}},
		{"receipt en", func(b *bytes.Buffer) error { return p.Receipt(b, sample("en")) }, "Receipt 7", []string{"Receipt", "¥128.00", "seller-1"}},
		{"shift en", func(b *bytes.Buffer) error {
			return p.Shift(b, ShiftReport{Lang: "en", Number: 3, Device: "seller-1", Seller: "li", Opened: time.Now(),
				Lines: []Line{{Label: "Expected", Value: "¥456.00"}}, Moves: []Line{{Label: "bank run", Value: "-¥100.00"}}})
		}, "Shift 3", []string{"Shift report 3", "¥456.00", "bank run", "still open"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.draw(&b); err != nil {
				t.Fatal(err)
			}
			pdf := b.Bytes()
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("("+tc.title+")")) {
				t.Fatalf("not a PDF titled %q: %.40q", tc.title, pdf)
			}
			if n := bytes.Count(pdf, []byte("/FontFile2")); n != 2 {
				t.Errorf("%d embedded TrueType fonts, want 2 (Latin and Chinese)", n)
			}
			if _, err := exec.LookPath("pdftotext"); err != nil {
				t.Log("pdftotext not installed (poppler-utils): text not read back")
				return
			}
			f := t.TempDir() + "/doc.pdf"
			os.WriteFile(f, pdf, 0o600)
			out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the text of the PDF lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// Fonts that are not there are an error that names the packages.
func TestMissingFonts(t *testing.T) {
	p := New(Config{LatinFont: "nope.ttf", CJKFont: "nope.ttf"})
	var b bytes.Buffer
	err := p.Receipt(&b, sample("en"))
	if err == nil || !strings.Contains(err.Error(), "fonts-droid-fallback") {
		t.Fatalf("missing fonts: %v", err)
	}
}
