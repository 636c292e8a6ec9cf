package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestSalesRollupMatchesFacts checks the roll-up against the facts it sums:
// every dimension and period (whole hours, ragged ends, one hour, one
// event) reads the same from the roll-up as from the facts alone, right
// after a roll-up, after late sales, refunds and admissions that came
// since (read from the facts and the admissions until the next roll-up),
// and after the next roll-up.
func TestSalesRollupMatchesFacts(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t, dialect)
			rng := rand.New(rand.NewPCG(7, 11))
			now := time.Now()
			start := now.Add(-72 * time.Hour).Truncate(time.Hour)
			serial := uint64(0)
			var sold []SaleFact
			sell := func(at time.Time) {
				serial++
				f := SaleFact{Event: 1 + uint64(rng.IntN(3)), Serial: serial, Type: 1 + uint64(rng.IntN(3)),
					Channel: []string{ChannelOnline, ChannelBoxOffice, ChannelSeller}[rng.IntN(3)],
					Method:  []string{"alipay", "cash", "card"}[rng.IntN(3)], Currency: []string{"CNY", "CNY", "USD"}[rng.IntN(3)],
					Amount: int64(1000 * (1 + rng.IntN(9))), SoldAt: at, Region: []string{"CN-31", "HK", ""}[rng.IntN(3)],
					Age: []string{"18-24", ""}[rng.IntN(2)], Buyer: int64(rng.IntN(50))}
				f.Day, f.Hour = LocalDayHour("Asia/Shanghai", at)
				if err := db.Update(ctx, func(tx *Tx) error { return tx.AddSaleFact(f) }); err != nil {
					t.Fatal(err)
				}
				sold = append(sold, f)
			}
			// Three days of sales, up to a minute ago.
			for range 1500 {
				sell(start.Add(time.Duration(rng.Int64N(int64(now.Sub(start) - time.Minute)))))
			}
			seq := 0
			admit := func(f SaleFact, kind int, arrived time.Time) {
				seq++
				_, err := db.SQL().ExecContext(ctx, `INSERT INTO records (origin, seq, hash, raw, kind, event, serial, type, gate, zone, at, arrived, via)
					VALUES ('gate', $1, $2, $2, $3, $4, $5, $6, 'G1', 0, $7, $7, 'gate')`,
					seq, []byte{byte(seq)}, kind, int64(f.Event), int64(f.Serial), int64(f.Type), micros(arrived))
				if err != nil {
					t.Fatal(err)
				}
			}
			for i, f := range sold {
				switch i % 4 {
				case 0:
					admit(f, 1, now.Add(-2*time.Hour))
				case 1:
					admit(f, 1, now.Add(-2*time.Hour))
					admit(f, 1, now.Add(-time.Hour)) // a second entry counts once
				case 2:
					admit(f, 2, now.Add(-2*time.Hour)) // not an admission
				}
			}
			refund := func(f SaleFact) {
				if err := db.Update(ctx, func(tx *Tx) error { return tx.RefundFact(f.Event, f.Serial, f.Amount/2, now) }); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < len(sold); i += 30 {
				refund(sold[i])
			}

			hours, err := db.RollUpSales(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if hours < 70 {
				t.Fatalf("rolled %d hours of 72", hours)
			}
			var rows, dirty int
			db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sales_rollup`).Scan(&rows)
			db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sales_rollup_dirty`).Scan(&dirty)
			if rows == 0 || dirty != 0 {
				t.Fatalf("after the roll-up: %d rows, %d dirty hours", rows, dirty)
			}
			same(t, db, "rolled up", start, now)

			// Yesterday's sales uploaded late, refunds, and admissions
			// that arrived after the roll-up counted them.
			for range 40 {
				sell(start.Add(time.Duration(rng.Int64N(int64(48 * time.Hour)))))
			}
			for i := 5; i < 400; i += 17 {
				refund(sold[i])
			}
			for i := 3; i < len(sold); i += 4 {
				admit(sold[i], 3, now) // a supervisor's override, just now
			}
			db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sales_rollup_dirty`).Scan(&dirty)
			if dirty == 0 {
				t.Fatal("late sales and refunds marked no hour dirty")
			}
			same(t, db, "changed since", start, now)

			if _, err := db.RollUpSales(ctx); err != nil {
				t.Fatal(err)
			}
			db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sales_rollup_dirty`).Scan(&dirty)
			if dirty != 0 {
				t.Fatalf("%d dirty hours after the roll-up", dirty)
			}
			same(t, db, "rolled up again", start, now)

			// And the reports do read the roll-up: a roll-up that
			// disagrees with the facts shows.
			if _, err := db.SQL().ExecContext(ctx, `UPDATE sales_rollup SET tickets = tickets + 1`); err != nil {
				t.Fatal(err)
			}
			all := SalesFilter{From: start.Add(-time.Hour), Until: now.Add(time.Hour)}
			got, _ := db.SalesReport(ctx, "channel", all)
			all.FactsOnly = true
			want, _ := db.SalesReport(ctx, "channel", all)
			if reflect.DeepEqual(got, want) {
				t.Fatal("a report over three days read nothing from the roll-up")
			}
		})
	}
}

// same compares every report from the roll-up with the same report from
// the facts.
func same(t *testing.T, db *DB, when string, start, now time.Time) {
	t.Helper()
	ctx := context.Background()
	periods := []SalesFilter{
		{From: start.Add(-time.Hour), Until: now.Add(time.Hour)},                           // all of it
		{From: start.Add(90 * time.Minute), Until: now.Add(-7*time.Hour - 13*time.Minute)}, // ragged ends
		{From: start.Add(24 * time.Hour), Until: start.Add(25 * time.Hour)},                // one hour
		{From: start.Add(5 * time.Hour), Until: now, Event: 2},                             // one event
		{}, // no bounds
	}
	for _, by := range []string{"type", "event", "day", "hour", "channel", "method", "region", "age"} {
		for i, p := range periods {
			got, err := db.SalesReport(ctx, by, p)
			if err != nil {
				t.Fatalf("%s: by %s, period %d: %v", when, by, i, err)
			}
			facts := p
			facts.FactsOnly = true
			want, err := db.SalesReport(ctx, by, facts)
			if err != nil {
				t.Fatalf("%s: by %s, period %d, from the facts: %v", when, by, i, err)
			}
			if len(want) == 0 {
				t.Fatalf("%s: by %s, period %d: no sales in the period", when, by, i)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: by %s, period %d:\nroll-up %s\nfacts   %s", when, by, i, fmt.Sprint(got), fmt.Sprint(want))
			}
		}
	}
}
