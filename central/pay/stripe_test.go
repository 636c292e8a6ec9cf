package pay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/testsrv"
	"github.com/tixgate/tixgate/ticket"
)

// startStripeMock runs a stripe-mock on loopback ports until the test
// ends and returns its URL.
func startStripeMock(tb testing.TB) string {
	tb.Helper()
	bin, err := testsrv.Tool("stripe-mock", "github.com/stripe/stripe-mock@v0.203.0")
	if err != nil {
		tb.Fatal(err)
	}
	port, tls := testsrv.FreePort(tb), testsrv.FreePort(tb)
	cmd := exec.Command(bin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port), "-https-addr", fmt.Sprintf("127.0.0.1:%d", tls))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return fmt.Sprintf("http://127.0.0.1:%d", port)
		}
	}
	tb.Fatalf("stripe-mock did not start: %s", log.String())
	return ""
}

// stripeLog records the requests sent to stripe-mock and its answers.
type stripeLog struct {
	mu       sync.Mutex
	requests []stripeRequest
}

type stripeRequest struct {
	path, idempotency string
	form              url.Values
	status            int
}

func (l *stripeLog) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	form, _ := url.ParseQuery(string(body))
	l.mu.Lock()
	l.requests = append(l.requests, stripeRequest{r.URL.Path, r.Header.Get("Idempotency-Key"), form, resp.StatusCode})
	l.mu.Unlock()
	return resp, nil
}

// refunded is what Stripe was asked to refund of a payment intent and
// took, once per idempotency key (as Stripe keeps its refunds).
func (l *stripeLog) refunded(pi string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var n int64
	for _, r := range l.requests {
		if r.path != "/v1/refunds" || r.status != 200 || r.form.Get("payment_intent") != pi || seen[r.idempotency] {
			continue
		}
		seen[r.idempotency] = true
		a, _ := strconv.ParseInt(r.form.Get("amount"), 10, 64)
		n += a
	}
	return n
}

// stripeSign is a Stripe-Signature header as Stripe documents it:
// t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload" under the secret>.
func stripeSign(payload []byte, secret string, t time.Time) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", t.Unix())
	m.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(m.Sum(nil)))
}

const testWebhookSecret = "whsec_test_made_for_this_run"

// stripeEvent is a payment_intent.succeeded event as Stripe sends it.
func stripeEvent(key string, amount int64) []byte {
	pi := "pi_" + strings.NewReplacer("-", "_").Replace(key)
	b, _ := json.Marshal(map[string]any{
		"id": "evt_" + pi, "object": "event", "api_version": "2025-07-30.basil", "created": 1780000000, "type": "payment_intent.succeeded",
		"livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{"id": pi, "object": "payment_intent", "amount": amount, "amount_received": amount,
			"currency": "cny", "status": "succeeded", "metadata": map[string]string{metaKey: key}}},
	})
	return b
}

func stripeRig(tb testing.TB) rig {
	var log *stripeLog
	var clock ticket.Clock
	r := rig{name: "stripe"}
	r.providers = func(tb testing.TB, base string, c ticket.Clock) []Provider {
		mock := startStripeMock(tb)
		log, clock = &stripeLog{}, c
		s, err := NewStripe(StripeConfig{SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret, URL: mock,
			MethodTypes: []string{"card", "alipay"}, Client: &http.Client{Transport: log, Timeout: 10 * time.Second}, Clock: c})
		if err != nil {
			tb.Fatal(err)
		}
		return []Provider{s}
	}
	r.start = func(tb testing.TB, f *fixture, order int64) {
		tb.Helper()
		a := f.start(tb, order, "stripe", Mobile)
		if a.Kind != "client_secret" || a.ClientSecret == "" {
			tb.Fatalf("stripe: %+v, want a client secret", a)
		}
		log.mu.Lock()
		defer log.mu.Unlock()
		last := log.requests[len(log.requests)-1]
		if last.path != "/v1/payment_intents" || last.idempotency != "pi-"+intentKey(order, "stripe") || last.form.Get("amount") == "" ||
			last.form.Get("metadata["+metaKey+"]") != intentKey(order, "stripe") {
			tb.Fatalf("stripe-mock was sent %+v", last)
		}
	}
	r.pay = func(tb testing.TB, f *fixture, key string) notification {
		body := stripeEvent(key, intentAmount(tb, f, key))
		return notification{body: body, header: http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {stripeSign(body, testWebhookSecret, clock.Now())}}}
	}
	r.forge = func(tb testing.TB, f *fixture, key string) notification {
		body := stripeEvent(key, intentAmount(tb, f, key))
		return notification{body: body, header: http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {stripeSign(body, "whsec_not_ours", clock.Now())}}}
	}
	r.refunded = func(tb testing.TB, key string) int64 { return log.refunded("pi_" + strings.ReplaceAll(key, "-", "_")) }
	r.acked = func(status int, body string) bool { return status == 200 }
	return r
}

// intentAmount is what central asked to be paid under key.
func intentAmount(tb testing.TB, f *fixture, key string) int64 {
	in, err := f.db.PayIntent(context.Background(), key)
	if err != nil {
		tb.Fatal(err)
	}
	return in.Amount
}

func TestStripe(t *testing.T) {
	suite(t, stripeRig(t))
}
