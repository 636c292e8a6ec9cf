package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Dialect is the SQL database behind a store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultFile is the SQLite database's name under the data folder.
const DefaultFile = "central.db"

// Config says which database to open.
type Config struct {
	// DSN is "" or "sqlite" for DefaultFile under DataDir, "sqlite:PATH" or
	// a path ending in .db for another SQLite file, or a postgres:// URL.
	DSN     string
	DataDir string
	// BusyTimeout is how long a SQLite writer waits for another before it
	// fails: long enough to ride out a backup or a burst of uploads.
	BusyTimeout time.Duration
	// MaxConns bounds the open connections to PostgreSQL; each central
	// process holds at most this many (max_connections is shared by them).
	MaxConns int
	// KeepSchema opens the database as it is, without migrating it: for a
	// backup, which must not change the schema under a running central
	// (a newer tixgate backing up an older central's database).
	KeepSchema bool
	Logger     *slog.Logger
}

// DefaultConfig opens the SQLite file under dataDir, or the database dsn names.
func DefaultConfig(dsn, dataDir string) Config {
	return Config{DSN: dsn, DataDir: dataDir, BusyTimeout: 10 * time.Second, MaxConns: 16, Logger: slog.Default()}
}

// DB is an open, migrated store.
type DB struct {
	db      *sql.DB
	dialect Dialect
	dsn     string // the SQLite file or the PostgreSQL URL
	log     *slog.Logger
}

// Open opens the database and brings its schema up to date. Several
// processes may open one PostgreSQL database at once: migrations run under
// an advisory lock.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BusyTimeout == 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	d := &DB{log: cfg.Logger}
	var err error
	switch {
	case strings.HasPrefix(cfg.DSN, "postgres://") || strings.HasPrefix(cfg.DSN, "postgresql://"):
		d.dialect, d.dsn = Postgres, cfg.DSN
		if d.db, err = sql.Open("pgx", cfg.DSN); err != nil {
			return nil, fmt.Errorf("open %s: %w", redact(cfg.DSN), err)
		}
		if cfg.MaxConns > 0 {
			d.db.SetMaxOpenConns(cfg.MaxConns)
			d.db.SetMaxIdleConns(cfg.MaxConns)
		}
	default:
		path, err := sqlitePath(cfg.DSN, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// The database holds tokens' hashes and buyers' data: made 0600,
		// and SQLite gives its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		f.Close()
		d.dialect, d.dsn = SQLite, path
		// Immediate transactions take the write lock at BEGIN, so two
		// writers queue on the busy timeout instead of deadlocking on an
		// upgrade; WAL lets readers run beside the writer.
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(ON)")
		q.Set("_txlock", "immediate")
		if d.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode()); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// One writer at a time is all SQLite does; a small pool serves readers.
		d.db.SetMaxOpenConns(4)
	}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("open %s database %s: %w", d.dialect, redact(d.dsn), err)
	}
	if cfg.KeepSchema {
		return d, nil
	}
	if err := d.migrate(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

func sqlitePath(dsn, dataDir string) (string, error) {
	switch {
	case dsn == "" || dsn == "sqlite":
		if dataDir == "" {
			return "", errors.New("open store: no --db and no --data folder to keep the SQLite file in")
		}
		return filepath.Join(dataDir, DefaultFile), nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"), nil
	case strings.HasSuffix(dsn, ".db") || strings.HasSuffix(dsn, ".sqlite"):
		return dsn, nil
	}
	return "", fmt.Errorf("open store: --db %q: want a postgres:// URL, sqlite:PATH or a .db file", redact(dsn))
}

// redact hides a URL's password.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func (d *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(d.dialect))
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if d.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, d.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s schema: %w", d.dialect, err)
	}
	// One line for a start that changed the schema, the steps at debug.
	var took time.Duration
	for _, r := range res {
		took += r.Duration
		d.log.Debug("schema migration applied", "version", r.Source.Version, "took", r.Duration)
	}
	if len(res) > 0 {
		d.log.Info("schema migrated", "version", res[len(res)-1].Source.Version, "migrations", len(res), "took", took)
	}
	return nil
}

// Dialect is the database behind the store.
func (d *DB) Dialect() Dialect { return d.dialect }

// DSN is the SQLite file or the PostgreSQL URL.
func (d *DB) DSN() string { return d.dsn }

// SQL is the handle, for the backup and for tests that compare tables.
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Tx runs fn in a transaction, committing when it returns nil. On
// PostgreSQL a serialization failure or deadlock is retried: fn must only
// touch the database, never memory it shares.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			// SQLite takes its write lock at BEGIN: a writer queue longer
			// than the busy timeout fails here, and waiting again cures it.
			if attempt < 5 && retryable(err) {
				time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("begin: %w", err)
		}
		err = fn(tx)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		if err != nil && attempt < 5 && retryable(err) {
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			continue
		}
		return err
	}
}

// retryable reports a failure that running the transaction again can cure:
// a PostgreSQL serialization failure (40001) or deadlock (40P01), or SQLite
// busy past its timeout.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Tables lists the schema's tables, for backups and their checks.
var Tables = []string{"counters", "organizers", "venues", "zones", "gates", "events", "ticket_types", "tickets", "revocations",
	"manifest", "manifest_subjects", "devices", "setup_tokens", "records", "acks", "refusals", "conflicts", "conflict_resolutions", "reconciled", "users", "sessions",
	"api_tokens", "login_failures", "audit", "seller_quotas", "seller_limits", "seller_lines", "seller_orders", "seller_payments",
	"seller_shifts",
	"shop_pools", "shop_offers", "shop_promotions", "shop_accounts", "shop_tokens", "shop_orders", "shop_order_items", "shop_holds", "shop_order_tickets",
	"shop_consents", "shop_secrets", "shop_captcha_spent", "shop_blocked", "shop_waitlist", "shop_rooms", "shop_queue", "shop_allocations",
	"shop_sms_codes", "shop_sms_sent", "sales_facts", "funnel_steps", "help_articles",
	"support_conversations", "support_messages"}

// micros and fromMicros store times as microseconds since the epoch; the
// zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// next increments a named counter inside tx and returns its new value: the
// row lock serializes every process that numbers the same thing.
func next(ctx context.Context, tx *sql.Tx, name string, by int64) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `INSERT INTO counters (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value`, name, by).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	return v, nil
}

// uniqueViolation reports a write refused by a unique key: PostgreSQL's
// 23505, SQLite's constraint failures on a unique or primary key.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}
