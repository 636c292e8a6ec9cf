package paysim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Alipay simulates Alipay's open platform gateway for one application.
type Alipay struct {
	AppID string
	// AppKey verifies the application's requests.
	AppKey *rsa.PublicKey
	// Now is the simulator's clock (time.Now when nil).
	Now func() time.Time
	// Client posts notifications.
	Client *http.Client

	key *rsa.PrivateKey // Alipay's own, signs answers and notifications
	srv *http.Server
	url string

	mu      sync.Mutex
	trades  map[string]*AlipayTrade
	nextNo  int
	calls   map[string]int // method → requests that verified
	refused int            // requests that did not verify

	// BillEdit, when set, changes a day's bill before it is served:
	// tests plant what reconciliation must find.
	BillEdit   func([]BillRow) []BillRow
	billTokens map[string]string // download token → day
}

// AlipayTrade is a trade the simulator keeps.
type AlipayTrade struct {
	OutTradeNo, TradeNo, Subject string
	Total                        int64 // fen
	Status                       string
	NotifyURL, ReturnURL         string
	Refunds                      map[string]int64 // out_request_no → fen
	Refunded                     int64
	PaidAt                       time.Time
	RefundedAt                   map[string]time.Time // out_request_no → when
}

// NewAlipay makes a simulator for app appID whose requests appKey
// verifies, with a fresh Alipay key pair.
func NewAlipay(appID string, appKey *rsa.PublicKey) (*Alipay, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &Alipay{AppID: appID, AppKey: appKey, key: k, trades: map[string]*AlipayTrade{}, calls: map[string]int{},
		Client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// PublicKey is Alipay's public key, which the adapter pins.
func (a *Alipay) PublicKey() *rsa.PublicKey { return &a.key.PublicKey }

// Start serves on a loopback port and returns the gateway's URL.
func (a *Alipay) Start() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway.do", a.gateway)
	mux.HandleFunc("POST /cashier/pay", a.cashierPay)
	mux.HandleFunc("GET /qr/{no}", a.scan)
	mux.HandleFunc("GET /bills/{day}", a.billFile)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go a.srv.Serve(l)
	a.url = "http://" + l.Addr().String()
	return a.url + "/gateway.do", nil
}

// Close stops the server.
func (a *Alipay) Close() error { return a.srv.Close() }

func (a *Alipay) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

var beijing = time.FixedZone("CST", 8*3600)

// content is Alipay's string to sign: the non-empty parameters not in
// skip, sorted, name=value joined by &, unencoded.
func content(v url.Values, skip ...string) []byte {
	var keys []string
	for k := range v {
		ok := v.Get(k) != ""
		for _, s := range skip {
			ok = ok && k != s
		}
		if ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString("&")
		}
		b.WriteString(k + "=" + v.Get(k))
	}
	return b.Bytes()
}

func rsaSign(k *rsa.PrivateKey, msg []byte) string {
	h := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func rsaVerify(k *rsa.PublicKey, msg []byte, sig string) bool {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	h := sha256.Sum256(msg)
	return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], raw) == nil
}

func fen(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 {
		return 0, false
	}
	return w*100 + f, true
}

func yuan(n int64) string { return fmt.Sprintf("%d.%02d", n/100, n%100) }

// answer writes {"<method>_response": body, "sign": …}, the signature over
// body's exact bytes.
func (a *Alipay) answer(w http.ResponseWriter, method string, body map[string]any) {
	raw, _ := json.Marshal(body)
	name := strings.ReplaceAll(method, ".", "_") + "_response"
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, name, raw, rsaSign(a.key, raw))
}

func refusal(sub, msg string) map[string]any {
	return map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": sub, "sub_msg": msg}
}

