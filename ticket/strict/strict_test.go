package strict

import (
	"strings"
	"testing"
)

type sample struct {
	Code  string `json:"code" toml:"code" yaml:"code"`
	Nonce string `json:"nonce,omitempty" toml:"nonce" yaml:"nonce"`
	N     int    `json:"n,omitempty" toml:"n" yaml:"n"`
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name, in, err string
	}{
		{"one object", `{"code":"TG1:X","nonce":"a"}`, ""},
		{"case differs", `{"Code":"TG1:X"}`, "unknown field"},
		{"duplicate key", `{"code":"a","code":"b"}`, "duplicate field"},
		{"unknown key", `{"code":"a","gat":"G1"}`, "unknown field"},
		{"two values", `{"code":"a"} {"code":"b"}`, "bad JSON"},
		{"empty", ``, "empty body"},
		{"cut short", `{"code":"a"`, "bad JSON"},
		{"wrong type", `{"code":1}`, "wrong type"},
	}
	for _, tt := range tests {
		var v sample
		err := JSON([]byte(tt.in), &v)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "strict.")):
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.err)
		}
	}
	var v sample
	if err := ReadJSON(strings.NewReader(`{"code":"`+strings.Repeat("A", 100)+`"}`), 50, &v); err == nil || !strings.Contains(err.Error(), "larger than 50") {
		t.Errorf("oversized body: %v", err)
	}
}

func TestFile(t *testing.T) {
	tests := []struct {
		name, file, in, err string
	}{
		{"toml", "a.toml", "code = \"x\"\nn = 2\n", ""},
		{"toml unknown", "a.toml", "code = \"x\"\ncod = 2\n", "unknown key cod"},
		{"toml duplicate", "a.toml", "code = \"x\"\ncode = \"y\"\n", "line 2"},
		{"yaml", "a.yaml", "code: x\nn: 2\n", ""},
		{"yaml unknown", "a.yml", "code: x\ncod: 2\n", "unknown key cod"},
		{"yaml wrong kind", "a.yml", "code: x\nn: two\n", `"two" is not a number`},
		{"yaml duplicate", "a.yaml", "code: x\ncode: y\n", "already defined"},
		{"yaml empty", "a.yaml", "", "empty document"},
		{"other", "a.json", "{}", "want a .toml"},
	}
	for _, tt := range tests {
		var v sample
		err := File(tt.file, []byte(tt.in), &v)
		switch {
		case tt.err == "" && (err != nil || v.Code != "x" || v.N != 2):
			t.Errorf("%s: %+v, %v", tt.name, v, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "strict.")):
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.err)
		}
	}
}
