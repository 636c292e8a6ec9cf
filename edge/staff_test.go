package edge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidatePIN(t *testing.T) {
	for _, tc := range []struct {
		pin string
		ok  bool
	}{
		{"1234", true},
		{"00000000", true},
		{"123", false},
		{"", false},
		{"12a4", false},
		{"１２３４", false}, // full-width digits are not ASCII digits
		{"1234 ", false},
	} {
		if err := ValidatePIN(tc.pin); (err == nil) != tc.ok {
			t.Errorf("ValidatePIN(%q) = %v, want ok=%v", tc.pin, err, tc.ok)
		}
	}
}

func TestStaffAccounts(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadStaff(dir); err != nil || len(got) != 0 {
		t.Fatalf("empty dir: %v, %v; want no accounts", got, err)
	}
	if err := AddStaff(dir, "李娜", RoleGate, "4821"); err != nil {
		t.Fatal(err)
	}
	if err := AddStaff(dir, "Sam", RoleSupervisor, "9090"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, StaffFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("staff file mode %#o, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(filepath.Join(dir, StaffFile))
	if bytes.Contains(raw, []byte("4821")) || bytes.Contains(raw, []byte("9090")) {
		t.Error("the staff file holds a PIN in clear")
	}
	accounts, err := LoadStaff(dir)
	if err != nil || len(accounts) != 2 {
		t.Fatalf("LoadStaff: %v, %v", accounts, err)
	}
	li, sam := accounts[0], accounts[1]
	if li.Name != "李娜" || li.Role != RoleGate || sam.Role != RoleSupervisor {
		t.Errorf("accounts %+v %+v", li, sam)
	}
	if bytes.Equal(li.Salt, sam.Salt) || len(li.Salt) != 16 {
		t.Errorf("salts %x %x: want 16 random bytes each", li.Salt, sam.Salt)
	}
	if li.Params != DefaultArgon2 {
		t.Errorf("params %+v, want %+v", li.Params, DefaultArgon2)
	}
	for _, tc := range []struct {
		a   StaffAccount
		pin string
		ok  bool
	}{
		{li, "4821", true},
		{li, "4822", false},
		{li, "9090", false},
		{sam, "9090", true},
		{sam, "", false},
	} {
		if got := tc.a.CheckPIN(tc.pin); got != tc.ok {
			t.Errorf("%s CheckPIN(%q) = %v, want %v", tc.a.Name, tc.pin, got, tc.ok)
		}
	}
	// A hash checked with weaker parameters than it was made with fails.
	weak := li
	weak.Params.Time = 1
	if weak.CheckPIN("4821") {
		t.Error("a hash verified under other parameters")
	}

	// Adding a name again replaces its role and PIN.
	if err := AddStaff(dir, "李娜", RoleSupervisor, "5555"); err != nil {
		t.Fatal(err)
	}
	accounts, _ = LoadStaff(dir)
	if len(accounts) != 2 || accounts[0].Role != RoleSupervisor || !accounts[0].CheckPIN("5555") || accounts[0].CheckPIN("4821") {
		t.Errorf("after replacing: %+v", accounts)
	}

	if err := RemoveStaff(dir, "Sam"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveStaff(dir, "Sam"); !errors.Is(err, ErrNoStaff) {
		t.Errorf("removing twice: %v, want ErrNoStaff", err)
	}
	accounts, _ = LoadStaff(dir)
	if len(accounts) != 1 || accounts[0].Name != "李娜" {
		t.Errorf("after removing: %+v", accounts)
	}
}

func TestStaffRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, pin string
		role      Role
		want      string
	}{
		{"", "1234", RoleGate, "empty"},
		{"a\nb", "1234", RoleGate, "control"},
		{strings.Repeat("x", 65), "1234", RoleGate, "64"},
		{"ok", "1234", "cashier", "role"},
		{"ok", "12", RoleGate, "at least 4"},
	} {
		err := AddStaff(dir, tc.name, tc.role, tc.pin)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddStaff(%q, %q, %q) = %v, want an error about %q", tc.name, tc.role, tc.pin, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, StaffFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused adds wrote the staff file: %v", err)
	}

	// A file others may read, or one that does not parse, is an error.
	path := filepath.Join(dir, StaffFile)
	if err := os.WriteFile(path, []byte(`{"accounts":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStaff(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable staff file: %v", err)
	}
	for _, bad := range []string{`{"accounts":[{"name":"x","role":"janitor"}]}`, `{"accounts":`, `{"users":[]}`} {
		os.Chmod(path, 0o600)
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadStaff(dir); err == nil {
			t.Errorf("LoadStaff of %s: no error", bad)
		}
	}
}
