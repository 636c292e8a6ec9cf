package settle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// A bill read back: payments, refunds and fees in fen, times in Beijing;
// and what is not a bill refused as such.
func TestParseWeChat(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, Location)
	in := []Line{
		{Kind: store.PayPayment, Reference: "4200001", Merchant: "o1-wechat", Amount: 12800, Fee: 77, Currency: "CNY", At: at},
		{Kind: store.PayRefund, Reference: "r-part-1", Merchant: "o1-wechat", Amount: 5000, Fee: 30, Currency: "CNY", At: at.Add(time.Hour)},
	}
	got, err := ParseWeChat(weChatBill(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d lines", len(got))
	}
	for i := range in {
		if got[i].Kind != in[i].Kind || got[i].Reference != in[i].Reference || got[i].Amount != in[i].Amount || got[i].Fee != in[i].Fee || !got[i].At.Equal(in[i].At) {
			t.Errorf("line %d: %+v, want %+v", i, got[i], in[i])
		}
	}
	whole := string(weChatBill(in))
	for name, bad := range map[string]string{
		"cut short":       whole[:strings.Index(whole, "总交易单数")],
		"a line missing":  strings.Replace(whole, whole[strings.Index(whole, "\n")+1:strings.Index(whole, "`2026-12-01 10:30")], "", 1),
		"not a bill":      "hello,world\n1,2\n",
		"an amount wrong": strings.Replace(whole, "`128.00", "`12.8.00", 1),
	} {
		if _, err := ParseWeChat([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	if _, err := ParseAlipay([]byte("not a zip")); !errors.Is(err, ErrFormat) {
		t.Errorf("alipay, not a zip: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(weChatBill([]Line{{Kind: store.PayPayment, Reference: "1", Merchant: "o", Amount: 1, Currency: "CNY", At: time.Unix(0, 0)}}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range []string{"alipay", "wechat"} {
			lines, err := Parse(p, b)
			for _, l := range lines {
				if err == nil && (l.Amount <= 0 || l.Reference == "") {
					t.Fatalf("%s: a line without an amount or number: %+v", p, l)
				}
			}
		}
	})
}
