package pay

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// DefaultUnionPayURL is UnionPay's online gateway (全渠道, version 5.1.0).
const DefaultUnionPayURL = "https://gateway.95516.com"

// UnionPayConfig is a UnionPay online merchant.
type UnionPayConfig struct {
	MerID string
	// URL is the gateway's base: DefaultUnionPayURL, or the simulator's.
	URL string
	// MerchantKey signs requests; MerchantCertID is its certificate's
	// serial (certId).
	MerchantKey    *rsa.PrivateKey
	MerchantCertID string
	// Roots are UnionPay's root (and intermediate) certificates: a
	// notification's signing certificate (signPubKeyCert) must chain to
	// them and name UnionPay (SignerName) as its organisation.
	Roots      *x509.CertPool
	SignerName string
	// BackURL is central's route …/api/v1/pay/notify/unionpay; FrontURL
	// where the buyer returns.
	BackURL, FrontURL string
	Client            *http.Client
	Clock             ticket.Clock
}

// UnionPay is the UnionPay online gateway adapter: RSA-SHA256 signed
// requests (signMethod 01), notifications verified by their signing
// certificate chained to UnionPay's roots, refunds by origQryId.
type UnionPay struct{ cfg UnionPayConfig }

var _ Provider = (*UnionPay)(nil)

// NewUnionPay makes the adapter.
func NewUnionPay(cfg UnionPayConfig) (*UnionPay, error) {
	if cfg.MerID == "" || cfg.MerchantKey == nil || cfg.MerchantCertID == "" || cfg.Roots == nil {
		return nil, errors.New("unionpay: want a merchant id, the merchant key and its certId, and UnionPay's root certificates")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultUnionPayURL
	}
	if cfg.SignerName == "" {
		cfg.SignerName = "中国银联股份有限公司"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	return &UnionPay{cfg: cfg}, nil
}

// Name is "unionpay".
func (u *UnionPay) Name() string { return "unionpay" }

// unionPayDigest is what UnionPay signs: the lowercase hex SHA-256 of
// every field but signature, sorted by name, as k=v joined by & (empty
// values kept as "k=").
func unionPayDigest(v url.Values) []byte {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + v.Get(k))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return []byte(hex.EncodeToString(sum[:]))
}

func (u *UnionPay) sign(v url.Values) error {
	v.Set("certId", u.cfg.MerchantCertID)
	v.Set("signMethod", "01")
	v.Del("signature")
	sig, err := signRSA2(u.cfg.MerchantKey, unionPayDigest(v))
	if err != nil {
		return fmt.Errorf("unionpay: sign: %w", err)
	}
	v.Set("signature", sig)
	return nil
}

