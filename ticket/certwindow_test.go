package ticket

import (
	"testing"
	"time"
)

func TestCertWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		validity time.Duration
		from, to time.Time
	}{
		{0, now.Add(-time.Hour), now.Add(-time.Hour + CertValidity)},
		{-time.Second, now.Add(-time.Hour), now.Add(-time.Hour + CertValidity)},
		{48 * time.Hour, now.Add(-time.Hour), now.Add(47 * time.Hour)},
	}
	for _, tt := range tests {
		from, to := CertWindow(now, tt.validity)
		if !from.Equal(tt.from) || !to.Equal(tt.to) {
			t.Errorf("CertWindow(%v) = %v..%v, want %v..%v", tt.validity, from, to, tt.from, tt.to)
		}
	}
	if CertValidity != 5*365*24*time.Hour {
		t.Errorf("CertValidity = %v, want five years", CertValidity)
	}
}
