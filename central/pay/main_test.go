package pay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package (none with
// -short); the provider simulators and stripe-mock are started by the
// tests that use them.
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

func dialects() []store.Dialect {
	if pg == nil {
		return []store.Dialect{store.SQLite}
	}
	return []store.Dialect{store.SQLite, store.Postgres}
}

// concert is inside the event of testdata/venue.yaml (event 1042).
var concert = time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC)

// logs keeps what was logged, for tests that check a refusal was.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }
func (l *logs) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

type fixture struct {
	db    *store.DB
	shop  *shop.Shop
	pay   *Payments
	clock *ticket.ManualClock
	url   string
	logs  *logs
	buyer store.Account
	token string // the buyer's session
	staff string // an ops token with the box_office scope
}

// newFixture is a box office over a fresh database of the dialect with
// the test venue imported, type 1 of event 1042 on sale (128.00 CNY, the
// quota given), a verified buyer logged in, and payments through the
// providers that mk makes once the server's URL is known.
func newFixture(tb testing.TB, dialect store.Dialect, quota int64, mk func(notifyBase string, clock ticket.Clock) []Provider) *fixture {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: concert.Add(-60 * 24 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	dsn := ""
	if dialect == store.Postgres {
		dsn = pg.NewDatabase(tb)
	}
	lg := &logs{}
	logger := slog.New(slog.NewTextHandler(lg, nil))
	scfg := store.DefaultConfig(dsn, dir)
	scfg.Logger = logger
	scfg.MaxConns = 32
	db, err := store.Open(ctx, scfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	clock := ticket.NewManualClock(concert.Add(-7 * 24 * time.Hour))
	ccfg := catalog.DefaultConfig(db, keys)
	ccfg.Clock, ccfg.Logger = clock, logger
	cat := catalog.New(ccfg)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "venue.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := manifest.ParseSpec(data, "yaml")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cat.ImportVenue(ctx, spec, ""); err != nil {
		tb.Fatal(err)
	}
	cfg := shop.TestConfig(db, cat)
	cfg.Clock, cfg.Logger, cfg.AllowUnverified = clock, logger, true
	sh := shop.New(cfg)
	if err := sh.PutOffer(ctx, shop.Offer{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: quota, MaxPerOrder: 10}); err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	p := New(Config{Store: db, Shop: sh, Providers: mk(srv.URL+PathPrefix, clock), Clock: clock, Logger: logger})
	sh.Mount(mux)
	p.Mount(mux)
	f := &fixture{db: db, shop: sh, pay: p, clock: clock, url: srv.URL, logs: lg}
	if f.buyer, err = sh.Register(ctx, shop.Registration{Email: "li.wei@example.org", Password: "correct horse battery", Name: "Li Wei"}); err != nil {
		tb.Fatal(err)
	}
	if f.token, _, err = sh.Login(ctx, "li.wei@example.org", "correct horse battery"); err != nil {
		tb.Fatal(err)
	}
	f.staff = f.addStaff(tb)
	return f
}

func (f *fixture) addStaff(tb testing.TB) string {
	b := make([]byte, 24)
	rand.Read(b)
	tok := "tgo_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		return tx.AddAPIToken("wang.fang", "box_office", "counter", []string{"box_office"}, sum[:], f.clock.Now())
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// place orders n tickets of type 1 for the buyer.
func (f *fixture) place(tb testing.TB, n int) store.ShopOrder {
	tb.Helper()
	o, err := f.shop.Place(context.Background(), f.buyer, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: n}}})
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// call sends a JSON request with a bearer token and decodes the answer.
func (f *fixture) call(tb testing.TB, method, path, token string, header http.Header, body, out any) int {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.url+path, rd)
	for k, v := range header {
		req.Header[k] = v
	}
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

// start asks for an order's payment as the buyer's browser would.
func (f *fixture) start(tb testing.TB, order int64, provider string, b Browser) Action {
	tb.Helper()
	var a Action
	if st := f.call(tb, "POST", PathPrefix+"orders/"+itoa(order), f.token, nil, startRequest{Provider: provider, Browser: b}, &a); st != 200 {
		tb.Fatalf("start %s payment of order %d: %d %+v", provider, order, st, a)
	}
	return a
}

// notification is what a provider posts.
type notification struct {
	body   []byte
	header http.Header
}

// notify posts a notification to the provider's route and returns the
// status and the answer.
func (f *fixture) notify(tb testing.TB, provider string, n notification) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", f.url+PathPrefix+"notify/"+provider, bytes.NewReader(n.body))
	for k, v := range n.header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) order(tb testing.TB, id int64) (store.ShopOrder, []store.Ticket) {
	tb.Helper()
	o, tickets, err := f.shop.Order(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return o, tickets
}

// money sums an order's transactions by kind.
func (f *fixture) money(tb testing.TB, id int64) map[string]int64 {
	tb.Helper()
	txs, err := f.db.PayTransactions(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	for _, t := range txs {
		out[t.Kind] += t.Amount
		out[t.Kind+"s"]++
	}
	return out
}

func (f *fixture) refund(tb testing.TB, order, amount int64, key string) (int, Money) {
	tb.Helper()
	var m Money
	st := f.call(tb, "POST", PathPrefix+"orders/"+itoa(order)+"/refund", f.staff, http.Header{"Idempotency-Key": {key}},
		map[string]any{"amount": amount, "reason": "the buyer cannot come"}, &m)
	return st, m
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
