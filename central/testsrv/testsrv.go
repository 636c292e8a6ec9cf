// Package testsrv runs the real servers central's tests talk to: mailpit
// (SMTP, read back through its REST API) and the tools like stripe-mock that
// a test starts itself, each found in the module's bin/, in GOPATH's bin or
// on PATH, and else installed into the module's bin/ with `go install`.
// Tests only; standard library only.
package testsrv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MailpitVersion is the mailpit the tests install.
const MailpitVersion = "github.com/axllent/mailpit@v1.33.1"

// Mailpit is a running mailpit: SMTP on one port, its REST API at API.
type Mailpit struct {
	SMTP int
	API  string
}

var (
	mu    sync.Mutex
	tools = map[string]*tool{}
)

type tool struct {
	once sync.Once
	path string
	err  error
}

// Tool is the path of the program name, installed from module (path@version)
// the first time it is found nowhere.
func Tool(name, module string) (string, error) {
	mu.Lock()
	t := tools[name]
	if t == nil {
		t = &tool{}
		tools[name] = t
	}
	mu.Unlock()
	t.once.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			t.err = fmt.Errorf("go env GOMOD: %v", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		for _, p := range []string{filepath.Join(root, "bin", name), filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)} {
			if _, err := os.Stat(p); err == nil {
				t.path = p
				return
			}
		}
		if p, err := exec.LookPath(name); err == nil {
			t.path = p
			return
		}
		cmd := exec.Command("go", "install", module)
		cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(root, "bin"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.err = fmt.Errorf("go install %s: %v: %s", name, err, out)
			return
		}
		t.path = filepath.Join(root, "bin", name)
	})
	return t.path, t.err
}

// FreePort is a loopback port nothing listens on.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartMailpit runs a mailpit for the test, stopped when it ends.
func StartMailpit(tb testing.TB) *Mailpit {
	tb.Helper()
	bin, err := Tool("mailpit", MailpitVersion)
	if err != nil {
		tb.Fatal(err)
	}
	smtp, web := FreePort(tb), FreePort(tb)
	cmd := exec.Command(bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtp), "--listen", fmt.Sprintf("127.0.0.1:%d", web),
		"--database", filepath.Join(tb.TempDir(), "mail.db"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	mp := &Mailpit{SMTP: smtp, API: fmt.Sprintf("http://127.0.0.1:%d", web)}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(mp.API + "/api/v1/messages"); err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", smtp)); err == nil {
				c.Close()
				return mp
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit did not start: %s", log.String())
		}
	}
}

// Message waits for the latest mail to addr whose subject has subject and
// returns its text.
func (mp *Mailpit) Message(tb testing.TB, addr, subject string) string {
	tb.Helper()
	var msg struct{ Text string }
	mp.get(tb, "/api/v1/message/"+mp.find(tb, addr, subject), &msg)
	return msg.Text
}

// Attachments waits for the latest mail to addr whose subject has
// subject and returns its attachments by file name.
func (mp *Mailpit) Attachments(tb testing.TB, addr, subject string) map[string][]byte {
	tb.Helper()
	id := mp.find(tb, addr, subject)
	var msg struct {
		Attachments []struct{ PartID, FileName string }
	}
	mp.get(tb, "/api/v1/message/"+id, &msg)
	out := map[string][]byte{}
	for _, a := range msg.Attachments {
		resp, err := http.Get(mp.API + "/api/v1/message/" + id + "/part/" + a.PartID)
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out[a.FileName] = b
	}
	return out
}

func (mp *Mailpit) get(tb testing.TB, path string, out any) {
	tb.Helper()
	resp, err := http.Get(mp.API + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		tb.Fatalf("mailpit %s: %v", path, err)
	}
}

// find waits for the latest mail to addr whose subject has subject and
// returns its id.
func (mp *Mailpit) find(tb testing.TB, addr, subject string) string {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var list struct {
			Messages []struct {
				ID      string
				Subject string
				To      []struct{ Address string }
			} `json:"messages"`
		}
		mp.get(tb, "/api/v1/messages", &list)
		for _, m := range list.Messages {
			if len(m.To) == 1 && m.To[0].Address == addr && strings.Contains(m.Subject, subject) {
				return m.ID
			}
		}
	}
	tb.Fatalf("no mail to %s about %q", addr, subject)
	return ""
}
