package edge

import (
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

func TestSessions(t *testing.T) {
	clock := ticket.NewManualClock(time.Date(2026, 5, 1, 19, 0, 0, 0, time.UTC))
	s := newSessions(SessionConfig{TTL: time.Hour, MaxAttempts: 3, Window: 5 * time.Minute}, clock)
	a := &StaffAccount{Name: "Sam", Role: RoleSupervisor}
	id, sess := s.create(a)
	if len(id) < 40 || len(sess.CSRF) < 40 || id == sess.CSRF {
		t.Fatalf("session id %q, csrf %q: want two distinct 32-byte tokens", id, sess.CSRF)
	}
	got, ok := s.get(id)
	if !ok || got.Name != "Sam" || got.Role != RoleSupervisor {
		t.Fatalf("get: %+v, %v", got, ok)
	}
	for _, tc := range []struct {
		token string
		ok    bool
	}{{sess.CSRF, true}, {"", false}, {sess.CSRF[:10], false}, {randomToken(), false}} {
		if got.checkCSRF(tc.token) != tc.ok {
			t.Errorf("checkCSRF(%q) = %v, want %v", tc.token, !tc.ok, tc.ok)
		}
	}
	if _, ok := s.get("nope"); ok {
		t.Error("an unknown cookie has a session")
	}
	// Use extends the session; idleness past the TTL ends it.
	clock.Advance(50 * time.Minute)
	if _, ok := s.get(id); !ok {
		t.Fatal("session ended before its TTL")
	}
	clock.Advance(50 * time.Minute)
	if _, ok := s.get(id); !ok {
		t.Fatal("use did not extend the session")
	}
	clock.Advance(61 * time.Minute)
	if _, ok := s.get(id); ok {
		t.Fatal("session outlived its TTL")
	}
	id2, _ := s.create(a)
	s.end(id2)
	if _, ok := s.get(id2); ok {
		t.Fatal("session lived after logout")
	}
}

func TestLoginRateLimit(t *testing.T) {
	clock := ticket.NewManualClock(time.Date(2026, 5, 1, 19, 0, 0, 0, time.UTC))
	s := newSessions(SessionConfig{TTL: time.Hour, MaxAttempts: 3, Window: 5 * time.Minute}, clock)
	for i := 0; i < 3; i++ {
		if !s.allowed("Sam", "10.0.0.1") {
			t.Fatalf("attempt %d refused", i+1)
		}
		s.failed("Sam", "10.0.0.1")
	}
	for _, tc := range []struct {
		name, addr string
		ok         bool
	}{
		{"Sam", "10.0.0.1", false},
		{"Sam", "10.0.0.2", false}, // the name is locked from every address
		{"Kim", "10.0.0.1", false}, // the address is locked for every name
		{"Kim", "10.0.0.2", true},
	} {
		if got := s.allowed(tc.name, tc.addr); got != tc.ok {
			t.Errorf("allowed(%s, %s) = %v, want %v", tc.name, tc.addr, got, tc.ok)
		}
	}
	clock.Advance(5 * time.Minute)
	if !s.allowed("Sam", "10.0.0.1") {
		t.Error("still locked after the window")
	}
	// A success clears the name's failures, not the address's.
	s.failed("Kim", "10.0.0.3")
	s.failed("Kim", "10.0.0.3")
	s.create(&StaffAccount{Name: "Kim", Role: RoleGate})
	s.failed("Kim", "10.0.0.4")
	if !s.allowed("Kim", "10.0.0.5") {
		t.Error("a successful login left the name's failures counted")
	}
}
