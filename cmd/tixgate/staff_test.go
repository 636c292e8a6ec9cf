package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/edge"
)

// The staff commands as a venue sets up a device: PINs from stdin.
func TestStaffCommands(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"list", "--data", data}, 0, "no staff accounts"},
		{"4821\n", []string{"add", "--data", data, "--name", "李娜", "--role", "gate"}, 0, "李娜 (gate)"},
		{"9090", []string{"add", "--data", data, "--name", "Sam", "--role", "supervisor"}, 0, "Sam (supervisor)"},
		{"12\n", []string{"add", "--data", data, "--name", "Kim"}, 1, "at least 4 digits"},
		{"12ab\n", []string{"add", "--data", data, "--name", "Kim"}, 1, "digits only"},
		{"", []string{"add", "--data", data, "--name", "Kim"}, 1, "no line with a PIN"},
		{"1234\n", []string{"add", "--data", data, "--name", "Kim", "--role", "cashier"}, 2, "gate, supervisor or seller"},
		{"1234\n", []string{"add", "--data", data}, 2, "missing --name"},
		{"", []string{"list", "--data", data}, 0, "李娜"},
		{"", []string{"remove", "--data", data, "--name", "Sam"}, 0, "Sam removed"},
		{"", []string{"remove", "--data", data, "--name", "Sam"}, 1, "no such staff account"},
	} {
		out, errs, code := cli(t, tc.stdin, append([]string{"staff"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("staff %s: exit %d, want %d with %q\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out, errs)
		}
	}
	out, _, _ := cli(t, "", "staff", "list", "--data", data)
	if strings.Contains(out, "Sam") || strings.Contains(out, "Kim") || !strings.Contains(out, "gate") {
		t.Errorf("list after removing Sam and refusing Kim:\n%s", out)
	}
	fi, err := os.Stat(filepath.Join(data, edge.StaffFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("staff file: %v, %v; want mode 0600", fi, err)
	}
	accounts, err := edge.LoadStaff(data)
	if err != nil || len(accounts) != 1 || !accounts[0].CheckPIN("4821") {
		t.Errorf("stored accounts %+v, %v: want 李娜 with PIN 4821", accounts, err)
	}
}

// A gate device's staff cannot be sellers; a seller handheld's can.
func TestStaffRoleFitsTheDevice(t *testing.T) {
	dir := t.TempDir()
	keys, gate, seller := testKeys(t), filepath.Join(dir, "g1"), filepath.Join(dir, "s1")
	for _, args := range [][]string{
		{"ledger", "init", "--data", gate, "--keys", keys, "--device", "gate-1", "--venue", "arena"},
		{"ledger", "init", "--data", seller, "--keys", keys, "--device", "seller-1", "--venue", "arena", "--role", "seller"},
	} {
		if out, errs, code := cli(t, "", args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	if out, errs, code := cli(t, "1234\n", "staff", "add", "--data", gate, "--name", "Kim", "--role", "seller"); code != 2 || !strings.Contains(errs, "gate device, which sells nothing") {
		t.Errorf("a seller on a gate: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := cli(t, "1234\n", "staff", "add", "--data", seller, "--name", "Kim", "--role", "seller"); code != 0 {
		t.Errorf("a seller on a seller handheld: exit %d\n%s%s", code, out, errs)
	}
}
