package invoice

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
// -short).
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

func dialects() []store.Dialect {
	if pg == nil {
		return []store.Dialect{store.SQLite}
	}
	return []store.Dialect{store.SQLite, store.Postgres}
}

// concert is inside the event of testdata/venue.yaml (event 1042, venue
// and organizer "arena").
var concert = time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC)

type fixture struct {
	db    *store.DB
	shop  *shop.Shop
	inv   *Issuer
	clock *ticket.ManualClock
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newFixture is a box office over a fresh database of the dialect with the
// test venue imported, standing tickets (type 1) at ¥128.00 and balcony
// seats (type 2) at ¥380.00 on sale, and invoices issued as orders are
// paid and cancelled.
func newFixture(tb testing.TB, dialect store.Dialect, ecfg func(*Config)) *fixture {
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
	scfg := store.DefaultConfig(dsn, dir)
	scfg.Logger = quiet()
	scfg.MaxConns = 32
	db, err := store.Open(ctx, scfg)
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
	if _, err := cat.ImportVenue(ctx, spec, ""); err != nil {
		tb.Fatal(err)
	}
	icfg := DefaultConfig(db)
	icfg.Clock, icfg.Logger = clock, quiet()
	if ecfg != nil {
		ecfg(&icfg)
	}
	is := New(icfg)
	cfg := shop.TestConfig(db, cat)
	cfg.Clock, cfg.Logger, cfg.Settled = clock, quiet(), is.Settled
	sh := shop.New(cfg)
	for _, o := range []shop.Offer{
		{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 500, MaxPerOrder: 10},
		{Event: 1042, Type: 2, Price: pricing.New(38000, pricing.CNY), Quota: 50},
	} {
		if err := sh.PutOffer(ctx, o); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sh.PutPromotion(ctx, 1042, pricing.Promotion{ID: "friends", Name: "Friends", Code: "FRIENDS", Off: pricing.Percent(20),
		Rounding: pricing.RoundHalfEven}); err != nil {
		tb.Fatal(err)
	}
	return &fixture{db: db, shop: sh, inv: is, clock: clock}
}

// buyers makes n verified buyer accounts.
func (f *fixture) buyers(tb testing.TB, n int, name string) []store.Account {
	tb.Helper()
	out := make([]store.Account, n)
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		for i := range out {
			a := store.Account{Email: fmt.Sprintf("%s%d@example.org", name, i), Name: fmt.Sprintf("%s %d", name, i), PasswordHash: "-",
				Role: shop.RoleAudience, Created: f.clock.Now(), VerifiedAt: f.clock.Now()}
			id, err := tx.AddAccount(a)
			if err != nil {
				return err
			}
			a.ID = id
			out[i] = a
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// buy places and pays (with the test provider) an order of items.
func (f *fixture) buy(tb testing.TB, a store.Account, promo string, items ...pricing.Item) store.ShopOrder {
	tb.Helper()
	ctx := context.Background()
	o, err := f.shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: items, Promo: promo})
	if err != nil {
		tb.Fatal(err)
	}
	if o, _, err = f.shop.Pay(ctx, o.ID, shop.MethodTest); err != nil {
		tb.Fatal(err)
	}
	return o
}
