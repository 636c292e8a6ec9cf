package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tixgate/tixgate/central/password"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// Role is what a staff account may do.
type Role string

const (
	BoxOffice Role = "box_office" // sells and refunds at the box office; sees the venue
	Ops       Role = "ops"        // runs the venue: devices, conflicts
	Admin     Role = "admin"      // everything, and the accounts
	Auditor   Role = "auditor"    // reads everything, changes nothing
)

// ParseRole accepts the names of the roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case BoxOffice, Ops, Admin, Auditor:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want box_office, ops, admin or auditor", s)
}

// MayResolve reports whether the role may resolve conflicts.
func (r Role) MayResolve() bool { return r == Ops || r == Admin }

// MayRunVenue reports whether the role may set the venue up and run its
// devices: events, zones, gates, ticket types, enrolling and revoking.
func (r Role) MayRunVenue() bool { return r == Ops || r == Admin }

// MayIssue reports whether the role may issue and revoke tickets.
func (r Role) MayIssue() bool { return r == BoxOffice || r == Admin }

// MayRead reports whether the role may see the ops screens: every role
// may, the auditor only that.
func (r Role) MayRead() bool { return r == BoxOffice || r == Ops || r == Admin || r == Auditor }

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 10

// Config is the accounts' policy.
type Config struct {
	Store *store.DB
	// Argon2 are the parameters of new hashes; a stored hash carries its
	// own, so raising them leaves older passwords verifiable.
	Argon2 Argon2Params
	// SessionTTL is how long a session lasts after login: a shift.
	SessionTTL time.Duration
	// LockoutFailures failed logins within LockoutWindow lock the account
	// until the window has passed since the last one: 5 in 15 minutes
	// stops guessing at 20 tries an hour and lets a fumbling person back in.
	LockoutFailures int
	LockoutWindow   time.Duration
	Clock           ticket.Clock
	Logger          *slog.Logger
}

// Argon2Params are argon2id's costs of a staff password.
type Argon2Params = password.Params

// DefaultArgon2 is RFC 9106's second recommended option (64 MiB, 3 passes):
// about 100 ms a login on a server core.
var DefaultArgon2 = password.Default

// DefaultConfig is central's policy.
func DefaultConfig(db *store.DB) Config {
	return Config{Store: db, Argon2: DefaultArgon2, SessionTTL: 12 * time.Hour, LockoutFailures: 5, LockoutWindow: 15 * time.Minute,
		Clock: ticket.SystemClock{}, Logger: slog.Default()}
}

// Accounts is central's staff.
type Accounts struct{ cfg Config }

// New makes the accounts.
func New(cfg Config) *Accounts {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Argon2.Time == 0 {
		cfg.Argon2 = DefaultArgon2
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LockoutFailures <= 0 {
		cfg.LockoutFailures = 5
	}
	if cfg.LockoutWindow <= 0 {
		cfg.LockoutWindow = 15 * time.Minute
	}
	return &Accounts{cfg: cfg}
}

// hash encodes a password's argon2id hash in the PHC string format.
func (a *Accounts) hash(pw string) (string, error) { return password.Hash(pw, a.cfg.Argon2) }

// verify checks a password against an encoded hash.
func verify(encoded, pw string) bool {
	ok, err := password.Check(pw, encoded)
	return ok && err == nil
}

// Add creates an account or changes its role and password; by is who did
// it, for the audit log.
func (a *Accounts) Add(ctx context.Context, name string, role Role, password, by string) error {
	if !ticket.ValidName(name) {
		return fmt.Errorf("user name %q: use 1-64 letters, digits, '.', '_' or '-'", name)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("password: at least %d characters", MinPasswordLength)
	}
	h, err := a.hash(password)
	if err != nil {
		return err
	}
	now := a.cfg.Clock.Now()
	return a.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.PutUser(name, string(role), h, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: by, Action: "user.put", Target: name, Detail: "role " + string(role)})
	})
}

// Errors of Login; a caller shows each the same way, so a guesser learns
// nothing from which.
var (
	ErrBadLogin = errors.New("wrong name or password")
	ErrLocked   = errors.New("too many failed logins: try again later")
)

// Session is a logged-in staff member.
type Session struct {
	User string
	Role Role
	// CSRF is the token a form of this session must carry.
	CSRF    string
	Expires time.Time
}

// Login checks a name and password and opens a session; token goes to
// the browser's cookie and is never stored.
func (a *Accounts) Login(ctx context.Context, name, password string) (token string, s Session, err error) {
	now := a.cfg.Clock.Now()
	n, last, err := a.cfg.Store.LoginFailures(ctx, name, now.Add(-a.cfg.LockoutWindow))
	if err != nil {
		return "", s, err
	}
	if n >= a.cfg.LockoutFailures {
		a.cfg.Logger.Warn("login refused: locked", "user", name, "failures", n, "until", last.Add(a.cfg.LockoutWindow))
		return "", s, ErrLocked
	}
	u, err := a.cfg.Store.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", s, err
	}
	// An unknown name costs a hash too, so its answer takes as long.
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash
	}
	if !verify(hash, password) || u.PasswordHash == "" || !u.Disabled.IsZero() {
		if err := a.cfg.Store.AddLoginFailure(ctx, name, now); err != nil {
			return "", s, err
		}
		a.cfg.Logger.Info("login failed", "user", name)
		return "", s, ErrBadLogin
	}
	token, sum, err := secret("tgu_")
	if err != nil {
		return "", s, err
	}
	csrf, _, err := secret("")
	if err != nil {
		return "", s, err
	}
	s = Session{User: u.Name, Role: Role(u.Role), CSRF: csrf, Expires: now.Add(a.cfg.SessionTTL)}
	err = a.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.ClearLoginFailures(name); err != nil {
			return err
		}
		if err := tx.AddSession(sum, u.ID, csrf, now, s.Expires); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: u.Name, Action: "session.login", Target: u.Name})
	})
	if err != nil {
		return "", Session{}, err
	}
	return token, s, nil
}

// dummyHash is verified for names without a password, at the default cost.
var dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// ErrNoSession is returned for a token of no live session.
var ErrNoSession = errors.New("no such session")

// Session finds the live session of a token.
func (a *Accounts) Session(ctx context.Context, token string) (Session, error) {
	if !strings.HasPrefix(token, "tgu_") {
		return Session{}, ErrNoSession
	}
	sum := sha256.Sum256([]byte(token))
	st, err := a.cfg.Store.SessionByHash(ctx, sum[:], a.cfg.Clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	return Session{User: st.User.Name, Role: Role(st.User.Role), CSRF: st.CSRF, Expires: st.Expires}, nil
}

// Logout ends a session.
func (a *Accounts) Logout(ctx context.Context, token, user string) error {
	sum := sha256.Sum256([]byte(token))
	now := a.cfg.Clock.Now()
	return a.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(sum[:], now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: user, Action: "session.logout", Target: user})
	})
}

func secret(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	s := prefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(s))
	return s, sum[:], nil
}
