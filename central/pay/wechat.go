package pay

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// DefaultWeChatURL is WeChat Pay's API v3 host.
const DefaultWeChatURL = "https://api.mch.weixin.qq.com"

// WeChatConfig is a WeChat Pay merchant (API v3).
type WeChatConfig struct {
	MchID, AppID string
	// URL is the API's base: DefaultWeChatURL, or the simulator's.
	URL string
	// MerchantKey signs every request (the merchant API certificate's
	// key); MerchantSerial is that certificate's serial number.
	MerchantKey    *rsa.PrivateKey
	MerchantSerial string
	// PlatformKeys verify answers and notifications, by the serial in
	// their Wechatpay-Serial header (the platform certificates, or the
	// WeChat Pay public key and its id).
	PlatformKeys map[string]*rsa.PublicKey
	// APIv3Key (32 bytes) opens notification resources (AES-256-GCM).
	APIv3Key []byte
	// NotifyURL is central's route …/api/v1/pay/notify/wechat.
	NotifyURL string
	// Tolerance is how far a signed timestamp may be from central's
	// clock (WeChat Pay advises 5 minutes): older notifications are
	// refused as replays.
	Tolerance time.Duration
	Client    *http.Client
	Clock     ticket.Clock
}

// WeChat is the WeChat Pay API v3 adapter: requests signed with the
// merchant key (WECHATPAY2-SHA256-RSA2048), answers and notifications
// verified against the platform keys, notification resources decrypted
// with the APIv3 key.
type WeChat struct{ cfg WeChatConfig }

var _ Provider = (*WeChat)(nil)

// NewWeChat makes the adapter.
func NewWeChat(cfg WeChatConfig) (*WeChat, error) {
	if cfg.MchID == "" || cfg.AppID == "" || cfg.MerchantKey == nil || cfg.MerchantSerial == "" || len(cfg.PlatformKeys) == 0 {
		return nil, errors.New("wechat pay: want a merchant id, an app id, the merchant key and its serial, and a platform key")
	}
	if len(cfg.APIv3Key) != 32 {
		return nil, fmt.Errorf("wechat pay: the APIv3 key is %d bytes, want 32", len(cfg.APIv3Key))
	}
	if cfg.URL == "" {
		cfg.URL = DefaultWeChatURL
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = 5 * time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	return &WeChat{cfg: cfg}, nil
}

// Name is "wechat".
func (w *WeChat) Name() string { return "wechat" }

func nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// authorization is the request's Authorization header: a signature of
// "METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n" with the merchant key.
func (w *WeChat) authorization(method, pathQuery string, body []byte) (string, error) {
	ts, n := strconv.FormatInt(w.cfg.Clock.Now().Unix(), 10), nonce()
	sig, err := signRSA2(w.cfg.MerchantKey, []byte(method+"\n"+pathQuery+"\n"+ts+"\n"+n+"\n"+string(body)+"\n"))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",signature="%s",timestamp="%s",serial_no="%s"`,
		w.cfg.MchID, n, sig, ts, w.cfg.MerchantSerial), nil
}

// verify checks the platform's signature of a body:
// "TIMESTAMP\nNONCE\nBODY\n" under the key its serial names, and that the
// timestamp is recent by central's clock.
func (w *WeChat) verify(h http.Header, body []byte) error {
	key := w.cfg.PlatformKeys[h.Get("Wechatpay-Serial")]
	if key == nil {
		return fmt.Errorf("platform key %q unknown: %w", h.Get("Wechatpay-Serial"), ErrForged)
	}
	ts, n := h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce")
	if err := verifyRSA2(key, []byte(ts+"\n"+n+"\n"+string(body)+"\n"), h.Get("Wechatpay-Signature")); err != nil {
		return err
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, ErrForged)
	}
	if d := w.cfg.Clock.Now().Sub(time.Unix(sec, 0)); d > w.cfg.Tolerance || d < -w.cfg.Tolerance {
		return fmt.Errorf("signed %s from now, more than %s: %w", d.Round(time.Second), w.cfg.Tolerance, ErrForged)
	}
	return nil
}

