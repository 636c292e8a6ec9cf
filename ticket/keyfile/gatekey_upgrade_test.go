package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A key directory made before gates.key existed gets one on its first
// Load, from fresh randomness. Two copies of that directory (central's and
// the ops laptop's, or a backup restored) each make their own: central
// seals the holders' names and rotation secrets to one gates key, the
// gates provisioned from the other copy hold another, and every sealed
// change is refused at every such gate (rotating codes with it). Copies of
// one key directory must agree on its gates key.
func TestOldKeyDirectoryCopiesAgreeOnGatesKey(t *testing.T) {
	base := t.TempDir()
	a := filepath.Join(base, "a")
	if _, err := Init(a, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(a, GateKeyFile)); err != nil { // as made before gates.key
		t.Fatal(err)
	}
	b := filepath.Join(base, "b")
	if err := os.MkdirAll(b, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(a, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b, e.Name()), data, Mode); err != nil {
			t.Fatal(err)
		}
	}
	ka, err := Load(a)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ka.GateKey, kb.GateKey) {
		t.Error("two copies of one key directory made two different gates keys on load")
	}
}
