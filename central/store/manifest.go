package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Change is one signed manifest change as stored: its number in its venue's
// stream, its kind, what it is about, and the line devices receive.
type Change struct {
	Venue   string
	Seq     uint64
	Kind    string
	Subject string
	Line    []byte
	Created time.Time
}

// AppendChange adds the next change to a venue's manifest, unless the
// subject's last change carried the same body: then it returns 0 and signs
// nothing, which makes re-imports idempotent. sign makes the line of the
// change numbered seq; it must be pure (the transaction may run again).
func (t *Tx) AppendChange(venue, kind, subject string, body []byte, now time.Time, sign func(seq uint64) ([]byte, error)) (uint64, error) {
	sum := sha256.Sum256(append([]byte(kind+"\x00"), body...))
	var last []byte
	err := t.queryRow(`SELECT body_hash FROM manifest_subjects WHERE venue = $1 AND subject = $2`, venue, subject).Scan(&last)
	switch {
	case err == nil && bytes.Equal(last, sum[:]):
		return 0, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("manifest %s: %s: %w", venue, subject, err)
	}
	n, err := t.Next("manifest:"+venue, 1)
	if err != nil {
		return 0, err
	}
	seq := uint64(n)
	line, err := sign(seq)
	if err != nil {
		return 0, fmt.Errorf("manifest %s: change %d (%s): %w", venue, seq, subject, err)
	}
	if _, err := t.exec(`INSERT INTO manifest (venue, seq, kind, subject, line, created) VALUES ($1, $2, $3, $4, $5, $6)`,
		venue, n, kind, subject, line, micros(now)); err != nil {
		return 0, fmt.Errorf("manifest %s: change %d: %w", venue, seq, err)
	}
	if _, err := t.exec(`INSERT INTO manifest_subjects (venue, subject, seq, body_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (venue, subject) DO UPDATE SET seq = $3, body_hash = $4`, venue, subject, n, sum[:]); err != nil {
		return 0, fmt.Errorf("manifest %s: change %d: %w", venue, seq, err)
	}
	return seq, nil
}

// ManifestHead is the number of a venue's last change, 0 when it has none.
func (d *DB) ManifestHead(ctx context.Context, venue string) (uint64, error) {
	var v sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT MAX(seq) FROM manifest WHERE venue = $1`, venue).Scan(&v); err != nil {
		return 0, fmt.Errorf("manifest %s: %w", venue, err)
	}
	return uint64(v.Int64), nil
}

// Changes calls fn for the venue's changes numbered after after, in order,
// at most limit of them (all when limit ≤ 0). A change is visible only once
// its transaction committed, and numbers are handed out under a row lock,
// so a reader never skips a change that commits later with a lower number:
// the stream has no gaps at any moment.
func (d *DB) Changes(ctx context.Context, venue string, after uint64, limit int, fn func(Change) error) error {
	q := `SELECT seq, kind, subject, line, created FROM manifest WHERE venue = $1 AND seq > $2 ORDER BY seq`
	args := []any{venue, int64(after)}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("manifest %s after %d: %w", venue, after, err)
	}
	defer rows.Close()
	for rows.Next() {
		c := Change{Venue: venue}
		var seq, created int64
		if err := rows.Scan(&seq, &c.Kind, &c.Subject, &c.Line, &created); err != nil {
			return fmt.Errorf("manifest %s: %w", venue, err)
		}
		c.Seq, c.Created = uint64(seq), fromMicros(created)
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ManifestHead is the venue's last change number, inside the transaction.
func (t *Tx) ManifestHead(venue string) (uint64, error) {
	var v sql.NullInt64
	if err := t.queryRow(`SELECT MAX(seq) FROM manifest WHERE venue = $1`, venue).Scan(&v); err != nil {
		return 0, fmt.Errorf("manifest %s: %w", venue, err)
	}
	return uint64(v.Int64), nil
}
