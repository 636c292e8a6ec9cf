package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// A backup opens the database as it is: an older central's schema stays
// as it was, and the copy says which it is.
func TestBackupKeepsTheSchema(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, SQLite)
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(migrations, "migrations/sqlite")
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	cfg.KeepSchema = true
	d, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	snap, err := d.Backup(ctx, filepath.Join(t.TempDir(), "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	d.SQL().QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&v)
	if snap.Schema != 4 || v != 4 {
		t.Errorf("copy of schema %d, database at %d; want both 4", snap.Schema, v)
	}
	if _, ok := snap.Rows["ticket_conflicts"]; !ok {
		t.Errorf("the copy's tables %v lack the schema 4 ones", snap.Rows)
	}
	newest, err := SchemaVersion()
	if err != nil || newest < 6 {
		t.Errorf("SchemaVersion = %d, %v", newest, err)
	}
}
