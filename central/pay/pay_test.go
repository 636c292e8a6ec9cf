package pay

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"128.00", 12800, true}, {"0.01", 1, true}, {"12.3", 1230, true}, {"7", 700, true},
		{"", 0, false}, {"1.234", 0, false}, {"-1.00", 0, false}, {"+1.00", 0, false}, {"1.", 0, false}, {".5", 0, false}, {"1e3", 0, false}, {"1.-5", 0, false},
	} {
		got, err := parseDecimal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseDecimal(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
	if got := (Money{12805, "CNY"}).decimal(); got != "128.05" {
		t.Errorf("decimal: %s", got)
	}
}

func TestBrowserOf(t *testing.T) {
	for ua, want := range map[string]Browser{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2a) NetType/WIFI Language/zh_CN": InsideWeChat,
		"Mozilla/5.0 (Linux; U; Android 13; zh-CN; V2154A Build/TP1A.220624.014) AppleWebKit/537.36 Chrome/69.0 Mobile Safari/537.36 AlipayClient/10.5.36.8000":                       InsideAlipay,
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                                                           Mobile,
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36":                                                                 Desktop,
	} {
		if got := BrowserOf(ua); got != want {
			t.Errorf("%s: %s, want %s", ua, got, want)
		}
	}
}

// A buyer who pays one order twice, with Alipay and with Stripe, gets the
// second payment back whichever notification arrives first.
func TestSecondPaymentRefunded(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ar, _ := alipayRig(t)
			sr := stripeRig(t)
			f := newFixture(t, dialect, 10, func(base string, c ticket.Clock) []Provider {
				return append(ar.providers(t, base, c), sr.providers(t, base, c)...)
			})
			for _, first := range []string{"alipay", "stripe"} {
				o := f.place(t, 1)
				ar.start(t, f, o.ID)
				sr.start(t, f, o.ID)
				na := ar.pay(t, f, intentKey(o.ID, "alipay"))
				ns := sr.pay(t, f, intentKey(o.ID, "stripe"))
				notes := []struct {
					name string
					n    notification
				}{{"alipay", na}, {"stripe", ns}}
				if first == "stripe" {
					notes[0], notes[1] = notes[1], notes[0]
				}
				for _, n := range notes {
					if st, body := f.notify(t, n.name, n.n); st != 200 {
						t.Fatalf("%s notification: %d %s\n%s", n.name, st, body, f.logs)
					}
				}
				got, tickets := f.order(t, o.ID)
				if got.Status != shop.StatusPaid || got.Method != first || len(tickets) != 1 {
					t.Errorf("%s first: order %s by %s with %d tickets", first, got.Status, got.Method, len(tickets))
				}
				second := notes[1].name
				var refunded int64
				if second == "alipay" {
					refunded = ar.refunded(t, intentKey(o.ID, "alipay"))
				} else {
					refunded = sr.refunded(t, intentKey(o.ID, "stripe"))
				}
				if refunded != 12800 {
					t.Errorf("%s first: the %s payment was refunded %d, want 12800", first, second, refunded)
				}
				if m := f.money(t, o.ID); m["payments"] != 2 || m["refunds"] != 1 || m["refund"] != 12800 {
					t.Errorf("%s first: transactions %v", first, m)
				}
				// A refund by the box office refunds the payment that paid,
				// never the one refunded already.
				if st, m := f.refund(t, o.ID, 0, "all-"+first); st != 200 || m.Amount != 12800 {
					t.Errorf("%s first: refund of the order: %d %+v", first, st, m)
				}
			}
		})
	}
}

// A notification signed by Alipay for another amount than asked changes
// nothing and is logged.
func TestMismatchedAmount(t *testing.T) {
	r, sim := alipayRig(t)
	f := newFixture(t, store.SQLite, 10, r.bind(t))
	o := f.place(t, 1)
	r.start(t, f, o.ID)
	v, err := (*sim).Pay(intentKey(o.ID, "alipay"))
	if err != nil {
		t.Fatal(err)
	}
	v.Set("total_amount", "1.28")
	(*sim).Sign(v)
	if st, body := f.notify(t, "alipay", formNote(v)); r.acked(st, body) {
		t.Errorf("a notification for 1.28 of a 128.00 order was taken: %s", body)
	}
	if got, _ := f.order(t, o.ID); got.Status != shop.StatusPending {
		t.Errorf("order is %s", got.Status)
	}
	if m := f.money(t, o.ID); len(m) != 0 {
		t.Errorf("recorded %v", m)
	}
	if !strings.Contains(f.logs.String(), "does not match its payment") {
		t.Errorf("not logged:\n%s", f.logs)
	}
}

