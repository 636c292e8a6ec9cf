package storefront

import (
	"bytes"
	"fmt"
	"net/http"

	"codeberg.org/go-pdf/fpdf"

	"github.com/tixgate/tixgate/central/pdftext"
	"github.com/tixgate/tixgate/central/shop"
)

// Fonts are the TrueType fonts of the tickets' PDF (see package
// pdftext: each run of text is drawn from the font that has it).
type Fonts = pdftext.Fonts

// DefaultFonts are Debian's.
func DefaultFonts() Fonts { return pdftext.DefaultFonts() }

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
	if err := f.fonts.Load(); err != nil || f.cfg.QR == nil {
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
	d := f.fonts.New(pdf)
	t := f.t(r)
	for _, v := range views {
		if v.Status != "valid" {
			continue
		}
		pdf.AddPage()
		d.Write(v.Event, 15, 8)
		d.Write(v.When, 10, 6)
		pdf.Ln(2)
		for _, l := range [][2]string{{t("ticket.type"), v.Type}, {t("ticket.seat"), v.Seat}, {t("ticket.price"), v.Price}, {t("ticket.number"), fmt.Sprint(v.Serial)}} {
			if l[1] != "" {
				d.Write(l[0]+t("pdf.sep")+l[1], 10, 5.5)
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
		d.Write(t("tickets.pdf_note"), 7, 4)
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
