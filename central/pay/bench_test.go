package pay

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
)

// BenchmarkPayNotifyAlipay measures Alipay payment notifications verified
// and applied per second on PostgreSQL (durable, as production runs):
// 500 pending orders, their trades precreated at the simulator, are paid
// at once and their signed notifications posted to central's route by 16
// senders; each is verified (RSA2), checked against its intent, appended
// to the transactions, claims its order and pays it, issuing its ticket.
// The same notifications are then posted again (replays/s): verified,
// found recorded, nothing changed. The bar is 1,000/s.
func BenchmarkPayNotifyAlipay(b *testing.B) {
	if pg == nil {
		b.Skip("needs PostgreSQL (not with -short)")
	}
	const orders, senders = 500, 16
	var took, replayTook time.Duration
	var applied, replayed atomic.Int64
	for b.Loop() {
		b.StopTimer()
		r, _ := alipayRig(b)
		f := newFixture(b, store.Postgres, 1_000_000, r.bind(b))
		notes := make([]notification, orders)
		ids := make([]int64, orders)
		for i := range notes {
			o := f.place(b, 1)
			ids[i] = o.ID
			if a := f.start(b, o.ID, "alipay", Desktop); a.Kind != "qr" {
				b.Fatalf("start: %+v", a)
			}
			notes[i] = r.pay(b, f, intentKey(o.ID, "alipay"))
		}
		send := func(count *atomic.Int64) time.Duration {
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= orders {
							return
						}
						if st, body := f.notify(b, "alipay", notes[i]); st != 200 || body != "success" {
							b.Errorf("notification %d: %d %s", i, st, body)
							return
						}
						count.Add(1)
					}
				}()
			}
			wg.Wait()
			return time.Since(start)
		}
		b.StartTimer()
		took += send(&applied)
		// The same notifications again, as Alipay retries them: verified,
		// found recorded, nothing changed.
		replayTook += send(&replayed)
		b.StopTimer()
		for _, id := range ids[:10] {
			if o, _ := f.order(b, id); o.Status != shop.StatusPaid {
				b.Fatalf("order %d is %s after its notification", id, o.Status)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(applied.Load())/took.Seconds(), "notifications/s")
	b.ReportMetric(float64(replayed.Load())/replayTook.Seconds(), "replays/s")
}
