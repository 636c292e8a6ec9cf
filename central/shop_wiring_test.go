package central

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tixgate/tixgate/central/shop"
)

// The server's config reaches its box office: the captcha's difficulty
// and the SMS sender.
func TestShopWiring(t *testing.T) {
	dev := &shop.DevSender{}
	f := newFixtureWith(t, "", func(c *Config) { c.CaptchaBits = 8; c.SMSSender = dev })
	post := func(path string, body any, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(f.http.URL+shop.PathPrefix+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode
	}
	var e struct{ Code string }
	reg := map[string]any{"email": "a@example.org", "password": "a long password"}
	if st := post("accounts", reg, &e); st != 403 || e.Code != "captcha" {
		t.Errorf("registering without the captcha: %d %+v", st, e)
	}
	st, body := f.get(shop.PathPrefix+"captcha", "")
	var c shop.Captcha
	if json.Unmarshal(body, &c); st != 200 || c.Bits != 8 {
		t.Fatalf("captcha: %d %s", st, body)
	}
	a := shop.SolveCaptcha(c.Challenge, c.Bits)
	reg["captcha"] = a
	if st := post("accounts", reg, &e); st != 201 {
		t.Errorf("registering with the captcha: %d %+v", st, e)
	}
	if st := post("login/sms", map[string]string{"phone": "+8613800138000"}, &e); st != 202 || len(dev.Outbox()) != 1 {
		t.Errorf("sms code: %d, outbox %v", st, dev.Outbox())
	}
	if f.srv.Shop == nil {
		t.Error("the server does not expose its shop")
	}
}
