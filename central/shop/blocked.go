package shop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// RateLimits bound the requests that write (register, log in, send a
// code, order, join a list) per client address and per account, in
// windows of a minute. A person never meets them; a script that tries
// passwords or floods orders does, and shows in the blocked log. Behind a
// NAT (a stadium's Wi-Fi, a mobile carrier) many buyers share an address:
// the address limit is the looser one for that reason.
type RateLimits struct {
	// PerIPMinute is how many writes one client address may make a
	// minute, PerAccountMinute one account.
	PerIPMinute, PerAccountMinute int
	// Off turns the limits off (tests that do not test them).
	Off bool
}

// DefaultRateLimits: 600 a minute per address (a carrier's NAT puts
// thousands of phones behind one address at an on-sale), 20 per account.
// The captcha, not the address limit, is what makes accounts and orders
// cost a script something.
func DefaultRateLimits() RateLimits { return RateLimits{PerIPMinute: 600, PerAccountMinute: 20} }

// rateCounts counts writes per key in the current minute, in memory: each
// central process counts its own (a buyer spread over N processes gets N
// times the limit, still a limit).
type rateCounts struct {
	mu     sync.Mutex
	minute int64
	n      map[string]int
}

// CheckRate counts one write by ip and account (0: none) and refuses it
// with ErrRateLimited past the limits; what is the action, for the log.
func (s *Shop) CheckRate(ctx context.Context, ip string, account int64, what string) error {
	lim := s.cfg.Rate
	if lim.Off {
		return nil
	}
	m := s.now().Unix() / 60
	c := &s.rates
	c.mu.Lock()
	if c.minute != m || c.n == nil {
		c.minute, c.n = m, map[string]int{}
	}
	over := ""
	if ip != "" && lim.PerIPMinute > 0 {
		if c.n["ip:"+ip]++; c.n["ip:"+ip] > lim.PerIPMinute {
			over = fmt.Sprintf("more than %d requests a minute from one address", lim.PerIPMinute)
		}
	}
	if account != 0 && lim.PerAccountMinute > 0 {
		k := "a:" + strconv.FormatInt(account, 10)
		if c.n[k]++; c.n[k] > lim.PerAccountMinute && over == "" {
			over = fmt.Sprintf("more than %d requests a minute from one account", lim.PerAccountMinute)
		}
	}
	c.mu.Unlock()
	if over == "" {
		return nil
	}
	s.block(ctx, "rate_limit", what+": "+over, ip, account, "")
	return fmt.Errorf("%s: wait a minute and try again: %w", over, ErrRateLimited)
}

// block records a refusal in the blocked log; a failure to record is
// logged, not returned: the refusal stands either way. Of the same
// refusal (kind, reason, address, account, subject) one a minute is
// recorded, so a flood of refused requests is not a flood of writes.
func (s *Shop) block(ctx context.Context, kind, reason, ip string, account int64, subject string) {
	key := kind + "\x00" + ip + "\x00" + strconv.FormatInt(account, 10) + "\x00" + subject + "\x00" + reason
	m := s.now().Unix() / 60
	c := &s.blocked
	c.mu.Lock()
	if c.minute != m || c.n == nil {
		c.minute, c.n = m, map[string]int{}
	}
	c.n[key]++
	repeat := c.n[key] > 1
	c.mu.Unlock()
	if repeat {
		return
	}
	err := s.db.AddBlocked(context.WithoutCancel(ctx), store.Blocked{At: s.now(), Kind: kind, Reason: reason, IP: ip, Account: account, Subject: subject},
		s.now().Add(-BlockedKeep))
	if err != nil {
		s.log.Warn("blocked log", "err", err)
	}
}

// BlockedKeep is how long the blocked log keeps a refusal: long enough to
// look into an attack after the event, not a record of people kept for
// ever (it holds addresses).
const BlockedKeep = 180 * 24 * time.Hour

// maskPhone keeps a number's country part and last four digits.
func maskPhone(p string) string {
	if len(p) < 8 {
		return "****"
	}
	return p[:4] + "****" + p[len(p)-4:]
}

// BlockedView is one refusal as staff read it.
type BlockedView struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Reason  string    `json:"reason"`
	IP      string    `json:"ip,omitempty"`
	Account int64     `json:"account,omitempty"`
	Subject string    `json:"subject,omitempty"`
}

func (s *Shop) apiBlocked(w http.ResponseWriter, r *http.Request, _ caller) {
	q := r.URL.Query()
	f := store.BlockedFilter{Kind: q.Get("kind")}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"account", &f.Account}, {"before", &f.Before}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				fail(w, http.StatusBadRequest, "bad_request", p.name+": want a number")
				return
			}
			*p.v = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			fail(w, http.StatusBadRequest, "bad_request", "limit: want 1 to 1000")
			return
		}
		f.Limit = n
	}
	rows, err := s.db.BlockedLog(r.Context(), f)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]BlockedView, len(rows))
	for i, b := range rows {
		out[i] = BlockedView(b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocked": out})
}

func (s *Shop) apiCaptcha(w http.ResponseWriter, r *http.Request, _ caller) {
	c, err := s.NewCaptcha(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Shop) apiCaptchaScript(w http.ResponseWriter, _ *http.Request, _ caller) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(CaptchaScript)
}

// clientIP is the address a request came from.
func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}
