package invoice

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// ChinaPlatform issues China's fully digital e-invoices (数电票) through
// a service provider's open API: JSON over HTTPS, each request and each
// answer signed with HMAC-SHA256 under the app's secret (the protocol is
// written out in package einvsim, its simulator). Amounts go as yuan
// with two decimals, tax included; only CNY is invoiced.
type ChinaPlatform struct {
	BaseURL string // "https://…" without the path
	AppID   string
	Secret  string // never logged
	Client  *http.Client
	Clock   ticket.Clock
}

var (
	_ Provider   = (*ChinaPlatform)(nil)
	_ Currencies = (*ChinaPlatform)(nil)
)

// ErrRefused is a document the platform refused; its code and message
// follow.
var ErrRefused = errors.New("refused by the e-invoicing platform")

// Currencies are CNY only.
func (c *ChinaPlatform) Currencies() []string { return []string{"CNY"} }

// Name is "cn-einvoice".
func (c *ChinaPlatform) Name() string { return "cn-einvoice" }

type cnItem struct {
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unitPrice"`
	Amount    string `json:"amount"`
	TaxRate   string `json:"taxRate"`
	TaxAmount string `json:"taxAmount"`
}

type cnRequest struct {
	SerialNo          string   `json:"serialNo"`
	SellerTaxNo       string   `json:"sellerTaxNo"`
	SellerName        string   `json:"sellerName"`
	BuyerName         string   `json:"buyerName"`
	BuyerTaxNo        string   `json:"buyerTaxNo"`
	BuyerEmail        string   `json:"buyerEmail"`
	InvoiceKind       string   `json:"invoiceKind"`
	OriginalInvoiceNo string   `json:"originalInvoiceNo,omitempty"`
	Reason            string   `json:"reason,omitempty"`
	TotalAmount       string   `json:"totalAmount"`
	TotalTax          string   `json:"totalTax"`
	Items             []cnItem `json:"items"`
}

// Issue makes a blue invoice.
func (c *ChinaPlatform) Issue(ctx context.Context, d Document) (Receipt, error) {
	if d.Total <= 0 {
		return Receipt{}, fmt.Errorf("blue e-invoice of %s: total %d: want a positive total", d.Key, d.Total)
	}
	req, err := c.request(d)
	if err != nil {
		return Receipt{}, err
	}
	return c.call(ctx, "/openapi/v2/invoice/blue", req)
}

// Reverse makes a red invoice against the blue one original.
func (c *ChinaPlatform) Reverse(ctx context.Context, d Document, original Receipt) (Receipt, error) {
	if d.Total >= 0 || original.Number == "" {
		return Receipt{}, fmt.Errorf("red e-invoice of %s: want a negative total and the blue invoice's number", d.Key)
	}
	req, err := c.request(d)
	if err != nil {
		return Receipt{}, err
	}
	req.OriginalInvoiceNo, req.Reason = original.Number, d.Reason
	return c.call(ctx, "/openapi/v2/invoice/red", req)
}

func (c *ChinaPlatform) request(d Document) (cnRequest, error) {
	if d.Currency != "CNY" {
		return cnRequest{}, fmt.Errorf("e-invoice of %s: China invoices in CNY, not %s", d.Key, d.Currency)
	}
	rate := yuanRate(d.TaxRate)
	req := cnRequest{SerialNo: d.Key, SellerTaxNo: d.Seller.TaxID, SellerName: d.Seller.Name, BuyerName: d.Buyer.Title, BuyerTaxNo: d.Buyer.TaxID,
		BuyerEmail: d.Buyer.Email, InvoiceKind: "normal", TotalAmount: yuan(d.Total), TotalTax: yuan(d.Tax)}
	for _, l := range d.Lines {
		unit := l.Unit
		if l.Quantity != 0 && l.Total%int64(l.Quantity) == 0 {
			unit = l.Total / int64(l.Quantity) // the price paid, after the line's discounts
		}
		req.Items = append(req.Items, cnItem{Name: l.Name, Quantity: l.Quantity, UnitPrice: yuan(abs(unit)), Amount: yuan(l.Total), TaxRate: rate,
			TaxAmount: yuan(taxIn(l.Total, d.TaxRate))})
	}
	return req, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// yuan is fen as yuan with two decimals: -12800 is "-128.00".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// yuanRate is basis points as a fraction: 600 is "0.06".
func yuanRate(bp int) string {
	s := strconv.FormatFloat(float64(bp)/10000, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".00"
	}
	return s
}

type cnAnswer struct {
	Code string            `json:"code"`
	Msg  string            `json:"msg"`
	Data map[string]string `json:"data"`
}

func (c *ChinaPlatform) call(ctx context.Context, path string, req cnRequest) (Receipt, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Receipt{}, err
	}
	clock := c.Clock
	if clock == nil {
		clock = ticket.SystemClock{}
	}
	ts := strconv.FormatInt(clock.Now().Unix(), 10)
	nb := make([]byte, 16)
	rand.Read(nb)
	nonce := hex.EncodeToString(nb)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-App-Id", c.AppID)
	hr.Header.Set("X-Timestamp", ts)
	hr.Header.Set("X-Nonce", nonce)
	hr.Header.Set("X-Signature", cnSign(c.Secret, "POST", path, ts, nonce, body))
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(hr)
	if err != nil {
		return Receipt{}, fmt.Errorf("e-invoice %s: %w", req.SerialNo, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Receipt{}, fmt.Errorf("e-invoice %s: read answer: %w", req.SerialNo, err)
	}
	// The answer is the platform's only when its signature says so:
	// verified before a byte of it is read.
	want := cnSign(c.Secret, strconv.Itoa(resp.StatusCode), path, resp.Header.Get("X-Timestamp"), resp.Header.Get("X-Nonce"), raw)
	if !hmac.Equal([]byte(want), []byte(resp.Header.Get("X-Signature"))) {
		if resp.StatusCode != http.StatusOK {
			// A refusal unsigned under our secret (the platform refuses a
			// wrong one so): believed as a refusal, since nothing is
			// recorded on it.
			var a cnAnswer
			json.Unmarshal(raw, &a)
			return Receipt{}, fmt.Errorf("e-invoice %s: HTTP %d, code %q %q (the answer is not signed under our secret: is it the platform's?): %w",
				req.SerialNo, resp.StatusCode, a.Code, a.Msg, ErrRefused)
		}
		return Receipt{}, fmt.Errorf("e-invoice %s: the answer (HTTP %d) is not signed by the platform", req.SerialNo, resp.StatusCode)
	}
	var a cnAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return Receipt{}, fmt.Errorf("e-invoice %s: answer: %w", req.SerialNo, err)
	}
	if a.Code != "0000" {
		return Receipt{}, fmt.Errorf("e-invoice %s: %s %s: %w", req.SerialNo, a.Code, a.Msg, ErrRefused)
	}
	no := a.Data["invoiceNo"]
	if len(no) != 20 || strings.Trim(no, "0123456789") != "" || a.Data["serialNo"] != req.SerialNo {
		return Receipt{}, fmt.Errorf("e-invoice %s: the platform answered invoice number %q for %q", req.SerialNo, no, a.Data["serialNo"])
	}
	at, err := time.Parse(time.RFC3339, a.Data["issueTime"])
	if err != nil {
		return Receipt{}, fmt.Errorf("e-invoice %s: issue time: %w", req.SerialNo, err)
	}
	return Receipt{Number: no, Issued: at.UTC()}, nil
}

func cnSign(secret, first, path, ts, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, first+"\n"+path+"\n"+ts+"\n"+nonce+"\n"+hex.EncodeToString(sum[:]))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
