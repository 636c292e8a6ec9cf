package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Snapshot says what a consistent copy of the database holds, read inside
// the copy's own snapshot: the schema's version and the rows of each table.
type Snapshot struct {
	Dialect Dialect          `json:"dialect"`
	Schema  int64            `json:"schema"` // goose version
	Rows    map[string]int64 `json:"rows"`   // every table of the schema, goose's included
}

// Total is the number of rows in every table.
func (s Snapshot) Total() int64 {
	var n int64
	for _, r := range s.Rows {
		n += r
	}
	return n
}

// SnapshotFile is the copy's file name inside a backup, by dialect.
func SnapshotFile(d Dialect) string {
	if d == Postgres {
		return "central.pgdump"
	}
	return DefaultFile
}

// Backup writes a consistent copy of the database to path, which must not
// exist, while other processes go on reading and writing it. SQLite's
// VACUUM INTO copies inside one read transaction; PostgreSQL's copy is
// pg_dump's custom format taken in a snapshot exported from a repeatable
// read transaction, in which the rows are counted too, so the counts are
// those of the copy.
func (d *DB) Backup(ctx context.Context, path string) (Snapshot, error) {
	if _, err := os.Lstat(path); err == nil {
		return Snapshot{}, fmt.Errorf("backup: %s exists", path)
	}
	if d.dialect == Postgres {
		return d.backupPostgres(ctx, path)
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		os.Remove(path)
		return Snapshot{}, fmt.Errorf("backup: vacuum into %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return Snapshot{}, fmt.Errorf("backup: %w", err)
	}
	snap, err := inspectSQLite(ctx, path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("backup: read the copy: %w", err)
	}
	return snap, nil
}

func (d *DB) backupPostgres(ctx context.Context, path string) (Snapshot, error) {
	tool, err := pgTool("pg_dump")
	if err != nil {
		return Snapshot{}, err
	}
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return Snapshot{}, fmt.Errorf("backup: %w", err)
	}
	defer tx.Rollback()
	var id string
	if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&id); err != nil {
		return Snapshot{}, fmt.Errorf("backup: export a snapshot: %w", err)
	}
	snap, err := inspect(ctx, tx, Postgres)
	if err != nil {
		return Snapshot{}, fmt.Errorf("backup: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Snapshot{}, fmt.Errorf("backup: %w", err)
	}
	f.Close()
	if err := runPGTool(ctx, tool, d.dsn, "--format=custom", "--no-owner", "--no-privileges", "--snapshot="+id, "--file="+path); err != nil {
		os.Remove(path)
		return Snapshot{}, fmt.Errorf("backup: %w", err)
	}
	return snap, tx.Commit()
}

// querier is a *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ListTables lists the tables of the database's schema, in name order.
func (d *DB) ListTables(ctx context.Context) ([]string, error) {
	return listTables(ctx, d.db, d.dialect)
}

func listTables(ctx context.Context, q querier, dialect Dialect) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if dialect == Postgres {
		query = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// inspect reads a snapshot's schema version and row counts through q.
func inspect(ctx context.Context, q querier, dialect Dialect) (Snapshot, error) {
	s := Snapshot{Dialect: dialect, Rows: map[string]int64{}}
	tables, err := listTables(ctx, q, dialect)
	if err != nil {
		return s, err
	}
	for _, t := range tables {
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return s, fmt.Errorf("count %s: %w", t, err)
		}
		s.Rows[t] = n
	}
	if _, ok := s.Rows["goose_db_version"]; !ok {
		return s, errors.New("no goose_db_version table: not a tixgate central database")
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&s.Schema); err != nil {
		return s, fmt.Errorf("schema version: %w", err)
	}
	return s, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// inspectSQLite checks a SQLite file's integrity and reads its snapshot.
func inspectSQLite(ctx context.Context, path string) (Snapshot, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return Snapshot{}, err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return Snapshot{}, fmt.Errorf("not a readable SQLite database: %w", err)
	}
	if check != "ok" {
		return Snapshot{}, fmt.Errorf("SQLite integrity check: %s", check)
	}
	return inspect(ctx, db, SQLite)
}

// SchemaVersion is the newest migration this binary carries: a backup of a
// newer schema cannot be restored by it.
func SchemaVersion() (int64, error) {
	entries, err := migrations.ReadDir("migrations/" + string(SQLite))
	if err != nil {
		return 0, err
	}
	var v int64
	for _, e := range entries {
		n, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err == nil && n > v {
			v = n
		}
	}
	return v, nil
}

// ErrNotEmpty is returned by Restore when the target database holds
// tables already and force is not set.
var ErrNotEmpty = errors.New("the target database is not empty")

