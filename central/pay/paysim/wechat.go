package paysim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WeChat simulates WeChat Pay API v3 for one merchant.
type WeChat struct {
	MchID, AppID string
	// MerchantKey verifies the merchant's requests; MerchantSerial is
	// its certificate's serial, which requests must name.
	MerchantKey    *rsa.PublicKey
	MerchantSerial string
	// APIv3Key seals notification resources.
	APIv3Key []byte
	Now      func() time.Time
	Client   *http.Client

	key    *rsa.PrivateKey // the platform's
	serial string
	srv    *http.Server
	url    string

	mu      sync.Mutex
	trades  map[string]*WeChatTrade
	next    int
	refused int

	// BillEdit, when set, changes a day's bill before it is served:
	// tests plant what reconciliation must find.
	BillEdit   func([]BillRow) []BillRow
	billTokens map[string][]byte // download token → bill
}

// WeChatTrade is a payment the simulator keeps.
type WeChatTrade struct {
	OutTradeNo, TransactionID, Kind, OpenID, NotifyURL string
	Total                                              int64
	Currency, State                                    string
	Refunds                                            map[string]int64 // out_refund_no → fen
	Refunded                                           int64
	PaidAt                                             time.Time
	RefundedAt                                         map[string]time.Time // out_refund_no → when
}

// NewWeChat makes a simulator for a merchant, with a fresh platform key.
func NewWeChat(mchID, appID string, merchantKey *rsa.PublicKey, merchantSerial string, apiV3Key []byte) (*WeChat, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 20)
	rand.Read(b)
	return &WeChat{MchID: mchID, AppID: appID, MerchantKey: merchantKey, MerchantSerial: merchantSerial, APIv3Key: apiV3Key,
		Client: &http.Client{Timeout: 10 * time.Second}, key: k, serial: strings.ToUpper(hex.EncodeToString(b)), trades: map[string]*WeChatTrade{}}, nil
}

// PlatformKey is the platform's public key and its serial.
func (w *WeChat) PlatformKey() (string, *rsa.PublicKey) { return w.serial, &w.key.PublicKey }

// Start serves on a loopback port and returns the API's base URL.
func (w *WeChat) Start() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/pay/transactions/{kind}", w.create)
	mux.HandleFunc("GET /v3/pay/transactions/out-trade-no/{no}", w.query)
	mux.HandleFunc("POST /v3/refund/domestic/refunds", w.refund)
	mux.HandleFunc("GET /v3/bill/tradebill", w.tradeBill)
	mux.HandleFunc("GET /v3/billdownload/file", w.billFile)
	w.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go w.srv.Serve(l)
	w.url = "http://" + l.Addr().String()
	return w.url, nil
}

// Close stops the server.
func (w *WeChat) Close() error { return w.srv.Close() }

// Refused is how many requests failed verification.
func (w *WeChat) Refused() int { w.mu.Lock(); defer w.mu.Unlock(); return w.refused }

func (w *WeChat) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

var authParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// check verifies a request's WECHATPAY2-SHA256-RSA2048 Authorization.
func (w *WeChat) check(r *http.Request, body []byte) bool {
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "WECHATPAY2-SHA256-RSA2048 ")
	if !ok {
		return false
	}
	p := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(h, -1) {
		p[m[1]] = m[2]
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil || p["mchid"] != w.MchID || p["serial_no"] != w.MerchantSerial || w.now().Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	msg := r.Method + "\n" + r.URL.RequestURI() + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	return rsaVerify(w.MerchantKey, []byte(msg), p["signature"])
}

// signed is the platform's Wechatpay-* headers for a body.
func (w *WeChat) signed(h http.Header, body []byte) {
	ts := strconv.FormatInt(w.now().Unix(), 10)
	b := make([]byte, 16)
	rand.Read(b)
	n := hex.EncodeToString(b)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", n)
	h.Set("Wechatpay-Serial", w.serial)
	h.Set("Wechatpay-Signature", rsaSign(w.key, []byte(ts+"\n"+n+"\n"+string(body)+"\n")))
}

func (w *WeChat) reply(rw http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.signed(rw.Header(), body)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	rw.Write(body)
}

func (w *WeChat) fail(rw http.ResponseWriter, status int, code, msg string) {
	w.reply(rw, status, map[string]string{"code": code, "message": msg})
}