// On a phone the buyer is sent to the WAP cashier by a signed redirect;
// the simulator checks the signature (a tampered amount is refused), its
// pay button notifies central and sends the buyer back.
func TestAlipayCashierFlows(t *testing.T) {
	r, sim := alipayRig(t)
	f := newFixture(t, store.SQLite, 10, r.bind(t))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	o := f.place(t, 2)
	a := f.start(t, o.ID, "alipay", Mobile)
	if a.Kind != "redirect" || !strings.Contains(a.URL, "alipay.trade.wap.pay") {
		t.Fatalf("mobile: %+v", a)
	}
	tampered := strings.Replace(a.URL, url.QueryEscape(`"total_amount":"256.00"`), url.QueryEscape(`"total_amount":"2.56"`), 1)
	if tampered == a.URL {
		t.Fatal("no amount in the redirect")
	}
	resp, err := http.Get(tampered)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "invalid-signature") || (*sim).Refused() != 1 {
		t.Errorf("a tampered redirect was not refused: %s", body)
	}
	resp, err = http.Get(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "¥256.00") {
		t.Fatalf("cashier page: %d %s", resp.StatusCode, body)
	}
	gw, _ := url.Parse(a.URL)
	resp, err = noRedirect.PostForm(gw.Scheme+"://"+gw.Host+"/cashier/pay", url.Values{"out_trade_no": {intentKey(o.ID, "alipay")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || !strings.HasPrefix(loc, "https://tickets.example.org/orders?") {
		t.Errorf("after paying: %d to %q", resp.StatusCode, loc)
	}
	if got, tickets := f.order(t, o.ID); got.Status != shop.StatusPaid || len(tickets) != 2 {
		t.Errorf("order after the cashier: %s with %d tickets\n%s", got.Status, len(tickets), f.logs)
	}

	// Inside WeChat, which does not open Alipay, a QR code; inside Alipay
	// the WAP cashier, which opens the app's.
	o2 := f.place(t, 1)
	if a := f.start(t, o2.ID, "alipay", InsideWeChat); a.Kind != "qr" {
		t.Errorf("inside WeChat: %+v", a)
	}
	if a := f.start(t, o2.ID, "alipay", InsideAlipay); a.Kind != "redirect" {
		t.Errorf("inside Alipay: %+v", a)
	}
	// The trade was asked for twice: one trade at Alipay.
	if (*sim).Calls("alipay.trade.precreate") != 1 {
		t.Errorf("precreate calls: %d", (*sim).Calls("alipay.trade.precreate"))
	}
	// Query reads the paid trade back as the notification would.
	ali, _ := f.pay.Provider("alipay")
	ev, err := ali.(*Alipay).Query(context.Background(), intentKey(o.ID, "alipay"))
	if err != nil || ev.Kind != EventPayment || ev.Amount != (Money{25600, "CNY"}) {
		t.Errorf("query: %+v %v", ev, err)
	}
	if err := f.pay.Apply(context.Background(), ali, ev); err != nil {
		t.Errorf("applying the query's answer after the notification: %v", err)
	}
	if m := f.money(t, o.ID); m["payments"] != 1 {
		t.Errorf("transactions after notification and query: %v", m)
	}
}

// Transactions are append-only in both dialects.
func TestTransactionsAppendOnly(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			r, _ := alipayRig(t)
			f := newFixture(t, dialect, 10, r.bind(t))
			o := f.place(t, 1)
			r.start(t, f, o.ID)
			f.notify(t, "alipay", r.pay(t, f, intentKey(o.ID, "alipay")))
			if m := f.money(t, o.ID); m["payments"] != 1 {
				t.Fatalf("transactions: %v", m)
			}
			if _, err := f.db.SQL().Exec(`UPDATE pay_transactions SET amount = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("update: %v", err)
			}
			if _, err := f.db.SQL().Exec(`DELETE FROM pay_transactions`); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("delete: %v", err)
			}
		})
	}
}

// An order paid at the box office while its Alipay payment was on the way
// keeps the box office's payment; Alipay's is refunded.
func TestPaidOtherwiseRefunded(t *testing.T) {
	r, _ := alipayRig(t)
	f := newFixture(t, store.SQLite, 10, r.bind(t))
	o := f.place(t, 1)
	r.start(t, f, o.ID)
	if _, _, err := f.shop.Pay(t.Context(), o.ID, shop.MethodBoxOffice); err != nil {
		t.Fatal(err)
	}
	n := r.pay(t, f, intentKey(o.ID, "alipay"))
	for range 2 {
		if st, body := f.notify(t, "alipay", n); !r.acked(st, body) {
			t.Fatalf("notification: %d %s\n%s", st, body, f.logs)
		}
	}
	if got, tickets := f.order(t, o.ID); got.Status != shop.StatusPaid || got.Method != shop.MethodBoxOffice || len(tickets) != 1 {
		t.Errorf("order: %s by %s with %d tickets", got.Status, got.Method, len(tickets))
	}
	if got := r.refunded(t, intentKey(o.ID, "alipay")); got != 12800 {
		t.Errorf("alipay refunded %d, want 12800", got)
	}
	if m := f.money(t, o.ID); m["payments"] != 1 || m["refunds"] != 1 {
		t.Errorf("transactions: %v", m)
	}
}