// Same reports how o differs from s: schema version or any table's rows.
func (s Snapshot) Same(o Snapshot) error {
	if s.Dialect != o.Dialect || s.Schema != o.Schema {
		return fmt.Errorf("%s schema %d, want %s schema %d", o.Dialect, o.Schema, s.Dialect, s.Schema)
	}
	var diff []string
	for t, n := range s.Rows {
		if m, ok := o.Rows[t]; !ok {
			diff = append(diff, fmt.Sprintf("table %s missing", t))
		} else if m != n {
			diff = append(diff, fmt.Sprintf("table %s has %d rows, want %d", t, m, n))
		}
	}
	for t := range o.Rows {
		if _, ok := s.Rows[t]; !ok {
			diff = append(diff, fmt.Sprintf("table %s not expected", t))
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		return errors.New(strings.Join(diff, "; "))
	}
	return nil
}

// Restore loads a copy made by Backup into the database cfg names, and
// returns what the restored database holds, read before any migration runs
// on it; it must be want (what the backup said it holds), or nothing is
// restored. Opening the store afterwards brings the schema up to date.
// Restore refuses a target that holds tables unless force is set, which
// replaces them (stop central first). The copy is checked before the
// target is touched: a SQLite copy must pass its integrity check and hold
// want, and is copied beside the database and renamed over it; pg_restore
// runs in one transaction, so a copy that fails half-way leaves the target
// as it was.
func Restore(ctx context.Context, cfg Config, file string, want Snapshot, force bool) (Snapshot, error) {
	dialect := want.Dialect
	target := Postgres
	if !isPostgres(cfg.DSN) {
		target = SQLite
	}
	if target != dialect {
		return Snapshot{}, fmt.Errorf("restore: the backup is of a %s database and --db names a %s one: restore it into %s", dialect, target, dialect)
	}
	if dialect == Postgres {
		snap, err := restorePostgres(ctx, cfg, file, force)
		if err == nil {
			if err = want.Same(snap); err != nil {
				err = fmt.Errorf("restore: the restored database does not hold what the backup says: %w (drop it and restore again)", err)
			}
		}
		return snap, err
	}
	path, err := sqlitePath(cfg.DSN, cfg.DataDir)
	if err != nil {
		return Snapshot{}, err
	}
	snap, err := inspectSQLite(ctx, file)
	if err != nil {
		return Snapshot{}, fmt.Errorf("restore: the backup's database: %w", err)
	}
	if err := want.Same(snap); err != nil {
		return Snapshot{}, fmt.Errorf("restore: the backup's database does not hold what the backup says: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		held, err := hasTables(ctx, "file:"+path+"?mode=ro", "sqlite", SQLite)
		if err != nil {
			return Snapshot{}, fmt.Errorf("restore: %s: %w", path, err)
		}
		if held && !force {
			return Snapshot{}, fmt.Errorf("restore: %s: %w (restore into a fresh --data or --db, or replace it with --force after stopping central)", path, ErrNotEmpty)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Snapshot{}, fmt.Errorf("restore: %w", err)
	}
	for _, ext := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Snapshot{}, fmt.Errorf("restore: %w", err)
		}
	}
	if err := copyInto(file, path); err != nil {
		return Snapshot{}, fmt.Errorf("restore: %w", err)
	}
	return snap, nil
}

// copyInto copies src over dst through a synced temporary file beside dst.
func copyInto(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".restore*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	if err := out.Chmod(0o600); err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(out.Name(), dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func hasTables(ctx context.Context, dsn, driver string, dialect Dialect) (bool, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	ts, err := listTables(ctx, db, dialect)
	return len(ts) > 0, err
}

func restorePostgres(ctx context.Context, cfg Config, file string, force bool) (Snapshot, error) {
	tool, err := pgTool("pg_restore")
	if err != nil {
		return Snapshot{}, err
	}
	held, err := hasTables(ctx, cfg.DSN, "pgx", Postgres)
	if err != nil {
		return Snapshot{}, fmt.Errorf("restore: %s: %w", redact(cfg.DSN), err)
	}
	if held && !force {
		return Snapshot{}, fmt.Errorf("restore: %s: %w (restore into a new database, or replace it with --force after stopping central)", redact(cfg.DSN), ErrNotEmpty)
	}
	args := []string{"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"}
	if held {
		args = append(args, "--clean", "--if-exists")
	}
	if err := runPGTool(ctx, tool, cfg.DSN, append(args, file)...); err != nil {
		return Snapshot{}, fmt.Errorf("restore: %w", err)
	}
	db, err := sql.Open("pgx", cfg.DSN)
	if err != nil {
		return Snapshot{}, err
	}
	defer db.Close()
	snap, err := inspect(ctx, db, Postgres)
	if err != nil {
		return Snapshot{}, fmt.Errorf("restore: read the restored database: %w", err)
	}
	return snap, nil
}

// pgTool finds a PostgreSQL client program: in the newest Debian install
// (/usr/lib/postgresql/N/bin, whose pg_dump is at least as new as the
// servers beside it), else on PATH.
func pgTool(name string) (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: install PostgreSQL's client programs (Debian: postgresql-client)", name)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// runPGTool runs pg_dump or pg_restore against dsn. The password goes
// through the environment, never the command line others can read.
func runPGTool(ctx context.Context, tool, dsn string, args ...string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("%s: database URL: %w", filepath.Base(tool), err)
	}
	env := os.Environ()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	// Keep only what libpq understands of a pgx URL.
	q := url.Values{}
	for k, v := range u.Query() {
		switch k {
		case "sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "options", "target_session_attrs":
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	cmd := exec.CommandContext(ctx, tool, append([]string{"--dbname=" + u.String()}, args...)...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + " …"
		}
		return fmt.Errorf("%s: %w: %s", filepath.Base(tool), err, msg)
	}
	return nil
}

// syncDir fsyncs a directory, so a rename in it is on disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Redact hides a database URL's password, for messages.
func Redact(dsn string) string { return redact(dsn) }
