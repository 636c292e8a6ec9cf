package pay

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Biller is a provider whose daily settlement file central can fetch:
// the bill of day (its date in the provider's time zone, Beijing for the
// Chinese providers), exactly as the provider serves it. Package
// central/settle reads it.
type Biller interface {
	Bill(ctx context.Context, day time.Time) ([]byte, error)
}

// Bill fetches a day's settlement file from the provider named.
func (p *Payments) Bill(ctx context.Context, provider string, day time.Time) ([]byte, error) {
	pr, ok := p.providers[provider]
	if !ok {
		return nil, fmt.Errorf("provider %q is not configured: %w", provider, ErrNotFound)
	}
	b, ok := pr.(Biller)
	if !ok {
		return nil, fmt.Errorf("central cannot fetch %s's settlement files: upload the file instead: %w", provider, ErrBadRequest)
	}
	return b.Bill(ctx, day)
}

// maxBill is the largest settlement file read: a day of 100,000
// transactions is about 30 MB in WeChat Pay's format.
const maxBill = 256 << 20

var (
	_ Biller = (*Alipay)(nil)
	_ Biller = (*WeChat)(nil)
)

// Bill is the day's trade bill (bill_type trade): a signed
// alipay.data.dataservice.bill.downloadurl.query for its short-lived URL,
// then the zip behind it.
func (a *Alipay) Bill(ctx context.Context, day time.Time) ([]byte, error) {
	var out struct {
		URL string `json:"bill_download_url"`
	}
	if err := a.call(ctx, "alipay.data.dataservice.bill.downloadurl.query", map[string]string{
		"bill_type": "trade", "bill_date": day.Format(time.DateOnly)}, &out); err != nil {
		return nil, err
	}
	u, err := url.Parse(out.URL)
	if err != nil || u.Scheme != "https" && !(u.Scheme == "http" && strings.HasPrefix(a.cfg.Gateway, "http://")) {
		return nil, fmt.Errorf("alipay bill: download URL %q is not one to fetch: %w", out.URL, ErrProvider)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	return fetchBill(a.cfg.Client, req, "alipay", "")
}

// Bill is the day's trade bill (bill_type ALL): GET /v3/bill/tradebill
// for the download URL and the file's SHA-1, then the file, signed like
// every request, checked against that SHA-1.
func (w *WeChat) Bill(ctx context.Context, day time.Time) ([]byte, error) {
	var out struct {
		HashType  string `json:"hash_type"`
		HashValue string `json:"hash_value"`
		URL       string `json:"download_url"`
	}
	if err := w.call(ctx, http.MethodGet, "/v3/bill/tradebill?bill_date="+day.Format(time.DateOnly)+"&bill_type=ALL", nil, &out); err != nil {
		return nil, err
	}
	base, _ := url.Parse(w.cfg.URL)
	u, err := url.Parse(out.URL)
	if err != nil || u.Host != base.Host || u.Scheme != base.Scheme {
		// The merchant's signature goes to WeChat Pay's own host only.
		return nil, fmt.Errorf("wechat pay bill: download URL %q is not on %s: %w", out.URL, base.Host, ErrProvider)
	}
	if out.HashType != "SHA1" {
		return nil, fmt.Errorf("wechat pay bill: hash type %q, want SHA1: %w", out.HashType, ErrProvider)
	}
	auth, err := w.authorization(http.MethodGet, u.RequestURI(), nil)
	if err != nil {
		return nil, fmt.Errorf("wechat pay: sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	return fetchBill(w.cfg.Client, req, "wechat pay", out.HashValue)
}

// fetchBill downloads a settlement file; with sha1Hex, the file must
// have that SHA-1.
func fetchBill(c *http.Client, req *http.Request, name, sha1Hex string) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s bill: %w", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBill+1))
	if err != nil {
		return nil, fmt.Errorf("%s bill: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s bill: HTTP %d %s: %w", name, resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 200)])), ErrProvider)
	}
	if len(b) > maxBill {
		return nil, fmt.Errorf("%s bill: larger than %d MB: %w", name, maxBill>>20, ErrProvider)
	}
	if sha1Hex != "" {
		sum := sha1.Sum(b)
		if !strings.EqualFold(hex.EncodeToString(sum[:]), sha1Hex) {
			return nil, fmt.Errorf("%s bill: the file's SHA-1 is not the one announced (a broken download): %w", name, ErrProvider)
		}
	}
	return b, nil
}
