package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// TicketSearch finds tickets for the ops screens: by serial, or by a part
// of the holder's name.
type TicketSearch struct {
	Event  uint64 // 0: every event
	Serial uint64 // set: that serial only
	Holder string // a part of the holder's name, any case
	Limit  int    // the most returned; 0 is 100
}

// SearchTickets lists the tickets a search matches, by event and serial.
func (d *DB) SearchTickets(ctx context.Context, s TicketSearch) ([]Ticket, error) {
	if s.Limit <= 0 {
		s.Limit = 100
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(s.Holder)) + "%"
	rows, err := d.db.QueryContext(ctx, `SELECT event, serial, type, status, holder, seat, code, issuer, issued_at, revoked_at
		FROM tickets WHERE ($1 = 0 OR event = $1) AND ($2 = 0 OR serial = $2) AND ($3 = '' OR LOWER(holder) LIKE $4 ESCAPE '\')
		ORDER BY event, serial LIMIT $5`, int64(s.Event), int64(s.Serial), s.Holder, like, s.Limit)
	if err != nil {
		return nil, fmt.Errorf("search tickets: %w", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		var t Ticket
		var ev, serial, typ, issued, revoked int64
		if err := rows.Scan(&ev, &serial, &typ, &t.Status, &t.Holder, &t.Seat, &t.Code, &t.Issuer, &issued, &revoked); err != nil {
			return nil, fmt.Errorf("search tickets: %w", err)
		}
		t.Event, t.Serial, t.Type, t.IssuedAt, t.RevokedAt = uint64(ev), uint64(serial), uint64(typ), fromMicros(issued), fromMicros(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// HasEvent reports whether an event of that id exists, inside tx: a new
// event must not overwrite another.
func (t *Tx) HasEvent(id uint64) (bool, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM events WHERE id = $1`, int64(id)).Scan(&n); err != nil {
		return false, fmt.Errorf("event %d: %w", id, err)
	}
	return n > 0, nil
}

// HasTicketType reports whether an event has a ticket type of that id,
// inside tx.
func (t *Tx) HasTicketType(event, id uint64) (bool, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM ticket_types WHERE event = $1 AND id = $2`, int64(event), int64(id)).Scan(&n); err != nil {
		return false, fmt.Errorf("ticket type %d/%d: %w", event, id, err)
	}
	return n > 0, nil
}

// MinuteCount is how many admissions (entries and overrides) a gate made
// in one minute.
type MinuteCount struct {
	Gate   string
	Minute time.Time // the minute's start
	Count  int
}

// AdmissionsByMinute counts a venue's admissions (record kinds entry and
// override) per gate and minute of the records' own times, from since on.
func (d *DB) AdmissionsByMinute(ctx context.Context, venue string, since time.Time) ([]MinuteCount, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT r.gate, r.at / 60000000, COUNT(*) FROM records r JOIN events e ON e.id = r.event
		WHERE ($1 = '' OR e.venue = $1) AND r.kind IN (1, 3) AND r.at >= $2 GROUP BY r.gate, r.at / 60000000 ORDER BY 2, 1`, venue, micros(since))
	if err != nil {
		return nil, fmt.Errorf("admissions by minute: %w", err)
	}
	defer rows.Close()
	var out []MinuteCount
	for rows.Next() {
		var m MinuteCount
		var minute int64
		if err := rows.Scan(&m.Gate, &minute, &m.Count); err != nil {
			return nil, fmt.Errorf("admissions by minute: %w", err)
		}
		m.Minute = time.UnixMicro(minute * 60_000_000).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// ZoneCount is how many entries, overrides and exits a zone saw.
type ZoneCount struct {
	Zone                     int
	Entries, Overrides, Exit int
}

// ZoneCounts counts a venue's passages by zone.
func (d *DB) ZoneCounts(ctx context.Context, venue string) ([]ZoneCount, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT r.zone,
			SUM(CASE WHEN r.kind = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN r.kind = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN r.kind = 2 THEN 1 ELSE 0 END)
		FROM records r JOIN events e ON e.id = r.event
		WHERE ($1 = '' OR e.venue = $1) AND r.kind IN (1, 2, 3) GROUP BY r.zone ORDER BY r.zone`, venue)
	if err != nil {
		return nil, fmt.Errorf("zone counts: %w", err)
	}
	defer rows.Close()
	var out []ZoneCount
	for rows.Next() {
		var z ZoneCount
		if err := rows.Scan(&z.Zone, &z.Entries, &z.Overrides, &z.Exit); err != nil {
			return nil, fmt.Errorf("zone counts: %w", err)
		}
		out = append(out, z)
	}
	return out, rows.Err()
}

// ReasonCount is how many uploaded records central refused for a reason.
type ReasonCount struct {
	Reason string
	Count  int
	Last   time.Time
}

// RefusalCounts counts the refused records by reason, most first.
func (d *DB) RefusalCounts(ctx context.Context) ([]ReasonCount, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT reason, COUNT(*), MAX(at) FROM refusals GROUP BY reason ORDER BY 2 DESC, 1`)
	if err != nil {
		return nil, fmt.Errorf("refusal counts: %w", err)
	}
	defer rows.Close()
	var out []ReasonCount
	for rows.Next() {
		var c ReasonCount
		var last int64
		if err := rows.Scan(&c.Reason, &c.Count, &last); err != nil {
			return nil, fmt.Errorf("refusal counts: %w", err)
		}
		c.Last = fromMicros(last)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ExpireSetupTokens ends a device's unused setup tokens now: a new one
// replaces them.
func (t *Tx) ExpireSetupTokens(device int64, now time.Time) error {
	if _, err := t.exec(`UPDATE setup_tokens SET expires = $2 WHERE device = $1 AND used_at = 0 AND expires > $2`, device, micros(now)); err != nil {
		return fmt.Errorf("setup tokens of device %d: %w", device, err)
	}
	return nil
}
