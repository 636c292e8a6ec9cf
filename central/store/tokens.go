package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// APIToken is an ops API token: whose it is and what it may do.
type APIToken struct {
	User   string
	Role   string
	Name   string
	Scopes []string
}

// AddAPIToken stores an API token's hash for a user, creating the user
// (without a password: it cannot log in to the pages) when new.
func (t *Tx) AddAPIToken(user, role, name string, scopes []string, hash []byte, now time.Time) error {
	if _, err := t.exec(`INSERT INTO users (name, role, password_hash, created) VALUES ($1, $2, '', $3) ON CONFLICT (name) DO NOTHING`,
		user, role, micros(now)); err != nil {
		return fmt.Errorf("api token for %s: %w", user, err)
	}
	var id int64
	if err := t.queryRow(`SELECT id FROM users WHERE name = $1`, user).Scan(&id); err != nil {
		return fmt.Errorf("api token for %s: %w", user, err)
	}
	if _, err := t.exec(`INSERT INTO api_tokens (hash, user_id, name, scopes, created) VALUES ($1, $2, $3, $4, $5)`,
		hash, id, name, strings.Join(scopes, " "), micros(now)); err != nil {
		return fmt.Errorf("api token for %s: %w", user, err)
	}
	return nil
}

// AddUserAPIToken stores an API token's hash for the user of that name,
// which must exist (ErrNotFound) and not be disabled.
func (t *Tx) AddUserAPIToken(user, name string, scopes []string, hash []byte, now time.Time) error {
	var id, disabled int64
	if err := t.queryRow(`SELECT id, disabled_at FROM users WHERE name = $1`, user).Scan(&id, &disabled); err != nil {
		return notFound(err, "api token: user "+user)
	}
	if disabled != 0 {
		return fmt.Errorf("api token: user %s is disabled", user)
	}
	if _, err := t.exec(`INSERT INTO api_tokens (hash, user_id, name, scopes, created) VALUES ($1, $2, $3, $4, $5)`,
		hash, id, name, strings.Join(scopes, " "), micros(now)); err != nil {
		return fmt.Errorf("api token for %s: %w", user, err)
	}
	return nil
}

// APITokenByHash finds the token whose hash is hash, of a user not
// disabled: disabling an account stops its tokens too.
func (d *DB) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	var tk APIToken
	var scopes string
	err := d.db.QueryRowContext(ctx, `SELECT u.name, u.role, t.name, t.scopes FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1 AND u.disabled_at = 0`,
		hash).Scan(&tk.User, &tk.Role, &tk.Name, &scopes)
	if err != nil {
		return tk, notFound(err, "api token")
	}
	tk.Scopes = strings.Fields(scopes)
	return tk, nil
}
