package support

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tixgate/tixgate/central/password"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
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

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type fixture struct {
	db    *store.DB
	desk  *Desk
	shop  *shop.Shop
	staff *staff.Accounts
	http  *httptest.Server
}

// newFixture is a desk over a fresh database of the dialect, served by a
// test server, mailing through mailer (nil: not at all).
func newFixture(tb testing.TB, dialect store.Dialect, mailer shop.Mailer) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	dsn := ""
	if dialect == store.Postgres {
		dsn = pg.NewDatabase(tb)
	}
	scfg := store.DefaultConfig(dsn, filepath.Join(dir))
	scfg.Logger = quiet()
	db, err := store.Open(context.Background(), scfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	scfg2 := shop.TestConfig(db, nil)
	scfg2.Mailer, scfg2.BaseURL, scfg2.Logger = discard{}, "http://shop.test", quiet()
	sh := shop.New(scfg2)
	acfg := staff.DefaultConfig(db)
	acfg.Argon2, acfg.Logger = password.Cheap, quiet()
	acc := staff.New(acfg)
	desk, err := New(Config{Store: db, Shop: sh, Accounts: acc, Mailer: mailer, BaseURL: "http://shop.test", Address: "support@shop.test",
		BuyerCSRF: func(s string) string { return "csrf-" + s }, Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	m := http.NewServeMux()
	desk.Mount(m)
	hs := httptest.NewServer(m)
	tb.Cleanup(hs.Close)
	return &fixture{db: db, desk: desk, shop: sh, staff: acc, http: hs}
}

type discard struct{}

func (discard) Send(context.Context, shop.Message) error { return nil }

// staffToken adds a staff member and logs them in.
func (f *fixture) staffToken(tb testing.TB, name string, role staff.Role) string {
	tb.Helper()
	ctx := context.Background()
	if err := f.staff.Add(ctx, name, role, "correct horse battery", "test"); err != nil {
		tb.Fatal(err)
	}
	tok, _, err := f.staff.Login(ctx, name, "correct horse battery")
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// dial opens a socket to path with a cookie, from the page's own origin.
func (f *fixture) dial(tb testing.TB, path, cookie string) *websocket.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{"Cookie": {cookie}, "Origin": {f.http.URL}}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.http.URL, "http")+path, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		tb.Fatalf("dial %s: %v", path, err)
	}
	c.SetReadLimit(1 << 20)
	tb.Cleanup(func() { c.CloseNow() })
	return c
}
