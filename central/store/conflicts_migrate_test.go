package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// Migration 00006 makes one conflicts table: reconciliation's conflicts
// keep their IDs and resolutions, the sellers' old double sales move in
// with the records they named, and an old row of a ticket whose conflict
// reconciliation found already is not moved twice.
func TestMigrationMergesConflicts(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t, dialect)
			driver, dsn, gd := "sqlite", "file:"+filepath.Join(cfg.DataDir, DefaultFile), goose.DialectSQLite3
			if dialect == Postgres {
				driver, dsn, gd = "pgx", cfg.DSN, goose.DialectPostgres
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			sub, _ := fs.Sub(migrations, "migrations/"+string(dialect))
			p, err := goose.NewProvider(gd, raw, sub)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 5); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO venues (name, organizer, time_zone) VALUES ('Hall', 'Org', 'UTC')`,
				`INSERT INTO events (id, venue, name, starts, ends) VALUES (1042, 'Hall', 'Concert', 1, 2)`,
				`INSERT INTO ticket_conflicts (id, venue, kind, reason, event, serial, detail, records, found_at, updated_at)
					VALUES ('c00000000000000000000000000000abc', 'Hall', 'double_entry', 'already_used', 1042, 7, 'two gates', '[]', 10, 11)`,
				`INSERT INTO conflict_resolutions (conflict, action, by_user, at, note) VALUES ('c00000000000000000000000000000abc', 'confirm', 'mei', 12, '')`,
				`INSERT INTO conflicts (kind, event, serial, reason, detail, first_record, second_record, found_at, resolution, resolved_by, resolved_at, note)
					VALUES ('double_sale', 1042, 1000000001, '', 'sold by a and b', '6735ff0c/2', 'a9da85b5/1', 20, 'flag', 'li', 21, 'cloned?')`,
				`INSERT INTO conflicts (kind, event, serial, reason, detail, first_record, second_record, found_at)
					VALUES ('double_entry', 1042, 7, '', 'found twice', 'x/1', 'y/1', 30)`,
			} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			raw.Close()

			d, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := d.TicketConflicts(ctx, ConflictFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 2 {
				t.Fatalf("%d conflicts after the merge, want 2: %+v", len(cs), cs)
			}
			byKind := map[string]Conflict{}
			for _, c := range cs {
				byKind[c.Kind] = c
			}
			sale := byKind["double_sale"]
			if sale.ID != "c00000000000000000000000000000001" || sale.Venue != "Hall" || sale.Serial != 1000000001 ||
				sale.Resolution != "flag" || sale.ResolvedBy != "li" || sale.Note != "cloned?" || sale.Found.UnixMicro() != 20 {
				t.Errorf("moved double sale %+v", sale)
			}
			var named []struct {
				Record, Origin, Device, Kind string
				Seq                          uint64
			}
			if err := json.Unmarshal(sale.Records, &named); err != nil || len(named) != 2 ||
				named[0].Record != "6735ff0c/2" || named[0].Origin != "6735ff0c" || named[0].Seq != 2 || named[0].Kind != "sale" || named[0].Device != "6735ff0c" ||
				named[1].Record != "a9da85b5/1" || named[1].Seq != 1 {
				t.Errorf("records of the moved conflict %s: %v", sale.Records, err)
			}
			if e := byKind["double_entry"]; e.ID != "c00000000000000000000000000000abc" || e.Detail != "two gates" {
				t.Errorf("reconciliation's conflict %+v", e)
			}
			rs, err := d.Resolutions(ctx, "c00000000000000000000000000000abc")
			if err != nil || len(rs) != 1 {
				t.Errorf("resolutions %+v, %v", rs, err)
			}
			// Resolving a moved conflict goes through the one table.
			err = d.Update(ctx, func(tx *Tx) error {
				return tx.Resolve(Resolution{Conflict: sale.ID, Action: "refund", By: "mei", Note: "refunded b"})
			})
			if err != nil {
				t.Fatal(err)
			}
			var old int
			if err := d.SQL().QueryRow(`SELECT COUNT(*) FROM conflict_resolutions WHERE conflict = $1`, sale.ID).Scan(&old); err != nil || old != 1 {
				t.Errorf("resolutions of the moved conflict: %d, %v", old, err)
			}
			for _, gone := range []string{"ticket_conflicts", "conflicts_before_00006"} {
				if _, err := d.SQL().Exec(`SELECT 1 FROM ` + gone); err == nil {
					t.Errorf("table %s is still there", gone)
				}
			}

			// Down and up again: the merged rows stay with reconciliation's
			// table, the old one comes back empty, and the merge runs anew.
			d.Close()
			raw, err = sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if p, err = goose.NewProvider(gd, raw, sub); err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 5); err != nil { // undo 00006, and whatever came after it
				t.Fatalf("down: %v", err)
			}
			var kept, emptied int
			if err := raw.QueryRow(`SELECT COUNT(*) FROM ticket_conflicts`).Scan(&kept); err != nil || kept != 2 {
				t.Errorf("after down: %d rows in ticket_conflicts, %v; want 2", kept, err)
			}
			if err := raw.QueryRow(`SELECT COUNT(*) FROM conflicts`).Scan(&emptied); err != nil || emptied != 0 {
				t.Errorf("after down: the old conflicts table holds %d, %v; want it empty", emptied, err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
			if err := raw.QueryRow(`SELECT COUNT(*) FROM conflicts`).Scan(&kept); err != nil || kept != 2 {
				t.Errorf("up again: %d conflicts, %v; want 2", kept, err)
			}
		})
	}
}
