package shop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// rushResult is what an on-sale rush did.
type rushResult struct {
	held, soldOut, failed int
	latency               []time.Duration // buy → pending_payment, of the buyers that got one
	took                  time.Duration
	oversold              int64
}

// rush sends buyers at once at the last left tickets of type 1, one
// ticket each, each from its own verified account, and counts.
func rush(tb testing.TB, f *fixture, buyers int, left int64) rushResult {
	tb.Helper()
	ctx := context.Background()
	f.onSale(tb, left)
	accounts := make([]store.Account, buyers)
	err := f.db.Update(ctx, func(tx *store.Tx) error {
		for i := range accounts {
			a := store.Account{Email: fmt.Sprintf("buyer%d@example.org", i), PasswordHash: "-", Role: RoleAudience, Created: f.clock.Now(), VerifiedAt: f.clock.Now()}
			id, err := tx.AddAccount(a)
			if err != nil {
				return err
			}
			a.ID = id
			accounts[i] = a
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	var r rushResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, a := range accounts {
		a.VerifiedAt = f.clock.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			_, err := f.shop.Place(ctx, a, OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}})
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				r.held++
				r.latency = append(r.latency, d)
			case errors.Is(err, ErrSoldOut):
				r.soldOut++
			default:
				r.failed++
				tb.Log(err)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	r.took = time.Since(t0)
	pools, err := f.db.Pools(ctx, typePool(1042, 1))
	if err != nil {
		tb.Fatal(err)
	}
	r.oversold = max(pools[typePool(1042, 1)].Taken-left, 0) + max(int64(r.held)-left, 0)
	slices.Sort(r.latency)
	return r
}

// 2,000 buyers at the last 500 tickets: exactly 500 orders hold one, every
// other buyer is told sold out, on SQLite and on PostgreSQL. With -short
// (the race detector's pass) a fifth of it.
func TestRushNeverOversells(t *testing.T) {
	buyers, left := 2000, int64(500)
	if testing.Short() {
		buyers, left = 400, 100
	}
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			r := rush(t, f, buyers, left)
			if int64(r.held) != left || r.soldOut != buyers-int(left) || r.failed != 0 || r.oversold != 0 {
				t.Fatalf("%d held, %d sold out, %d failed, %d oversold; want %d, %d, 0, 0", r.held, r.soldOut, r.failed, r.oversold, left, buyers-int(left))
			}
			t.Logf("%s: 2000 buyers in %v, p50 %v", dialect, r.took, r.latency[len(r.latency)/2])
		})
	}
}

// BenchmarkSystemShopRush is an on-sale rush on PostgreSQL (durable, as
// production runs): 2,000 concurrent buyers for the last 500 tickets, each
// placing an order priced by Quote and holding its ticket. It reports
// checkouts (orders reaching pending_payment) per second, the p50 and p99
// from "buy" to pending_payment, and the tickets oversold (bar 0).
func BenchmarkSystemShopRush(b *testing.B) {
	if pg == nil {
		b.Skip("needs PostgreSQL (not with -short)")
	}
	var last rushResult
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b, store.Postgres, nil)
		b.StartTimer()
		last = rush(b, f, 2000, 500)
		if last.failed > 0 || last.held != 500 {
			b.Fatalf("%d held, %d failed", last.held, last.failed)
		}
	}
	lat := last.latency
	b.ReportMetric(float64(last.held)/last.took.Seconds(), "checkouts/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(last.oversold), "oversold")
}
