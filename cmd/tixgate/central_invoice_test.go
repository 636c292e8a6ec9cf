package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// An organizer's invoice settings set from the command line; bad ones
// are refused with what is wrong, and so is an e-invoicing platform
// without its secret.
func TestCentralInvoiceSettings(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ops")
	venue := filepath.Join("..", "..", "testdata", "venue.yaml")
	if _, errs, code := cli(t, "", "central", "venue", "import", "--data", data, "--now", venue); code != 0 {
		t.Fatal(errs)
	}
	out, errs, code := cli(t, "", "central", "invoice", "settings", "--data", data, "--organizer", "arena", "--invoice-prefix", "AR", "--credit-prefix", "ARC",
		"--seller-name", "Arena Live", "--tax-rate", "6")
	if code != 0 || !strings.Contains(out, "AR-YYYY-NNNNNN") || !strings.Contains(out, "tax 6%") {
		t.Fatalf("invoice settings: exit %d: %s%s", code, out, errs)
	}
	for _, bad := range [][]string{
		{"--invoice-prefix", "inv-1"},
		{"--invoice-prefix", "CN"},
		{"--tax-rate", "120"},
	} {
		args := append([]string{"central", "invoice", "settings", "--data", data, "--organizer", "arena"}, bad...)
		if _, errs, code := cli(t, "", args...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d, %q", bad, code, errs)
		}
	}
	t.Setenv("TIXGATE_EINVOICE_SECRET", "")
	if _, errs, code := cli(t, "", "central", "--data", data, "--listen", "127.0.0.1:0", "--einvoice-url", "https://einvoice.example.com", "--einvoice-app-id", "a"); code != 2 ||
		!strings.Contains(errs, "TIXGATE_EINVOICE_SECRET") {
		t.Errorf("an e-invoicing platform without its secret: exit %d, %q", code, errs)
	}
}
