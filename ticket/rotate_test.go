package ticket

import (
	"testing"
	"time"
)

func TestRotationWindow(t *testing.T) {
	secret := EventRotationSecret([]byte("master secret for tests........."), 7)
	s := testStore(t)
	s.SetRotationSecret(7, secret)
	static := mustIssue(t, Ticket{Event: 7, Serial: 42, Rotating: true}, testIssuer)
	// A step starts at a multiple of 15 s since the Unix epoch.
	shown := time.Unix(1781292600, 0) // a step boundary
	code := WithRotation(static, secret, 42, shown.Add(3*time.Second))
	tests := []struct {
		name string
		at   time.Time
		want Reason
	}{
		{"same step", shown.Add(14 * time.Second), ReasonOK},
		{"next step", shown.Add(15 * time.Second), ReasonOK},
		{"end of next step", shown.Add(29 * time.Second), ReasonOK},
		{"two steps later", shown.Add(30 * time.Second), ReasonStaleCode},
		{"previous step", shown.Add(-1 * time.Second), ReasonOK},
		{"start of previous step", shown.Add(-15 * time.Second), ReasonOK},
		{"two steps earlier", shown.Add(-16 * time.Second), ReasonStaleCode},
	}
	for _, tt := range tests {
		if r := s.Verify(code, tt.at); r.Reason != tt.want {
			t.Errorf("%s: reason = %s (%s), want %s", tt.name, r.Reason, r.Detail, tt.want)
		}
	}
	if r := s.Verify(static, shown); r.Reason != ReasonStaleCode {
		t.Errorf("static part alone: reason = %s, want stale_code", r.Reason)
	}
	if r := s.Verify(WithRotation(static, secret, 43, shown), shown); r.Reason != ReasonStaleCode {
		t.Errorf("digits of another serial: reason = %s, want stale_code", r.Reason)
	}
	other := EventRotationSecret([]byte("master secret for tests........."), 8)
	if r := s.Verify(WithRotation(static, other, 42, shown), shown); r.Reason != ReasonStaleCode {
		t.Errorf("digits of another event: reason = %s, want stale_code", r.Reason)
	}
	// A gate without the event's secret cannot check the digits: refuse.
	if r := testStore(t).Verify(code, shown); r.Reason != ReasonStaleCode {
		t.Errorf("no secret: reason = %s, want stale_code", r.Reason)
	}
}

func TestRotationCodeChangesEveryStep(t *testing.T) {
	secret := EventRotationSecret([]byte("m"), 1)
	start := time.Date(2026, 6, 12, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for i := range 100 {
		c := RotationCode(secret, 9, start.Add(time.Duration(i)*RotationStep))
		if len(c) != RotationDigits {
			t.Fatalf("code %q is not %d digits", c, RotationDigits)
		}
		seen[c] = true
		if c2 := RotationCode(secret, 9, start.Add(time.Duration(i)*RotationStep+14*time.Second)); c2 != c {
			t.Fatalf("code changed within a step: %s then %s", c, c2)
		}
	}
	if len(seen) < 99 {
		t.Errorf("only %d distinct codes in 100 steps", len(seen))
	}
}

// A code ending in '*' and 6 digits as part of its base45 text must still
// parse as a static code: the payload's length decides.
func TestRotationSplitIsUnambiguous(t *testing.T) {
	for serial := uint64(1); serial < 20000; serial++ {
		code := mustIssue(t, Ticket{Event: 1, Serial: serial}, testIssuer)
		if _, _, ok := cutRotation(code); !ok {
			continue
		}
		c, err := Parse(code)
		if err != nil || c.Rotation != "" || c.Ticket.Serial != serial {
			t.Fatalf("static code %q ending like a rotating part: %+v, %v", code, c, err)
		}
		return
	}
	t.Fatal("no serial below 20000 gives a code ending in '*' and 6 digits: pick another range")
}