// verify checks a message from UnionPay: its signPubKeyCert chains to the
// roots and names UnionPay, and its key signed the digest.
func (u *UnionPay) verify(v url.Values) error {
	if v.Get("signMethod") != "01" || v.Get("signature") == "" {
		return fmt.Errorf("signMethod %q: want 01 and a signature: %w", v.Get("signMethod"), ErrForged)
	}
	for k, vals := range v {
		if len(vals) != 1 {
			return fmt.Errorf("%s given %d times: %w", k, len(vals), ErrForged)
		}
	}
	blk, _ := pem.Decode([]byte(v.Get("signPubKeyCert")))
	if blk == nil {
		return fmt.Errorf("signPubKeyCert: not PEM: %w", ErrForged)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("signPubKeyCert: %w", ErrForged)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: u.cfg.Roots, CurrentTime: u.cfg.Clock.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("signPubKeyCert does not chain to UnionPay's roots: %w", ErrForged)
	}
	if !containsString(cert.Subject.Organization, u.cfg.SignerName) {
		return fmt.Errorf("signPubKeyCert of %v, not %s: %w", cert.Subject.Organization, u.cfg.SignerName, ErrForged)
	}
	pk, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("signPubKeyCert: not an RSA key: %w", ErrForged)
	}
	return verifyRSA2(pk, unionPayDigest(v), v.Get("signature"))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unionPayOrderID is a payment key as UnionPay takes an orderId (8 to 40
// letters and digits).
func unionPayOrderID(key string) string { return strings.NewReplacer("-", "x", "_", "y").Replace(key) }

func (u *UnionPay) common(txnType, txnSubType, bizType string, b Browser) url.Values {
	v := url.Values{}
	v.Set("version", "5.1.0")
	v.Set("encoding", "UTF-8")
	v.Set("txnType", txnType)
	v.Set("txnSubType", txnSubType)
	v.Set("bizType", bizType)
	v.Set("accessType", "0")
	v.Set("merId", u.cfg.MerID)
	v.Set("txnTime", u.cfg.Clock.Now().In(chinaTime).Format("20060102150405"))
	v.Set("currencyCode", "156")
	v.Set("backUrl", u.cfg.BackURL)
	if b == Desktop {
		v.Set("channelType", "07")
	} else {
		v.Set("channelType", "08")
	}
	return v
}

// Create is a consumption (txnType 01) through the front gateway: the
// browser posts the signed form to UnionPay's cashier, desktop or mobile.
func (u *UnionPay) Create(ctx context.Context, p Payment) (Action, error) {
	if p.Amount.Currency != "CNY" {
		return Action{}, fmt.Errorf("unionpay takes CNY, not %s: %w", p.Amount.Currency, ErrBadRequest)
	}
	v := u.common("01", "01", "000201", p.Browser)
	v.Set("orderId", unionPayOrderID(p.Key))
	v.Set("txnAmt", strconv.FormatInt(p.Amount.Amount, 10))
	v.Set("frontUrl", u.cfg.FrontURL)
	v.Set("reqReserved", p.Key)
	if !p.Expires.IsZero() {
		v.Set("payTimeout", p.Expires.In(chinaTime).Format("20060102150405"))
	}
	if err := u.sign(v); err != nil {
		return Action{}, err
	}
	params := map[string]string{}
	for k := range v {
		params[k] = v.Get(k)
	}
	return Action{Kind: "form", URL: u.cfg.URL + "/gateway/api/frontTransReq.do", Params: params}, nil
}

// Notification verifies a background notification (a form POST to
// backUrl) and reads a successful consumption from it.
func (u *UnionPay) Notification(r *http.Request) (Event, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
	if err != nil {
		return Event{}, fmt.Errorf("unionpay notification: %w", err)
	}
	if len(body) > maxNotification {
		return Event{}, fmt.Errorf("unionpay notification: larger than %d bytes: %w", maxNotification, ErrForged)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return Event{}, fmt.Errorf("unionpay notification: not a form: %w", ErrForged)
	}
	if err := u.verify(v); err != nil {
		return Event{}, fmt.Errorf("unionpay notification: %w", err)
	}
	if v.Get("merId") != u.cfg.MerID {
		return Event{}, fmt.Errorf("unionpay notification: for merchant %q, not ours: %w", v.Get("merId"), ErrMismatch)
	}
	ev := Event{Kind: EventOther, Key: v.Get("reqReserved"), Reference: v.Get("queryId"), Status: v.Get("txnType") + "/" + v.Get("respCode")}
	if v.Get("txnType") == "01" && v.Get("respCode") == "00" {
		n, err := strconv.ParseInt(v.Get("txnAmt"), 10, 64)
		if err != nil || n <= 0 || v.Get("currencyCode") != "156" {
			return Event{}, fmt.Errorf("unionpay notification: amount %q %q: %w", v.Get("txnAmt"), v.Get("currencyCode"), ErrMismatch)
		}
		if unionPayOrderID(ev.Key) != v.Get("orderId") {
			return Event{}, fmt.Errorf("unionpay notification: orderId %q is not its reqReserved's: %w", v.Get("orderId"), ErrMismatch)
		}
		ev.Kind, ev.Amount = EventPayment, Money{n, "CNY"}
		if t, err := time.ParseInLocation("20060102150405", v.Get("txnTime"), chinaTime); err == nil {
			ev.At = t.UTC()
		}
	}
	if ev.Kind == EventPayment && (ev.Key == "" || ev.Reference == "") {
		return Event{}, fmt.Errorf("unionpay notification: without reqReserved or queryId: %w", ErrMismatch)
	}
	return ev, nil
}

// Ack answers 200 "ok", which stops UnionPay's retries, or 400.
func (u *UnionPay) Ack(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "fail")
		return
	}
	io.WriteString(w, "ok")
}

// Refund is a background refund (txnType 04) of the consumption's
// queryId, its orderId the refund's key; UnionPay's synchronous answer,
// verified, says it was accepted (respCode 00).
func (u *UnionPay) Refund(ctx context.Context, r Refund) (Refunded, error) {
	v := u.common("04", "00", "000201", Desktop)
	v.Set("orderId", unionPayOrderID(r.Key))
	v.Set("origQryId", r.Reference)
	v.Set("txnAmt", strconv.FormatInt(r.Amount.Amount, 10))
	if err := u.sign(v); err != nil {
		return Refunded{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.cfg.URL+"/gateway/api/backTransReq.do", strings.NewReader(v.Encode()))
	if err != nil {
		return Refunded{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := u.cfg.Client.Do(req)
	if err != nil {
		return Refunded{}, fmt.Errorf("unionpay refund: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	a, err := url.ParseQuery(string(body))
	if err != nil {
		return Refunded{}, fmt.Errorf("unionpay refund: answer not a form: %w", ErrProvider)
	}
	if err := u.verify(a); err != nil {
		return Refunded{}, fmt.Errorf("unionpay refund: answer: %w", err)
	}
	if a.Get("respCode") != "00" || a.Get("orderId") != v.Get("orderId") {
		return Refunded{}, fmt.Errorf("unionpay refund: %s %s: %w", a.Get("respCode"), a.Get("respMsg"), ErrProvider)
	}
	return Refunded{Reference: a.Get("queryId"), Amount: r.Amount}, nil
}
