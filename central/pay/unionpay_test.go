package pay

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/pay/paysim"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

func unionPayRig(tb testing.TB) (rig, **paysim.UnionPay) {
	var sim *paysim.UnionPay
	r := rig{name: "unionpay"}
	r.providers = func(tb testing.TB, base string, clock ticket.Clock) []Provider {
		merchant := testKey(tb, 1)
		s, err := paysim.NewUnionPay("777290058110048", &merchant.PublicKey, "68759663125")
		if err != nil {
			tb.Fatal(err)
		}
		u, err := s.Start()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		sim = s
		roots := x509.NewCertPool()
		roots.AddCert(s.Root())
		up, err := NewUnionPay(UnionPayConfig{MerID: "777290058110048", URL: u, MerchantKey: merchant, MerchantCertID: "68759663125",
			Roots: roots, BackURL: base + "notify/unionpay", FrontURL: "https://tickets.example.org/orders", Clock: clock})
		if err != nil {
			tb.Fatal(err)
		}
		return []Provider{up}
	}
	r.start = func(tb testing.TB, f *fixture, order int64) {
		tb.Helper()
		a := f.start(tb, order, "unionpay", Desktop)
		if a.Kind != "form" || !strings.HasSuffix(a.URL, "/gateway/api/frontTransReq.do") || a.Params["signature"] == "" || a.Params["channelType"] != "07" {
			tb.Fatalf("desktop: %+v, want the front gateway's form", a)
		}
		// The browser posts the form to UnionPay's cashier.
		form := url.Values{}
		for k, v := range a.Params {
			form.Set(k, v)
		}
		resp, err := http.PostForm(a.URL, form)
		if err != nil {
			tb.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "¥") {
			tb.Fatalf("cashier: %s", body)
		}
	}
	r.pay = func(tb testing.TB, _ *fixture, key string) notification {
		tb.Helper()
		v, err := sim.Pay(unionPayOrderID(key))
		if err != nil {
			tb.Fatal(err)
		}
		return formNote(v)
	}
	r.forge = func(tb testing.TB, _ *fixture, key string) notification {
		tb.Helper()
		v, err := sim.Pay(unionPayOrderID(key))
		if err != nil {
			tb.Fatal(err)
		}
		// Signed by a look-alike whose certificate does not chain to
		// UnionPay's root.
		other, err := paysim.NewUnionPay("777290058110048", &testKey(tb, 1).PublicKey, "68759663125")
		if err != nil {
			tb.Fatal(err)
		}
		other.Sign(v)
		return formNote(v)
	}
	r.refunded = func(tb testing.TB, key string) int64 {
		o, _ := sim.Order(unionPayOrderID(key))
		return o.Refunded
	}
	r.acked = func(status int, body string) bool { return status == 200 && body == "ok" }
	return r, &sim
}

func TestUnionPay(t *testing.T) {
	r, _ := unionPayRig(t)
	suite(t, r)
}

// A form tampered on the way to the cashier is refused there; a phone
// gets the mobile channel.
func TestUnionPayTamperedForm(t *testing.T) {
	r, sim := unionPayRig(t)
	f := newFixture(t, store.SQLite, 10, r.bind(t))
	o := f.place(t, 1)
	a := f.start(t, o.ID, "unionpay", Mobile)
	if a.Params["channelType"] != "08" {
		t.Errorf("phone: channel %s", a.Params["channelType"])
	}
	form := url.Values{}
	for k, v := range a.Params {
		form.Set(k, v)
	}
	form.Set("txnAmt", "1")
	resp, err := http.PostForm(a.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "respCode=11") || (*sim).Refused() != 1 {
		t.Errorf("a tampered form: %s", body)
	}
}
