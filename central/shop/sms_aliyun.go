package shop

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// AliyunSMS sends text messages through Alibaba Cloud SMS (dysmsapi,
// SendSms), signed with the RPC scheme Alibaba documents as signature
// version 1.0: every parameter but Signature sorted by name, each name and
// value percent-encoded (RFC 3986: only A-Z a-z 0-9 - _ . ~ kept, a space
// as %20), joined as name=value with &; the string to sign is the HTTP
// method, "&", the encoded "/", "&" and the encoded query; the signature is
// Base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)).
//
// Alibaba sends only approved templates: the message's Params fill
// TemplateCode (a sign-in code template has one parameter, "code"). The
// secret is never logged and never shown by %v (see LogValue and String).
type AliyunSMS struct {
	// Endpoint is the API's address, https://dysmsapi.aliyuncs.com by
	// default.
	Endpoint string
	// AccessKeyID and AccessKeySecret are the RAM user's key pair; give
	// that user only the SMS send permission.
	AccessKeyID, AccessKeySecret string
	// SignName is the approved signature shown in the message (【…】), and
	// TemplateCode the approved template of sign-in codes (one parameter,
	// ${code}), e.g. SMS_123456789; OfferTemplateCode that of waiting-list
	// offers (${order}, ${minutes}), empty: offers go by mail only.
	SignName, TemplateCode, OfferTemplateCode string
	// RegionID is the region of the call, cn-hangzhou by default.
	RegionID string
	// HTTP is the client; nil: one with a 10 s timeout.
	HTTP   *http.Client
	Clock  ticket.Clock
	Logger *slog.Logger
}

var _ Sender = (*AliyunSMS)(nil)

// DefaultAliyunEndpoint is dysmsapi's public endpoint.
const DefaultAliyunEndpoint = "https://dysmsapi.aliyuncs.com"

// String keeps the secret out of any %v.
func (a AliyunSMS) String() string {
	return fmt.Sprintf("aliyun sms (key %s, sign %q, template %s, %s)", a.AccessKeyID, a.SignName, a.TemplateCode, a.endpoint())
}

// GoString keeps the secret out of %#v.
func (a AliyunSMS) GoString() string { return a.String() }

// LogValue keeps the secret out of the log.
func (a AliyunSMS) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", "aliyun"), slog.String("key", a.AccessKeyID), slog.String("endpoint", a.endpoint()))
}

func (a AliyunSMS) endpoint() string {
	if a.Endpoint == "" {
		return DefaultAliyunEndpoint
	}
	return a.Endpoint
}

// Check says what is missing from the configuration.
func (a AliyunSMS) Check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"access key id", a.AccessKeyID}, {"access key secret", a.AccessKeySecret},
		{"sign name", a.SignName}, {"template code", a.TemplateCode}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("aliyun sms: set the %s", strings.Join(missing, ", "))
	}
	return nil
}

// aliyunNumber is a phone number as SendSms takes it: a mainland number
// as its 11 digits, any other as country code and number without "+".
func aliyunNumber(e164 string) string {
	if n, ok := strings.CutPrefix(e164, "+86"); ok {
		return n
	}
	return strings.TrimPrefix(e164, "+")
}

// AliyunPercentEncode is the encoding of the signature's canonical query.
func AliyunPercentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// AliyunSignature is the RPC signature of params (Signature left out)
// sent with method under secret.
func AliyunSignature(method string, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = AliyunPercentEncode(k) + "=" + AliyunPercentEncode(params.Get(k))
	}
	toSign := method + "&" + AliyunPercentEncode("/") + "&" + AliyunPercentEncode(strings.Join(parts, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliyunAnswer is SendSms's answer: Code "OK" when accepted.
type aliyunAnswer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
	BizID     string `json:"BizId"`
}

// Send sends m with the configured template, its Params as the template's
// parameters.
func (a *AliyunSMS) Send(ctx context.Context, m SMS) error {
	if err := a.Check(); err != nil {
		return err
	}
	template := a.TemplateCode
	switch m.Kind {
	case "", KindCode:
	case KindOffer:
		if template = a.OfferTemplateCode; template == "" {
			return fmt.Errorf("aliyun sms: no template for waiting-list offers (set --sms-offer-template)")
		}
	default:
		return fmt.Errorf("aliyun sms: no template for %q messages", m.Kind)
	}
	tp, err := json.Marshal(m.Params)
	if err != nil {
		return fmt.Errorf("aliyun sms: template parameters: %w", err)
	}
	var clock ticket.Clock = ticket.SystemClock{}
	if a.Clock != nil {
		clock = a.Clock
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("aliyun sms: nonce: %w", err)
	}
	region := a.RegionID
	if region == "" {
		region = "cn-hangzhou"
	}
	p := url.Values{
		"AccessKeyId":      {a.AccessKeyID},
		"Action":           {"SendSms"},
		"Format":           {"JSON"},
		"PhoneNumbers":     {aliyunNumber(m.To)},
		"RegionId":         {region},
		"SignName":         {a.SignName},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {hex.EncodeToString(nonce)},
		"SignatureVersion": {"1.0"},
		"TemplateCode":     {template},
		"TemplateParam":    {string(tp)},
		"Timestamp":        {clock.Now().UTC().Format("2006-01-02T15:04:05Z")},
		"Version":          {"2017-05-25"},
	}
	p.Set("Signature", AliyunSignature(http.MethodPost, p, a.AccessKeySecret))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(a.endpoint(), "/")+"/", strings.NewReader(p.Encode()))
	if err != nil {
		return fmt.Errorf("aliyun sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("aliyun sms: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("aliyun sms: read answer: %w", err)
	}
	var ans aliyunAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("aliyun sms: HTTP %d, not a JSON answer: %.200q", resp.StatusCode, body)
	}
	if ans.Code != "OK" {
		return fmt.Errorf("aliyun sms: refused: %s: %s (request %s)", ans.Code, ans.Message, ans.RequestID)
	}
	if a.Logger != nil {
		a.Logger.Debug("sms sent", "provider", "aliyun", "biz_id", ans.BizID, "request", ans.RequestID)
	}
	return nil
}
