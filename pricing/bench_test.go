package pricing

import (
	"testing"
)

// BenchmarkQuote prices a 10-line cart with 3 promotions (an automatic
// stackable one, a voucher by code, a per-order amount by code, all three
// applying), the storefront's
// and the seller's hot path.
func BenchmarkQuote(b *testing.B) {
	cat := festival()
	cart := Cart{
		Items: items(1, 2, 2, 3, 3, 10, 4, 2, 6, 1, 7, 2, 8, 1, 9, 1, 10, 2, 12, 1),
		Codes: []string{"SPRING", "FIFTY"},
	}
	promos := []Promotion{four, spring, with(fiftyOff, func(p *Promotion) { p.Stackable = true })}
	q, err := Quote(cart, cat, promos, may)
	if err != nil || len(q.Applied) != 3 || len(q.Lines) != 11 {
		b.Fatalf("quote: %v, applied %v, %d lines", err, q.Applied, len(q.Lines))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Quote(cart, cat, promos, may); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefund prices refunding a 10-ticket order.
func BenchmarkRefund(b *testing.B) {
	cat := festival()
	var tickets []PaidTicket
	for i := range 10 {
		tickets = append(tickets, PaidTicket{ID: "t", Type: tDay1, Paid: cny(30400 + int64(i)), PurchasedAt: may})
	}
	when := day1.Add(-10 * 24 * 3600e9)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Refund(cat, tickets, when); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("12800.50", CNY); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDisplay(b *testing.B) {
	m := cny(1280050)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Display("zh-CN")
	}
}
