package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

func init() { Tables = append(Tables, "saved_reports") }

// SavedReport is a sales report ops saved: grouped By, of Event (0: every
// event), over the Days before it is run, mailed on Schedule ("daily",
// "weekly" or "" for never) to Recipients.
type SavedReport struct {
	ID         int64
	Name       string
	By         string
	Event      uint64
	Days       int
	Schedule   string
	Recipients []string
	CreatedBy  string
	Created    time.Time
	Updated    time.Time
	LastSent   time.Time // the last scheduled mail; zero: none yet
}

const savedColumns = `id, name, by_dim, event, days, schedule, recipients, created_by, created, updated, last_sent`

// AddSavedReport stores a new saved report and returns its id.
func (t *Tx) AddSavedReport(r SavedReport) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO saved_reports (name, by_dim, event, days, schedule, recipients, created_by, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		r.Name, r.By, int64(r.Event), r.Days, r.Schedule, strings.Join(r.Recipients, ","), r.CreatedBy, micros(r.Created)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("saved report %q: %w", r.Name, err)
	}
	return id, nil
}

// UpdateSavedReport changes what a saved report is and where it goes.
func (t *Tx) UpdateSavedReport(r SavedReport) error {
	res, err := t.exec(`UPDATE saved_reports SET name = $1, by_dim = $2, event = $3, days = $4, schedule = $5, recipients = $6, updated = $7 WHERE id = $8`,
		r.Name, r.By, int64(r.Event), r.Days, r.Schedule, strings.Join(r.Recipients, ","), micros(r.Updated), r.ID)
	if err != nil {
		return fmt.Errorf("saved report %d: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("saved report %d: %w", r.ID, ErrNotFound)
	}
	return nil
}

// DeleteSavedReport removes a saved report.
func (t *Tx) DeleteSavedReport(id int64) error {
	res, err := t.exec(`DELETE FROM saved_reports WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("saved report %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("saved report %d: %w", id, ErrNotFound)
	}
	return nil
}

// MarkReportSent records that the scheduled mail of a saved report went
// at at, unless another sender did since prev: it reports whether this
// one may send.
func (d *DB) MarkReportSent(ctx context.Context, id int64, prev, at time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE saved_reports SET last_sent = $1 WHERE id = $2 AND last_sent = $3`, micros(at), id, micros(prev))
	if err != nil {
		return false, fmt.Errorf("saved report %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SavedReports lists the saved reports by name.
func (d *DB) SavedReports(ctx context.Context) ([]SavedReport, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+savedColumns+` FROM saved_reports ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("saved reports: %w", err)
	}
	defer rows.Close()
	var out []SavedReport
	for rows.Next() {
		r, err := scanSaved(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SavedReport reads one saved report.
func (d *DB) SavedReport(ctx context.Context, id int64) (SavedReport, error) {
	r, err := scanSaved(d.db.QueryRowContext(ctx, `SELECT `+savedColumns+` FROM saved_reports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("saved report %d: %w", id, ErrNotFound)
	}
	return r, err
}

func scanSaved(s interface{ Scan(...any) error }) (SavedReport, error) {
	var r SavedReport
	var ev, created, updated, sent int64
	var recipients string
	if err := s.Scan(&r.ID, &r.Name, &r.By, &ev, &r.Days, &r.Schedule, &recipients, &r.CreatedBy, &created, &updated, &sent); err != nil {
		return r, err
	}
	r.Event, r.Created, r.Updated = uint64(ev), fromMicros(created), fromMicros(updated)
	if sent > 0 {
		r.LastSent = fromMicros(sent)
	}
	if recipients != "" {
		r.Recipients = strings.Split(recipients, ",")
	}
	return r, nil
}
