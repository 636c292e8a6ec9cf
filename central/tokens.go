package central

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// Scopes are what an ops token may be given: read (every GET of the ops
// API and /metrics), ops (resolve conflicts, run a reconciliation),
// box_office (mark orders paid at the box office, cancel paid orders) and
// admin (everything).
var Scopes = []string{"read", "ops", "box_office", "admin"}

// ErrNoUser is returned by AddAPIToken for a user that does not exist.
var ErrNoUser = errors.New("no such user")

// AddAPIToken makes an ops API token for user, an existing staff account
// (ErrNoUser otherwise), with the given scopes, and returns it; only its
// hash is stored, so it is shown this once.
func AddAPIToken(ctx context.Context, db *store.DB, clock ticket.Clock, user, name string, scopes []string) (string, error) {
	if !ticket.ValidName(user) {
		return "", fmt.Errorf("api token: user name %q: use 1-64 letters, digits, '.', '_' or '-'", user)
	}
	if len(scopes) == 0 {
		return "", fmt.Errorf("api token: give it at least one scope: %s", strings.Join(Scopes, ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return "", fmt.Errorf("api token: unknown scope %q: the scopes are %s", sc, strings.Join(Scopes, ", "))
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := "tgo_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	err := db.Update(ctx, func(tx *store.Tx) error {
		return tx.AddUserAPIToken(user, name, scopes, sum[:], clock.Now())
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("api token: user %q: %w", user, ErrNoUser)
	}
	if err != nil {
		return "", err
	}
	return tok, nil
}
