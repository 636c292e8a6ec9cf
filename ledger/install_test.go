package ledger

import (
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Install takes a certificate signed elsewhere, and only one that certifies
// the key it is given under the root it is told to trust.
func TestInstallChecksTheCertificate(t *testing.T) {
	v := newTestVenue(t, 0)
	key, _ := ticket.GenerateKey(nil)
	other, _ := ticket.GenerateKey(nil)
	cert, err := v.keys.CertifyDevice(keyfile.DeviceRequest{Device: "gate-7", Role: ticket.RoleGate, Venue: "arena", Key: ticket.PublicOf(key), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := keyfile.Init(t.TempDir()+"/k", keyfile.InitOptions{})
	tests := []struct {
		name string
		e    Enrollment
		ok   bool
	}{
		{"another key", Enrollment{Dir: t.TempDir(), Key: other, Cert: cert, Root: v.keys.RootPublic(), MeshKey: v.keys.MeshKey}, false},
		{"another root", Enrollment{Dir: t.TempDir(), Key: key, Cert: cert, Root: stranger.RootPublic(), MeshKey: v.keys.MeshKey}, false},
		{"no mesh key", Enrollment{Dir: t.TempDir(), Key: key, Cert: cert, Root: v.keys.RootPublic()}, false},
		{"a gate without the gates key", Enrollment{Dir: t.TempDir(), Key: key, Cert: cert, Root: v.keys.RootPublic(), MeshKey: v.keys.MeshKey}, false},
		{"genuine", Enrollment{Dir: t.TempDir(), Key: key, Cert: cert, Root: v.keys.RootPublic(), MeshKey: v.keys.MeshKey, GateKey: v.keys.GateKey}, true},
	}
	for _, tt := range tests {
		err := Install(tt.e, TestConfig(tt.e.Dir))
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.ok {
			id, err := LoadIdentity(tt.e.Dir)
			if err != nil || id.Cert.Device != "gate-7" || string(id.GateKey) != string(v.keys.GateKey) {
				t.Errorf("%s: identity %v, %v", tt.name, id, err)
			}
		}
	}
}
