package central

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// refusals bounds the ops API calls a client address may have refused
// (no credentials, an unknown token, a scope it lacks): each refusal takes
// a token from the address's bucket, and an address whose bucket is empty
// is answered 429 before its token is looked up, until the bucket refills.
// Calls that succeed take nothing, so a client with a good token is never
// slowed by its own traffic. The buckets live in this process: several
// replicas each keep their own, which multiplies the allowance by their
// number and still stops a flood.
type refusals struct {
	burst int
	every time.Duration

	mu      sync.Mutex
	clients map[string]*rate.Limiter
	swept   time.Time
}

func newRefusals(burst int, every time.Duration) *refusals {
	return &refusals{burst: burst, every: every, clients: map[string]*rate.Limiter{}}
}

// clientAddr is the request's remote address without its port. Behind a
// proxy every client has the proxy's address: the limit is then the
// proxy's, so size it (or let the proxy limit) accordingly.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// wait is how long the address must wait before another call may be
// refused; 0 when it may call now.
func (l *refusals) wait(addr string, now time.Time) time.Duration {
	if l == nil || l.burst <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[addr]
	if !ok || lim.TokensAt(now) >= 1 {
		return 0
	}
	return time.Duration((1 - lim.TokensAt(now)) * float64(l.every))
}

// refused takes a token from the address's bucket.
func (l *refusals) refused(addr string, now time.Time) {
	if l == nil || l.burst <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[addr]
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.clients[addr] = lim
	}
	lim.AllowN(now, 1)
	// Forget the addresses whose buckets are full again, now and then, so
	// the map stays as small as the clients refused lately.
	if now.Sub(l.swept) > time.Duration(l.burst)*l.every {
		for a, c := range l.clients {
			if c.TokensAt(now) >= float64(l.burst) {
				delete(l.clients, a)
			}
		}
		l.swept = now
	}
}

// retryAfter is the Retry-After header's value for a wait: whole seconds,
// at least 1.
func retryAfter(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}
