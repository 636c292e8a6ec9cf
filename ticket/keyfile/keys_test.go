package keyfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

func TestInitLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 9 {
		t.Errorf("%d files in the key directory, want 9", len(entries))
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != Mode {
			t.Errorf("%s has mode %#o, want %#o", e.Name(), fi.Mode().Perm(), Mode)
		}
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Root.Equal(k.Root) || !loaded.Issuer.Equal(k.Issuer) || string(loaded.MeshKey) != string(k.MeshKey) {
		t.Error("loaded keys differ from those made")
	}
	store, err := loaded.TrustStore(5)
	if err != nil {
		t.Fatal(err)
	}
	code, err := ticket.Issue(ticket.Ticket{Event: 5, Serial: 77, Type: 1, Rotating: true}, loaded.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	code = ticket.WithRotation(code, ticket.EventRotationSecret(loaded.RotationMaster, 5), 77, now)
	if r := store.Verify(code, now); !r.OK() {
		t.Errorf("code from the new keys: %s %s", r.Reason, r.Detail)
	}
	// Keys are never replaced.
	if _, err := Init(dir, InitOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("second Init: %v, want ErrExists", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Run("missing directory", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope"))
		if err == nil || !strings.Contains(err.Error(), "keys init") {
			t.Errorf("Load: %v, want advice to run keys init", err)
		}
	})
	t.Run("readable by others", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Init(dir, InitOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, RootKeyFile), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("Load: %v, want a mode error", err)
		}
	})
	t.Run("certificate of another directory", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		for _, d := range []string{a, b} {
			if _, err := Init(d, InitOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(filepath.Join(b, IssuerCertFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(filepath.Join(a, IssuerCertFile), data, true); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(a); err == nil {
			t.Error("Load accepted an issuer certificate signed by another root")
		}
	})
	t.Run("corrupt key", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Init(dir, InitOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(filepath.Join(dir, IssuerKeyFile), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), true); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), IssuerKeyFile) {
			t.Errorf("Load: %v, want an error naming %s", err, IssuerKeyFile)
		}
	})
}

func TestPEMRoundTrip(t *testing.T) {
	priv, err := ticket.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKey(data)
	if err != nil || !back.Equal(priv) {
		t.Fatalf("private key round trip: %v", err)
	}
	pub, err := MarshalPublicKey(ticket.PublicOf(priv))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(pub); err == nil {
		t.Error("a public key parsed as a private key")
	}
	if _, err := ParseSecret(MarshalSecret(MeshKeyType, make([]byte, 16)), MeshKeyType, SecretSize); err == nil {
		t.Error("a 16-byte mesh key was accepted")
	}
}
