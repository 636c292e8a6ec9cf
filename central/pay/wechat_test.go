package pay

import (
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/pay/paysim"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// testAPIv3Key is made per run from the merchant's test key.
func testAPIv3Key(tb testing.TB) []byte {
	sum := sha256.Sum256(testKey(tb, 1).D.Bytes())
	return sum[:]
}

func wechatRig(tb testing.TB) (rig, **paysim.WeChat) {
	var sim *paysim.WeChat
	r := rig{name: "wechat"}
	r.providers = func(tb testing.TB, base string, clock ticket.Clock) []Provider {
		merchant := testKey(tb, 1)
		s, err := paysim.NewWeChat("1900000109", "wxd678efh567hg6787", &merchant.PublicKey, "5157F09EFDC096DE15EBE81A47057A72", testAPIv3Key(tb))
		if err != nil {
			tb.Fatal(err)
		}
		s.Now = clock.Now
		u, err := s.Start()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		sim = s
		serial, pk := s.PlatformKey()
		w, err := NewWeChat(WeChatConfig{MchID: "1900000109", AppID: "wxd678efh567hg6787", URL: u, MerchantKey: merchant,
			MerchantSerial: "5157F09EFDC096DE15EBE81A47057A72", PlatformKeys: map[string]*rsa.PublicKey{serial: pk}, APIv3Key: testAPIv3Key(tb),
			NotifyURL: base + "notify/wechat", Clock: clock})
		if err != nil {
			tb.Fatal(err)
		}
		return []Provider{w}
	}
	r.start = func(tb testing.TB, f *fixture, order int64) {
		tb.Helper()
		a := f.start(tb, order, "wechat", Desktop)
		if a.Kind != "qr" || !strings.HasPrefix(a.QR, "weixin://wxpay/bizpayurl?pr=") {
			tb.Fatalf("desktop: %+v, want a Native QR code", a)
		}
	}
	r.pay = func(tb testing.TB, _ *fixture, key string) notification {
		tb.Helper()
		n, err := sim.Pay(key)
		if err != nil {
			tb.Fatal(err)
		}
		return notification{body: n.Body, header: n.Header}
	}
	r.forge = func(tb testing.TB, _ *fixture, key string) notification {
		tb.Helper()
		n, err := sim.Pay(key)
		if err != nil {
			tb.Fatal(err)
		}
		h := n.Header.Clone()
		sig, _ := signRSA2(testKey(tb, 2), []byte(h.Get("Wechatpay-Timestamp")+"\n"+h.Get("Wechatpay-Nonce")+"\n"+string(n.Body)+"\n"))
		h.Set("Wechatpay-Signature", sig)
		return notification{body: n.Body, header: h}
	}
	r.refunded = func(tb testing.TB, key string) int64 {
		t, _ := sim.Trade(key)
		return t.Refunded
	}
	r.acked = func(status int, body string) bool { return status == 204 }
	return r, &sim
}

func TestWeChat(t *testing.T) {
	r, _ := wechatRig(t)
	suite(t, r)
}

// The flows by browser, a resource sealed with another key, and a
// notification replayed after the signature's tolerance.
func TestWeChatFlowsAndSeals(t *testing.T) {
	r, sim := wechatRig(t)
	f := newFixture(t, store.SQLite, 10, r.bind(t))
	o := f.place(t, 1)
	var a Action
	if st := f.call(t, "POST", PathPrefix+"orders/"+itoa(o.ID), f.token, nil, startRequest{Provider: "wechat", Browser: InsideWeChat}, &a); st != 400 {
		t.Errorf("JSAPI without an openid: %d %+v", st, a)
	}
	if st := f.call(t, "POST", PathPrefix+"orders/"+itoa(o.ID), f.token, nil, startRequest{Provider: "wechat", Browser: InsideWeChat, OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, &a); st != 200 ||
		a.Kind != "jsapi" || a.Params["package"] != "prepay_id=wx"+intentKey(o.ID, "wechat") || a.Params["signType"] != "RSA" {
		t.Fatalf("inside WeChat: %d %+v", st, a)
	}
	// paySign is the merchant's signature of appId, timeStamp, nonceStr
	// and package, one a line, as WeixinJSBridge checks it.
	msg := a.Params["appId"] + "\n" + a.Params["timeStamp"] + "\n" + a.Params["nonceStr"] + "\n" + a.Params["package"] + "\n"
	if err := verifyRSA2(&testKey(t, 1).PublicKey, []byte(msg), a.Params["paySign"]); err != nil {
		t.Errorf("paySign: %v", err)
	}
	if a := f.start(t, o.ID, "wechat", Mobile); a.Kind != "redirect" || !strings.Contains(a.URL, "/h5/") {
		t.Errorf("phone: %+v", a)
	}
	tx, _ := (*sim).Trade(intentKey(o.ID, "wechat"))
	wrong := make([]byte, 32)
	n, err := (*sim).Notice("TRANSACTION.SUCCESS", []byte(`{"mchid":"1900000109","appid":"wxd678efh567hg6787","out_trade_no":"`+tx.OutTradeNo+
		`","transaction_id":"`+tx.TransactionID+`","trade_state":"SUCCESS","amount":{"total":12800,"currency":"CNY"}}`), wrong)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := f.notify(t, "wechat", notification{body: n.Body, header: n.Header}); st == 204 {
		t.Error("a resource sealed with another key was taken")
	}
	if got, _ := f.order(t, o.ID); got.Status != shop.StatusPending {
		t.Errorf("order after a wrongly sealed notification: %s", got.Status)
	}
	paid := r.pay(t, f, intentKey(o.ID, "wechat"))
	f.clock.Advance(6 * time.Minute)
	if st, _ := f.notify(t, "wechat", paid); st == 204 {
		t.Error("a notification signed 6 minutes ago was taken")
	}
	if !strings.Contains(f.logs.String(), "signed") {
		t.Errorf("the stale notification was not logged")
	}
	// Query finds it paid and applies it as the notification would.
	w, _ := f.pay.Provider("wechat")
	ev, err := w.(*WeChat).Query(t.Context(), intentKey(o.ID, "wechat"))
	if err != nil || ev.Kind != EventPayment || ev.Amount != (Money{12800, "CNY"}) {
		t.Fatalf("query: %+v %v", ev, err)
	}
	if err := f.pay.Apply(t.Context(), w, ev); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.order(t, o.ID); got.Status != shop.StatusPaid || got.Method != "wechat" {
		t.Errorf("order after the query: %s by %s", got.Status, got.Method)
	}
	if (*sim).Refused() != 0 {
		t.Errorf("the simulator refused %d of the adapter's requests", (*sim).Refused())
	}
	// A merchant key the simulator does not know is refused, and the
	// refusal is not trusted either: it is not the platform's signature
	// that fails, it is the request's.
	bad := *w.(*WeChat)
	bad.cfg.MerchantKey = testKey(t, 2)
	o2 := f.place(t, 1)
	if _, err := bad.Create(t.Context(), Payment{Key: intentKey(o2.ID, "wechat"), Order: o2.ID, Amount: Money{12800, "CNY"}, Subject: "x", Browser: Desktop}); err == nil || (*sim).Refused() != 1 {
		t.Errorf("a request signed with another key: %v, %d refused", err, (*sim).Refused())
	}
}
