package pay

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tixgate/tixgate/central/pay/paysim"
	"github.com/tixgate/tixgate/ticket"
)

var (
	testKeyOnce sync.Once
	testKeys    []*rsa.PrivateKey
)

// testKey is the i-th RSA key made for this test run (never stored).
func testKey(tb testing.TB, i int) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys = append(testKeys, k)
		}
	})
	return testKeys[i]
}

// alipayRig is the adapter against the simulator, with a fresh simulator
// per fixture.
func alipayRig(tb testing.TB) (rig, **paysim.Alipay) {
	var sim *paysim.Alipay
	r := rig{name: "alipay"}
	r.providers = func(tb testing.TB, base string, clock ticket.Clock) []Provider {
		app := testKey(tb, 0)
		s, err := paysim.NewAlipay("2021000122600000", &app.PublicKey)
		if err != nil {
			tb.Fatal(err)
		}
		s.Now = clock.Now
		gw, err := s.Start()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		sim = s
		a, err := NewAlipay(AlipayConfig{AppID: "2021000122600000", Gateway: gw, PrivateKey: app, AlipayPublicKey: s.PublicKey(),
			NotifyURL: base + "notify/alipay", ReturnURL: "https://tickets.example.org/orders", Clock: clock})
		if err != nil {
			tb.Fatal(err)
		}
		return []Provider{a}
	}
	r.start = func(tb testing.TB, f *fixture, order int64) {
		tb.Helper()
		a := f.start(tb, order, "alipay", Desktop)
		if a.Kind != "qr" || !strings.Contains(a.QR, "/qr/") {
			tb.Fatalf("desktop: %+v, want a QR code from precreate", a)
		}
		if sim.Calls("alipay.trade.precreate") == 0 {
			tb.Fatal("the simulator took no precreate")
		}
	}
	r.pay = func(tb testing.TB, _ *fixture, key string) notification {
		tb.Helper()
		v, err := sim.Pay(key)
		if err != nil {
			tb.Fatal(err)
		}
		return formNote(v)
	}
	r.forge = func(tb testing.TB, _ *fixture, key string) notification {
		tb.Helper()
		if _, err := sim.Pay(key); err != nil {
			tb.Fatal(err)
		}
		v, _ := sim.Notification(key)
		// Signed by someone holding a key that is not Alipay's.
		v.Del("sign")
		sig, _ := signRSA2(testKey(tb, 2), alipayContent(v, "sign", "sign_type"))
		v.Set("sign", sig)
		return formNote(v)
	}
	r.refunded = func(tb testing.TB, key string) int64 {
		t, _ := sim.Trade(key)
		return t.Refunded
	}
	r.acked = func(status int, body string) bool { return status == 200 && body == "success" }
	return r, &sim
}

func formNote(v url.Values) notification {
	return notification{body: []byte(v.Encode()), header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}}
}

func TestAlipay(t *testing.T) {
	r, _ := alipayRig(t)
	suite(t, r)
}
