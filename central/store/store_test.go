package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tixgate/tixgate/central/store/storetest"
)

var pg *storetest.Cluster

// TestMain starts one PostgreSQL cluster for the package; every test gets
// its own database. With -short only SQLite runs.
func TestMain(m *testing.M) { storetest.Main(m, &pg) }

// dialects are the databases the suite runs on: SQLite always, PostgreSQL
// unless -short.
func dialects() []Dialect {
	if pg == nil {
		return []Dialect{SQLite}
	}
	return []Dialect{SQLite, Postgres}
}

// testConfig is a fresh, empty database of the dialect.
func testConfig(t *testing.T, d Dialect) Config {
	t.Helper()
	dsn := ""
	if d == Postgres {
		dsn = pg.NewDatabase(t)
	}
	cfg := DefaultConfig(dsn, t.TempDir())
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

func openTest(t *testing.T, dialect Dialect) *DB {
	t.Helper()
	d, err := Open(context.Background(), testConfig(t, dialect))
	if err != nil {
		t.Fatal(err)
	}
	if d.Dialect() != dialect {
		t.Fatalf("dialect %s, want %s", d.Dialect(), dialect)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenMigratesEveryTable(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			for _, table := range Tables {
				var n int
				if err := d.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}
			if dialect != SQLite {
				return
			}
			var mode string
			if err := d.SQL().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal mode %q, %v: want wal", mode, err)
			}
			for _, f := range []string{d.DSN(), d.DSN() + "-wal"} {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v, want mode 0600", filepath.Base(f), fi, err)
				}
			}
		})
	}
}

func TestReopenKeepsSchema(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			cfg := testConfig(t, dialect)
			for i := 0; i < 2; i++ {
				d, err := Open(context.Background(), cfg)
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
				if dialect == SQLite && d.DSN() != filepath.Join(cfg.DataDir, DefaultFile) {
					t.Errorf("dsn %s", d.DSN())
				}
				if i == 0 {
					if _, err := d.SQL().Exec("INSERT INTO counters (name, value) VALUES ('kept', 7)"); err != nil {
						t.Fatal(err)
					}
				} else {
					var v int64
					if err := d.SQL().QueryRow("SELECT value FROM counters WHERE name = 'kept'").Scan(&v); err != nil || v != 7 {
						t.Errorf("after reopen: %d, %v; want 7", v, err)
					}
				}
				d.Close()
			}
		})
	}
}

func TestCounterNumbersInOrder(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			for want := int64(1); want <= 3; want++ {
				var got int64
				err := d.Tx(ctx, func(tx *sql.Tx) error {
					var err error
					got, err = next(ctx, tx, "manifest", 1)
					return err
				})
				if err != nil || got != want {
					t.Fatalf("next = %d, %v; want %d", got, err, want)
				}
			}
			// A failed transaction does not consume a number.
			boom := errors.New("boom")
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := next(ctx, tx, "manifest", 1); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("tx error %v", err)
			}
			var v int64
			if err := d.SQL().QueryRow("SELECT value FROM counters WHERE name = 'manifest'").Scan(&v); err != nil || v != 3 {
				t.Fatalf("counter after rollback = %d, %v; want 3", v, err)
			}
		})
	}
}

func TestDSN(t *testing.T) {
	tests := []struct {
		dsn, data, want string
		bad             bool
	}{
		{"", "d", filepath.Join("d", DefaultFile), false},
		{"sqlite", "d", filepath.Join("d", DefaultFile), false},
		{"sqlite:x/y.db", "", "x/y.db", false},
		{"z.db", "", "z.db", false},
		{"", "", "", true},
		{"mysql://x", "d", "", true},
	}
	for _, tt := range tests {
		got, err := sqlitePath(tt.dsn, tt.data)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("sqlitePath(%q, %q) = %q, %v", tt.dsn, tt.data, got, err)
		}
	}
	if r := redact("postgres://u:secret@h/db"); r != "postgres://u:xxxxx@h/db" {
		t.Errorf("redact = %s", r)
	}
}

// Writers numbering at once each get a different number, with no gap: the
// counter row serializes them and busy or conflicting transactions retry.
func TestCounterConcurrentWriters(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			d := openTest(t, dialect)
			ctx := context.Background()
			const writers, each = 8, 10
			got := make(chan int64, writers*each)
			errs := make(chan error, writers)
			for w := 0; w < writers; w++ {
				go func() {
					for i := 0; i < each; i++ {
						var v int64
						err := d.Tx(ctx, func(tx *sql.Tx) error {
							var err error
							v, err = next(ctx, tx, "tickets", 1)
							return err
						})
						if err != nil {
							errs <- err
							return
						}
						got <- v
					}
					errs <- nil
				}()
			}
			for w := 0; w < writers; w++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			close(got)
			seen := map[int64]bool{}
			for v := range got {
				if seen[v] || v < 1 || v > writers*each {
					t.Errorf("number %d handed out twice or out of range", v)
				}
				seen[v] = true
			}
			if len(seen) != writers*each {
				t.Errorf("%d numbers, want %d", len(seen), writers*each)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("commit: %w", &pgconn.PgError{Code: "40001"}), true},
		{&pgconn.PgError{Code: "40P01"}, true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation: retrying cannot help
		{errors.New("SQLSTATE 40001 in a message only"), false},
		{sql.ErrNoRows, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
