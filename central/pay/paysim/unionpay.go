package paysim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UnionPay simulates UnionPay's online gateway (version 5.1.0) for one
// merchant: a root certificate and a signing certificate of its own,
// signed notifications and answers (signMethod 01).
type UnionPay struct {
	MerID string
	// MerchantKey verifies requests naming MerchantCertID.
	MerchantKey    *rsa.PublicKey
	MerchantCertID string
	Now            func() time.Time
	Client         *http.Client

	root    *x509.Certificate
	key     *rsa.PrivateKey
	certPEM string
	srv     *http.Server
	url     string
	mu      sync.Mutex
	orders  map[string]*UnionPayOrder // by orderId
	refunds map[string]int64          // refund orderId → fen
	next    int
	refused int
}

// UnionPayOrder is a consumption the simulator keeps.
type UnionPayOrder struct {
	OrderID, QueryID, Reserved, BackURL, TxnTime string
	Amount, Refunded                             int64
	Paid                                         bool
}

// NewUnionPay makes a simulator with a fresh root and signing certificate.
func NewUnionPay(merID string, merchantKey *rsa.PublicKey, merchantCertID string) (*UnionPay, error) {
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CFCA TEST OCA1 (simulator)", Organization: []string{"CFCA"}},
		NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	root, _ := x509.ParseCertificate(rootDER)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(69629715588),
		Subject:   pkix.Name{CommonName: "041@Z12@00040000:SIGN@00000062", Organization: []string{"中国银联股份有限公司"}},
		NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &k.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	return &UnionPay{MerID: merID, MerchantKey: merchantKey, MerchantCertID: merchantCertID, Client: &http.Client{Timeout: 10 * time.Second},
		root: root, key: k, certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		orders: map[string]*UnionPayOrder{}, refunds: map[string]int64{}}, nil
}

// Root is the root certificate the signing certificate chains to.
func (u *UnionPay) Root() *x509.Certificate { return u.root }

// Start serves on a loopback port and returns the gateway's base URL.
func (u *UnionPay) Start() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /gateway/api/frontTransReq.do", u.front)
	mux.HandleFunc("POST /gateway/api/backTransReq.do", u.back)
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go u.srv.Serve(l)
	u.url = "http://" + l.Addr().String()
	return u.url, nil
}

// Close stops the server.
func (u *UnionPay) Close() error { return u.srv.Close() }

// Refused is how many requests failed verification.
func (u *UnionPay) Refused() int { u.mu.Lock(); defer u.mu.Unlock(); return u.refused }

