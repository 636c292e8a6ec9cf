package store

import (
	"context"
	"fmt"
	"time"
)

// User is a staff account of central. PasswordHash is the encoded
// argon2id hash, made by the caller; "" for an account that only holds API
// tokens and cannot log in.
type User struct {
	ID           int64
	Name         string
	Role         string
	PasswordHash string
	Created      time.Time
	Disabled     time.Time // zero while the account may log in
}

// PutUser creates a user or changes the role and password of the one of
// that name, and returns its id.
func (t *Tx) PutUser(name, role, passwordHash string, now time.Time) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO users (name, role, password_hash, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, disabled_at = 0 RETURNING id`,
		name, role, passwordHash, micros(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("user %s: %w", name, err)
	}
	return id, nil
}

func scanUser(s interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, disabled int64
	err := s.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &created, &disabled)
	u.Created, u.Disabled = fromMicros(created), fromMicros(disabled)
	return u, err
}

const userColumns = `id, name, role, password_hash, created, disabled_at`

// UserByName reads a user.
func (d *DB) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	return u, notFound(err, "user "+name)
}

// Users lists the users by name.
func (d *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// AddLoginFailure notes a failed login for name.
func (d *DB) AddLoginFailure(ctx context.Context, name string, at time.Time) error {
	if _, err := d.db.ExecContext(ctx, `INSERT INTO login_failures (name, at) VALUES ($1, $2)`, name, micros(at)); err != nil {
		return fmt.Errorf("login failure: %w", err)
	}
	return nil
}

// LoginFailures counts name's failed logins since a time, and the time of
// the latest.
func (d *DB) LoginFailures(ctx context.Context, name string, since time.Time) (int, time.Time, error) {
	var n int
	var last int64
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(at), 0) FROM login_failures WHERE name = $1 AND at >= $2`,
		name, micros(since)).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("login failures: %w", err)
	}
	return n, fromMicros(last), nil
}

// ClearLoginFailures forgets name's failed logins, after a good one.
func (t *Tx) ClearLoginFailures(name string) error {
	_, err := t.exec(`DELETE FROM login_failures WHERE name = $1`, name)
	return err
}

// Session is a logged-in staff member's session.
type Session struct {
	User    User
	CSRF    string
	Created time.Time
	Expires time.Time
}

// AddSession stores a session by the hash of its token.
func (t *Tx) AddSession(hash []byte, user int64, csrf string, now, expires time.Time) error {
	if _, err := t.exec(`INSERT INTO sessions (hash, user_id, csrf, expires, created) VALUES ($1, $2, $3, $4, $5)`,
		hash, user, csrf, micros(expires), micros(now)); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// SessionByHash finds an unexpired session of an enabled user.
func (d *DB) SessionByHash(ctx context.Context, hash []byte, now time.Time) (Session, error) {
	var s Session
	var created, expires, ucreated, udisabled int64
	err := d.db.QueryRowContext(ctx, `SELECT u.id, u.name, u.role, u.password_hash, u.created, u.disabled_at, s.csrf, s.created, s.expires
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1 AND s.expires > $2 AND u.disabled_at = 0`,
		hash, micros(now)).Scan(&s.User.ID, &s.User.Name, &s.User.Role, &s.User.PasswordHash, &ucreated, &udisabled, &s.CSRF, &created, &expires)
	if err != nil {
		return s, notFound(err, "session")
	}
	s.User.Created, s.Created, s.Expires = fromMicros(ucreated), fromMicros(created), fromMicros(expires)
	return s, nil
}

// DeleteSession ends a session, and every expired one.
func (t *Tx) DeleteSession(hash []byte, now time.Time) error {
	_, err := t.exec(`DELETE FROM sessions WHERE hash = $1 OR expires <= $2`, hash, micros(now))
	return err
}

// AuditEntry is one staff action: who did what to which target, when.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string // a dotted verb: user.add, conflict.resolve, session.login
	Target string
	Detail string
}

// Audit appends an entry to the audit log, which never changes
// afterwards (the schema refuses updates and deletes).
func (t *Tx) Audit(e AuditEntry) error {
	if _, err := t.exec(`INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)`,
		micros(e.At), e.Actor, e.Action, e.Target, e.Detail); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog lists the latest entries, newest first.
func (d *DB) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 200
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
