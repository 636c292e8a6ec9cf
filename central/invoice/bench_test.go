package invoice

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tixgate/tixgate/central/store"
)

// BenchmarkIssueInvoice is the numbering transaction alone (the series'
// counter row and the document's insert) from parallel goroutines: the
// rate at which one organizer's invoices can be issued.
func BenchmarkIssueInvoice(b *testing.B) {
	for _, dialect := range dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			f := newFixture(b, dialect, nil)
			ctx := context.Background()
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					inv := store.Invoice{Kind: store.InvoiceKind, Source: fmt.Sprintf("bench:%d", i), Organizer: "arena", Series: "INV-2026", Order: i,
						Account: 1, Currency: "CNY", Subtotal: 12800, Total: 12800, Seller: store.Seller{Name: "arena"}, BuyerTitle: "b", Language: "zh",
						Lines: []store.InvoiceLine{{Name: "Standing", Quantity: 1, Unit: 12800, Total: 12800}}, Issued: f.clock.Now()}
					if _, _, err := f.db.IssueInvoice(ctx, inv); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			got, err := f.db.SeriesInvoices(ctx, "arena", "INV-2026")
			if err != nil || int64(len(got)) != n.Load() || len(got) > 0 && got[len(got)-1].Seq != int64(len(got)) {
				b.Fatalf("%d invoices for %d issued, %v", len(got), n.Load(), err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
		})
	}
}
