package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Venue is a place with zones and gates, run by an organizer.
type Venue struct {
	Name      string
	Organizer string
	TimeZone  string
	Zones     []Zone
	Gates     []Gate
}

// Zone is an area of a venue; its id is a bit of ticket zone masks.
type Zone struct {
	ID   int
	Name string
}

// Gate is a turnstile or door opening one zone.
type Gate struct {
	Name string
	Zone int
}

// Event is one show, match or opening day at a venue.
type Event struct {
	ID        uint64
	Venue     string
	Name      string
	TimeZone  string
	Starts    time.Time
	Ends      time.Time
	Admission time.Time // doors; zero when the rules say
	// Days are the local dates (YYYY-MM-DD, in TimeZone) the event spans.
	Days           []string
	RotationSecret []byte
}

// TicketType is a kind of ticket of an event: its zones and entry rule
// (the ledger's rule model, as JSON).
type TicketType struct {
	Event uint64
	ID    uint64
	Name  string
	Zones []int
	Rule  json.RawMessage
}

// PutOrganizer creates an organizer if it does not exist.
func (t *Tx) PutOrganizer(name string, now time.Time) error {
	_, err := t.exec(`INSERT INTO organizers (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, micros(now))
	if err != nil {
		return fmt.Errorf("put organizer %s: %w", name, err)
	}
	return nil
}

// PutVenue creates or updates a venue and replaces its zones and gates.
func (t *Tx) PutVenue(v Venue) error {
	_, err := t.exec(`INSERT INTO venues (name, organizer, time_zone) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET organizer = $2, time_zone = $3`, v.Name, v.Organizer, v.TimeZone)
	if err != nil {
		return fmt.Errorf("put venue %s: %w", v.Name, err)
	}
	if _, err := t.exec(`DELETE FROM gates WHERE venue = $1`, v.Name); err != nil {
		return fmt.Errorf("put venue %s: %w", v.Name, err)
	}
	if _, err := t.exec(`DELETE FROM zones WHERE venue = $1`, v.Name); err != nil {
		return fmt.Errorf("put venue %s: %w", v.Name, err)
	}
	for _, z := range v.Zones {
		if _, err := t.exec(`INSERT INTO zones (venue, id, name) VALUES ($1, $2, $3)`, v.Name, z.ID, z.Name); err != nil {
			return fmt.Errorf("put venue %s: zone %d: %w", v.Name, z.ID, err)
		}
	}
	for _, g := range v.Gates {
		if _, err := t.exec(`INSERT INTO gates (venue, name, zone) VALUES ($1, $2, $3)`, v.Name, g.Name, g.Zone); err != nil {
			return fmt.Errorf("put venue %s: gate %s: %w", v.Name, g.Name, err)
		}
	}
	return nil
}

// PutEvent creates or updates an event.
func (t *Tx) PutEvent(e Event) error {
	days, _ := json.Marshal(orEmpty(e.Days))
	_, err := t.exec(`INSERT INTO events (id, venue, name, starts, ends, admission, rotation_secret, time_zone, days)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET venue = $2, name = $3, starts = $4, ends = $5, admission = $6,
			rotation_secret = $7, time_zone = $8, days = $9`,
		int64(e.ID), e.Venue, e.Name, micros(e.Starts), micros(e.Ends), micros(e.Admission), e.RotationSecret, e.TimeZone, string(days))
	if err != nil {
		return fmt.Errorf("put event %d: %w", e.ID, err)
	}
	return nil
}

// PutTicketType creates or updates a ticket type.
func (t *Tx) PutTicketType(tt TicketType) error {
	zones, _ := json.Marshal(orEmpty(tt.Zones))
	rule := string(tt.Rule)
	if rule == "" {
		rule = "{}"
	}
	_, err := t.exec(`INSERT INTO ticket_types (event, id, name, zones, rule) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (event, id) DO UPDATE SET name = $3, zones = $4, rule = $5`,
		int64(tt.Event), int64(tt.ID), tt.Name, string(zones), rule)
	if err != nil {
		return fmt.Errorf("put ticket type %d/%d: %w", tt.Event, tt.ID, err)
	}
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Venue reads a venue with its zones and gates.
func (d *DB) Venue(ctx context.Context, name string) (Venue, error) {
	v := Venue{Name: name}
	err := d.db.QueryRowContext(ctx, `SELECT organizer, time_zone FROM venues WHERE name = $1`, name).Scan(&v.Organizer, &v.TimeZone)
	if err != nil {
		return v, notFound(err, "venue "+name)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, name FROM zones WHERE venue = $1 ORDER BY id`, name)
	if err != nil {
		return v, fmt.Errorf("venue %s: %w", name, err)
	}
	for rows.Next() {
		var z Zone
		if err := rows.Scan(&z.ID, &z.Name); err != nil {
			rows.Close()
			return v, err
		}
		v.Zones = append(v.Zones, z)
	}
	rows.Close()
	rows, err = d.db.QueryContext(ctx, `SELECT name, zone FROM gates WHERE venue = $1 ORDER BY name`, name)
	if err != nil {
		return v, fmt.Errorf("venue %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var g Gate
		if err := rows.Scan(&g.Name, &g.Zone); err != nil {
			return v, err
		}
		v.Gates = append(v.Gates, g)
	}
	return v, rows.Err()
}

// Venues lists the venues' names.
func (d *DB) Venues(ctx context.Context) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name FROM venues ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("venues: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

const eventColumns = `id, venue, name, time_zone, starts, ends, admission, days, rotation_secret`

func scanEvent(s interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var id, starts, ends, adm int64
	var days string
	if err := s.Scan(&id, &e.Venue, &e.Name, &e.TimeZone, &starts, &ends, &adm, &days, &e.RotationSecret); err != nil {
		return e, err
	}
	e.ID, e.Starts, e.Ends, e.Admission = uint64(id), fromMicros(starts), fromMicros(ends), fromMicros(adm)
	if err := json.Unmarshal([]byte(days), &e.Days); err != nil {
		return e, fmt.Errorf("event %d: days: %w", id, err)
	}
	return e, nil
}

// Events lists the events, of one venue or of all when venue is "", by
// start.
func (d *DB) Events(ctx context.Context, venue string) ([]Event, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE venue = $1 OR $1 = '' ORDER BY starts, id`, venue)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Event reads one event.
func (d *DB) Event(ctx context.Context, id uint64) (Event, error) {
	e, err := scanEvent(d.db.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, int64(id)))
	if err != nil {
		return e, notFound(err, fmt.Sprintf("event %d", id))
	}
	return e, nil
}

// TicketTypes lists an event's ticket types.
func (d *DB) TicketTypes(ctx context.Context, event uint64) ([]TicketType, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, name, zones, rule FROM ticket_types WHERE event = $1 ORDER BY id`, int64(event))
	if err != nil {
		return nil, fmt.Errorf("ticket types of %d: %w", event, err)
	}
	defer rows.Close()
	var out []TicketType
	for rows.Next() {
		tt := TicketType{Event: event}
		var id int64
		var zones, rule string
		if err := rows.Scan(&id, &tt.Name, &zones, &rule); err != nil {
			return nil, err
		}
		tt.ID, tt.Rule = uint64(id), json.RawMessage(rule)
		if err := json.Unmarshal([]byte(zones), &tt.Zones); err != nil {
			return nil, fmt.Errorf("ticket type %d/%d: zones: %w", event, id, err)
		}
		out = append(out, tt)
	}
	return out, rows.Err()
}

// TicketType reads one ticket type.
func (d *DB) TicketType(ctx context.Context, event, id uint64) (TicketType, error) {
	types, err := d.TicketTypes(ctx, event)
	if err != nil {
		return TicketType{}, err
	}
	for _, tt := range types {
		if tt.ID == id {
			return tt, nil
		}
	}
	return TicketType{}, fmt.Errorf("ticket type %d of event %d: %w", id, event, ErrNotFound)
}
