package invoice

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// words are a document's labels in the two languages it is printed in.
var words = map[string]map[string]string{
	"en": {
		"invoice": "Invoice", "credit_note": "Credit note", "number": "Number", "date": "Date", "order": "Order",
		"original": "Credits invoice", "seller": "Seller", "buyer": "Buyer", "tax_id": "Tax number", "item": "Item",
		"qty": "Qty", "unit": "Unit price", "discount": "Discount", "amount": "Amount", "subtotal": "Subtotal",
		"total": "Total", "tax": "of which tax %s", "no_tax": "Prices include any tax due.", "currency": "Amounts in %s.",
		"einvoice": "E-invoice (fully digital) no.", "event": "Event",
		"credit_why": "This credit note refunds part or all of the invoice it credits; amounts are negative.",
	},
	"zh": {
		"invoice": "发票", "credit_note": "贷项通知单（退款）", "number": "编号", "date": "开具日期", "order": "订单号",
		"original": "原发票", "seller": "销售方", "buyer": "购买方", "tax_id": "纳税人识别号", "item": "项目",
		"qty": "数量", "unit": "单价", "discount": "优惠", "amount": "金额", "subtotal": "小计",
		"total": "价税合计", "tax": "其中税额（税率 %s）", "no_tax": "价格已含应缴税费。", "currency": "金额单位：%s。",
		"einvoice": "数电票号码", "event": "演出",
		"credit_why": "本贷项通知单冲减原发票的部分或全部金额，金额为负数。",
	},
}

func word(lang, key string) string {
	if w, ok := words[lang][key]; ok {
		return w
	}
	return words["en"][key]
}

