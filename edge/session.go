package edge

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// SessionConfig tunes staff logins to the web UI.
type SessionConfig struct {
	// TTL is how long a session lives after its last use. Longer spares
	// staff a login per break; shorter limits what a lost phone can do.
	TTL time.Duration
	// MaxAttempts failed logins per name, and per address, within Window
	// lock further attempts out until the window has passed. A 4-digit PIN
	// then takes years to guess online; an honest typo costs nothing.
	MaxAttempts int
	Window      time.Duration
}

// DefaultSessionConfig is a shift: sessions last 12 hours of idleness, 5
// failed logins per 5 minutes.
func DefaultSessionConfig() SessionConfig {
	return SessionConfig{TTL: 12 * time.Hour, MaxAttempts: 5, Window: 5 * time.Minute}
}

// Session is one logged-in staff member.
type Session struct {
	Name string
	Role Role
	// CSRF is the synchronizer token every state-changing request of the
	// session must carry (header X-CSRF-Token or form field csrf).
	CSRF    string
	expires time.Time
}

// sessions holds sessions in memory: a restart logs everyone out, which
// is also what a stolen cookie should meet.
type sessions struct {
	cfg   SessionConfig
	clock ticket.Clock

	mu       sync.Mutex
	byID     map[string]*Session
	failures map[string][]time.Time // "name:N" and "addr:A" → failed attempts
}

func newSessions(cfg SessionConfig, clock ticket.Clock) *sessions {
	return &sessions{cfg: cfg, clock: clock, byID: map[string]*Session{}, failures: map[string][]time.Time{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// allowed says whether a login for name from addr may be tried now.
func (s *sessions) allowed(name, addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, k := range []string{"name:" + name, "addr:" + addr} {
		if len(s.recent(k, now)) >= s.cfg.MaxAttempts {
			return false
		}
	}
	return true
}

// recent drops failures older than the window; s.mu is held.
func (s *sessions) recent(key string, now time.Time) []time.Time {
	f := s.failures[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= s.cfg.Window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(s.failures, key)
	} else {
		s.failures[key] = f
	}
	return f
}

// failed records a failed login for name from addr.
func (s *sessions) failed(name, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, k := range []string{"name:" + name, "addr:" + addr} {
		s.failures[k] = append(s.recent(k, now), now)
	}
}

// create starts a session for an account that gave its PIN, returning the
// cookie's value.
func (s *sessions) create(a *StaffAccount) (string, *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	delete(s.failures, "name:"+a.Name)
	for id, x := range s.byID { // sweep, so a device up for weeks stays small
		if now.After(x.expires) {
			delete(s.byID, id)
		}
	}
	id := randomToken()
	sess := &Session{Name: a.Name, Role: a.Role, CSRF: randomToken(), expires: now.Add(s.cfg.TTL)}
	s.byID[id] = sess
	return id, sess
}

// get returns the live session of a cookie value and extends it.
func (s *sessions) get(id string) (*Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	now := s.clock.Now()
	if now.After(sess.expires) {
		delete(s.byID, id)
		return nil, false
	}
	sess.expires = now.Add(s.cfg.TTL)
	c := *sess
	return &c, true
}

// end logs a session out.
func (s *sessions) end(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// checkCSRF compares a request's token with the session's in constant time.
func (sess *Session) checkCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}
