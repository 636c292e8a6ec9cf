package report

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package (none with
// -short).
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

// BenchmarkSystemSalesDashboard is the sales screen over a million tickets
// sold on PostgreSQL (issue 14's bar: p99 ≤ 500 ms): a month of sales
// across 20 events, 5 types each, three channels and five methods, half
// of them entered at a gate and 3% refunded, then the screen's queries
// (sales by type with entries and no-shows, by day, by channel, and the
// funnel) timed as one render, 20 times, after the month's hours are
// rolled up (as central does every half minute; rollup-month-s is the
// month at once).
func BenchmarkSystemSalesDashboard(b *testing.B) {
	if pg == nil {
		b.Skip("needs PostgreSQL (not with -short)")
	}
	ctx := context.Background()
	cfg := store.DefaultConfig(pg.NewDatabase(b), b.TempDir())
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	until := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	from := until.AddDate(0, 0, -30)
	const n = 1_000_000
	start := time.Now()
	// Generated in the database: a million rows through the driver would
	// time the load, not the reports.
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO sales_facts (event, serial, type, channel, method, currency, amount, sold_at, day, hour, buyer, region, age, refunded_at, refund)
		SELECT 1 + i % 20, i, 1 + i % 5, (ARRAY['online', 'box_office', 'seller'])[1 + i % 3], (ARRAY['alipay', 'wechat', 'card', 'cash', 'unionpay'])[1 + i % 5],
			'CNY', 10000 + (i % 7) * 1000, $1 + (i::bigint * 2592000000000 / $2), to_char(to_timestamp(($1 + (i::bigint * 2592000000000 / $2)) / 1e6) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
			(i / 3600) % 24, i % 50000, (ARRAY['CN-11', 'CN-31', 'CN-44', 'HK', ''])[1 + i % 5], (ARRAY['18-24', '25-34', '35-44', '45-54', ''])[1 + i % 5],
			CASE WHEN i % 33 = 0 THEN $1 + 1 ELSE 0 END, CASE WHEN i % 33 = 0 THEN 10000 ELSE 0 END
		FROM generate_series(1, $2) AS i`, from.UnixMicro(), n)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO records (origin, seq, hash, raw, kind, event, serial, type, gate, zone, at, arrived, via)
		SELECT 'gate', i, '\x00', '\x00', 1, 1 + i % 20, i, 1 + i % 5, 'G1', 0, 0, 0, 'gate' FROM generate_series(1, $1, 2) AS i`, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("a million tickets loaded in %v", time.Since(start).Round(time.Second))
	// Central rolls the hours up as they pass; here the month at once.
	start = time.Now()
	hours, err := db.RollUpSales(ctx)
	if err != nil || hours < 30*24 {
		b.Fatalf("roll-up: %d hours, %v", hours, err)
	}
	rollup := time.Since(start)
	q := Query{From: from, Until: until}
	var lat []time.Duration
	for b.Loop() {
		for range 20 {
			t0 := time.Now()
			for _, by := range []string{"type", "day", "channel"} {
				q.By = by
				rep, err := SalesOf(ctx, db, q)
				if err != nil || len(rep.Rows) == 0 {
					b.Fatalf("by %s: %d rows, %v", by, len(rep.Rows), err)
				}
				if by == "type" {
					var tickets int64
					for _, r := range rep.Rows {
						tickets += r.Tickets
					}
					if tickets != n-1 { // the last one sold at until
						b.Fatalf("by type: %d tickets, want %d", tickets, n-1)
					}
				}
			}
			if _, err := FunnelOf(ctx, db, q); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(rollup.Seconds(), "rollup-month-s")
}
