package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Conflict is a conflict as central keeps it, in its one conflicts table:
// what reconciliation found (a pass over a ticket's records, or the sellers'
// intake finding a serial sold twice), and the resolution in force. Records
// is the JSON of the records it names.
type Conflict struct {
	ID      string
	Venue   string
	Kind    string
	Reason  string
	Event   uint64
	Serial  uint64
	Detail  string
	Records []byte
	Found   time.Time // first found
	Updated time.Time // last found changed
	Closed  time.Time // zero while a pass still finds it
	// The latest resolution; Resolution is "" while none.
	Resolution string
	ResolvedBy string
	ResolvedAt time.Time
	Note       string
}

// Open reports a conflict still found and not resolved.
func (c Conflict) Open() bool { return c.Closed.IsZero() && c.Resolution == "" }

// TicketConflicts is what one reconciliation of a ticket changed.
type TicketConflicts struct {
	New, Changed, Closed int
}

// ReconcileTicket runs judge over every record the store holds of one
// ticket and stores the conflicts it returns as the ticket's: new ones are
// added, known ones updated in place (their resolution stays), and those not
// returned any more are closed. The ticket's row in reconciled is written
// first, so passes over one ticket by several processes run one after the
// other and each reads every record stored before it began: the last pass
// sees them all. judge may run more than once (see DB.Tx); it must be pure.
func (d *DB) ReconcileTicket(ctx context.Context, venue string, event, serial uint64, now time.Time,
	judge func([]Record) ([]Conflict, error)) (TicketConflicts, error) {
	var out TicketConflicts
	err := d.Update(ctx, func(tx *Tx) error {
		out = TicketConflicts{}
		if _, err := tx.exec(`INSERT INTO reconciled (event, serial, at, records) VALUES ($1, $2, $3, 0)
			ON CONFLICT (event, serial) DO UPDATE SET at = $3`, int64(event), int64(serial), micros(now)); err != nil {
			return fmt.Errorf("reconcile ticket %d/%d: %w", event, serial, err)
		}
		recs, err := tx.ticketRecords(event, serial)
		if err != nil {
			return err
		}
		cs, err := judge(recs)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE reconciled SET records = $3 WHERE event = $1 AND serial = $2`, int64(event), int64(serial), len(recs)); err != nil {
			return err
		}
		held, err := tx.ticketConflicts(event, serial)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for _, c := range cs {
			found[c.ID] = true
			old, ok := held[c.ID]
			switch {
			case !ok:
				out.New++
				_, err = tx.exec(`INSERT INTO conflicts (id, venue, kind, reason, event, serial, detail, records, found_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
					c.ID, venue, c.Kind, c.Reason, int64(event), int64(serial), c.Detail, string(c.Records), micros(now))
			case old.Kind != c.Kind || old.Reason != c.Reason || old.Detail != c.Detail || string(old.Records) != string(c.Records) || !old.Closed.IsZero():
				out.Changed++
				_, err = tx.exec(`UPDATE conflicts SET kind = $2, reason = $3, detail = $4, records = $5, updated_at = $6, closed_at = 0 WHERE id = $1`,
					c.ID, c.Kind, c.Reason, c.Detail, string(c.Records), micros(now))
			}
			if err != nil {
				return fmt.Errorf("store conflict %s: %w", c.ID, err)
			}
		}
		for id, old := range held {
			if found[id] || !old.Closed.IsZero() {
				continue
			}
			out.Closed++
			if _, err := tx.exec(`UPDATE conflicts SET closed_at = $2 WHERE id = $1`, id, micros(now)); err != nil {
				return fmt.Errorf("close conflict %s: %w", id, err)
			}
		}
		return nil
	})
	return out, err
}

