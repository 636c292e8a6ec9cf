package shop

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The proof-of-work captcha. The server hands out a challenge it signed
// (HMAC-SHA256 under a key kept in the store, so every central process
// accepts every other's), carrying its difficulty and expiry:
//
//	tgc1.<bits>.<expires, Unix seconds>.<16 random bytes, base64url>.<MAC, base64url>
//
// The buyer's browser finds a nonce (a decimal string of at most 20
// digits) such that SHA-256(challenge + ":" + nonce) begins with <bits>
// zero bits: 2^bits hashes on average, about a second at 16 bits on a
// phone, nothing for a person, a real cost for a script registering
// thousands of accounts or placing thousands of orders. The server checks
// it with one hash and spends the challenge, so an answer works once. No
// third party is called and nothing about the buyer is sent anywhere.

// ErrCaptcha is a missing, wrong, expired or replayed captcha answer.
var ErrCaptcha = errors.New("captcha not solved")

// Captcha is a challenge to solve.
type Captcha struct {
	Challenge string `json:"challenge"`
	// Bits is the difficulty: the leading zero bits to find.
	Bits    int       `json:"difficulty"`
	Expires time.Time `json:"expires"`
}

// CaptchaAnswer is a solved challenge, the "captcha" field of POST
// accounts and POST orders.
type CaptchaAnswer struct {
	Challenge string `json:"challenge"`
	Nonce     string `json:"nonce"`
}

// CaptchaScript is the browser's solver (captcha.js, no dependencies,
// also served at GET /api/v1/shop/captcha.js):
//
//	const answer = await tixgateCaptcha.get("/api/v1/shop/")  // {challenge, nonce}
//	body.captcha = answer
//
// or tixgateCaptcha.solve(challenge, bits) for a challenge fetched
// otherwise. It hashes in plain JavaScript, so it works on plain HTTP too
// (crypto.subtle needs a secure context).
//
//go:embed captcha.js
var CaptchaScript []byte

type captchaKey struct {
	mu  sync.Mutex
	key []byte
}

func (s *Shop) captchaSecret(ctx context.Context) ([]byte, error) {
	s.ckey.mu.Lock()
	defer s.ckey.mu.Unlock()
	if s.ckey.key != nil {
		return s.ckey.key, nil
	}
	if s.cfg.CaptchaKey != nil {
		s.ckey.key = s.cfg.CaptchaKey
		return s.ckey.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	k, err := s.db.ShopSecret(ctx, "captcha", fresh)
	if err != nil {
		return nil, err
	}
	s.ckey.key = k
	return k, nil
}

func captchaMAC(key []byte, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// NewCaptcha makes a challenge at the configured difficulty; with the
// captcha off (CaptchaBits 0) it still makes one, of difficulty 0, which
// any nonce solves.
func (s *Shop) NewCaptcha(ctx context.Context) (Captcha, error) {
	key, err := s.captchaSecret(ctx)
	if err != nil {
		return Captcha{}, fmt.Errorf("captcha: %w", err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Captcha{}, err
	}
	exp := s.now().Add(s.cfg.CaptchaLife).Truncate(time.Second)
	body := fmt.Sprintf("tgc1.%d.%d.%s", s.cfg.CaptchaBits, exp.Unix(), base64.RawURLEncoding.EncodeToString(id))
	return Captcha{Challenge: body + "." + captchaMAC(key, body), Bits: s.cfg.CaptchaBits, Expires: exp.UTC()}, nil
}

// captchaWork is the number of leading zero bits of the answer's hash.
func captchaWork(challenge, nonce string) int {
	sum := sha256.Sum256([]byte(challenge + ":" + nonce))
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// SolveCaptcha finds a nonce for a challenge of difficulty bits, as the
// browser's script does: for tests and for clients written in Go.
func SolveCaptcha(challenge string, bits int) CaptchaAnswer {
	for i := uint64(0); ; i++ {
		n := strconv.FormatUint(i, 10)
		if captchaWork(challenge, n) >= bits {
			return CaptchaAnswer{Challenge: challenge, Nonce: n}
		}
	}
}

// CheckCaptcha verifies an answer and spends its challenge; with the
// captcha off it accepts anything, an absent answer too. A refusal is
// ErrCaptcha, saying why, and is logged as blocked.
func (s *Shop) CheckCaptcha(ctx context.Context, a *CaptchaAnswer, ip string, account int64, what string) error {
	if s.cfg.CaptchaBits <= 0 {
		return nil
	}
	why := s.captchaRefusal(ctx, a)
	if why == "" {
		return nil
	}
	s.block(ctx, "captcha", what+": "+why, ip, account, "")
	return fmt.Errorf("%s: %w", why, ErrCaptcha)
}

func (s *Shop) captchaRefusal(ctx context.Context, a *CaptchaAnswer) string {
	if a == nil || a.Challenge == "" {
		return "no captcha answer: GET " + PathPrefix + "captcha, solve it and send {\"challenge\", \"nonce\"} as captcha"
	}
	if len(a.Nonce) == 0 || len(a.Nonce) > 20 || len(a.Challenge) > 200 {
		return "captcha answer malformed"
	}
	parts := strings.Split(a.Challenge, ".")
	if len(parts) != 5 || parts[0] != "tgc1" {
		return "not a captcha challenge of this box office"
	}
	key, err := s.captchaSecret(ctx)
	if err != nil {
		s.log.Error("captcha key", "err", err)
		return "captcha could not be checked; try again"
	}
	body := strings.Join(parts[:4], ".")
	if !hmac.Equal([]byte(parts[4]), []byte(captchaMAC(key, body))) {
		return "captcha challenge not issued here (bad signature)"
	}
	bits, err1 := strconv.Atoi(parts[1])
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return "captcha challenge malformed"
	}
	expires := time.Unix(exp, 0)
	if !s.now().Before(expires) {
		return "captcha challenge expired: get a new one"
	}
	if bits < s.cfg.CaptchaBits {
		return "captcha challenge too easy: get a new one"
	}
	if captchaWork(a.Challenge, a.Nonce) < bits {
		return "captcha answer wrong"
	}
	ok, err := s.db.SpendCaptcha(ctx, parts[3], expires, s.now())
	if err != nil {
		s.log.Error("captcha spend", "err", err)
		return "captcha could not be checked; try again"
	}
	if !ok {
		return "captcha answer used already: get a new challenge"
	}
	return ""
}
