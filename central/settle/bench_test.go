package settle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package (none with
// -short).
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

// weChatBill writes a WeChat Pay trade bill of the lines.
func weChatBill(lines []Line) []byte {
	var b strings.Builder
	b.WriteString("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n")
	for _, l := range lines {
		at := l.At.In(Location).Format("2006-01-02 15:04:05")
		if l.Kind == store.PayRefund {
			fmt.Fprintf(&b, "`%s,`wx1,`1900000109,`0,`,`4200%s,`%s,`o1,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`5000%s,`%s,`%d.%02d,`0.00,`ORIGINAL,`SUCCESS,`ticket,`,`-%d.%02d000,`0.60%%,`0.00,`%d.%02d,`\n",
				at, l.Merchant, l.Merchant, l.Reference, l.Reference, l.Amount/100, l.Amount%100, l.Fee/100, l.Fee%100, l.Amount/100, l.Amount%100)
			continue
		}
		fmt.Fprintf(&b, "`%s,`wx1,`1900000109,`0,`,`%s,`%s,`o1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`%d.%02d,`0.00,`0,`0,`0.00,`0.00,`,`,`ticket,`,`%d.%02d000,`0.60%%,`%d.%02d,`0.00,`\n",
			at, l.Reference, l.Merchant, l.Amount/100, l.Amount%100, l.Fee/100, l.Fee%100, l.Amount/100, l.Amount%100)
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n")
	fmt.Fprintf(&b, "`%d,`0.00,`0.00,`0.00,`0.00,`0.00,`0.00\n", len(lines))
	return []byte(b.String())
}

// BenchmarkSystemSettleDay reconciles a day of 100,000 WeChat Pay
// movements (95,000 payments, 5,000 refunds) on PostgreSQL, with one in a
// thousand planted of each kind of mismatch: the file parsed, the day's
// transactions read, matched, and the run, its items and 95,000 fees
// stored (issue 13: seconds).
func BenchmarkSystemSettleDay(b *testing.B) {
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
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, Location)
	const n = 100_000
	// Central's record, generated in the database: every 20th a refund.
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO pay_transactions (kind, provider, reference, intent, order_id, account, amount, currency, at)
		SELECT CASE WHEN i % 20 = 0 THEN 'refund' ELSE 'payment' END, 'wechat',
			CASE WHEN i % 20 = 0 THEN 'r-' || i ELSE '42' || i END, 'o' || i || '-wechat', i, 1 + i % 5000, 10000 + (i % 7) * 100, 'CNY',
			$1 + i::bigint * 86000000000 / $2
		FROM generate_series(1, $2) AS i`, day.UnixMicro()+60_000_000, n)
	if err != nil {
		b.Fatal(err)
	}
	var lines []Line
	for i := 1; i <= n; i++ {
		l := Line{Kind: store.PayPayment, Reference: fmt.Sprint("42", i), Merchant: fmt.Sprintf("o%d-wechat", i), Amount: int64(10000 + (i%7)*100),
			Currency: "CNY", At: day.Add(time.Minute + time.Duration(int64(i)*86000000000/n)*time.Microsecond)}
		if i%20 == 0 {
			l.Kind, l.Reference = store.PayRefund, fmt.Sprint("r-", i)
		} else {
			l.Fee = (l.Amount*60 + 5000) / 10000
		}
		switch i % 1000 {
		case 1:
			continue // missing on theirs
		case 2:
			l.Amount-- // differs
		case 3:
			l.Reference += "x" // one of theirs we lack, and ours missing on theirs
		}
		lines = append(lines, l)
	}
	file := weChatBill(lines)
	b.Logf("bill of %d lines, %d MB", len(lines), len(file)>>20)
	var parse, total time.Duration
	for b.Loop() {
		start := time.Now()
		got, err := ParseWeChat(file)
		if err != nil {
			b.Fatal(err)
		}
		parse = time.Since(start)
		res, err := Reconcile(ctx, db, "wechat", day, got, file, "uploaded", "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		total = time.Since(start)
		if res.Run.MissingOurs != 100 || res.Run.MissingTheirs != 200 || res.Run.AmountDiffers != 100 {
			b.Fatalf("run %+v", res.Run)
		}
	}
	b.ReportMetric(total.Seconds(), "day-100k-s")
	b.ReportMetric(parse.Seconds(), "parse-s")
}