func (t *Tx) ticketRecords(event, serial uint64) ([]Record, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT origin, seq, hash, raw, kind, type, gate, zone, at
		FROM records WHERE event = $1 AND serial = $2 ORDER BY origin, seq`, int64(event), int64(serial))
	if err != nil {
		return nil, fmt.Errorf("records of ticket %d/%d: %w", event, serial, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r := Record{Event: event, Serial: serial}
		var seq, typ, at int64
		if err := rows.Scan(&r.Origin, &seq, &r.Hash, &r.Raw, &r.Kind, &typ, &r.Gate, &r.Zone, &at); err != nil {
			return nil, fmt.Errorf("records of ticket %d/%d: %w", event, serial, err)
		}
		r.Seq, r.Type, r.At = uint64(seq), uint64(typ), fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

const conflictColumns = `id, venue, kind, reason, event, serial, detail, records, found_at, updated_at, closed_at, resolution, resolved_by, resolved_at, note`

func scanConflict(s interface{ Scan(...any) error }) (Conflict, error) {
	var c Conflict
	var ev, ser, found, updated, closed, resolved int64
	var recs string
	err := s.Scan(&c.ID, &c.Venue, &c.Kind, &c.Reason, &ev, &ser, &c.Detail, &recs, &found, &updated, &closed, &c.Resolution, &c.ResolvedBy, &resolved, &c.Note)
	c.Event, c.Serial, c.Records = uint64(ev), uint64(ser), []byte(recs)
	c.Found, c.Updated, c.Closed, c.ResolvedAt = fromMicros(found), fromMicros(updated), fromMicros(closed), fromMicros(resolved)
	return c, err
}

func (t *Tx) ticketConflicts(event, serial uint64) (map[string]Conflict, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+conflictColumns+` FROM conflicts WHERE event = $1 AND serial = $2`, int64(event), int64(serial))
	if err != nil {
		return nil, fmt.Errorf("conflicts of ticket %d/%d: %w", event, serial, err)
	}
	defer rows.Close()
	out := map[string]Conflict{}
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, fmt.Errorf("conflicts of ticket %d/%d: %w", event, serial, err)
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

// AddConflict keeps a conflict found outside a pass over its ticket (the
// sellers' intake finding a double sale), once: a conflict already held
// under its ID is left as it is, resolution and all.
func (t *Tx) AddConflict(c Conflict, now time.Time) (bool, error) {
	res, err := t.exec(`INSERT INTO conflicts (id, venue, kind, reason, event, serial, detail, records, found_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Venue, c.Kind, c.Reason, int64(c.Event), int64(c.Serial), c.Detail, string(c.Records), micros(now))
	if err != nil {
		return false, fmt.Errorf("conflict %s on %d/%d: %w", c.Kind, c.Event, c.Serial, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ConflictFilter selects conflicts.
type ConflictFilter struct {
	Venue string // "" for every venue
	Kind  string // "" for every kind
	// State is "open" (found and unresolved), "resolved", "closed" (no
	// longer found) or "" for all.
	State string
	Limit int // 0 for 500
	// Event and Serial, when Event is not 0, keep one ticket's conflicts.
	Event, Serial uint64
}

// TicketConflicts lists the conflicts, every kind from every source, the
// most recently changed first.
func (d *DB) TicketConflicts(ctx context.Context, f ConflictFilter) ([]Conflict, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	q := `SELECT ` + conflictColumns + ` FROM conflicts WHERE ($1 = '' OR venue = $1) AND ($2 = '' OR kind = $2)
		AND ($4 = 0 OR (event = $4 AND serial = $5))`
	switch f.State {
	case "open":
		q += ` AND closed_at = 0 AND resolution = ''`
	case "resolved":
		q += ` AND resolution <> ''`
	case "closed":
		q += ` AND closed_at <> 0`
	case "":
	default:
		return nil, fmt.Errorf("conflicts: state %q: want open, resolved or closed", f.State)
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY updated_at DESC, id LIMIT $3`, f.Venue, f.Kind, f.Limit, int64(f.Event), int64(f.Serial))
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, fmt.Errorf("conflicts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Conflict reads one conflict.
func (d *DB) Conflict(ctx context.Context, id string) (Conflict, error) {
	c, err := scanConflict(d.db.QueryRowContext(ctx, `SELECT `+conflictColumns+` FROM conflicts WHERE id = $1`, id))
	return c, notFound(err, "conflict "+id)
}

// ConflictCounts counts a venue's conflicts: open ones and all.
func (d *DB) ConflictCounts(ctx context.Context, venue string) (open, all int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN closed_at = 0 AND resolution = '' THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM conflicts WHERE ($1 = '' OR venue = $1)`, venue).Scan(&open, &all)
	if err != nil {
		err = fmt.Errorf("conflict counts: %w", err)
	}
	return open, all, err
}

// Resolution is one decision on a conflict.
type Resolution struct {
	Conflict string
	Action   string
	By       string
	At       time.Time
	Note     string
}

// Resolve records a resolution: it is kept in the conflict's history and
// becomes the one in force.
func (t *Tx) Resolve(r Resolution) error {
	res, err := t.exec(`UPDATE conflicts SET resolution = $2, resolved_by = $3, resolved_at = $4, note = $5 WHERE id = $1`,
		r.Conflict, r.Action, r.By, micros(r.At), r.Note)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", r.Conflict, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("resolve: conflict %s: %w", r.Conflict, ErrNotFound)
	}
	if _, err := t.exec(`INSERT INTO conflict_resolutions (conflict, action, by_user, at, note) VALUES ($1, $2, $3, $4, $5)`,
		r.Conflict, r.Action, r.By, micros(r.At), r.Note); err != nil {
		return fmt.Errorf("resolve %s: %w", r.Conflict, err)
	}
	return nil
}

// Resolutions is a conflict's history of resolutions, oldest first.
func (d *DB) Resolutions(ctx context.Context, conflict string) ([]Resolution, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT conflict, action, by_user, at, note FROM conflict_resolutions WHERE conflict = $1 ORDER BY id`, conflict)
	if err != nil {
		return nil, fmt.Errorf("resolutions of %s: %w", conflict, err)
	}
	defer rows.Close()
	var out []Resolution
	for rows.Next() {
		var r Resolution
		var at int64
		if err := rows.Scan(&r.Conflict, &r.Action, &r.By, &at, &r.Note); err != nil {
			return nil, err
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// TicketRef names a ticket by event and serial.
type TicketRef struct{ Event, Serial uint64 }

// RecordTickets calls fn for every ticket the store holds records of, in
// order of event and serial, with the venue of its event ("" when the
// event is not known).
func (d *DB) RecordTickets(ctx context.Context, fn func(venue string, t TicketRef) error) error {
	rows, err := d.db.QueryContext(ctx, `SELECT DISTINCT r.event, r.serial, COALESCE(e.venue, '') FROM records r
		LEFT JOIN events e ON e.id = r.event ORDER BY r.event, r.serial`)
	if err != nil {
		return fmt.Errorf("tickets with records: %w", err)
	}
	// Read them all first: fn writes, and SQLite's small pool must not
	// hold a reader open across it.
	type row struct {
		venue string
		t     TicketRef
	}
	var all []row
	for rows.Next() {
		var ev, ser int64
		var v string
		if err := rows.Scan(&ev, &ser, &v); err != nil {
			rows.Close()
			return err
		}
		all = append(all, row{v, TicketRef{uint64(ev), uint64(ser)}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		if err := fn(r.venue, r.t); err != nil {
			return err
		}
	}
	return nil
}

// EventVenue is the venue of an event.
func (d *DB) EventVenue(ctx context.Context, event uint64) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, `SELECT venue FROM events WHERE id = $1`, int64(event)).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}