// call sends a signed request and verifies the answer's signature before
// reading it.
func (w *WeChat) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	auth, err := w.authorization(method, path, body)
	if err != nil {
		return fmt.Errorf("wechat pay: sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.cfg.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("wechat pay %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wechat pay %s: %w", path, err)
	}
	if err := w.verify(resp.Header, raw); err != nil {
		return fmt.Errorf("wechat pay %s: answer (HTTP %d): %w", path, resp.StatusCode, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Code, Message string }
		json.Unmarshal(raw, &e)
		return fmt.Errorf("wechat pay %s: HTTP %d %s %s: %w", path, resp.StatusCode, e.Code, e.Message, ErrProvider)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

type wechatAmount struct {
	Total    int64  `json:"total,omitempty"`
	Refund   int64  `json:"refund,omitempty"`
	Currency string `json:"currency"`
}

// Create picks the flow: inside WeChat JSAPI (the buyer's openid
// needed), on a phone's browser H5, elsewhere (a desktop, inside Alipay)
// a Native QR code.
func (w *WeChat) Create(ctx context.Context, p Payment) (Action, error) {
	req := map[string]any{"appid": w.cfg.AppID, "mchid": w.cfg.MchID, "description": truncate(p.Subject, 127), "out_trade_no": p.Key,
		"notify_url": w.cfg.NotifyURL, "amount": wechatAmount{Total: p.Amount.Amount, Currency: p.Amount.Currency}}
	if !p.Expires.IsZero() {
		req["time_expire"] = p.Expires.In(chinaTime).Format(time.RFC3339)
	}
	switch p.Browser {
	case InsideWeChat:
		if p.OpenID == "" {
			return Action{}, fmt.Errorf("wechat pay inside WeChat needs the buyer's openid (from WeChat's OAuth): %w", ErrBadRequest)
		}
		req["payer"] = map[string]string{"openid": p.OpenID}
		var out struct {
			PrepayID string `json:"prepay_id"`
		}
		if err := w.call(ctx, http.MethodPost, "/v3/pay/transactions/jsapi", req, &out); err != nil {
			return Action{}, err
		}
		ts, n, pkg := strconv.FormatInt(w.cfg.Clock.Now().Unix(), 10), nonce(), "prepay_id="+out.PrepayID
		sig, err := signRSA2(w.cfg.MerchantKey, []byte(w.cfg.AppID+"\n"+ts+"\n"+n+"\n"+pkg+"\n"))
		if err != nil {
			return Action{}, err
		}
		return Action{Kind: "jsapi", Params: map[string]string{"appId": w.cfg.AppID, "timeStamp": ts, "nonceStr": n, "package": pkg, "signType": "RSA", "paySign": sig}}, nil
	case Mobile:
		req["scene_info"] = map[string]any{"payer_client_ip": "127.0.0.1", "h5_info": map[string]string{"type": "Wap"}}
		var out struct {
			H5URL string `json:"h5_url"`
		}
		if err := w.call(ctx, http.MethodPost, "/v3/pay/transactions/h5", req, &out); err != nil {
			return Action{}, err
		}
		return Action{Kind: "redirect", URL: out.H5URL}, nil
	}
	var out struct {
		CodeURL string `json:"code_url"`
	}
	if err := w.call(ctx, http.MethodPost, "/v3/pay/transactions/native", req, &out); err != nil {
		return Action{}, err
	}
	return Action{Kind: "qr", QR: out.CodeURL}, nil
}

// wechatNotice is a notification's envelope.
type wechatNotice struct {
	ID           string `json:"id"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Resource     struct {
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
		OriginalType   string `json:"original_type"`
	} `json:"resource"`
}

// Notification verifies the platform's signature of the body, then opens
// the resource (AES-256-GCM under the APIv3 key, which authenticates it
// once more) and reads the transaction.
func (w *WeChat) Notification(r *http.Request) (Event, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
	if err != nil {
		return Event{}, fmt.Errorf("wechat pay notification: %w", err)
	}
	if len(body) > maxNotification {
		return Event{}, fmt.Errorf("wechat pay notification: larger than %d bytes: %w", maxNotification, ErrForged)
	}
	if err := w.verify(r.Header, body); err != nil {
		return Event{}, fmt.Errorf("wechat pay notification: %w", err)
	}
	var n wechatNotice
	if err := json.Unmarshal(body, &n); err != nil {
		return Event{}, fmt.Errorf("wechat pay notification: %w: %w", err, ErrMismatch)
	}
	if n.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return Event{}, fmt.Errorf("wechat pay notification: algorithm %q: %w", n.Resource.Algorithm, ErrMismatch)
	}
	plain, err := w.open(n.Resource.Ciphertext, n.Resource.Nonce, n.Resource.AssociatedData)
	if err != nil {
		return Event{}, fmt.Errorf("wechat pay notification %s: %w", n.ID, err)
	}
	ev := Event{Kind: EventOther, Status: n.EventType}
	if n.EventType != "TRANSACTION.SUCCESS" {
		return ev, nil // refunds are recorded from their own answers
	}
	var t struct {
		MchID         string `json:"mchid"`
		AppID         string `json:"appid"`
		OutTradeNo    string `json:"out_trade_no"`
		TransactionID string `json:"transaction_id"`
		TradeState    string `json:"trade_state"`
		SuccessTime   string `json:"success_time"`
		Payer         struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
		Amount struct {
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(plain, &t); err != nil {
		return Event{}, fmt.Errorf("wechat pay notification %s: %w: %w", n.ID, err, ErrMismatch)
	}
	if t.MchID != w.cfg.MchID || t.AppID != w.cfg.AppID {
		return Event{}, fmt.Errorf("wechat pay notification %s: for merchant %s app %s, not ours: %w", n.ID, t.MchID, t.AppID, ErrMismatch)
	}
	ev.Key, ev.Reference, ev.Buyer, ev.Status = t.OutTradeNo, t.TransactionID, t.Payer.OpenID, t.TradeState
	if t.TradeState == "SUCCESS" {
		ev.Kind, ev.Amount = EventPayment, Money{t.Amount.Total, t.Amount.Currency}
		if at, err := time.Parse(time.RFC3339, t.SuccessTime); err == nil {
			ev.At = at.UTC()
		}
	}
	if ev.Key == "" || ev.Reference == "" {
		return Event{}, fmt.Errorf("wechat pay notification %s: without out_trade_no or transaction_id: %w", n.ID, ErrMismatch)
	}
	return ev, nil
}

func (w *WeChat) open(ciphertext, nonce, aad string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("resource: %w", ErrForged)
	}
	block, err := aes.NewCipher(w.cfg.APIv3Key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil || len(nonce) == 0 {
		return nil, fmt.Errorf("resource nonce: %w", ErrForged)
	}
	plain, err := gcm.Open(nil, []byte(nonce), ct, []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("resource does not open with the APIv3 key: %w", ErrForged)
	}
	return plain, nil
}

// Ack answers 204, or 400 with {"code":"FAIL"} for WeChat Pay to notify
// again.
func (w *WeChat) Ack(rw http.ResponseWriter, err error) {
	if err == nil {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(rw).Encode(map[string]string{"code": "FAIL", "message": "not taken"})
}

// Refund asks for a domestic refund with the refund's key as
// out_refund_no (a retry with it is the same refund).
func (w *WeChat) Refund(ctx context.Context, r Refund) (Refunded, error) {
	req := map[string]any{"out_trade_no": r.Payment, "out_refund_no": r.Key, "reason": truncate(r.Reason, 80),
		"amount": map[string]any{"refund": r.Amount.Amount, "total": r.Paid.Amount, "currency": r.Amount.Currency}}
	var out struct {
		RefundID    string `json:"refund_id"`
		OutRefundNo string `json:"out_refund_no"`
		Status      string `json:"status"`
		Amount      struct {
			Refund int64 `json:"refund"`
		} `json:"amount"`
	}
	if err := w.call(ctx, http.MethodPost, "/v3/refund/domestic/refunds", req, &out); err != nil {
		return Refunded{}, err
	}
	if out.OutRefundNo != r.Key || out.Amount.Refund != r.Amount.Amount || out.Status == "ABNORMAL" || out.Status == "CLOSED" {
		return Refunded{}, fmt.Errorf("wechat pay refund %s: answer %s for %d (%s): %w", r.Key, out.OutRefundNo, out.Amount.Refund, out.Status, ErrProvider)
	}
	return Refunded{Reference: out.RefundID, Amount: r.Amount}, nil
}

// Query reads a payment's state by its key.
func (w *WeChat) Query(ctx context.Context, key string) (Event, error) {
	var t struct {
		OutTradeNo    string `json:"out_trade_no"`
		TransactionID string `json:"transaction_id"`
		TradeState    string `json:"trade_state"`
		Amount        struct {
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := w.call(ctx, http.MethodGet, "/v3/pay/transactions/out-trade-no/"+url.PathEscape(key)+"?mchid="+url.QueryEscape(w.cfg.MchID), nil, &t); err != nil {
		return Event{}, err
	}
	ev := Event{Kind: EventOther, Key: t.OutTradeNo, Reference: t.TransactionID, Status: t.TradeState}
	if t.TradeState == "SUCCESS" {
		ev.Kind, ev.Amount = EventPayment, Money{t.Amount.Total, t.Amount.Currency}
	}
	return ev, nil
}
