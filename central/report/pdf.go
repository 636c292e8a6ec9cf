package report

import (
	"fmt"
	"io"
	"strconv"

	"codeberg.org/go-pdf/fpdf"

	"github.com/tixgate/tixgate/central/pdftext"
)

// PDFName is a download name for the report as a PDF.
func (rep Sales) PDFName() string {
	return fmt.Sprintf("sales-by-%s-%s-%s.pdf", rep.By, rep.From.Format("20060102"), rep.Until.Format("20060102"))
}

// WritePDF writes the report as a print-ready A4 page (more when it is
// long): a title, the period, a table of the rows with totals per
// currency, the names in whatever script they are written.
func (rep Sales) WritePDF(w io.Writer, fonts *pdftext.Loader, title string) error {
	if err := fonts.Load(); err != nil {
		return err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	doc := fonts.New(pdf)
	header := []string{rep.By, "name", "tickets", "revenue", "refunds", "refunded", "entered", "no-shows"}
	widths := []float64{28, 46, 16, 28, 16, 26, 10, 10}
	if rep.By != "type" && rep.By != "event" {
		header, widths = header[:6], []float64{34, 54, 18, 32, 18, 24}
	}
	right := func(i int) bool { return i >= 2 }
	row := func(cells []string, size float64) {
		x, y := 15.0, pdf.GetY()
		if y > 270 {
			pdf.AddPage()
			y = pdf.GetY()
		}
		for i, c := range cells {
			if right(i) {
				doc.Right(x+widths[i]-1, y, c, size, 6)
			} else {
				doc.Text(x, y, truncate(doc, c, size, widths[i]-2), size, 6)
			}
			x += widths[i]
		}
		pdf.SetXY(15, y+6)
	}
	pdf.AddPage()
	doc.Write(title, 15, 8)
	doc.Write(fmt.Sprintf("Sales by %s, %s to %s (UTC)", rep.By, rep.From.UTC().Format("2006-01-02 15:04"), rep.Until.UTC().Format("2006-01-02 15:04")), 9, 6)
	pdf.Ln(3)
	row(header, 9)
	pdf.Line(15, pdf.GetY(), 195, pdf.GetY())
	for _, r := range rep.Rows {
		cells := []string{r.Key, r.Name, strconv.FormatInt(r.Tickets, 10), Amount(r.Revenue, r.Currency), strconv.FormatInt(r.Refunds, 10), Amount(r.RefundAmount, r.Currency)}
		if r.Entered != nil {
			cells = append(cells, strconv.FormatInt(*r.Entered, 10), strconv.FormatInt(*r.NoShows, 10))
		}
		row(cells[:len(header)], 9)
	}
	pdf.Line(15, pdf.GetY(), 195, pdf.GetY())
	for _, t := range rep.Totals() {
		cur := t.Currency
		cells := []string{"total", cur, strconv.FormatInt(t.Tickets, 10), Amount(t.Revenue, cur), strconv.FormatInt(t.Refunds, 10), Amount(t.RefundAmount, cur), "", ""}
		row(cells[:len(header)], 9)
	}
	if len(rep.Rows) == 0 {
		doc.Write("No tickets were sold in this period.", 9, 6)
	}
	return pdf.Output(w)
}

// truncate shortens s to fit width at size, with an ellipsis.
func truncate(doc pdftext.Doc, s string, size, width float64) string {
	if doc.Width(s, size) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && doc.Width(string(r)+"…", size) > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
