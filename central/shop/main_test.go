package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package (none with
// -short); mailpit is started by the tests that mail.
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

func dialects() []store.Dialect {
	if pg == nil {
		return []store.Dialect{store.SQLite}
	}
	return []store.Dialect{store.SQLite, store.Postgres}
}

// concert is inside the event of testdata/venue.yaml (event 1042).
var concert = time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC)

type fixture struct {
	db    *store.DB
	keys  *keyfile.Keys
	cat   *catalog.Catalog
	shop  *Shop
	clock *ticket.ManualClock
	url   string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newFixture is a box office over a fresh database of the dialect with the
// test venue imported and nothing on sale yet.
func newFixture(tb testing.TB, dialect store.Dialect, mailer Mailer) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: concert.Add(-60 * 24 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	dsn := ""
	if dialect == store.Postgres {
		dsn = pg.NewDatabase(tb)
	}
	scfg := store.DefaultConfig(dsn, dir)
	scfg.Logger = quiet()
	scfg.MaxConns = 32
	db, err := store.Open(context.Background(), scfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	clock := ticket.NewManualClock(concert.Add(-7 * 24 * time.Hour))
	ccfg := catalog.DefaultConfig(db, keys)
	ccfg.Clock, ccfg.Logger = clock, quiet()
	cat := catalog.New(ccfg)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "venue.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := manifest.ParseSpec(data, "yaml")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cat.ImportVenue(context.Background(), spec, ""); err != nil {
		tb.Fatal(err)
	}
	cfg := TestConfig(db, cat)
	cfg.Clock, cfg.Logger, cfg.Mailer = clock, quiet(), mailer
	sh := New(cfg)
	mux := http.NewServeMux()
	sh.Mount(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	sh.cfg.BaseURL = srv.URL
	return &fixture{db: db, keys: keys, cat: cat, shop: sh, clock: clock, url: srv.URL}
}

// call sends a JSON request and decodes the answer into out (when not nil),
// returning the status.
func (f *fixture) call(tb testing.TB, method, path, token string, body, out any) int {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.url+PathPrefix+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// mailpit is a running mailpit: SMTP on one port, its REST API on another.
type mailpit struct {
	smtp int
	api  string
}

var (
	mailpitOnce sync.Once
	mailpitBin  string
	mailpitErr  error
)

// mailpitPath finds mailpit on PATH, in the module's bin/ or GOPATH's bin,
// and else builds it into the module's bin/ with go install (about a
// minute, once).
func mailpitPath() (string, error) {
	mailpitOnce.Do(func() {
		root, _ := filepath.Abs(filepath.Join("..", ".."))
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		for _, p := range []string{filepath.Join(root, "bin", "mailpit"), filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit")} {
			if _, err := os.Stat(p); err == nil {
				mailpitBin = p
				return
			}
		}
		if p, err := exec.LookPath("mailpit"); err == nil {
			mailpitBin = p
			return
		}
		cmd := exec.Command("go", "install", "github.com/axllent/mailpit@v1.33.1")
		cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(root, "bin"))
		if out, err := cmd.CombinedOutput(); err != nil {
			mailpitErr = fmt.Errorf("go install mailpit: %v: %s", err, out)
			return
		}
		mailpitBin = filepath.Join(root, "bin", "mailpit")
	})
	return mailpitBin, mailpitErr
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startMailpit(tb testing.TB) *mailpit {
	tb.Helper()
	bin, err := mailpitPath()
	if err != nil {
		tb.Fatal(err)
	}
	smtp, web := freePort(tb), freePort(tb)
	cmd := exec.Command(bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtp), "--listen", fmt.Sprintf("127.0.0.1:%d", web),
		"--database", filepath.Join(tb.TempDir(), "mail.db"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	mp := &mailpit{smtp: smtp, api: fmt.Sprintf("http://127.0.0.1:%d", web)}
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(mp.api + "/api/v1/messages")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", smtp)); err == nil {
				c.Close()
				return mp
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit did not start: %s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (mp *mailpit) mailer() Mailer {
	return &SMTP{Host: "127.0.0.1", Port: mp.smtp, From: "box-office@example.org", Insecure: true}
}

// message waits for the latest mail to addr whose subject has subject and
// returns its text.
func (mp *mailpit) message(tb testing.TB, addr, subject string) string {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var list struct {
			Messages []struct {
				ID      string
				Subject string
				To      []struct{ Address string }
			} `json:"messages"`
		}
		resp, err := http.Get(mp.api + "/api/v1/messages")
		if err != nil {
			tb.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		for _, m := range list.Messages {
			if len(m.To) == 1 && m.To[0].Address == addr && strings.Contains(m.Subject, subject) {
				resp, err := http.Get(mp.api + "/api/v1/message/" + m.ID)
				if err != nil {
					tb.Fatal(err)
				}
				var msg struct{ Text string }
				json.NewDecoder(resp.Body).Decode(&msg)
				resp.Body.Close()
				return msg.Text
			}
		}
	}
	tb.Fatalf("no mail to %s about %q", addr, subject)
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
