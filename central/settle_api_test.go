package central

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// The settlement API over an uploaded WeChat Pay bill: the run's counts,
// the items (JSON and CSV), resolving one (audited), a file cut short or
// of another provider refused with nothing stored, and the scopes.
func TestSettlementAPI(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		reader, _ := AddAPIToken(ctx, f.db, f.clock, "audit-bot", "read", []string{"read"})
		finance, err := AddAPIToken(ctx, f.db, f.clock, "mei", "finance", []string{"box_office"})
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 6, 11, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
		at := day.Add(10 * time.Hour)
		err = f.db.Update(ctx, func(tx *store.Tx) error {
			for i, amount := range []int64{12800, 12800, 25600} {
				if _, err := tx.AddPayTransaction(store.PayTransaction{Kind: store.PayPayment, Provider: "wechat", Reference: fmt.Sprintf("42000%d", i+1),
					Intent: fmt.Sprintf("o%d-wechat", i+1), Order: int64(i + 1), Account: 1, Amount: amount, Currency: "CNY", At: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		row := func(id, no, amount string) string {
			return "`2026-06-11 10:00:00,`wx1,`1900000109,`0,`,`" + id + ",`" + no + ",`o1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`" + amount +
				",`0.00,`0,`0,`0.00,`0.00,`,`,`ticket,`,`0.77000,`0.60%,`" + amount + ",`0.00,`\n"
		}
		bill := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
			row("420001", "o1-wechat", "128.00") + row("420003", "o3-wechat", "255.00") + row("420009", "o9-wechat", "99.00") +
			"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`3,`482.00,`0.00,`0.00,`2.31000,`482.00,`0.00\n"
		upload := func(token, query, body string) (int, []byte) {
			req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/api/v1/settlement/runs"+query, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "text/csv")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		if code, b := upload(reader, "?provider=wechat&day=2026-06-11", bill); code != http.StatusForbidden {
			t.Errorf("a read token ran a settlement: %d %s", code, b)
		}
		cut := bill[:strings.Index(bill, "总交易单数")]
		for name, body := range map[string]string{"cut short": cut, "Alipay's": "PK\x03\x04garbage", "empty": ""} {
			code, b := upload(finance, "?provider=wechat&day=2026-06-11", body)
			if code != http.StatusUnprocessableEntity && code != http.StatusBadRequest || !strings.Contains(string(b), "message") {
				t.Errorf("a %s file: %d %s", name, code, b)
			}
		}
		if code, b := upload(finance, "?provider=paypal&day=2026-06-11", bill); code != http.StatusBadRequest {
			t.Errorf("an unknown provider: %d %s", code, b)
		}
		if code, b := f.get("/api/v1/settlement/runs", reader); code != 200 || string(bytes.TrimSpace(b)) != "[]" {
			t.Errorf("runs after refused files: %d %s", code, b)
		}
		code, b := upload(finance, "?provider=wechat&day=2026-06-11", bill)
		var run SettleRunView
		if code != 200 || json.Unmarshal(b, &run) != nil {
			t.Fatalf("upload: %d %s", code, b)
		}
		if run.Lines != 3 || run.Matched != 1 || run.MissingOurs != 1 || run.MissingTheirs != 1 || run.AmountDiffers != 1 || run.Fees != 77 || run.Source != "uploaded" || run.By != "mei" {
			t.Errorf("run %+v", run)
		}
		code, b = f.get("/api/v1/settlement/items?provider=wechat&day=2026-06-11&open=1", reader)
		var items []SettleItemView
		if code != 200 || json.Unmarshal(b, &items) != nil || len(items) != 3 {
			t.Fatalf("items: %d %s", code, b)
		}
		got := map[string]string{}
		for _, it := range items {
			got[it.Status] = fmt.Sprintf("%s %d/%d", it.Reference, it.OurAmount, it.TheirAmount)
		}
		want := map[string]string{"missing_ours": "420009 0/9900", "missing_theirs": "420002 12800/0", "amount_differs": "420003 25600/25500"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("items %v, want %v", got, want)
		}
		if code, b := f.post(fmt.Sprintf("/api/v1/settlement/items/%d/resolve", items[0].ID), finance, map[string]string{"note": ""}); code != 400 {
			t.Errorf("resolved without a note: %d %s", code, b)
		}
		if code, b := f.post(fmt.Sprintf("/api/v1/settlement/items/%d/resolve", items[0].ID), finance, map[string]string{"note": "refund sent by hand"}); code != 200 {
			t.Fatalf("resolve: %d %s", code, b)
		}
		if n := f.audited("settlement.resolve", fmt.Sprint(items[0].ID)); n != 1 {
			t.Errorf("%d audit entries for the resolution", n)
		}
		if code, _ := f.post(fmt.Sprintf("/api/v1/settlement/items/%d/resolve", items[0].ID), finance, map[string]string{"note": "again"}); code != 404 {
			t.Errorf("resolved twice: %d", code)
		}
		code, b = f.get("/api/v1/settlement/items?provider=wechat&format=csv", reader)
		if code != 200 || strings.Count(string(b), "\n") != 4 || !strings.Contains(string(b), "refund sent by hand") {
			t.Errorf("csv: %d %s", code, b)
		}
	})
}
