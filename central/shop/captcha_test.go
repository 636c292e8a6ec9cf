package shop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// The captcha on registration and checkout: a solved challenge passes
// once; a replay, a wrong nonce, a forged or softened challenge, an old
// one and none at all are refused and logged as blocked; another central
// process on the same store accepts the challenges this one issued.
func TestCaptcha(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect, nil)
			f.onSale(t, 100)
			f.shop.cfg.CaptchaBits = 10
			f.shop.cfg.AllowUnverified = true
			ctx := context.Background()
			reg := func(email string, a *CaptchaAnswer) error {
				_, err := f.shop.Register(ctx, Registration{Email: email, Password: "a long password", Captcha: a, IP: "10.1.1.1"})
				return err
			}
			c, err := f.shop.NewCaptcha(ctx)
			if err != nil || c.Bits != 10 || !c.Expires.Equal(f.clock.Now().Add(10*time.Minute).Truncate(time.Second)) {
				t.Fatalf("challenge %+v, %v", c, err)
			}
			good := SolveCaptcha(c.Challenge, c.Bits)
			if captchaWork(good.Challenge, good.Nonce) < 10 {
				t.Fatal("the solver's nonce does not do the work")
			}
			if err := reg("a@example.org", &good); err != nil {
				t.Fatalf("a solved challenge: %v", err)
			}
			// A nonce that falls short: the first one below the difficulty.
			c2, _ := f.shop.NewCaptcha(ctx)
			short := "0"
			for i := 0; captchaWork(c2.Challenge, short) >= 10; i++ {
				short = strconv.Itoa(i)
			}
			parts := strings.Split(c2.Challenge, ".")
			softened := strings.Join([]string{parts[0], "0", parts[2], parts[3], parts[4]}, ".")
			c3, _ := f.shop.NewCaptcha(ctx)
			tests := []struct {
				name string
				a    *CaptchaAnswer
				want string
			}{
				{"none", nil, "no captcha answer"},
				{"replayed", &good, "used already"},
				{"wrong nonce", &CaptchaAnswer{Challenge: c2.Challenge, Nonce: short}, "answer wrong"},
				{"softened to 0 bits", &CaptchaAnswer{Challenge: softened, Nonce: "1"}, "bad signature"},
				{"made up", &CaptchaAnswer{Challenge: "tgc1.0.99999999999.AAAA.BBBB", Nonce: "1"}, "bad signature"},
				{"too long", &CaptchaAnswer{Challenge: c3.Challenge, Nonce: strings.Repeat("1", 21)}, "malformed"},
			}
			for i, tt := range tests {
				err := reg("x"+strconv.Itoa(i)+"@example.org", tt.a)
				if !errors.Is(err, ErrCaptcha) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
				}
			}
			// A challenge answered after its 10 minutes.
			old := SolveCaptcha(c3.Challenge, 10)
			f.clock.Advance(10*time.Minute + time.Second)
			if err := reg("late@example.org", &old); !errors.Is(err, ErrCaptcha) || !strings.Contains(err.Error(), "expired") {
				t.Errorf("an expired challenge: %v", err)
			}

			// Another process on the same store: its challenge passes here.
			other := New(f.shop.cfg)
			oc, err := other.NewCaptcha(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ans := SolveCaptcha(oc.Challenge, oc.Bits)
			if err := reg("b@example.org", &ans); err != nil {
				t.Errorf("another process's challenge: %v", err)
			}

			// Checkout asks for it too.
			buyer, _ := f.db.AccountByEmail(ctx, "b@example.org")
			order := OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}, IP: "10.1.1.2"}
			if _, err := f.shop.Place(ctx, buyer, order); !errors.Is(err, ErrCaptcha) {
				t.Errorf("an order without the captcha: %v", err)
			}
			oc, _ = f.shop.NewCaptcha(ctx)
			ans = SolveCaptcha(oc.Challenge, oc.Bits)
			order.Captcha = &ans
			if _, err := f.shop.Place(ctx, buyer, order); err != nil {
				t.Errorf("an order with the captcha: %v", err)
			}

			// Staff read what was blocked and why.
			staff, err := addStaffToken(ctx, f, "clerk", []string{"box_office"})
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Blocked []BlockedView }
			if st := f.call(t, "GET", "blocked?kind=captcha", staff, nil, &got); st != 200 {
				t.Fatalf("blocked log: %d", st)
			}
			// The two forged challenges are one refusal (the same words from
			// the same address in the same minute).
			if len(got.Blocked) != len(tests)+1 {
				t.Errorf("%d captcha refusals logged, want %d: %+v", len(got.Blocked), len(tests)+1, got.Blocked)
			}
			last := got.Blocked[0]
			if last.Kind != "captcha" || last.IP != "10.1.1.2" || last.Account != buyer.ID || !strings.HasPrefix(last.Reason, "order: no captcha answer") {
				t.Errorf("newest refusal %+v", last)
			}

			// Off: no answer needed.
			f.shop.cfg.CaptchaBits = 0
			if err := reg("c@example.org", nil); err != nil {
				t.Errorf("captcha off: %v", err)
			}
		})
	}
}

