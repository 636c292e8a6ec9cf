package einvsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the simulated platform.
type Server struct {
	AppID, Secret string
	// Now is the platform's clock; nil: time.Now.
	Now func() time.Time

	mu      sync.Mutex
	nonces  map[string]time.Time
	serials map[string]answer // by serialNo
	issued  map[string]*Invoice
	seq     int64
}

// Invoice is an e-invoice the platform issued.
type Invoice struct {
	Number, Serial, Kind string // kind: "blue" or "red"
	Original             string // of a red one
	BuyerName, BuyerTax  string
	Total                int64 // fen
	Left                 int64 // of a blue one: what no red one reversed
	Issued               time.Time
}

type answer struct {
	digest string // SHA-256 of the request's document
	data   map[string]string
}

// New is a platform that knows one app.
func New(appID, secret string) *Server {
	return &Server{AppID: appID, Secret: secret, nonces: map[string]time.Time{}, serials: map[string]answer{}, issued: map[string]*Invoice{}}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Issued is a copy of what the platform issued, by number.
func (s *Server) Issued() map[string]Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Invoice{}
	for k, v := range s.issued {
		out[k] = *v
	}
	return out
}

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("POST /openapi/v2/invoice/blue", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "blue") })
	m.HandleFunc("POST /openapi/v2/invoice/red", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "red") })
	return m
}

// Sign is the signature of a message: base64 of HMAC-SHA256 over
// first + "\n" + path + "\n" + timestamp + "\n" + nonce + "\n" +
// hex(SHA-256(body)).
func Sign(secret, first, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, first+"\n"+path+"\n"+timestamp+"\n"+nonce+"\n"+hex.EncodeToString(sum[:]))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type item struct {
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unitPrice"`
	Amount    string `json:"amount"`
	TaxRate   string `json:"taxRate"`
	TaxAmount string `json:"taxAmount"`
}