func (w *WeChat) read(rw http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if !w.check(r, body) {
		w.mu.Lock()
		w.refused++
		w.mu.Unlock()
		w.fail(rw, http.StatusUnauthorized, "SIGN_ERROR", "签名错误")
		return nil, false
	}
	return body, true
}

func (w *WeChat) create(rw http.ResponseWriter, r *http.Request) {
	body, ok := w.read(rw, r)
	if !ok {
		return
	}
	var req struct {
		AppID, MchID, Description string
		OutTradeNo                string `json:"out_trade_no"`
		NotifyURL                 string `json:"notify_url"`
		Amount                    struct {
			Total    int64
			Currency string
		}
		Payer struct{ OpenID string }
	}
	if err := json.Unmarshal(body, &req); err != nil || req.AppID != w.AppID || req.MchID != w.MchID || req.Amount.Total <= 0 ||
		len(req.OutTradeNo) < 6 || len(req.OutTradeNo) > 32 || req.NotifyURL == "" {
		w.fail(rw, http.StatusBadRequest, "PARAM_ERROR", "参数错误")
		return
	}
	kind := r.PathValue("kind")
	if kind == "jsapi" && req.Payer.OpenID == "" {
		w.fail(rw, http.StatusBadRequest, "PARAM_ERROR", "缺少 payer.openid")
		return
	}
	if req.Amount.Currency == "" {
		req.Amount.Currency = "CNY"
	}
	w.mu.Lock()
	t := w.trades[req.OutTradeNo]
	if t == nil {
		w.next++
		t = &WeChatTrade{OutTradeNo: req.OutTradeNo, TransactionID: fmt.Sprintf("42000%023d", w.next), Kind: kind, OpenID: req.Payer.OpenID,
			NotifyURL: req.NotifyURL, Total: req.Amount.Total, Currency: req.Amount.Currency, State: "NOTPAY", Refunds: map[string]int64{}}
		w.trades[req.OutTradeNo] = t
	}
	same := t.Total == req.Amount.Total && t.Currency == req.Amount.Currency
	no := t.OutTradeNo
	w.mu.Unlock()
	if !same {
		w.fail(rw, http.StatusBadRequest, "INVALID_REQUEST", "订单号重复且金额不一致")
		return
	}
	switch kind {
	case "jsapi":
		w.reply(rw, 200, map[string]string{"prepay_id": "wx" + no})
	case "h5":
		w.reply(rw, 200, map[string]string{"h5_url": w.url + "/h5/" + no})
	case "native":
		w.reply(rw, 200, map[string]string{"code_url": "weixin://wxpay/bizpayurl?pr=" + no})
	default:
		w.fail(rw, http.StatusNotFound, "NOT_FOUND", "no such API")
	}
}