// PDF writes an invoice or credit note as an A4 PDF in its buyer's
// language, with both fonts embedded (Chinese and Latin drawn run by
// run), and e, when not zero, the e-invoice issued for it.
func (is *Issuer) PDF(ctx context.Context, w io.Writer, inv store.Invoice, e store.EInvoice) error {
	if err := is.fonts.Load(); err != nil {
		return err
	}
	event, loc := "", time.UTC
	if o, err := is.db.Order(ctx, inv.Order); err == nil {
		if ev, err := is.db.Event(ctx, o.Event); err == nil {
			event = ev.Name
			if l, err := time.LoadLocation(ev.TimeZone); err == nil && ev.TimeZone != "" {
				loc = l
			}
		}
	}
	original := ""
	if inv.Original != 0 {
		docs, err := is.db.OrderInvoices(ctx, inv.Order)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if d.ID == inv.Original {
				original = d.Number
			}
		}
	}
	lang := inv.Language
	t := func(k string) string { return word(lang, k) }
	cur, err := pricing.ParseCurrency(inv.Currency)
	if err != nil {
		return fmt.Errorf("invoice %s: %w", inv.Number, err)
	}
	money := func(minor int64) string { return pricing.New(minor, cur).Display(lang) }

	pdf := fpdf.New("P", "mm", "A4", "")
	const left, right, top = 20.0, 190.0, 20.0
	pdf.SetMargins(left, top, 210-right)
	pdf.SetAutoPageBreak(true, 20)
	title := t(inv.Kind)
	pdf.SetTitle(title+" "+inv.Number, true)
	pdf.SetAuthor(inv.Seller.Name, true)
	pdf.SetCreator("tixgate", false)
	d := is.fonts.New(pdf)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-15)
		pdf.SetTextColor(110, 110, 110)
		d.Text(left, pdf.GetY(), inv.Number+" · "+pageLabel(lang, pdf.PageNo()), 8, 5)
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()

	// The heading: what it is, its number, the seller's name.
	d.Text(left, top, title, 20, 10)
	d.Right(right, top, inv.Seller.Name, 12, 10)
	y := top + 14
	meta := [][2]string{{t("number"), inv.Number}, {t("date"), inv.Issued.In(loc).Format("2006-01-02")},
		{t("order"), strconv.FormatInt(inv.Order, 10)}}
	if event != "" {
		meta = append(meta, [2]string{t("event"), event})
	}
	if original != "" {
		meta = append(meta, [2]string{t("original"), original})
	}
	if e.Number != "" {
		meta = append(meta, [2]string{t("einvoice"), e.Number})
	}
	for _, m := range meta {
		pdf.SetTextColor(90, 90, 90)
		d.Text(left, y, m[0], 9, 5.5)
		pdf.SetTextColor(0, 0, 0)
		d.Text(left+38, y, m[1], 10, 5.5)
		y += 5.5
	}
	y += 5

	// Seller and buyer side by side.
	party := func(x float64, label string, lines ...string) float64 {
		yy := y
		pdf.SetTextColor(90, 90, 90)
		d.Text(x, yy, label, 9, 5)
		pdf.SetTextColor(0, 0, 0)
		yy += 5.5
		for _, l := range lines {
			if l != "" {
				d.Text(x, yy, l, 10, 5.5)
				yy += 5.5
			}
		}
		return yy
	}
	taxLine := func(id string) string {
		if id == "" {
			return ""
		}
		return t("tax_id") + " " + id
	}
	y1 := party(left, t("seller"), inv.Seller.Name, taxLine(inv.Seller.TaxID), inv.Seller.Address)
	y2 := party(110, t("buyer"), inv.BuyerTitle, taxLine(inv.BuyerTaxID))
	y = max(y1, y2) + 6

	// The lines.
	cols := []struct {
		x     float64
		key   string
		right bool
	}{{left, "item", false}, {118, "qty", true}, {142, "unit", true}, {164, "discount", true}, {right, "amount", true}}
	pdf.SetFillColor(238, 238, 238)
	pdf.Rect(left, y-1, right-left, 7.5, "F")
	for _, c := range cols {
		if c.right {
			d.Right(c.x-1, y, t(c.key), 9, 5.5)
		} else {
			d.Text(c.x+1, y, t(c.key), 9, 5.5)
		}
	}
	y += 8
	for _, l := range inv.Lines {
		if y > 250 {
			pdf.AddPage()
			y = top
		}
		d.Text(left+1, y, clip(d.Width, l.Name, 94, 10), 10, 6)
		d.Right(117, y, strconv.Itoa(l.Quantity), 10, 6)
		d.Right(141, y, money(l.Unit), 10, 6)
		disc := ""
		if l.Discount != 0 {
			disc = money(-l.Discount)
		}
		d.Right(163, y, disc, 10, 6)
		d.Right(right-1, y, money(l.Total), 10, 6)
		y += 6.5
		pdf.SetDrawColor(220, 220, 220)
		pdf.Line(left, y-0.5, right, y-0.5)
	}
	y += 4

	// The totals.
	sum := func(label, value string, size float64) {
		d.Right(150, y, label, size, 6.5)
		d.Right(right-1, y, value, size, 6.5)
		y += 7
	}
	sum(t("subtotal"), money(inv.Subtotal), 10)
	if inv.Discount != 0 {
		sum(t("discount"), money(-inv.Discount), 10)
	}
	pdf.SetDrawColor(0, 0, 0)
	pdf.Line(120, y, right, y)
	y += 1.5
	sum(t("total")+" ("+inv.Currency+")", money(inv.Total), 13)
	if inv.TaxRate > 0 {
		sum(fmt.Sprintf(t("tax"), rateLabel(inv.TaxRate)), money(inv.Tax), 9)
	}
	y += 6
	pdf.SetTextColor(90, 90, 90)
	notes := []string{fmt.Sprintf(t("currency"), inv.Currency)}
	if inv.TaxRate == 0 {
		notes = append(notes, t("no_tax"))
	}
	if inv.Kind == store.CreditNoteKind {
		notes = append(notes, t("credit_why"))
	}
	pdf.SetXY(left, y)
	for _, n := range notes {
		pdf.SetX(left)
		d.Write(n, 9, 5)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("pdf of %s: %w", inv.Number, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func pageLabel(lang string, n int) string {
	if lang == "zh" {
		return fmt.Sprintf("第 %d 页", n)
	}
	return fmt.Sprintf("Page %d", n)
}

// clip shortens s with an ellipsis until it fits width mm at size.
func clip(width func(string, float64) float64, s string, mm, size float64) string {
	if width(s, size) <= mm {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && width(string(r)+"…", size) > mm {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// rateLabel is 600 basis points as "6%".
func rateLabel(bp int) string {
	if bp%100 == 0 {
		return strconv.Itoa(bp/100) + "%"
	}
	return strconv.FormatFloat(float64(bp)/100, 'f', -1, 64) + "%"
}