type request struct {
	SerialNo          string `json:"serialNo"`
	SellerTaxNo       string `json:"sellerTaxNo"`
	SellerName        string `json:"sellerName"`
	BuyerName         string `json:"buyerName"`
	BuyerTaxNo        string `json:"buyerTaxNo"`
	BuyerEmail        string `json:"buyerEmail"`
	InvoiceKind       string `json:"invoiceKind"`
	OriginalInvoiceNo string `json:"originalInvoiceNo"`
	Reason            string `json:"reason"`
	TotalAmount       string `json:"totalAmount"`
	TotalTax          string `json:"totalTax"`
	Items             []item `json:"items"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, kind string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "2001", "unreadable body")
		return
	}
	if r.Header.Get("X-App-Id") != s.AppID {
		s.fail(w, r, http.StatusUnauthorized, "1004", "unknown app")
		return
	}
	ts, nonce := r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce")
	want := Sign(s.Secret, "POST", r.URL.Path, ts, nonce, body)
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Signature"))) {
		s.fail(w, r, http.StatusUnauthorized, "1001", "signature verification failed")
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	now := s.now()
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 300*time.Second {
		s.fail(w, r, http.StatusUnauthorized, "1002", "timestamp outside the window")
		return
	}
	if len(nonce) < 16 || len(nonce) > 64 {
		s.fail(w, r, http.StatusUnauthorized, "1003", "bad nonce")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, at := range s.nonces {
		if now.Sub(at) > 600*time.Second {
			delete(s.nonces, n)
		}
	}
	if _, seen := s.nonces[nonce]; seen {
		s.fail(w, r, http.StatusUnauthorized, "1003", "nonce used before")
		return
	}
	s.nonces[nonce] = now
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, r, http.StatusBadRequest, "2001", "malformed request: "+err.Error())
		return
	}
	req.SerialNo = strings.TrimSpace(req.SerialNo)
	norm, _ := json.Marshal(req)
	digest := fmt.Sprintf("%x", sha256.Sum256(append([]byte(kind), norm...)))
	if a, ok := s.serials[req.SerialNo]; ok {
		if a.digest != digest {
			s.fail(w, r, http.StatusConflict, "3003", "serialNo "+req.SerialNo+" was used for another document")
			return
		}
		s.ok(w, r, a.data)
		return
	}
	total, err := s.check(req, kind)
	if err != nil {
		code, msg, _ := strings.Cut(err.Error(), ":")
		s.fail(w, r, http.StatusBadRequest, code, strings.TrimSpace(msg))
		return
	}
	if kind == "red" {
		orig, ok := s.issued[req.OriginalInvoiceNo]
		if !ok || orig.Kind != "blue" {
			s.fail(w, r, http.StatusBadRequest, "3001", "original invoice "+req.OriginalInvoiceNo+" unknown")
			return
		}
		if -total > orig.Left {
			s.fail(w, r, http.StatusConflict, "3002", fmt.Sprintf("reversing %d fen when %d are left", -total, orig.Left))
			return
		}
		orig.Left += total
	}
	s.seq++
	no := fmt.Sprintf("%02d%02d%016d", now.Year()%100, 11, s.seq)
	s.issued[no] = &Invoice{Number: no, Serial: req.SerialNo, Kind: kind, Original: req.OriginalInvoiceNo, BuyerName: req.BuyerName,
		BuyerTax: req.BuyerTaxNo, Total: total, Left: max(total, 0), Issued: now}
	data := map[string]string{"invoiceNo": no, "issueTime": now.Format(time.RFC3339), "serialNo": req.SerialNo}
	s.serials[req.SerialNo] = answer{digest: digest, data: data}
	s.ok(w, r, data)
}

// check validates a request and returns its total in fen.
func (s *Server) check(req request, kind string) (int64, error) {
	if req.SerialNo == "" || len(req.SerialNo) > 64 {
		return 0, fmt.Errorf("2001: serialNo: want 1 to 64 characters")
	}
	if kind == "blue" && (req.BuyerName == "" || req.SellerName == "") {
		return 0, fmt.Errorf("2001: buyerName and sellerName are required")
	}
	if req.BuyerTaxNo != "" && !validCreditCode(req.BuyerTaxNo) {
		return 0, fmt.Errorf("2002: buyerTaxNo %q is not a unified social credit code", req.BuyerTaxNo)
	}
	if kind == "red" && req.OriginalInvoiceNo == "" {
		return 0, fmt.Errorf("2001: originalInvoiceNo is required")
	}
	total, err := fen(req.TotalAmount)
	if err != nil {
		return 0, fmt.Errorf("2001: totalAmount: %v", err)
	}
	if kind == "blue" && total <= 0 || kind == "red" && total >= 0 {
		return 0, fmt.Errorf("2001: totalAmount %s: a blue invoice is positive, a red one negative", req.TotalAmount)
	}
	if len(req.Items) == 0 {
		return 0, fmt.Errorf("2001: no items")
	}
	var sum int64
	for _, it := range req.Items {
		a, err := fen(it.Amount)
		if err != nil || it.Name == "" {
			return 0, fmt.Errorf("2001: item %q: amount %q", it.Name, it.Amount)
		}
		sum += a
	}
	if sum != total {
		return 0, fmt.Errorf("2001: items add up to %d fen, totalAmount is %d", sum, total)
	}
	return total, nil
}

// fen parses "-128.00" into -12800.
func fen(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 || whole == "" {
		return 0, fmt.Errorf("%q: want yuan with two decimals", s)
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q: want yuan with two decimals", s)
	}
	if neg {
		n = -n
	}
	return n, nil
}

const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func validCreditCode(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := []int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i, wt := range weights {
		v := strings.IndexByte(creditCodeChars, s[i])
		if v < 0 {
			return false
		}
		sum += v * wt
	}
	return s[17] == creditCodeChars[(31-sum%31)%31]
}

func (s *Server) ok(w http.ResponseWriter, r *http.Request, data map[string]string) {
	s.write(w, r, http.StatusOK, map[string]any{"code": "0000", "msg": "ok", "data": data})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.write(w, r, status, map[string]any{"code": code, "msg": msg})
}

// write sends an answer signed by the platform.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, _ := json.Marshal(v)
	ts := strconv.FormatInt(s.now().Unix(), 10)
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 96))
	nonce := fmt.Sprintf("%024x", n)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Timestamp", ts)
	h.Set("X-Nonce", nonce)
	h.Set("X-Signature", Sign(s.Secret, strconv.Itoa(status), r.URL.Path, ts, nonce, body))
	w.WriteHeader(status)
	w.Write(body)
}
