package pay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// DefaultAlipayGateway is Alipay's open platform gateway.
const DefaultAlipayGateway = "https://openapi.alipay.com/gateway.do"

// AlipayConfig is an Alipay open platform application.
type AlipayConfig struct {
	AppID string
	// Gateway is where requests go: DefaultAlipayGateway, the sandbox's,
	// or the simulator's in tests.
	Gateway string
	// PrivateKey is the application's key (RSA2, 2048 bits) that signs
	// every request; AlipayPublicKey is Alipay's, from the console, that
	// verifies every answer and notification.
	PrivateKey      *rsa.PrivateKey
	AlipayPublicKey *rsa.PublicKey
	// NotifyURL is central's notification route for Alipay
	// (…/api/v1/pay/notify/alipay); ReturnURL is where the cashier
	// sends the buyer back.
	NotifyURL, ReturnURL string
	// DesktopPage sends desktop buyers to Alipay's cashier page
	// (alipay.trade.page.pay, which shows its own QR code and a login)
	// instead of showing a QR code from alipay.trade.precreate on
	// central's page.
	DesktopPage bool
	Client      *http.Client
	Clock       ticket.Clock
}

// Alipay is the Alipay open platform adapter: RSA2-signed requests
// (alipay.trade.page.pay, .wap.pay, .precreate, .refund, .query),
// verified answers and verified asynchronous notifications.
type Alipay struct{ cfg AlipayConfig }

var _ Provider = (*Alipay)(nil)

// NewAlipay makes the adapter.
func NewAlipay(cfg AlipayConfig) (*Alipay, error) {
	if cfg.AppID == "" || cfg.PrivateKey == nil || cfg.AlipayPublicKey == nil {
		return nil, errors.New("alipay: want an app id, the app's private key and Alipay's public key")
	}
	if cfg.Gateway == "" {
		cfg.Gateway = DefaultAlipayGateway
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	return &Alipay{cfg: cfg}, nil
}

// Name is "alipay".
func (a *Alipay) Name() string { return "alipay" }

// chinaTime is Beijing time, in which Alipay reads and writes timestamps.
var chinaTime = time.FixedZone("CST", 8*3600)

const alipayTime = "2006-01-02 15:04:05"

// alipayContent is the string Alipay signs: the parameters with a value,
// except those named in skip, sorted by name, as name=value joined by &,
// the values not URL-encoded.
func alipayContent(v url.Values, skip ...string) []byte {
	keys := make([]string, 0, len(v))
	for k := range v {
		if v.Get(k) == "" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v.Get(k))
	}
	return b.Bytes()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// request makes the signed parameters of a call: the common ones, the
// business content as JSON, and sign over all but sign itself.
func (a *Alipay) request(method string, biz any, withReturn bool) (url.Values, error) {
	content, err := json.Marshal(biz)
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	v.Set("app_id", a.cfg.AppID)
	v.Set("method", method)
	v.Set("format", "JSON")
	v.Set("charset", "utf-8")
	v.Set("sign_type", "RSA2")
	v.Set("timestamp", a.cfg.Clock.Now().In(chinaTime).Format(alipayTime))
	v.Set("version", "1.0")
	v.Set("biz_content", string(content))
	if a.cfg.NotifyURL != "" && method != "alipay.trade.refund" && method != "alipay.trade.query" {
		v.Set("notify_url", a.cfg.NotifyURL)
	}
	if withReturn && a.cfg.ReturnURL != "" {
		v.Set("return_url", a.cfg.ReturnURL)
	}
	sig, err := signRSA2(a.cfg.PrivateKey, alipayContent(v, "sign"))
	if err != nil {
		return nil, fmt.Errorf("alipay: sign %s: %w", method, err)
	}
	v.Set("sign", sig)
	return v, nil
}

// alipayAnswer is the common part of every answer.
type alipayAnswer struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// call sends a request and verifies its answer: Alipay signs the exact
// bytes of the method's "…_response" object, as sent, with its key.
func (a *Alipay) call(ctx context.Context, method string, biz, out any) error {
	v, err := a.request(method, biz, false)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Gateway, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("alipay %s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("alipay %s: %w", method, err)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("alipay %s: answer (HTTP %d) is not JSON", method, resp.StatusCode)
	}
	raw := env[strings.ReplaceAll(method, ".", "_")+"_response"]
	var sign string
	json.Unmarshal(env["sign"], &sign)
	if len(raw) == 0 {
		return fmt.Errorf("alipay %s: answer without %s_response", method, strings.ReplaceAll(method, ".", "_"))
	}
	if sign == "" {
		// Alipay leaves the signature off some refusals (a request it
		// could not verify): say so, and trust nothing else of it.
		var ans alipayAnswer
		json.Unmarshal(raw, &ans)
		return fmt.Errorf("alipay %s: unsigned refusal %s %s: %w", method, ans.Code, ans.SubCode, ErrProvider)
	}
	if err := verifyRSA2(a.cfg.AlipayPublicKey, raw, sign); err != nil {
		return fmt.Errorf("alipay %s: answer: %w", method, err)
	}
	var ans alipayAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fmt.Errorf("alipay %s: %w", method, err)
	}
	if ans.Code != "10000" {
		return fmt.Errorf("alipay %s: %s %s (%s %s): %w", method, ans.Code, ans.Msg, ans.SubCode, ans.SubMsg, ErrProvider)
	}
	return json.Unmarshal(raw, out)
}

