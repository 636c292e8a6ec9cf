package shop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// aliyunSim is a local dysmsapi: it checks a SendSms call as Alibaba
// documents it (the common parameters, a timestamp within 15 minutes, a
// nonce used once, a known key, the signature over the canonical query
// with the secret and "&", an approved sign name and template) and answers
// in its JSON, keeping what it accepted. Its canonicalization is written
// the way the documentation describes it (form-encode, then + to %20, * to
// %2A, %7E back to ~), not with the sender's encoder.
type aliyunSim struct {
	keys      map[string]string // access key id → secret
	signs     map[string]bool
	templates map[string][]string // approved template → its parameters
	now       func() time.Time

	mu     sync.Mutex
	nonces map[string]bool
	sent   []url.Values
}

func newAliyunSim(t *testing.T, now func() time.Time) (*aliyunSim, string) {
	sim := &aliyunSim{keys: map[string]string{"LTAI5tTestKeyID": "test-secret-0123456789abcdef"},
		signs: map[string]bool{"票门": true}, templates: map[string][]string{"SMS_123456789": {"code"}, "SMS_987654321": {"order", "minutes"}}, now: now, nonces: map[string]bool{}}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func simEncode(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

func (sim *aliyunSim) answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": msg, "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990", "BizId": "900619746936498440^0"})
}

var simPhone = regexp.MustCompile(`^(1[3-9][0-9]{9}|[1-9][0-9]{7,14})$`)

func (sim *aliyunSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.URL.Path != "/" {
		sim.answer(w, 400, "InvalidParameter", "bad request")
		return
	}
	p := r.Form
	for _, k := range []string{"AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName", "SignatureMethod", "SignatureNonce",
		"SignatureVersion", "TemplateCode", "Timestamp", "Version", "Signature"} {
		if p.Get(k) == "" {
			sim.answer(w, 400, "MissingParameter", "The input parameter \""+k+"\" that is mandatory for processing this request is not supplied.")
			return
		}
	}
	if p.Get("Action") != "SendSms" || p.Get("Version") != "2017-05-25" {
		sim.answer(w, 400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		return
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" || p.Get("SignatureVersion") != "1.0" {
		sim.answer(w, 400, "InvalidParameter", "unsupported signature method")
		return
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", p.Get("Timestamp"))
	if err != nil || ts.Sub(sim.now()).Abs() > 15*time.Minute {
		sim.answer(w, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
		return
	}
	secret, ok := sim.keys[p.Get("AccessKeyId")]
	if !ok {
		sim.answer(w, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	}
	keys := []string{}
	for k := range p {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		q = append(q, simEncode(k)+"="+simEncode(p.Get(k)))
	}
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	fmt.Fprintf(mac, "%s&%s&%s", r.Method, simEncode("/"), simEncode(strings.Join(q, "&")))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(p.Get("Signature"))) {
		sim.answer(w, 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if sim.nonces[p.Get("SignatureNonce")] {
		sim.answer(w, 400, "SignatureNonceUsed", "Specified signature nonce was used already.")
		return
	}
	sim.nonces[p.Get("SignatureNonce")] = true
	var tp map[string]string
	params, approved := sim.templates[p.Get("TemplateCode")]
	jsonErr := json.Unmarshal([]byte(p.Get("TemplateParam")), &tp)
	for _, k := range params {
		if tp[k] == "" {
			jsonErr = fmt.Errorf("no %s", k)
		}
	}
	switch {
	case !simPhone.MatchString(p.Get("PhoneNumbers")):
		sim.answer(w, 200, "isv.MOBILE_NUMBER_ILLEGAL", "mobile number illegal")
	case !sim.signs[p.Get("SignName")]:
		sim.answer(w, 200, "isv.SMS_SIGNATURE_ILLEGAL", "sign name not approved")
	case !approved:
		sim.answer(w, 200, "isv.SMS_TEMPLATE_ILLEGAL", "template not approved")
	case jsonErr != nil:
		sim.answer(w, 200, "isv.INVALID_JSON_PARAM", "template parameters are not JSON or lack one: "+jsonErr.Error())
	default:
		sim.sent = append(sim.sent, p)
		sim.answer(w, 200, "OK", "OK")
	}
}

// The sign-in code reaches the provider signed as Alibaba checks it; a
// wrong secret, an unknown key, an old clock and a replayed nonce are
// refused, and the secret is in no log line.
func TestAliyunSMS(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	sim, url := newAliyunSim(t, f.clock.Now)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	good := AliyunSMS{Endpoint: url, AccessKeyID: "LTAI5tTestKeyID", AccessKeySecret: "test-secret-0123456789abcdef", SignName: "票门",
		TemplateCode: "SMS_123456789", Clock: f.clock, Logger: logger}
	f.shop.cfg.SMSSender = &good
	f.shop.log = logger
	ctx := context.Background()

	if err := f.shop.SendCode(ctx, "+8613800138000", "10.0.0.1"); err != nil {
		t.Fatalf("send through the provider: %v", err)
	}
	if err := f.shop.SendCode(ctx, "+447700900123", "10.0.0.1"); err != nil {
		t.Fatalf("an international number: %v", err)
	}
	if len(sim.sent) != 2 || sim.sent[0].Get("PhoneNumbers") != "13800138000" || sim.sent[1].Get("PhoneNumbers") != "447700900123" {
		t.Fatalf("the provider got %v", sim.sent)
	}
	var tp map[string]string
	json.Unmarshal([]byte(sim.sent[0].Get("TemplateParam")), &tp)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(tp["code"]) {
		t.Errorf("template parameters %v", tp)
	}
	// The code that was sent logs the buyer in.
	if _, _, err := f.shop.LoginByCode(ctx, "+8613800138000", tp["code"]); err != nil {
		t.Errorf("the code the provider sent: %v", err)
	}

	tests := []struct {
		name string
		edit func(a *AliyunSMS)
		want string
	}{
		{"wrong secret", func(a *AliyunSMS) { a.AccessKeySecret = "test-secret-0123456789abcdeX" }, "SignatureDoesNotMatch"},
		{"unknown key", func(a *AliyunSMS) { a.AccessKeyID = "LTAI5tOther" }, "InvalidAccessKeyId.NotFound"},
		{"clock 20 minutes off", func(a *AliyunSMS) { a.Clock = fixedClock(f.clock.Now().Add(-20 * time.Minute)) }, "InvalidTimeStamp.Expired"},
		{"template not approved", func(a *AliyunSMS) { a.TemplateCode = "SMS_1" }, "isv.SMS_TEMPLATE_ILLEGAL"},
	}
	for _, tt := range tests {
		a := good
		tt.edit(&a)
		err := a.Send(ctx, SMS{To: "+8613800138001", Text: "x", Params: map[string]string{"code": "123456"}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	if len(sim.sent) != 2 {
		t.Errorf("refused calls were delivered: %d", len(sim.sent))
	}

	// A waiting-list offer goes with its own template, or not at all.
	offer := SMS{To: "+8613800138002", Kind: KindOffer, Params: map[string]string{"order": "7", "minutes": "30"}}
	if err := good.Send(ctx, offer); err == nil || !strings.Contains(err.Error(), "--sms-offer-template") {
		t.Errorf("an offer without its template: %v", err)
	}
	withOffer := good
	withOffer.OfferTemplateCode = "SMS_987654321"
	if err := withOffer.Send(ctx, offer); err != nil || sim.sent[len(sim.sent)-1].Get("TemplateCode") != "SMS_987654321" {
		t.Errorf("an offer: %v", err)
	}
	offer.Params = map[string]string{"order": "7"}
	if err := withOffer.Send(ctx, offer); err == nil || !strings.Contains(err.Error(), "isv.INVALID_JSON_PARAM") {
		t.Errorf("an offer without minutes: %v", err)
	}
	sim.sent = sim.sent[:2]

	// A captured request sent again is refused by its nonce.
	p := url2values(sim.sent[0])
	resp, err := http.PostForm(url+"/", p)
	if err != nil {
		t.Fatal(err)
	}
	var ans aliyunAnswer
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if ans.Code != "SignatureNonceUsed" {
		t.Errorf("a replayed request: %+v", ans)
	}

	if (AliyunSMS{}).Check() == nil {
		t.Error("an empty configuration passed its check")
	}
	logger.Info("configured", "sms", &good)
	for _, s := range []string{logs.String(), fmt.Sprint(&good), fmt.Sprintf("%+v", good), fmt.Sprintf("%#v", good)} {
		if strings.Contains(s, good.AccessKeySecret) {
			t.Errorf("the secret shows: %s", s)
		}
	}
}

func url2values(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// The encoder keeps exactly the unreserved characters.
func TestAliyunPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"a-Z_0.~": "a-Z_0.~", " ": "%20", "*": "%2A", "+": "%2B", "/": "%2F", "票": "%E7%A5%A8", `{"code":"1"}`: "%7B%22code%22%3A%221%22%7D",
	} {
		if got := AliyunPercentEncode(in); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
		if got := simEncode(in); got != want {
			t.Errorf("the simulator's %q: %s, want %s", in, got, want)
		}
	}
}