// The browser's solver (captcha.js, run by Node) finds the same first
// nonce as the Go solver, and the server accepts it; the script is served
// at captcha.js.
func TestCaptchaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the browser solver is not run")
	}
	f := newFixture(t, store.SQLite, nil)
	f.shop.cfg.CaptchaBits = 12
	ctx := context.Background()
	resp, err := http.Get(f.url + PathPrefix + "captcha.js")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || string(script) != string(CaptchaScript) {
		t.Fatalf("captcha.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	path := filepath.Join(t.TempDir(), "captcha.js")
	os.WriteFile(path, script, 0o644)
	for range 3 {
		c, err := f.shop.NewCaptcha(ctx)
		if err != nil {
			t.Fatal(err)
		}
		js := `globalThis.window = globalThis; require(process.argv[1]);
window.tixgateCaptcha.solve(process.argv[2], Number(process.argv[3])).then(n => console.log(n));`
		out, err := exec.Command(node, "-e", js, path, c.Challenge, strconv.Itoa(c.Bits)).CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v: %s", err, out)
		}
		nonce := strings.TrimSpace(string(out))
		if want := SolveCaptcha(c.Challenge, c.Bits).Nonce; nonce != want {
			t.Errorf("the script found %q, the Go solver %q", nonce, want)
		}
		if err := f.shop.CheckCaptcha(ctx, &CaptchaAnswer{Challenge: c.Challenge, Nonce: nonce}, "", 0, "test"); err != nil {
			t.Errorf("the script's answer: %v", err)
		}
	}
	// Its SHA-256 against known digests.
	js := `globalThis.window = globalThis; require(process.argv[1]);
console.log(window.tixgateCaptcha.sha256Hex(""), window.tixgateCaptcha.sha256Hex("abc"), window.tixgateCaptcha.sha256Hex("票".repeat(40)));`
	out, err := exec.Command(node, "-e", js, path).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(out))
	want := []string{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		sha256hex(strings.Repeat("票", 40))}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sha256 in the script: %v, want %v", got, want)
	}
}

// Writes past the limits per address and per account are refused with
// 429 and logged; the next minute they pass again.
func TestRateLimits(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	f.onSale(t, 100)
	f.shop.cfg.Rate = RateLimits{PerIPMinute: 5, PerAccountMinute: 3}
	f.shop.cfg.AllowUnverified = true
	ctx := context.Background()
	f.clock.Set(f.clock.Now().Truncate(time.Minute))
	var e apiError
	// Nine: the sixth to the ninth are refused, and logged once (the same
	// refusal within a minute).
	for i := 0; i < 9; i++ {
		st := f.call(t, "POST", "accounts", "", map[string]string{"email": "r" + strconv.Itoa(i) + "@example.org", "password": "a long password"}, &e)
		if want := map[bool]int{true: 201, false: 429}[i < 5]; st != want {
			t.Errorf("registration %d: %d %+v, want %d", i+1, st, e, want)
		}
	}
	if e.Code != "rate_limited" {
		t.Errorf("the sixth: %+v", e)
	}
	buyer, _ := f.db.AccountByEmail(ctx, "r0@example.org")
	order := OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 1}}, IP: "10.2.0.1"}
	for i := 0; i < 4; i++ {
		order.IP = "10.2.0." + strconv.Itoa(i) // other addresses: the account's limit
		_, err := f.shop.Place(ctx, buyer, order)
		if (i < 3) != (err == nil) || i == 3 && !errors.Is(err, ErrRateLimited) {
			t.Errorf("order %d: %v", i+1, err)
		}
	}
	bl, _ := f.db.BlockedLog(ctx, store.BlockedFilter{Kind: "rate_limit"})
	if len(bl) != 2 || bl[0].Account != buyer.ID || !strings.Contains(bl[0].Reason, "one account") || bl[1].IP != "127.0.0.1" {
		t.Errorf("blocked log %+v", bl)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.shop.Place(ctx, buyer, order); err != nil {
		t.Errorf("a minute later: %v", err)
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// BenchmarkCaptchaSolve16 is what a buyer's device pays at difficulty 16
// in Go (the browser script is slower: see TestCaptchaScript's figures in
// the notes); BenchmarkCaptchaCheck what the server pays per answer,
// without the store's write.
func BenchmarkCaptchaSolve16(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		SolveCaptcha("tgc1.16.1780000000.bench"+strconv.Itoa(i)+".mac", 16)
	}
}

func BenchmarkCaptchaCheck(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	body := "tgc1.16.1780000000.AAAAAAAAAAAAAAAAAAAAAA"
	ch := body + "." + captchaMAC(key, body)
	a := SolveCaptcha(ch, 16)
	for b.Loop() {
		if captchaMAC(key, body) != ch[len(body)+1:] || captchaWork(a.Challenge, a.Nonce) < 16 {
			b.Fatal("refused")
		}
	}
}

// The blocked log forgets refusals older than BlockedKeep.
func TestBlockedLogForgets(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	f.shop.block(ctx, "captcha", "old", "10.9.0.1", 0, "")
	f.clock.Advance(BlockedKeep + time.Hour)
	for i := range 300 {
		f.shop.block(ctx, "captcha", "new "+strconv.Itoa(i), "10.9.0.1", 0, "")
	}
	bl, _ := f.db.BlockedLog(ctx, store.BlockedFilter{Limit: 1000})
	if len(bl) != 300 || bl[len(bl)-1].Reason != "new 0" {
		t.Errorf("%d refusals kept, the oldest %q; want the 300 new ones", len(bl), bl[len(bl)-1].Reason)
	}
}
