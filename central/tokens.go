package central

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// AddAPIToken makes an ops API token for user with the given scopes
// ("read", "admin") and returns it; only its hash is stored, so it is shown
// this once.
func AddAPIToken(ctx context.Context, db *store.DB, clock ticket.Clock, user, name string, scopes []string) (string, error) {
	if !ticket.ValidName(user) {
		return "", fmt.Errorf("api token: user name %q: use 1-64 letters, digits, '.', '_' or '-'", user)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := "tgo_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	err := db.Update(ctx, func(tx *store.Tx) error {
		return tx.AddAPIToken(user, "admin", name, scopes, sum[:], clock.Now())
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}
