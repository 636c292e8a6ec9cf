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
	// Only the conditions asked for, so the key serves a serial's search.
	var where []string
	var args []any
	if s.Event != 0 {
		args = append(args, int64(s.Event))
		where = append(where, fmt.Sprintf("event = $%d", len(args)))
	}
	if s.Serial != 0 {
		args = append(args, int64(s.Serial))
		where = append(where, fmt.Sprintf("serial = $%d", len(args)))
	}
	if s.Holder != "" {
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(s.Holder))+"%")
		where = append(where, fmt.Sprintf(`LOWER(holder) LIKE $%d ESCAPE '\'`, len(args)))
	}
	q := `SELECT event, serial, type, status, holder, seat, code, issuer, issued_at, revoked_at FROM tickets`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, s.Limit)
	rows, err := d.db.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY event, serial LIMIT $%d`, len(args)), args...)
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
// for an event in one minute.
type MinuteCount struct {
	Event  uint64
	Gate   string
	Minute time.Time // the minute's start
	Count  int
}

// ArrivalSlack is how far ahead of central's clock a device's clock may
// run for AdmissionsByMinute to see all its records: the query reads the
// records that arrived since then less this, through the arrivals' index,
// not every record.
const ArrivalSlack = 15 * time.Minute

// AdmissionsByMinute counts the admissions (record kinds entry and
// override) per event, gate and minute of the records' own times, from
// since on.
func (d *DB) AdmissionsByMinute(ctx context.Context, since time.Time) ([]MinuteCount, error) {
	// The kinds are counted, not filtered on: a filter on kind would lead
	// the planner to the kinds' index, through every entry ever made.
	rows, err := d.db.QueryContext(ctx, `SELECT event, gate, at / 60000000, SUM(CASE WHEN kind IN (1, 3) THEN 1 ELSE 0 END) FROM records
		WHERE arrived >= $2 AND at >= $1 GROUP BY event, gate, at / 60000000
		HAVING SUM(CASE WHEN kind IN (1, 3) THEN 1 ELSE 0 END) > 0 ORDER BY 3, 2, 1`,
		micros(since), micros(since.Add(-ArrivalSlack)))
	if err != nil {
		return nil, fmt.Errorf("admissions by minute: %w", err)
	}
	defer rows.Close()
	var out []MinuteCount
	for rows.Next() {
		var m MinuteCount
		var ev, minute int64
		if err := rows.Scan(&ev, &m.Gate, &minute, &m.Count); err != nil {
			return nil, fmt.Errorf("admissions by minute: %w", err)
		}
		m.Event, m.Minute = uint64(ev), time.UnixMicro(minute*60_000_000).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// PassageCount is how many records of a kind came from a gate for a zone
// of an event, and the newest one's own time.
type PassageCount struct {
	Event uint64
	Gate  string
	Zone  int
	Kind  int
	Count int
	Last  time.Time
}

// PassageCounts counts the records by event, gate, zone and kind, of those
// that arrived at central from from on and, unless to is zero, before to
// (through the arrivals' index: the caller picks its venue's events).
// Records are never changed once stored, so counts of a past span of
// arrivals stay true: a caller adds the newest span to what it counted
// before instead of reading every record again.
func (d *DB) PassageCounts(ctx context.Context, from, to time.Time) ([]PassageCount, error) {
	end := int64(1<<63 - 1)
	if !to.IsZero() {
		end = micros(to)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT event, gate, zone, kind, COUNT(*), MAX(at) FROM records
		WHERE arrived >= $1 AND arrived < $2 GROUP BY event, gate, zone, kind ORDER BY event, gate, zone, kind`, micros(from), end)
	if err != nil {
		return nil, fmt.Errorf("passage counts: %w", err)
	}
	defer rows.Close()
	var out []PassageCount
	for rows.Next() {
		var p PassageCount
		var ev, last int64
		if err := rows.Scan(&ev, &p.Gate, &p.Zone, &p.Kind, &p.Count, &last); err != nil {
			return nil, fmt.Errorf("passage counts: %w", err)
		}
		p.Event, p.Last = uint64(ev), fromMicros(last)
		out = append(out, p)
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