// digest is the hex SHA-256 of the sorted k=v pairs but signature.
func digest(v url.Values) []byte {
	var keys []string
	for k := range v {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v.Get(k)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	return []byte(hex.EncodeToString(sum[:]))
}

// Sign signs a message as UnionPay does, with signPubKeyCert.
func (u *UnionPay) Sign(v url.Values) {
	v.Set("signMethod", "01")
	v.Set("signPubKeyCert", u.certPEM)
	v.Del("signature")
	v.Set("signature", rsaSign(u.key, digest(v)))
}

func (u *UnionPay) verified(r *http.Request) (url.Values, bool) {
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	v := r.PostForm
	ok := v.Get("merId") == u.MerID && v.Get("certId") == u.MerchantCertID && v.Get("signMethod") == "01" &&
		rsaVerify(u.MerchantKey, digest(v), v.Get("signature"))
	if !ok {
		u.mu.Lock()
		u.refused++
		u.mu.Unlock()
	}
	return v, ok
}

func (u *UnionPay) front(w http.ResponseWriter, r *http.Request) {
	v, ok := u.verified(r)
	if !ok {
		http.Error(w, "respCode=11 验证签名失败", http.StatusOK)
		return
	}
	amount, err := strconv.ParseInt(v.Get("txnAmt"), 10, 64)
	id := v.Get("orderId")
	if err != nil || amount <= 0 || len(id) < 8 || len(id) > 40 || v.Get("txnType") != "01" {
		http.Error(w, "respCode=30 报文格式错误", http.StatusOK)
		return
	}
	u.mu.Lock()
	o := u.orders[id]
	if o == nil {
		u.next++
		o = &UnionPayOrder{OrderID: id, QueryID: fmt.Sprintf("7720%017d", u.next), Reserved: v.Get("reqReserved"), BackURL: v.Get("backUrl"),
			TxnTime: v.Get("txnTime"), Amount: amount}
		u.orders[id] = o
	}
	same := o.Amount == amount
	u.mu.Unlock()
	if !same {
		http.Error(w, "respCode=12 重复交易", http.StatusOK)
		return
	}
	unionCashier.Execute(w, map[string]string{"amount": fmt.Sprintf("%d.%02d", amount/100, amount%100), "order": id})
}

func (u *UnionPay) back(w http.ResponseWriter, r *http.Request) {
	v, ok := u.verified(r)
	a := url.Values{}
	a.Set("version", "5.1.0")
	a.Set("encoding", "UTF-8")
	a.Set("merId", u.MerID)
	a.Set("orderId", v.Get("orderId"))
	a.Set("txnType", v.Get("txnType"))
	a.Set("txnTime", v.Get("txnTime"))
	defer func() {
		u.Sign(a)
		io.WriteString(w, a.Encode())
	}()
	if !ok {
		a.Set("respCode", "11")
		a.Set("respMsg", "验证签名失败")
		return
	}
	if v.Get("txnType") != "04" {
		a.Set("respCode", "40")
		a.Set("respMsg", "交易类型不支持")
		return
	}
	amount, err := strconv.ParseInt(v.Get("txnAmt"), 10, 64)
	u.mu.Lock()
	defer u.mu.Unlock()
	var orig *UnionPayOrder
	for _, o := range u.orders {
		if o.QueryID == v.Get("origQryId") {
			orig = o
		}
	}
	prev, seen := u.refunds[v.Get("orderId")]
	switch {
	case err != nil || amount <= 0:
		a.Set("respCode", "30")
	case orig == nil || !orig.Paid:
		a.Set("respCode", "35") // 原交易不存在或状态不正确
	case seen && prev != amount:
		a.Set("respCode", "12") // 重复交易
	case !seen && orig.Refunded+amount > orig.Amount:
		a.Set("respCode", "37") // 退货金额超限
	default:
		if !seen {
			u.refunds[v.Get("orderId")] = amount
			orig.Refunded += amount
		}
		u.next++
		a.Set("respCode", "00")
		a.Set("respMsg", "成功[0000000]")
		a.Set("queryId", fmt.Sprintf("7721%017d", u.next))
		a.Set("origQryId", orig.QueryID)
		a.Set("txnAmt", strconv.FormatInt(amount, 10))
	}
}

// Order returns a copy of a consumption by its orderId.
func (u *UnionPay) Order(orderID string) (UnionPayOrder, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	o := u.orders[orderID]
	if o == nil {
		return UnionPayOrder{}, false
	}
	return *o, true
}

// Pay has the buyer pay a consumption and returns its signed background
// notification, not yet sent.
func (u *UnionPay) Pay(orderID string) (url.Values, error) {
	u.mu.Lock()
	o := u.orders[orderID]
	if o == nil {
		u.mu.Unlock()
		return nil, fmt.Errorf("unionpay sim: no order %q", orderID)
	}
	o.Paid = true
	c := *o
	u.mu.Unlock()
	v := url.Values{}
	for k, val := range map[string]string{"version": "5.1.0", "encoding": "UTF-8", "bizType": "000201", "txnType": "01", "txnSubType": "01",
		"accessType": "0", "merId": u.MerID, "orderId": c.OrderID, "txnTime": c.TxnTime, "txnAmt": strconv.FormatInt(c.Amount, 10),
		"currencyCode": "156", "queryId": c.QueryID, "reqReserved": c.Reserved, "respCode": "00", "respMsg": "成功[0000000]",
		"settleAmt": strconv.FormatInt(c.Amount, 10), "settleCurrencyCode": "156", "traceNo": c.QueryID[len(c.QueryID)-6:], "traceTime": c.TxnTime[4:]} {
		v.Set(k, val)
	}
	u.Sign(v)
	return v, nil
}

var unionCashier = template.Must(template.New("unionpay").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>银联在线支付 (simulator)</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem">
<h1>银联在线支付</h1><p>Simulator / 模拟器</p><p id="order">{{.order}}</p><p id="amount" style="font-size:2rem">¥{{.amount}}</p>
</body></html>`))