func (w *WeChat) query(rw http.ResponseWriter, r *http.Request) {
	if _, ok := w.read(rw, r); !ok {
		return
	}
	w.mu.Lock()
	t := w.trades[r.PathValue("no")]
	w.mu.Unlock()
	if t == nil {
		w.fail(rw, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	w.reply(rw, 200, w.transaction(t))
}

func (w *WeChat) transaction(t *WeChatTrade) map[string]any {
	tx := map[string]any{"mchid": w.MchID, "appid": w.AppID, "out_trade_no": t.OutTradeNo, "transaction_id": t.TransactionID,
		"trade_type": strings.ToUpper(t.Kind), "trade_state": t.State, "payer": map[string]string{"openid": t.OpenID},
		"amount": map[string]any{"total": t.Total, "payer_total": t.Total, "currency": t.Currency, "payer_currency": t.Currency}}
	if !t.PaidAt.IsZero() {
		tx["success_time"] = t.PaidAt.In(beijing).Format(time.RFC3339)
	}
	return tx
}

func (w *WeChat) refund(rw http.ResponseWriter, r *http.Request) {
	body, ok := w.read(rw, r)
	if !ok {
		return
	}
	var req struct {
		OutTradeNo  string `json:"out_trade_no"`
		OutRefundNo string `json:"out_refund_no"`
		Amount      struct {
			Refund, Total int64
			Currency      string
		}
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Amount.Refund <= 0 || req.OutRefundNo == "" {
		w.fail(rw, http.StatusBadRequest, "PARAM_ERROR", "参数错误")
		return
	}
	w.mu.Lock()
	t := w.trades[req.OutTradeNo]
	var status int
	var out any
	switch {
	case t == nil:
		status, out = 404, map[string]string{"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
	case t.State != "SUCCESS" && t.State != "REFUND":
		status, out = 400, map[string]string{"code": "INVALID_REQUEST", "message": "订单未支付"}
	case req.Amount.Total != t.Total:
		status, out = 400, map[string]string{"code": "PARAM_ERROR", "message": "订单金额不一致"}
	default:
		prev, seen := t.Refunds[req.OutRefundNo]
		switch {
		case seen && prev != req.Amount.Refund:
			status, out = 400, map[string]string{"code": "INVALID_REQUEST", "message": "退款单号重复且金额不一致"}
		case !seen && t.Refunded+req.Amount.Refund > t.Total:
			status, out = 400, map[string]string{"code": "NOT_ENOUGH", "message": "退款金额超过可退金额"}
		default:
			if !seen {
				t.Refunds[req.OutRefundNo] = req.Amount.Refund
				t.Refunded += req.Amount.Refund
				if t.RefundedAt == nil {
					t.RefundedAt = map[string]time.Time{}
				}
				t.RefundedAt[req.OutRefundNo] = w.now()
				t.State = "REFUND"
			}
			status, out = 200, map[string]any{"refund_id": "50000" + req.OutRefundNo, "out_refund_no": req.OutRefundNo, "out_trade_no": t.OutTradeNo,
				"transaction_id": t.TransactionID, "status": "SUCCESS", "amount": map[string]any{"refund": req.Amount.Refund, "total": t.Total, "currency": t.Currency}}
		}
	}
	w.mu.Unlock()
	w.reply(rw, status, out)
}

// Trade returns a copy of a trade.
func (w *WeChat) Trade(outTradeNo string) (WeChatTrade, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.trades[outTradeNo]
	if t == nil {
		return WeChatTrade{}, false
	}
	c := *t
	c.Refunds = map[string]int64{}
	for k, v := range t.Refunds {
		c.Refunds[k] = v
	}
	return c, true
}

// WeChatNotice is a notification as WeChat Pay posts it.
type WeChatNotice struct {
	Body   []byte
	Header http.Header
}

// Pay has the buyer pay a trade and returns its TRANSACTION.SUCCESS
// notification, sealed and signed, not yet sent.
func (w *WeChat) Pay(outTradeNo string) (WeChatNotice, error) {
	w.mu.Lock()
	t := w.trades[outTradeNo]
	if t == nil {
		w.mu.Unlock()
		return WeChatNotice{}, fmt.Errorf("wechat sim: no trade %q", outTradeNo)
	}
	if t.State == "NOTPAY" {
		t.State, t.PaidAt = "SUCCESS", w.now()
	}
	tx := w.transaction(t)
	w.mu.Unlock()
	plain, _ := json.Marshal(tx)
	return w.Notice("TRANSACTION.SUCCESS", plain, w.APIv3Key)
}

// Notice seals plain under key (AES-256-GCM, associated data
// "transaction", a 12-character nonce) into a notification and signs it.
func (w *WeChat) Notice(event string, plain, key []byte) (WeChatNotice, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return WeChatNotice{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return WeChatNotice{}, err
	}
	nb := make([]byte, 6)
	rand.Read(nb)
	n := hex.EncodeToString(nb) // 12 characters, as WeChat Pay sends
	ct := gcm.Seal(nil, []byte(n), plain, []byte("transaction"))
	w.mu.Lock()
	w.next++
	id := fmt.Sprintf("EV-2026%013d", w.next)
	w.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"id": id, "create_time": w.now().In(beijing).Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": event, "summary": "支付成功", "resource": map[string]string{"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": "transaction", "nonce": n}})
	h := http.Header{"Content-Type": {"application/json"}}
	w.signed(h, body)
	return WeChatNotice{Body: body, Header: h}, nil
}

// Send posts a notification to url and returns the status.
func (w *WeChat) Send(url string, n WeChatNotice) (int, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(n.Body))
	req.Header = n.Header.Clone()
	resp, err := w.Client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
