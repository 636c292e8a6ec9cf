package keyfile

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

func TestCertifyDevice(t *testing.T) {
	k, err := Init(filepath.Join(t.TempDir(), "keys"), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := ticket.GenerateKey(nil)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	good := DeviceRequest{Device: "gate-1", Role: ticket.RoleGate, Venue: "arena", Key: ticket.PublicOf(dev), Now: now}
	tests := []struct {
		name string
		edit func(*DeviceRequest)
		ok   bool
	}{
		{"gate", func(*DeviceRequest) {}, true},
		{"seller", func(r *DeviceRequest) { r.Role = ticket.RoleSeller }, true},
		{"central role", func(r *DeviceRequest) { r.Role = ticket.RoleCentral }, false},
		{"bad name", func(r *DeviceRequest) { r.Device = "gate 1" }, false},
		{"venue with a path", func(r *DeviceRequest) { r.Venue = "../x" }, false},
		{"no key", func(r *DeviceRequest) { r.Key = nil }, false},
	}
	for _, tt := range tests {
		r := good
		tt.edit(&r)
		cert, err := k.CertifyDevice(r)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.ok {
			continue
		}
		if err := cert.Verify(k.RootPublic()); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if cert.Device != r.Device || cert.Role != r.Role || !cert.ValidAt(now) || cert.ValidAt(now.Add(-2*time.Hour)) {
			t.Errorf("%s: cert %+v", tt.name, cert)
		}
	}
	cert, _ := k.CertifyDevice(good)
	if err := k.CheckUnissued("arena", "gate-1"); err != nil {
		t.Fatal(err)
	}
	if err := k.RecordIssued(cert); err != nil {
		t.Fatal(err)
	}
	if err := k.CheckUnissued("arena", "gate-1"); !errors.Is(err, ErrIssued) {
		t.Errorf("after recording: %v, want ErrIssued", err)
	}
	if err := k.RecordIssued(cert); !errors.Is(err, ErrIssued) {
		t.Errorf("recorded twice: %v", err)
	}
}

// Open makes the keys on first use and loads the same ones afterwards.
func TestOpenMakesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first, created, err := Open(dir, InitOptions{})
	if err != nil || !created {
		t.Fatalf("first open: created %v, %v", created, err)
	}
	again, created, err := Open(dir, InitOptions{})
	if err != nil || created {
		t.Fatalf("second open: created %v, %v", created, err)
	}
	if !again.Root.Equal(first.Root) || !again.Issuer.Equal(first.Issuer) {
		t.Error("second open made new keys")
	}
}
