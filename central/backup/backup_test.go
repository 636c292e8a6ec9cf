package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package; with -short only
// SQLite runs.
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

func dialects() []store.Dialect {
	if pg == nil {
		return []store.Dialect{store.SQLite}
	}
	return []store.Dialect{store.SQLite, store.Postgres}
}

var now = time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)

// target is a central's place: its data folder with keys, and its
// database, empty until opened.
type target struct {
	data string
	cfg  store.Config
}

func newTarget(t *testing.T, d store.Dialect, keysFrom string) target {
	t.Helper()
	data := t.TempDir()
	dsn := ""
	if d == store.Postgres {
		dsn = pg.NewDatabase(t)
	}
	cfg := store.DefaultConfig(dsn, data)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	tg := target{data: data, cfg: cfg}
	if keysFrom == "" {
		if _, err := keyfile.Init(tg.keys(), keyfile.InitOptions{Now: now}); err != nil {
			t.Fatal(err)
		}
	} else {
		copyDir(t, keysFrom, tg.keys())
	}
	return tg
}

func (tg target) keys() string { return filepath.Join(tg.data, "keys") }

func (tg target) open(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), tg.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// fill puts rows in every table of the schema that has none, whatever
// the tables are: a column gets a value of its type, different in each row
// and the same in each table, so references between tables hold (foreign
// keys are off while it fills, on the one connection it uses). The rows are
// made up; what matters is that every table has some and that every column
// comes back as it went in.
func fill(t *testing.T, db *store.DB, rows int) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	off, on := `PRAGMA foreign_keys = OFF`, `PRAGMA foreign_keys = ON`
	if db.Dialect() == store.Postgres {
		off, on = `SET session_replication_role = replica`, `SET session_replication_role = DEFAULT`
	}
	if _, err := conn.ExecContext(ctx, off); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, on)
	tables, err := db.ListTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if table == "goose_db_version" {
			continue
		}
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			continue
		}
		cols := columns(t, conn, db.Dialect(), table)
		for i := 0; i < rows; i++ {
			var names, marks []string
			var args []any
			for j, c := range cols {
				names, marks = append(names, c.name), append(marks, fmt.Sprintf("$%d", j+1))
				switch {
				case checked[table+"."+c.name] != "":
					args = append(args, checked[table+"."+c.name])
				case strings.Contains(c.typ, "int") || strings.Contains(c.typ, "serial"):
					args = append(args, int64(i+1))
				case strings.Contains(c.typ, "bool"):
					args = append(args, i%2 == 0)
				case strings.Contains(c.typ, "blob") || strings.Contains(c.typ, "bytea"):
					args = append(args, []byte{byte(i), 0xff, 0})
				case strings.Contains(c.typ, "timestamp"):
					args = append(args, now.Add(time.Duration(i)*time.Second))
				default:
					args = append(args, fmt.Sprintf("v%d ✓", i)) // the same in every table, so foreign keys hold
				}
			}
			q := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, table, strings.Join(names, ", "), strings.Join(marks, ", "))
			if _, err := conn.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("fill %s: %v", table, err)
			}
		}
	}
}

// checked are the columns whose CHECK takes only some values, and one of
// them.
var checked = map[string]string{"pay_transactions.kind": "payment", "invoices.kind": "invoice", "settle_items.status": "missing_ours",
	"saved_reports.schedule": "daily", "shop_refunds.state": "done", "shop_refunds.kind": "refund"}

type column struct{ name, typ string }

