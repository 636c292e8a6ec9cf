package pay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Money is an amount in minor units of a currency (ISO 4217: "CNY" fen,
// "EUR" cents).
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func (m Money) String() string { return fmt.Sprintf("%d %s", m.Amount, m.Currency) }

// decimal formats m as the major-unit decimal Alipay and UnionPay send
// ("12.34"); it supports two-decimal currencies only.
func (m Money) decimal() string {
	return fmt.Sprintf("%d.%02d", m.Amount/100, m.Amount%100)
}

// parseDecimal reads a two-decimal amount ("12.34", "12.3", "12") into
// minor units, refusing anything else.
func parseDecimal(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || dot && frac == "" || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return 0, fmt.Errorf("amount %q: want a decimal like 12.34", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1<<40 {
		return 0, fmt.Errorf("amount %q: want a decimal like 12.34", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("amount %q: want a decimal like 12.34", s)
	}
	return w*100 + f, nil
}

// Browser is where the buyer pays from; it picks the provider's flow.
type Browser string

// Browsers.
const (
	Desktop      Browser = "desktop" // a computer: a QR code to scan with the phone
	Mobile       Browser = "mobile"  // a phone's browser: the provider's H5/WAP cashier
	InsideWeChat Browser = "wechat"  // WeChat's built-in browser: JSAPI
	InsideAlipay Browser = "alipay"  // Alipay's built-in browser: its own cashier
)

// BrowserOf tells the browser from its User-Agent: WeChat's says
// MicroMessenger, Alipay's AlipayClient.
func BrowserOf(userAgent string) Browser {
	switch ua := strings.ToLower(userAgent); {
	case strings.Contains(ua, "micromessenger"):
		return InsideWeChat
	case strings.Contains(ua, "alipayclient"):
		return InsideAlipay
	case strings.Contains(ua, "mobile") || strings.Contains(ua, "android") || strings.Contains(ua, "iphone"):
		return Mobile
	}
	return Desktop
}

// Payment is what a provider is asked to collect.
type Payment struct {
	// Key is the idempotency key and the merchant order number the
	// provider reports back in its notification (6 to 32 of [0-9A-Za-z_-]).
	Key     string
	Order   int64
	Amount  Money
	Subject string // what the buyer sees on the provider's page
	Browser Browser
	// OpenID is the buyer's WeChat openid, for JSAPI inside WeChat.
	OpenID string
	// Expires is when the order's hold runs out; providers close the
	// payment then.
	Expires time.Time
}

// Action is what the buyer's browser does next, one of:
//   - "redirect": go to URL (a provider's cashier page);
//   - "form": post Params as a form to URL (UnionPay's front gateway);
//   - "qr": show QR as a QR code for the provider's app to scan;
//   - "jsapi": call the provider's in-app bridge with Params
//     (WeixinJSBridge's getBrandWCPayRequest);
//   - "client_secret": confirm ClientSecret with the provider's script
//     (Stripe.js).
type Action struct {
	Kind         string            `json:"kind"`
	URL          string            `json:"url,omitempty"`
	QR           string            `json:"qr,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
	ClientSecret string            `json:"client_secret,omitempty"`
}

// Event kinds a notification reports.
const (
	EventPayment = "payment" // money was paid
	EventRefund  = "refund"  // money went back
	EventOther   = "other"   // a notification this package does not act on (a trade closed, a payment failed)
)

// Event is what a verified notification says.
type Event struct {
	Kind      string
	Key       string // the payment's key (the intent)
	Reference string // the provider's id of the payment, or of the refund
	Amount    Money
	At        time.Time
	Buyer     string // the provider's id of the payer
	Status    string // the provider's own word for what happened
}

// Refund is money to send back for a payment.
type Refund struct {
	Key       string // the idempotency key: the provider's refund request number
	Payment   string // the payment's key (the intent)
	Reference string // the provider's id of the payment
	Amount    Money  // what to refund
	Paid      Money  // what the payment was
	Reason    string
}

// Refunded is a provider's answer to a refund.
type Refunded struct {
	Reference string // the provider's id of the refund (the request number when it has no other)
	Amount    Money
}

// Provider is one payment provider. Implementations must be safe for
// concurrent use, and every request they send must carry the idempotency
// key they are given, so that a retry of a request whose answer was lost
// is the same request.
type Provider interface {
	// Name is the provider's name in routes, orders and transactions.
	Name() string
	// Create asks the provider for a payment and returns what the
	// buyer's browser needs for it.
	Create(ctx context.Context, p Payment) (Action, error)
	// Notification verifies a notification's signature and only then
	// parses it; a notification that fails verification is ErrForged,
	// and nothing of it is returned.
	Notification(r *http.Request) (Event, error)
	// Ack answers the provider's notification: err nil tells it the
	// notification was taken (it stops sending it), else to send it
	// again later.
	Ack(w http.ResponseWriter, err error)
	// Refund sends money back for a payment; the same Key twice is one
	// refund.
	Refund(ctx context.Context, r Refund) (Refunded, error)
}

// Errors callers branch on.
var (
	ErrForged     = errors.New("notification signature does not verify")
	ErrMismatch   = errors.New("notification does not match the payment asked for")
	ErrUnknown    = errors.New("notification for a payment central did not ask for")
	ErrProvider   = errors.New("provider refused")
	ErrNotFound   = errors.New("not found")
	ErrBadRequest = errors.New("bad request")
)

// maxNotification bounds a notification's body.
const maxNotification = 64 << 10
