package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	cfg := DefaultConfig("", t.TempDir())
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenMigratesEveryTable(t *testing.T) {
	d := openTest(t)
	for _, table := range Tables {
		var n int
		if err := d.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	var mode string
	if err := d.SQL().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v: want wal", mode, err)
	}
}

func TestReopenKeepsSchema(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig("", dir)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < 2; i++ {
		d, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if d.DSN() != filepath.Join(dir, DefaultFile) {
			t.Errorf("dsn %s", d.DSN())
		}
		d.Close()
	}
}

func TestCounterNumbersInOrder(t *testing.T) {
	d := openTest(t)
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