func columns(t *testing.T, conn *sql.Conn, d store.Dialect, table string) []column {
	t.Helper()
	ctx := context.Background()
	var rows *sql.Rows
	var err error
	if d == store.Postgres {
		// Identity columns are left to their sequences.
		rows, err = conn.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1
			AND is_identity = 'NO' AND COALESCE(column_default, '') NOT LIKE 'nextval%'
			ORDER BY ordinal_position`, table)
	} else {
		rows, err = conn.QueryContext(ctx, `SELECT name, type FROM pragma_table_info($1) ORDER BY cid`, table)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		c.typ = strings.ToLower(c.typ)
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("table %s: no columns", table)
	}
	return out
}

// dump reads every row of every table, each as its values' text, sorted.
func dump(t *testing.T, db *store.DB) map[string][]string {
	t.Helper()
	ctx := context.Background()
	tables, err := db.ListTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.SQL().QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = fmt.Sprintf("%x", bs)
				}
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339Nano)
				}
				fmt.Fprintf(&b, "%s=%v|", cols[i], v)
			}
			lines = append(lines, b.String())
		}
		rows.Close()
		slices.Sort(lines)
		out[table] = lines
	}
	return out
}

// startCentral runs central over the target's store, with a venue, tickets,
// an enrolled gate and a staff account with an API token: real rows in the
// tables central's own paths write.
func startCentral(t *testing.T, db *store.DB, keys *keyfile.Keys) (*central.Server, *httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	cfg := central.DefaultConfig("", db, keys)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ReconcileEvery = 0
	srv := central.New(cfg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Catalog.ImportVenue(ctx, spec, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 20, Holder: "Guest"}); err != nil {
		t.Fatal(err)
	}
	setup, err := srv.Devices.Add(ctx, devices.Device{Name: "gate-1", Role: ticket.RoleGate, Venue: "arena", Gate: "G1"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ticket.GenerateKey(nil)
	if _, err := uplink.Enroll(ctx, nil, hs.URL, uplink.EnrollRequest{Token: setup.Token, Key: ticket.PublicOf(key), Version: "test", Hardware: "test"}); err != nil {
		t.Fatal(err)
	}
	// A token-only account: hashing a password would only slow the test.
	if err := db.Update(ctx, func(tx *store.Tx) error { _, err := tx.PutUser("mei", string(staff.Ops), "", now); return err }); err != nil {
		t.Fatal(err)
	}
	tok, err := central.AddAPIToken(ctx, db, ticket.SystemClock{}, "mei", "backup-test", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, hs, tok
}

// A backup of a running central, taken while it issues tickets and answers
// the API, is consistent, and one restored into a fresh central holds every
// row of every table as it was.
func TestBackupRestoreEveryTable(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			live := newTarget(t, dialect, "")
			db := live.open(t)
			keys, err := keyfile.Load(live.keys())
			if err != nil {
				t.Fatal(err)
			}
			// Made-up rows first, in every table (each row's references
			// point at made-up rows), then central's own on top.
			fill(t, db, 3)
			srv, hs, tok := startCentral(t, db, keys)
			for table, rows := range dump(t, db) {
				if len(rows) == 0 {
					t.Fatalf("table %s is empty before the backup", table)
				}
			}
			for _, table := range store.Tables {
				if _, ok := dump(t, db)[table]; !ok {
					t.Errorf("store.Tables names %s, which the schema lacks", table)
				}
			}

			// Central goes on issuing (each issue numbers serials, stores the
			// tickets and signs their manifest change in one transaction) and
			// answering the API while the backup runs: any copy holds as many
			// tickets as its serial counter says.
			stop := make(chan struct{})
			var writes atomic.Int64
			done := make(chan error, 2)
			go func() {
				for {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					if _, err := srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 3}); err != nil {
						done <- err
						return
					}
					writes.Add(1)
				}
			}()
			go func() {
				for {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, hs.URL+"/metrics", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						done <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						done <- fmt.Errorf("GET /metrics during the backup: %d", resp.StatusCode) // the token looked up in the store
						return
					}
				}
			}()
			for writes.Load() < 3 {
				select {
				case err := <-done:
					t.Fatalf("writer: %v", err)
				case <-time.After(time.Millisecond):
				}
			}
			busy := filepath.Join(t.TempDir(), "busy.tgbackup")
			mBusy, err := Make(ctx, db, keys, busy, now)
			if err != nil {
				t.Fatal(err)
			}
			close(stop)
			for i := 0; i < 2; i++ {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%d issues while the backup ran; the copy holds %d tickets", writes.Load(), mBusy.Snapshot.Rows["tickets"])

			quiet := filepath.Join(t.TempDir(), "quiet.tgbackup")
			m, err := Make(ctx, db, keys, quiet, now)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(quiet); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("backup file %v, %v: want mode 0600", fi, err)
			}
			if m.Snapshot.Dialect != dialect || m.Snapshot.Schema == 0 || len(m.Snapshot.Rows) < len(store.Tables) {
				t.Errorf("manifest %+v", m.Snapshot)
			}
			if _, err := Make(ctx, db, keys, quiet, now); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Errorf("backup over an existing file: %v", err)
			}

			fresh := newTarget(t, dialect, live.keys())
			r, err := Restore(ctx, fresh.cfg, fresh.keys(), quiet, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.Snapshot.Total() != m.Snapshot.Total() || r.Root != keys.IssuerCert.Root {
				t.Errorf("restored %+v", r)
			}
			want, got := dump(t, db), dump(t, fresh.open(t))
			for table, rows := range want {
				if !slices.Equal(got[table], rows) {
					t.Errorf("table %s differs after restore:\n got %q\nwant %q", table, got[table], rows)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d tables restored, want %d", len(got), len(want))
			}

			// The copy taken under writes holds whole transactions only.
			other := newTarget(t, dialect, live.keys())
			if _, err := Restore(ctx, other.cfg, other.keys(), busy, false); err != nil {
				t.Fatal(err)
			}
			odb := other.open(t)
			var counter, issued, batches int64
			odb.SQL().QueryRow(`SELECT value FROM counters WHERE name = 'serial:1042'`).Scan(&counter)
			odb.SQL().QueryRow(`SELECT COUNT(*) FROM tickets WHERE event = 1042 AND serial < $1`, int64(store.SellerSerialMin)).Scan(&issued)
			odb.SQL().QueryRow(`SELECT COUNT(*) FROM manifest WHERE kind = 'tickets'`).Scan(&batches)
			if counter < 20 || counter != issued || batches != 1+(counter-20)/3 {
				t.Errorf("copy under writes: serial counter %d, %d online tickets, %d ticket changes: want as many tickets as numbered, one change per issue", counter, issued, batches)
			}

			// A target that holds a database is refused, unless forced.
			if _, err := Restore(ctx, fresh.cfg, fresh.keys(), busy, false); !errors.Is(err, store.ErrNotEmpty) {
				t.Errorf("restore over a database: %v, want ErrNotEmpty", err)
			}
			if _, err := Restore(ctx, fresh.cfg, fresh.keys(), busy, true); err != nil {
				t.Errorf("forced restore: %v", err)
			}
		})
	}
}

// A backup that is cut short, damaged, foreign, or of other keys is
// refused with a clear error, and the target is left as it was.
func TestRestoreRefusesBadBackups(t *testing.T) {
	ctx := context.Background()
	live := newTarget(t, store.SQLite, "")
	db := live.open(t)
	fill(t, db, 2)
	keys, err := keyfile.Load(live.keys())
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.tgbackup")
	if _, err := Make(ctx, db, keys, good, now); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := slices.Clone(whole)
	flipped[len(flipped)/2] ^= 0x40
	tests := []struct {
		name, file, keys, want string
	}{
		{"half written", write("half", whole[:len(whole)/2]), "", "cut short"},
		{"last bytes missing", write("tail", whole[:len(whole)-4]), "", "cut short"},
		{"a byte changed", write("flip", flipped), "", "damaged backup"},
		{"empty", write("empty", nil), "", "empty"},
		{"not a backup", write("junk", []byte("SQLite format 3\x00 hello")), "", "not a tixgate central backup"},
		{"missing", filepath.Join(t.TempDir(), "nothing"), "", "no such file"},
		{"other keys", good, "other", "root key"},
		{"no keys", good, "none", "keys this central runs with must be in place"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t, store.SQLite, live.keys())
			switch tt.keys {
			case "other":
				os.RemoveAll(tg.keys())
				if _, err := keyfile.Init(tg.keys(), keyfile.InitOptions{Now: now}); err != nil {
					t.Fatal(err)
				}
			case "none":
				os.RemoveAll(tg.keys())
			}
			_, err := Restore(ctx, tg.cfg, tg.keys(), tt.file, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("restore: %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(tg.data, store.DefaultFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused restore left a database behind: %v", err)
			}
			es, _ := os.ReadDir(tg.data)
			for _, e := range es {
				if e.Name() != "keys" {
					t.Errorf("a refused restore left %s behind", e.Name())
				}
			}
		})
	}
}
