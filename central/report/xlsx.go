package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/tixgate/tixgate/pricing"
)

// XLSXName is a download name for the report as a workbook.
func (rep Sales) XLSXName() string {
	return fmt.Sprintf("sales-by-%s-%s-%s.xlsx", rep.By, rep.From.Format("20060102"), rep.Until.Format("20060102"))
}

// WriteXLSX writes the report as an Excel workbook: one sheet, a header
// naming the period, a row per group with the amounts as numbers in the
// currency's major unit (exact: the minor units over a power of ten, shown
// with the currency's digits), and the totals per currency.
func (rep Sales) WriteXLSX(w io.Writer) error {
	x := excelize.NewFile()
	defer x.Close()
	sheet := "sales"
	x.SetSheetName("Sheet1", sheet)
	bold, _ := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	set := func(col, row int, v any) {
		cell, _ := excelize.CoordinatesToCellName(col, row)
		x.SetCellValue(sheet, cell, v)
	}
	set(1, 1, fmt.Sprintf("Sales by %s, %s to %s (UTC)", rep.By, rep.From.UTC().Format("2006-01-02 15:04"), rep.Until.UTC().Format("2006-01-02 15:04")))
	x.SetCellStyle(sheet, "A1", "A1", bold)
	header := []string{rep.By, "name", "currency", "tickets", "revenue", "refunds", "refund amount", "refund rate", "entered", "no-shows"}
	for i, h := range header {
		set(i+1, 3, h)
	}
	x.SetCellStyle(sheet, "A3", "J3", bold)
	pct, _ := x.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	moneyStyles := map[int]int{}
	money := func(col, row int, minor int64, cur pricing.Currency) {
		d := cur.Digits()
		st, ok := moneyStyles[d]
		if !ok {
			format := "#,##0"
			if d > 0 {
				format += "." + fmt.Sprintf("%0*d", d, 0)
			}
			st, _ = x.NewStyle(&excelize.Style{CustomNumFmt: &format})
			moneyStyles[d] = st
		}
		cell, _ := excelize.CoordinatesToCellName(col, row)
		// The cell holds the decimal the minor units are, written as
		// text the spreadsheet reads as that number.
		v, _ := strconv.ParseFloat(decimalText(minor, d), 64)
		x.SetCellValue(sheet, cell, v)
		x.SetCellStyle(sheet, cell, cell, st)
	}
	row := 4
	for _, r := range rep.Rows {
		cur, err := pricing.ParseCurrency(r.Currency)
		if err != nil {
			return fmt.Errorf("report: row %s: %w", r.Key, err)
		}
		set(1, row, r.Key)
		set(2, row, r.Name)
		set(3, row, r.Currency)
		set(4, row, r.Tickets)
		money(5, row, r.Revenue, cur)
		set(6, row, r.Refunds)
		money(7, row, r.RefundAmount, cur)
		set(8, row, r.RefundRate)
		c, _ := excelize.CoordinatesToCellName(8, row)
		x.SetCellStyle(sheet, c, c, pct)
		if r.Entered != nil {
			set(9, row, *r.Entered)
			set(10, row, *r.NoShows)
		}
		row++
	}
	for _, t := range rep.Totals() {
		code := t.Currency
		cur, _ := pricing.ParseCurrency(code)
		a, _ := excelize.CoordinatesToCellName(1, row)
		d, _ := excelize.CoordinatesToCellName(4, row)
		x.SetCellStyle(sheet, a, d, bold)
		set(1, row, "total")
		set(3, row, code)
		set(4, row, t.Tickets)
		money(5, row, t.Revenue, cur)
		set(6, row, t.Refunds)
		money(7, row, t.RefundAmount, cur)
		row++
	}
	x.SetColWidth(sheet, "A", "A", 14)
	x.SetColWidth(sheet, "B", "B", 28)
	x.SetColWidth(sheet, "C", "J", 12)
	return x.Write(w)
}

// decimalText is minor units as a decimal with digits places: 12345, 2
// → "123.45".
func decimalText(minor int64, digits int) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	if digits == 0 {
		return sign + strconv.FormatInt(minor, 10)
	}
	s := fmt.Sprintf("%0*d", digits+1, minor)
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}

// Amount is minor units of the currency code as people read it
// ("¥1,280.00"), or the bare units when the code is unknown.
func Amount(minor int64, code string) string {
	cur, err := pricing.ParseCurrency(code)
	if err != nil {
		return fmt.Sprintf("%d %s", minor, code)
	}
	return pricing.New(minor, cur).Display("en")
}

// Total is a report's sums in one currency.
type Total struct {
	Currency                                string
	Tickets, Revenue, Refunds, RefundAmount int64
}

// Totals are the report's sums per currency, in the order the rows first
// name them.
func (rep Sales) Totals() []Total {
	var out []Total
	at := map[string]int{}
	for _, r := range rep.Rows {
		i, ok := at[r.Currency]
		if !ok {
			i = len(out)
			at[r.Currency] = i
			out = append(out, Total{Currency: r.Currency})
		}
		out[i].Tickets += r.Tickets
		out[i].Revenue += r.Revenue
		out[i].Refunds += r.Refunds
		out[i].RefundAmount += r.RefundAmount
	}
	return out
}
