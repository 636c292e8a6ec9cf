package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The last 500 tickets of a type, 2,000 buyers at once, each in its own
// transaction: exactly 500 hold one, every other is told sold out, and the
// pool agrees; expiring holds gives their tickets back. With -short (the
// race detector's pass) a fifth of it: 400 buyers at the last 100.
func TestHoldNeverOversells(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
			buyers, left := int64(2000), int64(500)
			if testing.Short() {
				buyers, left = 400, 100
			}
			var account int64
			err := d.Update(ctx, func(tx *Tx) error {
				var err error
				if account, err = tx.AddAccount(Account{Email: "rush@example.org", PasswordHash: "x", Role: "audience", Created: now}); err != nil {
					return err
				}
				// 9,500 of 10,000 went before.
				if err := tx.PutPool("type:1/1", 10000); err != nil {
					return err
				}
				_, err = tx.exec(`UPDATE shop_pools SET taken = $1 WHERE name = 'type:1/1'`, 10000-left)
				if err != nil {
					return err
				}
				return tx.PutPool("event:1", 20000)
			})
			if err != nil {
				t.Fatal(err)
			}
			var held, soldOut, failed atomic.Int64
			var mu sync.Mutex
			var orders []int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := int64(0); i < buyers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					var id int64
					err := d.Update(ctx, func(tx *Tx) error {
						var err error
						id, err = tx.AddOrder(ShopOrder{Account: account, Event: 1, Status: "pending_payment", Currency: "CNY", Total: 100,
							Quote: []byte("{}"), Created: now, Expires: now.Add(15 * time.Minute), Items: []ShopOrderItem{{Type: 1, Quantity: 1}}})
						if err != nil {
							return err
						}
						return tx.Hold(id, []Take{{Pool: "type:1/1", N: 1}, {Pool: "event:1", N: 1}})
					})
					switch {
					case err == nil:
						held.Add(1)
						mu.Lock()
						orders = append(orders, id)
						mu.Unlock()
					case errors.Is(err, ErrSoldOut):
						soldOut.Add(1)
					default:
						failed.Add(1)
						t.Log(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if held.Load() != left || soldOut.Load() != buyers-left || failed.Load() != 0 {
				t.Fatalf("%d held, %d sold out, %d failed; want %d, %d, 0", held.Load(), soldOut.Load(), failed.Load(), left, buyers-left)
			}
			pools, err := d.Pools(ctx, "type:1/1", "event:1")
			if err != nil {
				t.Fatal(err)
			}
			if p := pools["type:1/1"]; p.Taken != 10000 {
				t.Errorf("type pool taken %d, want 10000", p.Taken)
			}
			if p := pools["event:1"]; p.Taken != left {
				t.Errorf("event pool taken %d, want %d (a refused buyer's event take was not rolled back)", p.Taken, left)
			}
			for _, id := range orders[:50] {
				err := d.Update(ctx, func(tx *Tx) error {
					ok, err := tx.MoveOrder(id, []string{"pending_payment"}, "expired", "", now.Add(time.Hour), time.Time{})
					if err != nil || !ok {
						return fmt.Errorf("expire %d: %v %v", id, ok, err)
					}
					return tx.Release(id)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			pools, _ = d.Pools(ctx, "type:1/1", "event:1")
			if pools["type:1/1"].Taken != 10000-50 || pools["event:1"].Taken != left-50 {
				t.Errorf("after 50 expiries: %+v", pools)
			}
		})
	}
}

func TestMoveOrderRefusesAnExpiredPayment(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
			var id int64
			err := d.Update(ctx, func(tx *Tx) error {
				a, err := tx.AddAccount(Account{Email: "a@example.org", PasswordHash: "x", Role: "audience", Created: now})
				if err != nil {
					return err
				}
				id, err = tx.AddOrder(ShopOrder{Account: a, Event: 1, Status: "pending_payment", Currency: "CNY", Quote: []byte("{}"), Created: now, Expires: now.Add(time.Minute)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				at   time.Time
				want bool
			}{
				{"after the hold ran out", now.Add(2 * time.Minute), false},
				{"in time", now.Add(30 * time.Second), true},
				{"twice", now.Add(40 * time.Second), false},
			}
			for _, tt := range tests {
				var got bool
				err := d.Update(ctx, func(tx *Tx) error {
					var err error
					got, err = tx.MoveOrder(id, []string{"pending_payment"}, "paid", "test", tt.at, tt.at)
					return err
				})
				if err != nil || got != tt.want {
					t.Errorf("%s: paid %v, %v; want %v", tt.name, got, err, tt.want)
				}
			}
		})
	}
}
