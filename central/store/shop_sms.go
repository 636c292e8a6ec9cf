package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SMSLimit is at most Max codes sent under Key since a time.
type SMSLimit struct {
	Key string
	Max int
}

// PutSMSCode stores a sign-in code for a number (a hash of it) unless a
// limit says no: the last code to the number (counted under numberKey) is
// younger than gap, or a limit's key has Max sends since since. It
// returns the key of the limit that refused, "" when the code was stored
// and the send counted under every key. Every send transaction first
// takes one counter's row lock, so concurrent sends, from any number of
// central processes, are counted one after another and no limit is passed.
func (d *DB) PutSMSCode(ctx context.Context, number, numberKey string, hash []byte, now, expires, since time.Time, gap time.Duration,
	limits []SMSLimit) (string, error) {
	refused := ""
	err := d.Update(ctx, func(tx *Tx) error {
		refused = ""
		if _, err := tx.Next("shop/sms-sends", 1); err != nil {
			return err
		}
		var last int64
		if err := tx.queryRow(`SELECT COALESCE(MAX(at), 0) FROM shop_sms_sent WHERE key = $1`, numberKey).Scan(&last); err != nil {
			return fmt.Errorf("sms limits: %w", err)
		}
		if last != 0 && now.Sub(fromMicros(last)) < gap {
			refused = numberKey
			return nil
		}
		for _, l := range limits {
			var n int
			if err := tx.queryRow(`SELECT COUNT(*) FROM shop_sms_sent WHERE key = $1 AND at > $2`, l.Key, micros(since)).Scan(&n); err != nil {
				return fmt.Errorf("sms limits: %w", err)
			}
			if n >= l.Max {
				refused = l.Key
				return nil
			}
		}
		for _, l := range limits {
			if _, err := tx.exec(`INSERT INTO shop_sms_sent (key, at) VALUES ($1, $2)`, l.Key, micros(now)); err != nil {
				return fmt.Errorf("sms sent: %w", err)
			}
		}
		if _, err := tx.exec(`DELETE FROM shop_sms_sent WHERE at <= $1`, micros(since)); err != nil {
			return fmt.Errorf("sms sent: %w", err)
		}
		if _, err := tx.exec(`DELETE FROM shop_sms_codes WHERE expires <= $1`, micros(now)); err != nil {
			return fmt.Errorf("sms codes: %w", err)
		}
		_, err := tx.exec(`INSERT INTO shop_sms_codes (number, hash, expires, attempts) VALUES ($1, $2, $3, 0)
			ON CONFLICT (number) DO UPDATE SET hash = $2, expires = $3, attempts = 0`, number, hash, micros(expires))
		if err != nil {
			return fmt.Errorf("sms code: %w", err)
		}
		return nil
	})
	return refused, err
}

// TrySMSCode spends one attempt at a number's unexpired code and reports
// whether check accepted its hash; the code is gone once it worked or its
// attempts ran out. The attempt is counted by a conditional update, so
// concurrent guesses cannot pass maxAttempts.
func (d *DB) TrySMSCode(ctx context.Context, number string, maxAttempts int, now time.Time, check func(hash []byte) bool) (bool, error) {
	ok := false
	err := d.Update(ctx, func(tx *Tx) error {
		ok = false
		var hash []byte
		var attempts int
		err := tx.queryRow(`UPDATE shop_sms_codes SET attempts = attempts + 1 WHERE number = $1 AND expires > $2 AND attempts < $3
			RETURNING hash, attempts`, number, micros(now), maxAttempts).Scan(&hash, &attempts)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil // no code, expired, or out of attempts
			}
			return fmt.Errorf("sms code: %w", err)
		}
		ok = check(hash)
		if ok || attempts >= maxAttempts {
			if _, err := tx.exec(`DELETE FROM shop_sms_codes WHERE number = $1`, number); err != nil {
				return fmt.Errorf("sms code: %w", err)
			}
		}
		return nil
	})
	return ok, err
}
