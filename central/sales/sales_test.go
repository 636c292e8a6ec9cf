package sales_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/central/sales"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster; with -short only SQLite runs.
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

var t0 = time.Date(2026, 6, 12, 11, 0, 0, 0, time.UTC) // 19:00 in Shanghai

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// world is central's store with one venue, two enrolled sellers and the
// organizer's keys, on SQLite and PostgreSQL.
type world struct {
	db     *store.DB
	keys   *keyfile.Keys
	cat    *catalog.Catalog
	sales  *sales.Sales
	quotas *quota.Quotas
	seller map[string]ed25519.PrivateKey
	logs   map[string][]record.Record
}

func dialects(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == store.Postgres && pg == nil {
				t.Skip("PostgreSQL runs without -short")
			}
			fn(t, newWorld(t, d))
		})
	}
}

func newWorld(t *testing.T, d store.Dialect) *world {
	t.Helper()
	ctx := context.Background()
	dsn := ""
	if d == store.Postgres {
		dsn = pg.NewDatabase(t)
	}
	cfg := store.DefaultConfig(dsn, t.TempDir())
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := keyfile.Init(filepath.Join(t.TempDir(), "keys"), keyfile.InitOptions{Now: t0.Add(-time.Hour), Venue: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	clock := fixedClock{t0}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ccfg := catalog.DefaultConfig(db, keys)
	ccfg.Clock, ccfg.Logger = clock, log
	cat := catalog.New(ccfg)
	scfg := sales.DefaultConfig(db, cat)
	scfg.Clock, scfg.Logger, scfg.Batch = clock, log, 3 // small batches: a shift spans several
	qcfg := quota.DefaultConfig(db, keys, cat)
	qcfg.Clock, qcfg.Logger = clock, log
	w := &world{db: db, keys: keys, cat: cat, sales: sales.New(scfg), quotas: quota.New(qcfg), seller: map[string]ed25519.PrivateKey{},
		logs: map[string][]record.Record{}}
	err = db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutOrganizer("org", t0); err != nil {
			return err
		}
		if err := tx.PutVenue(store.Venue{Name: "arena", Organizer: "org", TimeZone: "Asia/Shanghai", Zones: []store.Zone{{ID: 0, Name: "Floor"}}, Gates: []store.Gate{{Name: "G1", Zone: 0}}}); err != nil {
			return err
		}
		if err := tx.PutEvent(store.Event{ID: 1042, Venue: "arena", Name: "Concert", TimeZone: "Asia/Shanghai", Starts: t0, Ends: t0.Add(5 * time.Hour),
			Days: []string{"2026-06-12"}, RotationSecret: make([]byte, 32)}); err != nil {
			return err
		}
		if err := tx.PutTicketType(store.TicketType{Event: 1042, ID: 1, Name: "Standing", Zones: []int{0}}); err != nil {
			return err
		}
		for _, name := range []string{"seller-a", "seller-b"} {
			key, _ := ticket.GenerateKey(nil)
			w.seller[name] = key
			id, err := tx.AddDevice(store.Device{Name: name, Role: "seller", Venue: "arena"}, []byte(name), t0.Add(time.Hour), t0)
			if err != nil {
				return err
			}
			cred := sha256.Sum256([]byte(name + "-credential"))
			if err := tx.Enroll(id, ticket.KeyIDOf(ticket.PublicOf(key)).String(), ticket.PublicOf(key), "", cred[:], "1", "test", t0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// sign appends records to a seller's log, signed and chained.
func (w *world) sign(t *testing.T, device string, recs ...record.Record) {
	t.Helper()
	log := w.logs[device]
	for _, r := range recs {
		r.Seq = uint64(len(log) + 1)
		if len(log) > 0 {
			r.Prev = log[len(log)-1].Hash()
		}
		r.HLC = record.NewHLC(t0.Add(time.Duration(r.Seq)*time.Minute), 0)
		if err := r.Sign(w.seller[device]); err != nil {
			t.Fatal(err)
		}
		log = append(log, r)
	}
	w.logs[device] = log
}

// upload stores a seller's log as intake would, then reads the accounts.
func (w *world) upload(t *testing.T, device string) int {
	t.Helper()
	ctx := context.Background()
	var rows []store.Record
	for _, r := range w.logs[device] {
		raw := r.Marshal()
		h := record.HashOf(raw)
		var prev []byte
		if r.Seq > 1 {
			prev = r.Prev[:]
		}
		rows = append(rows, store.Record{Origin: r.Origin.String(), Seq: r.Seq, Hash: h[:], Prev: prev, Raw: raw, Kind: int(r.Kind),
			Event: r.Event, Serial: r.Serial, Type: r.Type, Gate: r.Gate, At: r.HLC.Time()})
	}
	if _, err := w.db.StoreRecords(ctx, rows, t0.Add(time.Hour), device); err != nil {
		t.Fatal(err)
	}
	n, err := w.sales.Catch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func money(receipt uint64, amount int64, method string, given int64) record.Money {
	return record.Money{Receipt: receipt, Amount: amount, Currency: "CNY", Method: method, Given: given}
}

func TestSalesBecomeAccounts(t *testing.T) {
	dialects(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		sale := func(receipt, serial uint64, method string, given int64) record.Record {
			m := money(receipt, 12000, method, given)
			if method == record.MethodCard {
				m.Ref = "T1"
			}
			return record.Record{Kind: record.KindSale, Event: 1042, Serial: serial, Type: 1, Gate: "till-a", Actor: "Li Na", Money: m}
		}
		w.sign(t, "seller-a",
			record.Record{Kind: record.KindShiftOpen, Gate: "till-a", Actor: "Li Na", Money: money(1, 20000, record.MethodCash, 0)},
			sale(1, 1_000_000_000, record.MethodCash, 30000), sale(1, 1_000_000_001, record.MethodCash, 0), // two tickets, 300.00 given
			sale(2, 1_000_000_002, record.MethodCard, 0),
			sale(3, 1_000_000_003, record.MethodCash, 12000),
			record.Record{Kind: record.KindVoid, Event: 1042, Serial: 1_000_000_003, Type: 1, Gate: "till-a", Actor: "Li Na", Reason: "mistake", Money: money(3, 12000, record.MethodCash, 0)},
			record.Record{Kind: record.KindCashOut, Gate: "till-a", Actor: "Wang", Reason: "safe drop", Money: money(1, 10000, record.MethodCash, 0)},
			record.Record{Kind: record.KindShiftClose, Gate: "till-a", Actor: "Li Na", Note: "all good", Money: money(1, 34000, record.MethodCash, 0)},
		)
		if n := w.upload(t, "seller-a"); n != 8 {
			t.Fatalf("read %d records, want 8", n)
		}
		orders, err := w.db.SellerOrders(ctx, "seller-a")
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			Receipt  uint64
			Tickets  int
			Total    int64
			Method   string
			Given    int64
			Change   int64
			Status   string
			Refunded int64
		}
		var have []got
		for _, o := range orders {
			have = append(have, got{o.Receipt, o.Tickets, o.Total, o.Method, o.Given, o.Change, o.Status, o.Refunded})
			if o.Channel != "seller" || o.Currency != "CNY" || o.Device != "seller-a" {
				t.Errorf("order %+v", o)
			}
		}
		want := []got{{1, 2, 24000, "cash", 30000, 6000, store.OrderPaid, 0}, {2, 1, 12000, "card", 0, 0, store.OrderPaid, 0},
			{3, 1, 12000, "cash", 12000, 0, store.OrderVoided, 12000}}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("orders\n got %+v\nwant %+v", have, want)
		}
		// The reports count the four tickets, the voided one refunded.
		rows, err := w.db.SalesReport(ctx, "method", store.SalesFilter{})
		if err != nil || len(rows) != 2 || rows[0] != (store.SalesRow{Key: "card", Currency: "CNY", Tickets: 1, Revenue: 12000}) ||
			rows[1] != (store.SalesRow{Key: "cash", Currency: "CNY", Tickets: 3, Revenue: 36000, Refunded: 1, Refunds: 12000}) {
			t.Errorf("sales by method: %+v, %v", rows, err)
		}
		pays, err := w.db.Payments(ctx, orders[2].ID)
		if err != nil || len(pays) != 2 || pays[0].Kind != "payment" || pays[1].Kind != "refund" || pays[1].Amount != 12000 {
			t.Errorf("payments of the voided order: %+v, %v", pays, err)
		}
		shifts, err := w.db.SellerShifts(ctx, "seller-a", "2026-06-12")
		if err != nil || len(shifts) != 1 {
			t.Fatalf("shifts: %+v, %v", shifts, err)
		}
		var rep sales.CashReport
		if err := json.Unmarshal(shifts[0].Report, &rep); err != nil {
			t.Fatal(err)
		}
		// 200 float + 360 cash sales − 120 voided − 100 dropped = 340.
		if rep.Expected != 34000 || rep.Counted != 34000 || rep.Difference != 0 || rep.ChangeGiven != 6000 || rep.CashOut != 10000 ||
			rep.Sales["cash"] != (sales.Totals{Tickets: 3, Receipts: 2, Amount: 36000}) || rep.Sales["card"] != (sales.Totals{Tickets: 1, Receipts: 1, Amount: 12000}) ||
			rep.Voids["cash"] != (sales.Totals{Tickets: 1, Receipts: 1, Amount: 12000}) || rep.Note != "all good" || rep.Day != "2026-06-12" ||
			len(rep.Moves) != 1 || rep.Moves[0].Amount != -10000 || rep.Closed.IsZero() {
			t.Errorf("cash report %+v", rep)
		}
		revs, err := w.db.Revocations(ctx)
		if err != nil || len(revs) != 1 || revs[0].Subject != "1042/1000000003" || !strings.Contains(revs[0].Reason, "voided by seller-a: mistake") {
			t.Errorf("revocations: %+v, %v", revs, err)
		}
		var revoke manifest.Revoke
		found := false
		err = w.db.Changes(ctx, "arena", 0, 0, func(c store.Change) error {
			ch, err := manifest.Parse(c.Line)
			if err == nil && ch.Kind == manifest.KindRevoke {
				found = json.Unmarshal(ch.Body, &revoke) == nil
			}
			return err
		})
		if err != nil || !found || len(revoke.Tickets) != 1 || revoke.Tickets[0].Serial != 1_000_000_003 || !revoke.At.Equal(w.logs["seller-a"][5].HLC.Time()) {
			t.Errorf("revoke change: %+v, %v", revoke, err)
		}

		// Uploaded again: nothing read, nothing changed.
		before := w.count(t)
		if n := w.upload(t, "seller-a"); n != 0 {
			t.Errorf("a second upload read %d records", n)
		}
		if after := w.count(t); after != before {
			t.Errorf("a second upload changed the accounts: %s → %s", before, after)
		}

		// Another device sells serial 1000000001 again: a conflict naming both.
		w.sign(t, "seller-b",
			record.Record{Kind: record.KindShiftOpen, Gate: "till-b", Actor: "Zhao", Money: money(1, 0, record.MethodCash, 0)},
			record.Record{Kind: record.KindSale, Event: 1042, Serial: 1_000_000_001, Type: 1, Gate: "till-b", Actor: "Zhao", Money: money(1, 12000, record.MethodCard, 0)})
		w.upload(t, "seller-b")
		cs, err := w.db.TicketConflicts(ctx, store.ConflictFilter{Kind: "double_sale"})
		if err != nil || len(cs) != 1 {
			t.Fatalf("conflicts: %+v, %v", cs, err)
		}
		c := cs[0]
		if c.Serial != 1_000_000_001 || !strings.Contains(c.Detail, "seller-a") || !strings.Contains(c.Detail, "seller-b") ||
			!strings.Contains(c.Detail, "19:02:00.000 CST") || !c.Open() || c.Venue == "" || !strings.HasPrefix(c.ID, "c") {
			t.Errorf("double sale %+v", c)
		}
		var named []reconcile.Involved
		if err := json.Unmarshal(c.Records, &named); err != nil || len(named) < 2 ||
			named[0].Record != w.logs["seller-b"][1].ID() || named[len(named)-1].Record != w.logs["seller-a"][2].ID() {
			t.Errorf("double sale names %+v, %v", named, err)
		}
		// Reconciliation's own pass over the ticket finds the same conflict
		// under the same ID: still one, open, in the one table.
		st, err := conflicts.New(conflicts.DefaultConfig(w.db, w.keys.RootPublic())).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		again, err := w.db.TicketConflicts(ctx, store.ConflictFilter{})
		if err != nil || len(again) != 1 || again[0].ID != c.ID || !again[0].Open() || st.New != 0 || st.Closed != 0 {
			t.Errorf("after a reconciliation pass (%+v): %+v, %v; want the one double sale, open", st, again, err)
		}
	})
}

func (w *world) count(t *testing.T) string {
	t.Helper()
	var out []string
	for _, table := range []string{"seller_lines", "seller_orders", "seller_payments", "seller_shifts", "tickets", "revocations", "manifest", "conflicts"} {
		var n int
		if err := w.db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(out, " ")
}

// Two central processes read the same uploads at once: every record is
// taken into the accounts once.
func TestTwoReadersReadOnce(t *testing.T) {
	dialects(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		recs := []record.Record{{Kind: record.KindShiftOpen, Gate: "till-a", Actor: "Li Na", Money: money(1, 0, record.MethodCash, 0)}}
		for i := range uint64(30) {
			recs = append(recs, record.Record{Kind: record.KindSale, Event: 1042, Serial: 1_000_000_000 + i, Type: 1, Gate: "till-a", Actor: "Li Na",
				Money: money(i+1, 12000, record.MethodCash, 12000)})
		}
		w.sign(t, "seller-a", recs...)
		var rows []store.Record
		for _, r := range w.logs["seller-a"] {
			raw := r.Marshal()
			h := record.HashOf(raw)
			var prev []byte
			if r.Seq > 1 {
				prev = r.Prev[:]
			}
			rows = append(rows, store.Record{Origin: r.Origin.String(), Seq: r.Seq, Hash: h[:], Prev: prev, Raw: raw, Kind: int(r.Kind),
				Event: r.Event, Serial: r.Serial, Type: r.Type, Gate: r.Gate, At: r.HLC.Time()})
		}
		if _, err := w.db.StoreRecords(ctx, rows, t0, "seller-a"); err != nil {
			t.Fatal(err)
		}
		second := sales.New(sales.Config{Store: w.db, Catalog: w.cat, Batch: 4, Clock: fixedClock{t0}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		read := make(chan int, 2)
		errs := make(chan error, 2)
		for _, s := range []*sales.Sales{w.sales, second} {
			go func() {
				n, err := s.Catch(ctx)
				read <- n
				errs <- err
			}()
		}
		total := <-read + <-read
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if total != 31 {
			t.Errorf("the two read %d records between them, want 31", total)
		}
		orders, err := w.db.SellerOrders(ctx, "seller-a")
		if err != nil || len(orders) != 30 {
			t.Errorf("%d orders, %v; want 30", len(orders), err)
		}
		shifts, err := w.db.SellerShifts(ctx, "seller-a", "")
		var rep sales.CashReport
		if err == nil && len(shifts) == 1 {
			err = json.Unmarshal(shifts[0].Report, &rep)
		}
		if err != nil || rep.Sales["cash"].Receipts != 30 || rep.Expected != 30*12000 {
			t.Errorf("shift report %+v, %v", rep, err)
		}
	})
}

// A sale from a quota's revoked rest (sold offline before the revocation
// reached the handheld) is filed with its order, the ticket revoked.
func TestSaleFromRevokedRest(t *testing.T) {
	dialects(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		q, err := w.quotas.Allocate(ctx, quota.Allocation{Device: "seller-a", Event: 1042, Type: 1, Count: 10, Price: 12000, Currency: "CNY"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.quotas.Cap(ctx, q.ID, 2, "slow seller"); err != nil {
			t.Fatal(err)
		}
		w.sign(t, "seller-a",
			record.Record{Kind: record.KindShiftOpen, Gate: "till-a", Actor: "Li Na", Money: money(1, 0, record.MethodCash, 0)},
			record.Record{Kind: record.KindSale, Event: 1042, Serial: q.SerialMin + 1, Type: 1, Gate: "till-a", Actor: "Li Na", Money: money(1, 12000, record.MethodCard, 0)},
			record.Record{Kind: record.KindSale, Event: 1042, Serial: q.SerialMin + 2, Type: 1, Gate: "till-a", Actor: "Li Na", Money: money(2, 12000, record.MethodCard, 0)})
		w.upload(t, "seller-a")
		for serial, want := range map[uint64]string{q.SerialMin + 1: "valid", q.SerialMin + 2: "revoked"} {
			var status string
			if err := w.db.SQL().QueryRow("SELECT status FROM tickets WHERE event = 1042 AND serial = $1", int64(serial)).Scan(&status); err != nil || status != want {
				t.Errorf("ticket %d: %q, %v; want %s", serial, status, err, want)
			}
		}
		if orders, _ := w.db.SellerOrders(ctx, "seller-a"); len(orders) != 2 {
			t.Errorf("%d orders, want both sales", len(orders))
		}
	})
}
