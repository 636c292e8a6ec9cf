package pay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/tixgate/tixgate/ticket"
)

// StripeConfig is a Stripe account.
type StripeConfig struct {
	// SecretKey is the account's secret API key (sk_…); WebhookSecret
	// the endpoint's signing secret (whsec_…).
	SecretKey, WebhookSecret string
	// URL is the API's base URL: empty for Stripe's, stripe-mock's in
	// tests.
	URL string
	// MethodTypes are the payment method types offered (card, alipay,
	// wechat_pay); empty is card.
	MethodTypes []string
	// Tolerance is how old a webhook's signed timestamp may be: Stripe's
	// libraries use 5 minutes, which bounds how long a captured
	// notification can be replayed (a replay within it is idempotent
	// anyway).
	Tolerance time.Duration
	Client    *http.Client
	Clock     ticket.Clock
}

// Stripe is the Stripe adapter: PaymentIntents confirmed by Stripe.js in
// the buyer's browser (so no card data reaches central), webhooks
// verified by their Stripe-Signature, refunds by the PaymentIntent.
type Stripe struct {
	cfg StripeConfig
	sc  *stripe.Client
}

var _ Provider = (*Stripe)(nil)

// NewStripe makes the adapter.
func NewStripe(cfg StripeConfig) (*Stripe, error) {
	if cfg.SecretKey == "" || cfg.WebhookSecret == "" {
		return nil, errors.New("stripe: want a secret key and a webhook signing secret")
	}
	if len(cfg.MethodTypes) == 0 {
		cfg.MethodTypes = []string{"card"}
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = 5 * time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	bc := &stripe.BackendConfig{HTTPClient: cfg.Client, LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}, MaxNetworkRetries: stripe.Int64(2)}
	if cfg.URL != "" {
		bc.URL = stripe.String(cfg.URL)
	}
	return &Stripe{cfg: cfg, sc: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))}, nil
}

// Name is "stripe".
func (s *Stripe) Name() string { return "stripe" }

// metaKey is the metadata field that carries the payment's key.
const metaKey = "tixgate_key"

// Create makes a PaymentIntent under the payment's key (so asking twice
// is one intent) and hands its client secret to Stripe.js, which picks
// the flow for the browser itself.
func (s *Stripe) Create(ctx context.Context, p Payment) (Action, error) {
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(p.Amount.Amount),
		Currency:           stripe.String(strings.ToLower(p.Amount.Currency)),
		Description:        stripe.String(p.Subject),
		PaymentMethodTypes: stripe.StringSlice(s.cfg.MethodTypes),
	}
	params.AddMetadata(metaKey, p.Key)
	params.AddMetadata("order", strconv.FormatInt(p.Order, 10))
	params.SetIdempotencyKey("pi-" + p.Key)
	pi, err := s.sc.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return Action{}, fmt.Errorf("stripe: create payment intent: %w: %w", stripeErr(err), ErrProvider)
	}
	if pi.ClientSecret == "" {
		return Action{}, fmt.Errorf("stripe: payment intent %s without a client secret: %w", pi.ID, ErrProvider)
	}
	return Action{Kind: "client_secret", ClientSecret: pi.ClientSecret}, nil
}

func stripeErr(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%s %s (HTTP %d)", se.Type, se.Code, se.HTTPStatusCode)
	}
	return err
}

// Notification verifies a webhook's Stripe-Signature (t=…,v1=…, an
// HMAC-SHA256 of "t.body" under the signing secret) and its timestamp
// against central's clock, then reads it.
func (s *Stripe) Notification(r *http.Request) (Event, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
	if err != nil {
		return Event{}, fmt.Errorf("stripe webhook: %w", err)
	}
	if len(body) > maxNotification {
		return Event{}, fmt.Errorf("stripe webhook: larger than %d bytes: %w", maxNotification, ErrForged)
	}
	header := r.Header.Get("Stripe-Signature")
	ts, err := stripeTimestamp(header)
	if err != nil {
		return Event{}, fmt.Errorf("stripe webhook: %w: %w", err, ErrForged)
	}
	e, err := webhook.ConstructEventWithOptions(body, header, s.cfg.WebhookSecret, webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return Event{}, fmt.Errorf("stripe webhook: %v: %w", err, ErrForged)
	}
	// Signed: now the timestamp counts, by central's clock.
	if age := s.cfg.Clock.Now().Sub(ts); age > s.cfg.Tolerance || age < -s.cfg.Tolerance {
		return Event{}, fmt.Errorf("stripe webhook: signed %s ago, more than %s: %w", age.Round(time.Second), s.cfg.Tolerance, ErrForged)
	}
	ev := Event{Kind: EventOther, Status: string(e.Type), At: time.Unix(e.Created, 0).UTC()}
	switch e.Type {
	case "payment_intent.succeeded":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(e.Data.Raw, &pi); err != nil {
			return Event{}, fmt.Errorf("stripe webhook %s: %w: %w", e.ID, err, ErrMismatch)
		}
		ev.Kind, ev.Key, ev.Reference = EventPayment, pi.Metadata[metaKey], pi.ID
		ev.Amount = Money{pi.AmountReceived, strings.ToUpper(string(pi.Currency))}
		if pi.Customer != nil {
			ev.Buyer = pi.Customer.ID
		}
		if ev.Key == "" || ev.Reference == "" {
			return Event{}, fmt.Errorf("stripe webhook %s: payment intent without %s: %w", e.ID, metaKey, ErrUnknown)
		}
	}
	return ev, nil
}

func stripeTimestamp(header string) (time.Time, error) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, errors.New("Stripe-Signature: bad timestamp")
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, errors.New("Stripe-Signature: no timestamp")
}

// Ack answers 200, or 400 for a notification not taken (Stripe retries
// it over three days).
func (s *Stripe) Ack(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err == nil {
		io.WriteString(w, `{"received":true}`)
		return
	}
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `{"received":false}`)
}

// Refund refunds part or all of a PaymentIntent under the refund's key
// as its Idempotency-Key.
func (s *Stripe) Refund(ctx context.Context, r Refund) (Refunded, error) {
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(r.Reference), Amount: stripe.Int64(r.Amount.Amount)}
	params.AddMetadata(metaKey, r.Payment)
	params.AddMetadata("reason", truncate(r.Reason, 200))
	params.SetIdempotencyKey("re-" + r.Key)
	rf, err := s.sc.V1Refunds.Create(ctx, params)
	if err != nil {
		return Refunded{}, fmt.Errorf("stripe: refund: %w: %w", stripeErr(err), ErrProvider)
	}
	return Refunded{Reference: rf.ID, Amount: r.Amount}, nil
}