func (a *Alipay) gateway(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	v := r.Form
	method := v.Get("method")
	// Verify before anything: the app, the signature type, the signature.
	if v.Get("app_id") != a.AppID || v.Get("sign_type") != "RSA2" || !rsaVerify(a.AppKey, content(v, "sign"), v.Get("sign")) {
		a.mu.Lock()
		a.refused++
		a.mu.Unlock()
		raw, _ := json.Marshal(map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"})
		fmt.Fprintf(w, `{"%s_response":%s}`, strings.ReplaceAll(method, ".", "_"), raw)
		return
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04:05", v.Get("timestamp"), beijing)
	if err != nil || a.now().Sub(ts).Abs() > 15*time.Minute {
		a.answer(w, method, map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-timestamp", "sub_msg": "时间戳参数无效"})
		return
	}
	var biz map[string]string
	if err := json.Unmarshal([]byte(v.Get("biz_content")), &biz); err != nil {
		a.answer(w, method, map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-biz-content"})
		return
	}
	a.mu.Lock()
	a.calls[method]++
	a.mu.Unlock()
	switch method {
	case "alipay.trade.page.pay", "alipay.trade.wap.pay":
		t, msg := a.open(biz, v.Get("notify_url"), v.Get("return_url"))
		if t == nil {
			http.Error(w, msg, http.StatusBadRequest)
			return
		}
		cashier.Execute(w, map[string]string{"subject": t.Subject, "amount": yuan(t.Total), "no": t.OutTradeNo})
	case "alipay.trade.precreate":
		t, msg := a.open(biz, v.Get("notify_url"), "")
		if t == nil {
			a.answer(w, method, refusal("ACQ.INVALID_PARAMETER", msg))
			return
		}
		a.answer(w, method, map[string]any{"code": "10000", "msg": "Success", "out_trade_no": t.OutTradeNo, "qr_code": a.url + "/qr/" + url.PathEscape(t.OutTradeNo)})
	case "alipay.trade.refund":
		a.refund(w, method, biz)
	case "alipay.data.dataservice.bill.downloadurl.query":
		a.billURL(w, method, biz)
	case "alipay.trade.query":
		a.mu.Lock()
		t := a.trades[biz["out_trade_no"]]
		var body map[string]any
		if t == nil {
			body = refusal("ACQ.TRADE_NOT_EXIST", "交易不存在")
		} else {
			body = map[string]any{"code": "10000", "msg": "Success", "out_trade_no": t.OutTradeNo, "trade_no": t.TradeNo,
				"trade_status": t.Status, "total_amount": yuan(t.Total), "buyer_user_id": "2088102177846880"}
			if !t.PaidAt.IsZero() {
				body["send_pay_date"] = t.PaidAt.In(beijing).Format("2006-01-02 15:04:05")
			}
		}
		a.mu.Unlock()
		a.answer(w, method, body)
	default:
		a.answer(w, method, map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"})
	}
}

// open finds or creates the trade of biz; the same out_trade_no with
// another amount is refused, as Alipay does.
func (a *Alipay) open(biz map[string]string, notify, back string) (*AlipayTrade, string) {
	total, ok := fen(biz["total_amount"])
	no := biz["out_trade_no"]
	if !ok || total <= 0 || no == "" || len(no) > 64 {
		return nil, "total_amount or out_trade_no invalid"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.trades[no]; t != nil {
		if t.Total != total {
			return nil, "ACQ.CONTEXT_INCONSISTENT: 交易信息被篡改"
		}
		return t, ""
	}
	a.nextNo++
	t := &AlipayTrade{OutTradeNo: no, TradeNo: fmt.Sprintf("2026%016d", a.nextNo), Subject: biz["subject"], Total: total,
		Status: "WAIT_BUYER_PAY", NotifyURL: notify, ReturnURL: back, Refunds: map[string]int64{}}
	a.trades[no] = t
	return t, ""
}

func (a *Alipay) refund(w http.ResponseWriter, method string, biz map[string]string) {
	amount, ok := fen(biz["refund_amount"])
	no, req := biz["out_trade_no"], biz["out_request_no"]
	if req == "" {
		req = no
	}
	a.mu.Lock()
	t := a.trades[no]
	var body map[string]any
	switch {
	case !ok || amount <= 0:
		body = refusal("ACQ.INVALID_PARAMETER", "refund_amount invalid")
	case t == nil:
		body = refusal("ACQ.TRADE_NOT_EXIST", "交易不存在")
	case t.Status != "TRADE_SUCCESS" && t.Status != "TRADE_CLOSED":
		body = refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	default:
		if prev, seen := t.Refunds[req]; seen {
			if prev != amount {
				body = refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与此前请求不一致")
				break
			}
		} else if t.Refunded+amount > t.Total {
			body = refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
			break
		} else {
			t.Refunds[req] = amount
			t.Refunded += amount
			if t.RefundedAt == nil {
				t.RefundedAt = map[string]time.Time{}
			}
			t.RefundedAt[req] = a.now()
			if t.Refunded == t.Total {
				t.Status = "TRADE_CLOSED"
			}
		}
		body = map[string]any{"code": "10000", "msg": "Success", "out_trade_no": t.OutTradeNo, "trade_no": t.TradeNo,
			"fund_change": "Y", "refund_fee": yuan(t.Refunded), "buyer_user_id": "2088102177846880"}
	}
	a.mu.Unlock()
	a.answer(w, method, body)
}

// Trade returns a copy of a trade.
func (a *Alipay) Trade(outTradeNo string) (AlipayTrade, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.trades[outTradeNo]
	if t == nil {
		return AlipayTrade{}, false
	}
	c := *t
	c.Refunds = map[string]int64{}
	for k, v := range t.Refunds {
		c.Refunds[k] = v
	}
	return c, true
}

// Calls is how many verified requests of a method the gateway took;
// Refused how many failed verification.
func (a *Alipay) Calls(method string) int { a.mu.Lock(); defer a.mu.Unlock(); return a.calls[method] }

// Refused is how many requests failed verification.
func (a *Alipay) Refused() int { a.mu.Lock(); defer a.mu.Unlock(); return a.refused }

// Pay has the buyer pay a trade: it becomes TRADE_SUCCESS and its
// notification is returned, signed, not yet sent.
func (a *Alipay) Pay(outTradeNo string) (url.Values, error) {
	a.mu.Lock()
	t := a.trades[outTradeNo]
	if t == nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("alipay sim: no trade %q", outTradeNo)
	}
	if t.Status == "WAIT_BUYER_PAY" {
		t.Status, t.PaidAt = "TRADE_SUCCESS", a.now()
	}
	a.mu.Unlock()
	return a.Notification(outTradeNo)
}

// Notification is the signed asynchronous notification of a trade's
// current state, as Alipay posts it.
func (a *Alipay) Notification(outTradeNo string) (url.Values, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.trades[outTradeNo]
	if t == nil {
		return nil, fmt.Errorf("alipay sim: no trade %q", outTradeNo)
	}
	now := a.now().In(beijing).Format("2006-01-02 15:04:05")
	v := url.Values{}
	v.Set("notify_time", now)
	v.Set("notify_type", "trade_status_sync")
	v.Set("notify_id", fmt.Sprintf("ac05099524730693a8b330c5ecf72da%04d", a.nextNo))
	v.Set("app_id", a.AppID)
	v.Set("auth_app_id", a.AppID)
	v.Set("charset", "utf-8")
	v.Set("version", "1.0")
	v.Set("trade_no", t.TradeNo)
	v.Set("out_trade_no", t.OutTradeNo)
	v.Set("buyer_id", "2088102177846880")
	v.Set("seller_id", "2088102119685838")
	v.Set("trade_status", t.Status)
	v.Set("total_amount", yuan(t.Total))
	v.Set("receipt_amount", yuan(t.Total))
	v.Set("buyer_pay_amount", yuan(t.Total))
	v.Set("subject", t.Subject)
	v.Set("gmt_create", now)
	if !t.PaidAt.IsZero() {
		v.Set("gmt_payment", t.PaidAt.In(beijing).Format("2006-01-02 15:04:05"))
	}
	if t.Refunded > 0 {
		v.Set("refund_fee", yuan(t.Refunded))
		v.Set("gmt_refund", now)
	}
	a.Sign(v)
	return v, nil
}

// Sign signs a notification's parameters as Alipay does (all but sign and
// sign_type), setting sign_type and sign.
func (a *Alipay) Sign(v url.Values) {
	v.Del("sign")
	v.Set("sign_type", "RSA2")
	v.Set("sign", rsaSign(a.key, content(v, "sign", "sign_type")))
}

// Send posts a notification to url and returns what it answered.
func (a *Alipay) Send(notifyURL string, v url.Values) (string, error) {
	resp, err := a.Client.Post(notifyURL, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(v.Encode()))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return string(b), nil
}

// PayAndNotify pays a trade and posts its notification to the trade's
// notify_url, returning the notification and the answer.
func (a *Alipay) PayAndNotify(outTradeNo string) (url.Values, string, error) {
	v, err := a.Pay(outTradeNo)
	if err != nil {
		return nil, "", err
	}
	t, _ := a.Trade(outTradeNo)
	if t.NotifyURL == "" {
		return v, "", fmt.Errorf("alipay sim: trade %q has no notify_url", outTradeNo)
	}
	ans, err := a.Send(t.NotifyURL, v)
	return v, ans, err
}

// cashierPay is the cashier page's pay button: pay, notify, and send the
// buyer back with the synchronous return parameters.
func (a *Alipay) cashierPay(w http.ResponseWriter, r *http.Request) {
	no := r.FormValue("out_trade_no")
	_, _, err := a.PayAndNotify(no)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t, _ := a.Trade(no)
	if t.ReturnURL == "" {
		io.WriteString(w, "paid")
		return
	}
	v := url.Values{}
	v.Set("app_id", a.AppID)
	v.Set("method", "alipay.trade.page.pay.return")
	v.Set("charset", "utf-8")
	v.Set("out_trade_no", t.OutTradeNo)
	v.Set("trade_no", t.TradeNo)
	v.Set("total_amount", yuan(t.Total))
	v.Set("timestamp", a.now().In(beijing).Format("2006-01-02 15:04:05"))
	v.Set("version", "1.0")
	a.Sign(v)
	sep := "?"
	if strings.Contains(t.ReturnURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, t.ReturnURL+sep+v.Encode(), http.StatusFound)
}

// scan is the QR code's URL opened by a phone: it pays the trade.
func (a *Alipay) scan(w http.ResponseWriter, r *http.Request) {
	if _, _, err := a.PayAndNotify(r.PathValue("no")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	io.WriteString(w, "paid")
}

var cashier = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝 收银台 (simulator)</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem">
<h1>支付宝 · 收银台</h1><p>Simulator / 模拟器</p>
<p id="subject">{{.subject}}</p><p id="amount" style="font-size:2rem">¥{{.amount}}</p>
<form method="post" action="/cashier/pay"><input type="hidden" name="out_trade_no" value="{{.no}}">
<button id="pay" type="submit" style="font-size:1.2rem;padding:.6rem 2rem">确认付款 Pay</button></form>
</body></html>`))
