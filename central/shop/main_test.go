package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/central/testsrv"
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

// callKey is call with an Idempotency-Key.
func (f *fixture) callKey(tb testing.TB, method, path, token, key string, body, out any) int {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.url+PathPrefix+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		tb.Fatalf("%s %s: %d: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode
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

// mailpit is a running mailpit (package testsrv).
type mailpit struct{ *testsrv.Mailpit }

func startMailpit(tb testing.TB) *mailpit { return &mailpit{testsrv.StartMailpit(tb)} }

func (mp *mailpit) mailer() Mailer {
	return &SMTP{Host: "127.0.0.1", Port: mp.SMTP, From: "box-office@example.org", Insecure: true}
}

func (mp *mailpit) message(tb testing.TB, addr, subject string) string {
	return mp.Message(tb, addr, subject)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
