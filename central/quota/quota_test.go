package quota_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

var pg *storetest.Cluster

func TestMain(m *testing.M) { storetest.Main(m, &pg) }

var t0 = time.Date(2026, 6, 12, 11, 0, 0, 0, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

type fixture struct {
	db     *store.DB
	keys   *keyfile.Keys
	cat    *catalog.Catalog
	quotas *quota.Quotas
}

func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == store.Postgres && pg == nil {
				t.Skip("PostgreSQL runs without -short")
			}
			fn(t, setup(t, d))
		})
	}
}

func setup(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	ctx := context.Background()
	dsn := ""
	if d == store.Postgres {
		dsn = pg.NewDatabase(t)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := store.DefaultConfig(dsn, t.TempDir())
	cfg.Logger = log
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := keyfile.Init(filepath.Join(t.TempDir(), "keys"), keyfile.InitOptions{Now: t0.Add(-time.Hour), Venue: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	ccfg := catalog.DefaultConfig(db, keys)
	ccfg.Clock, ccfg.Logger = fixedClock{t0}, log
	cat := catalog.New(ccfg)
	qcfg := quota.DefaultConfig(db, keys, cat)
	qcfg.Clock, qcfg.Logger, qcfg.MaxBlock = fixedClock{t0}, log, 1000
	err = db.Update(ctx, func(tx *store.Tx) error {
		err := errors.Join(tx.PutOrganizer("org", t0),
			tx.PutVenue(store.Venue{Name: "arena", Organizer: "org", TimeZone: "Asia/Shanghai", Zones: []store.Zone{{ID: 0, Name: "Floor"}, {ID: 1, Name: "Balcony"}}}),
			tx.PutEvent(store.Event{ID: 1042, Venue: "arena", Name: "Concert", TimeZone: "Asia/Shanghai", Starts: t0, Ends: t0.Add(5 * time.Hour), RotationSecret: make([]byte, 32)}),
			tx.PutTicketType(store.TicketType{Event: 1042, ID: 1, Name: "Standing", Zones: []int{0}}),
			tx.PutTicketType(store.TicketType{Event: 1042, ID: 2, Name: "Balcony", Zones: []int{1}}))
		if err != nil {
			return err
		}
		for i, name := range []string{"seller-a", "seller-b", "gate-1"} {
			role := "seller"
			if i == 2 {
				role = "gate"
			}
			key, _ := ticket.GenerateKey(nil)
			id, err := tx.AddDevice(store.Device{Name: name, Role: role, Venue: "arena"}, []byte(name), t0.Add(time.Hour), t0)
			if err != nil {
				return err
			}
			cred := sha256.Sum256([]byte(name))
			if err := tx.Enroll(id, ticket.KeyIDOf(ticket.PublicOf(key)).String(), ticket.PublicOf(key), "", cred[:], "1", "test", t0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, keys: keys, cat: cat, quotas: quota.New(qcfg)}
}

func (f *fixture) changes(t *testing.T, kind manifest.Kind) []manifest.Change {
	t.Helper()
	var out []manifest.Change
	err := f.db.Changes(context.Background(), "arena", 0, 0, func(c store.Change) error {
		ch, err := manifest.Parse(c.Line)
		if err == nil && ch.Kind == kind {
			out = append(out, ch)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAllocate(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a, err := f.quotas.Allocate(ctx, quota.Allocation{Device: "seller-a", Event: 1042, Type: 1, Count: 50, Price: 12000, Currency: "CNY"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.quotas.Allocate(ctx, quota.Allocation{Device: "seller-b", Event: 1042, Type: 2, Count: 20, Price: 30000, Currency: "CNY"})
		if err != nil {
			t.Fatal(err)
		}
		a2, err := f.quotas.Allocate(ctx, quota.Allocation{Device: "seller-a", Event: 1042, Type: 2, Count: 5, Price: 30000, Currency: "CNY"})
		if err != nil {
			t.Fatal(err)
		}
		// Blocks follow each other in the seller range, above central's own.
		if a.SerialMin != store.SellerSerialMin || a.SerialMax != store.SellerSerialMin+49 || b.SerialMin != a.SerialMax+1 || a2.SerialMin != b.SerialMax+1 {
			t.Errorf("blocks %d-%d, %d-%d, %d-%d", a.SerialMin, a.SerialMax, b.SerialMin, b.SerialMax, a2.SerialMin, a2.SerialMax)
		}
		var cert ticket.IssuerCert
		if err := json.Unmarshal([]byte(a.Cert), &cert); err != nil {
			t.Fatal(err)
		}
		dev, _ := f.db.DeviceByName(ctx, "seller-a")
		err = cert.Verify(f.keys.RootPublic())
		if err != nil || !cert.Key.Equal(ed25519.PublicKey(dev.Key)) || cert.ID().String() != dev.KeyID ||
			cert.SerialMin != a.SerialMin || cert.SerialMax != a.SerialMax || cert.Zones != 1 || len(cert.Events) != 1 || len(cert.Types) != 1 ||
			!cert.NotAfter.Equal(t0.Add(5*time.Hour)) || !cert.NotBefore.Before(t0) {
			t.Errorf("certificate %+v: %v (device %s)", cert, err, dev.KeyID)
		}
		for _, c := range []struct {
			tk   ticket.Ticket
			want bool
		}{
			{ticket.Ticket{Event: 1042, Serial: a.SerialMin, Type: 1, Zones: 1}, true},
			{ticket.Ticket{Event: 1042, Serial: a.SerialMax, Type: 1, Zones: 1}, true},
			{ticket.Ticket{Event: 1042, Serial: a.SerialMax + 1, Type: 1, Zones: 1}, false},
			{ticket.Ticket{Event: 1042, Serial: a.SerialMin, Type: 2, Zones: 2}, false},
			{ticket.Ticket{Event: 1042, Serial: a.SerialMin, Type: 1, Zones: 3}, false},
		} {
			if got := cert.Covers(&c.tk) == nil; got != c.want {
				t.Errorf("covers %+v: %v, want %v", c.tk, got, c.want)
			}
		}
		if got := len(f.changes(t, manifest.KindIssuer)); got != 3 {
			t.Errorf("%d issuer changes, want 3", got)
		}
		// seller-a's price list carries both its types.
		prices := f.changes(t, manifest.KindPrices)
		var last manifest.PriceList
		json.Unmarshal(prices[len(prices)-1].Body, &last)
		if len(prices) != 3 || last.Seller != "seller-a" || len(last.Prices) != 2 {
			t.Errorf("price lists: %d, last %+v", len(prices), last)
		}

		for name, bad := range map[string]quota.Allocation{
			"a gate":          {Device: "gate-1", Event: 1042, Type: 1, Count: 5, Price: 1, Currency: "CNY"},
			"an unknown type": {Device: "seller-a", Event: 1042, Type: 9, Count: 5, Price: 1, Currency: "CNY"},
			"too many":        {Device: "seller-a", Event: 1042, Type: 1, Count: 1001, Price: 1, Currency: "CNY"},
			"no currency":     {Device: "seller-a", Event: 1042, Type: 1, Count: 5, Price: 1, Currency: "yuan"},
			"ended":           {Device: "seller-a", Event: 1042, Type: 1, Count: 5, Price: 1, Currency: "CNY", Until: t0.Add(-time.Minute)},
		} {
			if _, err := f.quotas.Allocate(ctx, bad); err == nil {
				t.Errorf("%s: allocated", name)
			}
		}
		// Central's online issuing stops below the seller range.
		if err := f.db.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.Next("serial:1042", int64(store.SellerSerialMin-10))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.cat.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 20}); err == nil || !strings.Contains(err.Error(), "seller quotas") {
			t.Errorf("issuing into the seller range: %v", err)
		}
	})
}

func TestRequestAndCap(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		dev, _ := f.db.DeviceByName(ctx, "seller-a")
		if _, err := f.quotas.Request(ctx, dev, 1042, 1); !errors.Is(err, quota.ErrLimit) {
			t.Errorf("a request without a limit: %v", err)
		}
		first, err := f.quotas.Allocate(ctx, quota.Allocation{Device: "seller-a", Event: 1042, Type: 1, Count: 10, Price: 12000, Currency: "CNY",
			RequestBlock: 20, RequestMax: 40})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.quotas.Request(ctx, dev, 1042, 1)
		if err != nil || got.SerialMax-got.SerialMin != 19 || !got.Asked || got.Price != 12000 {
			t.Fatalf("request: %+v, %v", got, err)
		}
		if _, err := f.quotas.Request(ctx, dev, 1042, 1); !errors.Is(err, quota.ErrLimit) {
			t.Errorf("a request beyond 40 serials: %v", err)
		}
		// Two of the first block are known sold; capping at 5 revokes 6-10 but
		// keeps them.
		err = f.db.Update(ctx, func(tx *store.Tx) error {
			for _, s := range []uint64{first.SerialMin, first.SerialMin + 7} {
				if _, err := tx.AddSellerLine(store.SellerLine{Origin: dev.KeyID, Seq: s, Device: "seller-a", Kind: 5, Receipt: 1, Event: 1042, Serial: s, Type: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		q, n, err := f.quotas.Cap(ctx, first.ID, 5, "too slow")
		if err != nil || n != 4 || q.KeptMax != first.SerialMin+4 || q.Status != store.QuotaCapped {
			t.Fatalf("cap: %+v, %d, %v", q, n, err)
		}
		revs := f.changes(t, manifest.KindRevoke)
		var r manifest.Revoke
		json.Unmarshal(revs[0].Body, &r)
		if len(revs) != 1 || len(r.Tickets) != 4 || r.Tickets[0].Serial != first.SerialMin+5 || r.Reason != "too slow" {
			t.Errorf("revoke change %+v", r)
		}
		for _, ref := range r.Tickets {
			if ref.Serial == first.SerialMin+7 {
				t.Errorf("a sold serial was revoked")
			}
		}
		if _, _, err := f.quotas.Cap(ctx, first.ID, 7, ""); err == nil {
			t.Errorf("a cap that keeps more than the last one")
		}
		q, n, err = f.quotas.Cap(ctx, first.ID, 0, "lost")
		if err != nil || n != 4 || q.Status != store.QuotaRevoked || q.KeptMax != first.SerialMin-1 {
			t.Errorf("revoke: %+v, %d, %v", q, n, err)
		}
		// What is held is now the requested block alone: another fits.
		if _, err := f.quotas.Request(ctx, dev, 1042, 1); err != nil {
			t.Errorf("a request after the revocation: %v", err)
		}
	})
}
