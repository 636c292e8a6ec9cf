package central

import (
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/pay"
	"github.com/tixgate/tixgate/central/pay/paysim"
)

// With payment providers configured the server takes their notifications
// without credentials, and verifies them: a forged one is answered as
// Alipay's "failure". Without providers the route is not there.
func TestPayRoutesMounted(t *testing.T) {
	app, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := paysim.NewAlipay("2021000122600000", &app.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ali, err := pay.NewAlipay(pay.AlipayConfig{AppID: "2021000122600000", PrivateKey: app, AlipayPublicKey: sim.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	post := func(f *fixture) (int, string) {
		resp, err := http.Post(f.http.URL+"/api/v1/pay/notify/alipay", "application/x-www-form-urlencoded",
			strings.NewReader("out_trade_no=tg1-alipay&trade_status=TRADE_SUCCESS&total_amount=128.00&sign_type=RSA2&sign=Zm9yZ2Vk"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	f := newFixtureWith(t, "", func(c *Config) { c.PayProviders = []pay.Provider{ali} })
	if st, body := post(f); st != 200 || body != "failure" {
		t.Errorf("a forged notification: %d %q, want 200 failure", st, body)
	}
	if st, _ := post(newFixture(t, "")); st != http.StatusUnauthorized {
		t.Errorf("without providers: %d, want the API's 401", st)
	}
}
