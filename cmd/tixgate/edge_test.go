package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEdgeSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	toml := write("edge.toml", "gate = \"G-file\"\nlisten = \"127.0.0.1:9001\"\ndebounce = \"3s\"\njoin = [\"a:1\", \"b:2\"]\n")
	yaml := write("edge.yaml", "gate: G-file\ncount-on-passage: true\n")
	typo := write("typo.yaml", "gaet: G1\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want map[string]string
		err  string
	}{
		{"defaults", nil, nil, "", map[string]string{"gate": "", "listen": "127.0.0.1:8080", "debounce": "2s"}, ""},
		{"file", nil, nil, toml, map[string]string{"gate": "G-file", "listen": "127.0.0.1:9001", "debounce": "3s", "join": "a:1,b:2"}, ""},
		{"env over file", nil, map[string]string{"TIXGATE_GATE": "G-env"}, toml, map[string]string{"gate": "G-env", "listen": "127.0.0.1:9001"}, ""},
		{"flag over env", []string{"--gate", "G-flag"}, map[string]string{"TIXGATE_GATE": "G-env"}, toml, map[string]string{"gate": "G-flag"}, ""},
		{"yaml bool", nil, nil, yaml, map[string]string{"count-on-passage": "true"}, ""},
		{"unknown key", nil, nil, typo, nil, "unknown key gaet"},
		{"bad env", nil, map[string]string{"TIXGATE_DEBOUNCE": "soon"}, "", nil, "TIXGATE_DEBOUNCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("edge", flag.ContinueOnError)
			fs.String("gate", "", "")
			fs.String("listen", "127.0.0.1:8080", "")
			fs.Duration("debounce", 2*time.Second, "")
			fs.Bool("count-on-passage", false, "")
			var join listFlag
			fs.Var(&join, "join", "")
			fs.String("config", "", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			env := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			err := fillUnset(fs, env, tt.file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if got := fs.Lookup(k).Value.String(); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
