package staff

import (
	"context"
	"errors"
	"github.com/tixgate/tixgate/central/password"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

func newAccounts(t *testing.T) (*Accounts, *ticket.ManualClock, *store.DB) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := store.DefaultConfig("", t.TempDir())
	cfg.Logger = quiet
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := ticket.NewManualClock(time.Date(2026, 6, 12, 17, 0, 0, 0, time.UTC))
	acfg := DefaultConfig(db)
	acfg.Argon2 = password.Cheap // fast for tests; the format is the same
	acfg.Clock, acfg.Logger = clock, quiet
	return New(acfg), clock, db
}

func TestLoginSessionsAndLockout(t *testing.T) {
	ctx := context.Background()
	a, clock, db := newAccounts(t)
	for _, tc := range []struct {
		name, user string
		role       Role
		pw         string
		ok         bool
	}{
		{"ok", "mei", Ops, "correct horse battery", true},
		{"short password", "li", Ops, "short", false},
		{"bad role", "li", "king", "correct horse battery", false},
		{"bad name", "li wei!", Ops, "correct horse battery", false},
	} {
		if err := a.Add(ctx, tc.user, tc.role, tc.pw, "cli"); (err == nil) != tc.ok {
			t.Errorf("%s: add: %v", tc.name, err)
		}
	}
	u, err := db.UserByName(ctx, "mei")
	if err != nil || u.Role != "ops" || len(u.PasswordHash) < 40 || u.PasswordHash[:10] != "$argon2id$" {
		t.Fatalf("stored user %+v, %v: want an argon2id hash", u, err)
	}

	tok, s, err := a.Login(ctx, "mei", "correct horse battery")
	if err != nil || s.Role != Ops || s.CSRF == "" {
		t.Fatalf("login: %+v, %v", s, err)
	}
	if got, err := a.Session(ctx, tok); err != nil || got.User != "mei" || got.CSRF != s.CSRF {
		t.Fatalf("session %+v, %v", got, err)
	}
	if _, err := a.Session(ctx, tok+"x"); !errors.Is(err, ErrNoSession) {
		t.Errorf("a wrong token: %v", err)
	}
	for _, pw := range []string{"", "correct horse", "Correct horse battery"} {
		if _, _, err := a.Login(ctx, "mei", pw); !errors.Is(err, ErrBadLogin) {
			t.Errorf("password %q: %v, want a bad login", pw, err)
		}
	}
	if _, _, err := a.Login(ctx, "nobody", "correct horse battery"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("unknown user: %v", err)
	}
	// Five failures in the window lock the account, the right password too.
	for range 2 {
		a.Login(ctx, "mei", "guess")
	}
	if _, _, err := a.Login(ctx, "mei", "correct horse battery"); !errors.Is(err, ErrLocked) {
		t.Fatalf("after five failures: %v, want locked", err)
	}
	clock.Advance(16 * time.Minute)
	tok2, _, err := a.Login(ctx, "mei", "correct horse battery")
	if err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if err := a.Logout(ctx, tok2, "mei"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, tok2); !errors.Is(err, ErrNoSession) {
		t.Errorf("after logout: %v", err)
	}
	clock.Advance(12 * time.Hour)
	if _, err := a.Session(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Errorf("after the session's TTL: %v", err)
	}
	log, err := db.AuditLog(ctx, 10)
	if err != nil || len(log) != 4 || log[0].Action != "session.logout" || log[3].Action != "user.put" || log[3].Actor != "cli" {
		t.Fatalf("audit %+v, %v", log, err)
	}
}
