package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tixgate sim's --speed and --tickets: left out, the scenario's; given,
// in range or a usage error naming the range (0 once read as "the
// scenario's").
func TestSimFlags(t *testing.T) {
	dir := t.TempDir()
	scen := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(scen, []byte("name: tiny\nzones: [A]\ngates: 1\ntickets: 20\nlane_rate: 600\nspeed: 5000\narrivals: {window: 1m, peak: 30s, spread: 10s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"speed 0", []string{"--speed", "0"}, "--speed 0: want 1 to 10000"},
		{"speed negative", []string{"--speed", "-3"}, "--speed -3: want 1 to 10000"},
		{"speed too fast", []string{"--speed", "20000"}, "--speed 20000: want 1 to 10000"},
		{"speed NaN", []string{"--speed", "NaN"}, "--speed NaN: want 1 to 10000"},
		{"tickets 0", []string{"--tickets", "0"}, "--tickets 0: want 1 to 1000000"},
		{"tickets negative", []string{"--tickets", "-1"}, "--tickets -1: want 1 to 1000000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"sim", "--out", filepath.Join(dir, "never")}, c.args...)
			_, errs, code := cli(t, "", append(args, scen)...)
			if code != 2 || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, %q: want 2 and %q", code, errs, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "never")); err == nil {
				t.Errorf("a refused run wrote its report folder")
			}
		})
	}
	// A scenario that cannot be read is the caller's to fix (2), not a run
	// that broke something (1).
	if _, errs, code := cli(t, "", "sim", filepath.Join(dir, "missing.yaml")); code != 2 || !strings.Contains(errs, "no such file") {
		t.Errorf("a missing scenario: exit %d, %q; want 2", code, errs)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"flags left out", nil, "tiny: 1 gates, 0 sellers and central, 20 tickets, 1m0s of arrivals at 5000x"},
		{"flags given", []string{"--speed", "4000", "--tickets", "10"}, "tiny: 1 gates, 0 sellers and central, 10 tickets, 1m0s of arrivals at 4000x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			args := append(append([]string{"sim", "--out", out}, c.args...), scen)
			_, errs, code := cli(t, "", args...)
			if code != 0 || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, %q: want 0 and %q", code, errs, c.want)
			}
			for _, f := range []string{"report.html", "report.md", "result.json"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
