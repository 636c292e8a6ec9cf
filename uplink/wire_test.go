package uplink

import (
	"testing"
	"time"
)

func TestParseSetupCode(t *testing.T) {
	tests := []struct {
		text string
		ok   bool
	}{
		{`{"v":1,"url":"https://central.example","token":"tgs_x"}`, true},
		{`{"v":1,"url":"http://127.0.0.1:8440","token":"tgs_x"}`, true},
		{`{"v":2,"url":"https://central.example","token":"tgs_x"}`, false},
		{`{"v":1,"url":"ftp://central.example","token":"tgs_x"}`, false},
		{`{"v":1,"url":"https://central.example","token":""}`, false},
		{`{"v":1,"url":"https://central.example","token":"t","extra":1}`, false},
		{`tgs_just_a_token`, false},
	}
	for _, tt := range tests {
		s, err := ParseSetupCode(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSetupCode(%s) = %+v, %v", tt.text, s, err)
			continue
		}
		if tt.ok {
			again, err := ParseSetupCode(s.Marshal())
			if err != nil || again != s {
				t.Errorf("%s does not round-trip: %+v, %v", tt.text, again, err)
			}
		}
	}
}

// The pause doubles with each failure, stays within its bounds and is
// jittered down by at most a quarter.
func TestBackoff(t *testing.T) {
	c, err := New(Config{URL: "http://central", MinBackoff: time.Second, MaxBackoff: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		failures int
		base     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {50, 10 * time.Second}}
	for _, tt := range tests {
		for range 20 {
			if got := c.backoff(tt.failures); got > tt.base || got < tt.base*3/4 {
				t.Errorf("backoff(%d) = %s, want within [%s, %s]", tt.failures, got, tt.base*3/4, tt.base)
			}
		}
	}
	if _, err := New(Config{URL: "central:8440"}); err == nil {
		t.Error("a URL without a scheme was accepted")
	}
}
