package main

import (
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/uplink"
)

// checkOpsEnroll enrolls a gate from the ops screens of the central
// process at base (its data in data): the setup page shows the setup QR,
// drawn by the scanner the command hands central, holding central's
// address and a token; tixgate enroll --code with the QR's text enrolls
// the gate.
func checkOpsEnroll(t *testing.T, base, data string) {
	t.Helper()
	if _, errs, code := cli(t, "correct horse battery\n", "central", "users", "add", "--data", data, "--name", "ana", "--role", "admin"); code != 0 {
		t.Fatal(errs)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	page := func(method, path string, form url.Values) string {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = hc.Get(base + path)
		} else {
			resp, err = hc.PostForm(base+path, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s: %.300s", method, path, resp.Status, b)
		}
		return string(b)
	}
	token := func(body string) string {
		t.Helper()
		m := csrf.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no csrf field in %.300s", body)
		}
		return m[1]
	}
	login := page(http.MethodGet, "/ops/login", nil)
	page(http.MethodPost, "/ops/login", url.Values{"csrf": {token(login)}, "name": {"ana"}, "password": {"correct horse battery"}})
	devices := page(http.MethodGet, "/ops/devices", nil)
	setup := page(http.MethodPost, "/ops/devices", url.Values{"csrf": {token(devices)}, "name": {"gate-q"}, "role": {"gate"}, "gate": {"G1"}})
	m := regexp.MustCompile(`id="setup-qr" class="qr" src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(setup)
	if m == nil {
		t.Fatalf("the setup page shows no QR: %.500s", setup)
	}
	png, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	text, err := scanner.DecodeBytes(png)
	if err != nil {
		t.Fatalf("decode the setup QR: %v", err)
	}
	code, err := uplink.ParseSetupCode(text)
	if err != nil || code.URL != base || !strings.HasPrefix(code.Token, "tgs_") {
		t.Fatalf("the setup QR holds %q: %+v, %v", text, code, err)
	}
	// The gate enrolls with what it scanned, and the screen shows it so.
	if out, errs, exit := cli(t, "", "enroll", "--data", t.TempDir(), "--code", text); exit != 0 || !strings.Contains(out, `gate "G1"`) {
		t.Fatalf("enroll --code: exit %d: %s%s", exit, out, errs)
	}
	row := regexp.MustCompile(`(?s)<tr id="device-gate-q">.*?</tr>`).FindString(page(http.MethodGet, "/ops/devices?lang=en", nil))
	if !strings.Contains(row, "G1") || strings.Contains(row, "not enrolled") {
		t.Errorf("the devices screen after the enrollment: %s", row)
	}
}
