package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A payment providers file that names a secret others may read stops
// central with the command that fixes it; one without a provider says so.
func TestCentralPayProviders(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ops")
	secret := filepath.Join(dir, "stripe-secret")
	if err := os.WriteFile(secret, []byte("sk_test_123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "pay.toml")
	os.WriteFile(conf, []byte("[stripe]\nsecret_key_file = \""+secret+"\"\nwebhook_secret_file = \""+secret+"\"\n"), 0o644)
	empty := filepath.Join(dir, "empty.toml")
	os.WriteFile(empty, nil, 0o644)
	for file, want := range map[string]string{conf: "chmod 600 " + secret, empty: "none configured"} {
		_, errs, code := cli(t, "", "central", "--data", data, "--listen", "127.0.0.1:0", "--pay-providers", file)
		if code == 0 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, %q, want %q", filepath.Base(file), code, errs, want)
		}
	}
}
