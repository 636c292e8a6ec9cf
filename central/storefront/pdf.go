package storefront

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"unicode"

	"codeberg.org/go-pdf/fpdf"

	"github.com/tixgate/tixgate/central/shop"
)

// Fonts are the TrueType fonts of the tickets' PDF: the PDF library
// embeds TrueType only, and no one free TrueType font has both the Latin
// letters and Chinese, so each run of text is drawn from the font that
// has it.
type Fonts struct {
	// Latin has the Latin letters, digits and ¥ (Debian:
	// fonts-dejavu-core).
	Latin string
	// CJK has the Chinese characters (Debian: fonts-droid-fallback; the
	// .ttc of fonts-noto-cjk is OpenType/CFF and does not load).
	CJK string
}

// DefaultFonts are Debian's.
func DefaultFonts() Fonts {
	return Fonts{Latin: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", CJK: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"}
}

// pdfFonts reads the fonts once.
type pdfFonts struct {
	paths      Fonts
	once       sync.Once
	latin, cjk []byte
	err        error
}

func (p *pdfFonts) load() error {
	p.once.Do(func() {
		var e1, e2 error
		p.latin, e1 = os.ReadFile(p.paths.Latin)
		p.cjk, e2 = os.ReadFile(p.paths.CJK)
		if err := errors.Join(e1, e2); err != nil {
			p.err = fmt.Errorf("tickets pdf fonts (install fonts-dejavu-core and fonts-droid-fallback): %w", err)
		}
	})
	return p.err
}

// ticketsPDF is an order's tickets as a PDF: one A6 page a ticket, with
// its QR code as large as a phone shows it.
func (f *Front) ticketsPDF(w http.ResponseWriter, r *http.Request, b *buyer) {
	o, tickets, ok, err := f.orderOf(r, b)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if !ok || o.Status != shop.StatusPaid {
		f.message(w, r, http.StatusNotFound, b, "error.no_order")
		return
	}
	if err := f.fonts.load(); err != nil || f.cfg.QR == nil {
		f.cfg.Logger.Error("storefront: tickets pdf", "err", err, "qr", f.cfg.QR != nil)
		f.message(w, r, http.StatusServiceUnavailable, b, "error.pdf")
		return
	}
	name, _ := f.eventName(r, o.Event)
	ev, _ := f.cfg.Store.Event(r.Context(), o.Event)
	evWhen := when(ev.Starts, orUTC(ev.TimeZone), langOf(r))
	views := f.ticketViews(r, o, tickets, name, evWhen)
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 105, Ht: 148}})
	pdf.SetMargins(8, 8, 8)
	pdf.SetAutoPageBreak(false, 8)
	pdf.SetTitle(f.site.T(r, "order.number", "id", o.ID), true)
	pdf.SetCreator("tixgate", false)
	pdf.AddUTF8FontFromBytes("latin", "", f.fonts.latin)
	pdf.AddUTF8FontFromBytes("cjk", "", f.fonts.cjk)
	d := pdfDoc{pdf}
	t := f.t(r)
	for _, v := range views {
		if v.Status != "valid" {
			continue
		}
		pdf.AddPage()
		d.write(v.Event, 15, 8)
		d.write(v.When, 10, 6)
		pdf.Ln(2)
		for _, l := range [][2]string{{t("ticket.type"), v.Type}, {t("ticket.seat"), v.Seat}, {t("ticket.price"), v.Price}, {t("ticket.number"), fmt.Sprint(v.Serial)}} {
			if l[1] != "" {
				d.write(l[0]+t("pdf.sep")+l[1], 10, 5.5)
			}
		}
		png, err := f.cfg.QR(v.Code, 600)
		if err != nil {
			f.internal(w, r, err)
			return
		}
		img := fmt.Sprintf("qr-%d", v.Serial)
		pdf.RegisterImageOptionsReader(img, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
		pdf.ImageOptions(img, 15, 54, 75, 75, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		pdf.SetY(132)
		d.write(t("tickets.pdf_note"), 7, 4)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		f.internal(w, r, fmt.Errorf("tickets pdf of order %d: %w", o.ID, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="tickets-%d.pdf"`, o.ID))
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func orUTC(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

type pdfDoc struct{ pdf *fpdf.Fpdf }

// isCJK reports whether r is drawn from the Chinese font.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

// write draws s as a paragraph, each run of text in the font that has it.
func (d pdfDoc) write(s string, size, lineH float64) {
	start, cjk := 0, false
	flush := func(end int) {
		if end > start {
			font := "latin"
			if cjk {
				font = "cjk"
			}
			d.pdf.SetFont(font, "", size)
			d.pdf.Write(lineH, s[start:end])
		}
		start = end
	}
	for i, r := range s {
		if c := isCJK(r); c != cjk && r != ' ' {
			flush(i)
			cjk = c
		}
	}
	flush(len(s))
	d.pdf.Ln(lineH)
}