// Create picks the flow for the buyer's browser: a phone's browser and
// Alipay's own go to the WAP cashier (inside Alipay it opens the app's
// cashier at once); a desktop gets a QR code from precreate (or the page
// cashier with DesktopPage); inside WeChat, which does not open Alipay,
// a QR code to scan with Alipay too.
func (a *Alipay) Create(ctx context.Context, p Payment) (Action, error) {
	if p.Amount.Currency != "CNY" {
		return Action{}, fmt.Errorf("alipay takes CNY, not %s: %w", p.Amount.Currency, ErrBadRequest)
	}
	biz := map[string]string{"out_trade_no": p.Key, "total_amount": p.Amount.decimal(), "subject": p.Subject}
	if !p.Expires.IsZero() {
		biz["time_expire"] = p.Expires.In(chinaTime).Format(alipayTime)
	}
	page := func(method, product string) (Action, error) {
		biz["product_code"] = product
		v, err := a.request(method, biz, true)
		if err != nil {
			return Action{}, err
		}
		return Action{Kind: "redirect", URL: a.cfg.Gateway + "?" + v.Encode()}, nil
	}
	switch {
	case p.Browser == Mobile || p.Browser == InsideAlipay:
		return page("alipay.trade.wap.pay", "QUICK_WAP_WAY")
	case p.Browser == Desktop && a.cfg.DesktopPage:
		return page("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
	}
	var out struct {
		OutTradeNo string `json:"out_trade_no"`
		QRCode     string `json:"qr_code"`
	}
	if err := a.call(ctx, "alipay.trade.precreate", biz, &out); err != nil {
		return Action{}, err
	}
	if out.OutTradeNo != p.Key || out.QRCode == "" {
		return Action{}, fmt.Errorf("alipay precreate: answer for %q without a QR code: %w", out.OutTradeNo, ErrProvider)
	}
	return Action{Kind: "qr", QR: out.QRCode}, nil
}

// Notification verifies an asynchronous notification (a form POST signed
// over its sorted parameters but sign and sign_type) and then reads it.
func (a *Alipay) Notification(r *http.Request) (Event, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
	if err != nil {
		return Event{}, fmt.Errorf("alipay notification: %w", err)
	}
	if len(body) > maxNotification {
		return Event{}, fmt.Errorf("alipay notification: larger than %d bytes: %w", maxNotification, ErrForged)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return Event{}, fmt.Errorf("alipay notification: not a form: %w", ErrForged)
	}
	if v.Get("sign_type") != "RSA2" || v.Get("sign") == "" {
		return Event{}, fmt.Errorf("alipay notification: sign_type %q: want RSA2 and a sign: %w", v.Get("sign_type"), ErrForged)
	}
	for k, vals := range v {
		if len(vals) != 1 {
			return Event{}, fmt.Errorf("alipay notification: %s given %d times: %w", k, len(vals), ErrForged)
		}
	}
	if err := verifyRSA2(a.cfg.AlipayPublicKey, alipayContent(v, "sign", "sign_type"), v.Get("sign")); err != nil {
		return Event{}, fmt.Errorf("alipay notification: %w", err)
	}
	// Verified: now it may be read.
	if v.Get("app_id") != a.cfg.AppID {
		return Event{}, fmt.Errorf("alipay notification: for app %q, not ours: %w", v.Get("app_id"), ErrMismatch)
	}
	ev := Event{Kind: EventOther, Key: v.Get("out_trade_no"), Reference: v.Get("trade_no"), Buyer: v.Get("buyer_id"), Status: v.Get("trade_status")}
	if t, err := time.ParseInLocation(alipayTime, v.Get("gmt_payment"), chinaTime); err == nil {
		ev.At = t.UTC()
	}
	// A refund is told as a notification of its trade with refund_fee
	// (what is refunded in all) and gmt_refund: central records refunds
	// from their own answers, so these only get logged.
	if (ev.Status == "TRADE_SUCCESS" || ev.Status == "TRADE_FINISHED") && v.Get("gmt_refund") == "" {
		n, err := parseDecimal(v.Get("total_amount"))
		if err != nil {
			return Event{}, fmt.Errorf("alipay notification: total_amount: %w: %w", err, ErrMismatch)
		}
		ev.Kind, ev.Amount = EventPayment, Money{n, "CNY"}
	}
	if ev.Key == "" || ev.Reference == "" {
		return Event{}, fmt.Errorf("alipay notification: without out_trade_no or trade_no: %w", ErrMismatch)
	}
	return ev, nil
}

// Ack answers "success", which stops Alipay's retries, or "failure",
// after which it notifies again (over about 25 hours).
func (a *Alipay) Ack(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err == nil {
		io.WriteString(w, "success")
		return
	}
	io.WriteString(w, "failure")
}

// Refund is alipay.trade.refund with the refund's key as out_request_no,
// which makes a partial refund and a retry of one idempotent.
func (a *Alipay) Refund(ctx context.Context, r Refund) (Refunded, error) {
	if r.Amount.Currency != "CNY" {
		return Refunded{}, fmt.Errorf("alipay refunds CNY, not %s: %w", r.Amount.Currency, ErrBadRequest)
	}
	var out struct {
		OutTradeNo string `json:"out_trade_no"`
		FundChange string `json:"fund_change"`
		RefundFee  string `json:"refund_fee"`
	}
	biz := map[string]string{"out_trade_no": r.Payment, "refund_amount": r.Amount.decimal(), "out_request_no": r.Key, "refund_reason": truncate(r.Reason, 80)}
	if err := a.call(ctx, "alipay.trade.refund", biz, &out); err != nil {
		return Refunded{}, err
	}
	if out.OutTradeNo != r.Payment {
		return Refunded{}, fmt.Errorf("alipay refund: answer for %q, asked for %q: %w", out.OutTradeNo, r.Payment, ErrProvider)
	}
	return Refunded{Reference: r.Key, Amount: r.Amount}, nil
}

// Query asks Alipay for a payment's state (alipay.trade.query), for a
// buyer back from the cashier before the notification, or one lost: a
// paid trade is the same Event a notification would give.
func (a *Alipay) Query(ctx context.Context, key string) (Event, error) {
	var out struct {
		OutTradeNo  string `json:"out_trade_no"`
		TradeNo     string `json:"trade_no"`
		TradeStatus string `json:"trade_status"`
		TotalAmount string `json:"total_amount"`
		BuyerUserID string `json:"buyer_user_id"`
		SendPayDate string `json:"send_pay_date"`
	}
	if err := a.call(ctx, "alipay.trade.query", map[string]string{"out_trade_no": key}, &out); err != nil {
		return Event{}, err
	}
	if out.OutTradeNo != key {
		return Event{}, fmt.Errorf("alipay query: answer for %q, asked for %q: %w", out.OutTradeNo, key, ErrProvider)
	}
	ev := Event{Kind: EventOther, Key: key, Reference: out.TradeNo, Buyer: out.BuyerUserID, Status: out.TradeStatus}
	if out.TradeStatus == "TRADE_SUCCESS" || out.TradeStatus == "TRADE_FINISHED" {
		n, err := parseDecimal(out.TotalAmount)
		if err != nil {
			return Event{}, fmt.Errorf("alipay query: %w", err)
		}
		ev.Kind, ev.Amount = EventPayment, Money{n, "CNY"}
		if t, err := time.ParseInLocation(alipayTime, out.SendPayDate, chinaTime); err == nil {
			ev.At = t.UTC()
		}
	}
	return ev, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
