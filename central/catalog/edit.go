package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// The edits of the ops screens: each validates what it is given with the
// checks devices run on the manifest change, then stores it, signs the
// change and writes the audit log's entry (by is the staff member) in one
// transaction, so nothing is signed that is not stored and nothing changes
// unrecorded.

// ErrExists is returned when a new event or ticket type would take the id
// of one that exists.
var ErrExists = errors.New("exists already")

// PutVenue changes a venue's time zone, zones and gates.
func (c *Catalog) PutVenue(ctx context.Context, by string, v store.Venue) error {
	old, err := c.cfg.Store.Venue(ctx, v.Name)
	if err != nil {
		return fmt.Errorf("venue %s: %w", v.Name, err)
	}
	v.Organizer = old.Organizer
	mv := manifest.Venue{Name: v.Name, TimeZone: v.TimeZone}
	for _, z := range v.Zones {
		mv.Zones = append(mv.Zones, manifest.Zone{ID: z.ID, Name: z.Name})
	}
	for _, g := range v.Gates {
		mv.Gates = append(mv.Gates, manifest.Gate{Name: g.Name, Zone: g.Zone})
	}
	if err := mv.Check(); err != nil {
		return fmt.Errorf("venue %s: %w", v.Name, err)
	}
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutVenue(v); err != nil {
			return err
		}
		if _, err := c.Emit(tx, v.Name, manifest.KindVenue, "venue", &mv); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: c.now(), Actor: by, Action: "venue.put", Target: v.Name,
			Detail: fmt.Sprintf("time zone %s, %d zones, %d gates", v.TimeZone, len(v.Zones), len(v.Gates))})
	})
	if err != nil {
		return fmt.Errorf("venue %s: %w", v.Name, err)
	}
	return nil
}

// EventEdit is an event as staff create or change it.
type EventEdit struct {
	ID       uint64 // 0 with Create: the next free id
	Create   bool   // a new event: an existing id is ErrExists
	Venue    string
	Name     string
	TimeZone string // IANA; the days are counted in it
	Starts   time.Time
	Ends     time.Time
	// Admission is when the doors open; zero: as the ticket types' rules
	// say.
	Admission time.Time
}

// PutEvent creates or changes an event and returns it as stored.
func (c *Catalog) PutEvent(ctx context.Context, by string, e EventEdit) (store.Event, error) {
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil || e.TimeZone == "" {
		return store.Event{}, fmt.Errorf("event: time zone %q is not an IANA time zone", e.TimeZone)
	}
	if _, err := c.cfg.Store.Venue(ctx, e.Venue); err != nil {
		return store.Event{}, fmt.Errorf("event: %w", err)
	}
	if e.ID == 0 && e.Create {
		evs, err := c.cfg.Store.Events(ctx, "")
		if err != nil {
			return store.Event{}, err
		}
		e.ID = 1
		for _, x := range evs {
			e.ID = max(e.ID, x.ID+1)
		}
	}
	if !e.Create {
		old, err := c.cfg.Store.Event(ctx, e.ID)
		if err != nil {
			return store.Event{}, fmt.Errorf("event: %w", err)
		}
		if old.Venue != e.Venue {
			return store.Event{}, fmt.Errorf("event %d belongs to venue %s, not %s", e.ID, old.Venue, e.Venue)
		}
	}
	secret := ticket.EventRotationSecret(c.cfg.Keys.RotationMaster, e.ID)
	me := manifest.Event{ID: e.ID, Name: e.Name, Starts: e.Starts.UTC(), Ends: e.Ends.UTC(), RotationSecret: secret}
	if !e.Admission.IsZero() {
		me.Admission = e.Admission.UTC()
		if !me.Admission.Before(me.Ends) {
			return store.Event{}, fmt.Errorf("event %d: doors must open before it ends", e.ID)
		}
	}
	if e.Name == "" {
		return store.Event{}, errors.New("event: give it a name")
	}
	if err := me.Check(); err != nil {
		return store.Event{}, fmt.Errorf("event: %w", err)
	}
	se := store.Event{ID: e.ID, Venue: e.Venue, Name: e.Name, TimeZone: e.TimeZone, Starts: me.Starts, Ends: me.Ends,
		Admission: me.Admission, Days: Days(me.Starts, me.Ends, loc), RotationSecret: secret}
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if e.Create {
			if has, err := tx.HasEvent(e.ID); err != nil || has {
				if err == nil {
					err = fmt.Errorf("event %d %w", e.ID, ErrExists)
				}
				return err
			}
		}
		if _, err := c.emitTrust(tx, e.Venue); err != nil {
			return err
		}
		if err := tx.PutEvent(se); err != nil {
			return err
		}
		if _, err := c.Emit(tx, e.Venue, manifest.KindEvent, fmt.Sprintf("event:%d", e.ID), &me); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: c.now(), Actor: by, Action: "event.put", Target: fmt.Sprint(e.ID),
			Detail: fmt.Sprintf("%s, %s to %s %s", e.Name, se.Starts.In(loc).Format(time.DateTime), se.Ends.In(loc).Format(time.DateTime), e.TimeZone)})
	})
	if err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", e.ID, err)
	}
	return se, nil
}

// PutTicketType creates (create) or changes a ticket type of an event: its
// name, zones and entry rule. A new type with id 0 takes the next free id.
func (c *Catalog) PutTicketType(ctx context.Context, by string, t manifest.TicketType, create bool) (manifest.TicketType, error) {
	ev, err := c.cfg.Store.Event(ctx, t.Event)
	if err != nil {
		return t, fmt.Errorf("ticket type: %w", err)
	}
	types, err := c.cfg.Store.TicketTypes(ctx, t.Event)
	if err != nil {
		return t, err
	}
	if create && t.ID == 0 {
		t.ID = 1
		for _, x := range types {
			t.ID = max(t.ID, x.ID+1)
		}
	}
	if t.Name == "" {
		return t, errors.New("ticket type: give it a name")
	}
	if err := t.Check(); err != nil {
		return t, err
	}
	rule, err := json.Marshal(t.Rule)
	if err != nil {
		return t, fmt.Errorf("ticket type %d/%d: %w", t.Event, t.ID, err)
	}
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		has, err := tx.HasTicketType(t.Event, t.ID)
		switch {
		case err != nil:
			return err
		case create && has:
			return fmt.Errorf("ticket type %d %w", t.ID, ErrExists)
		case !create && !has:
			return fmt.Errorf("ticket type %d: %w", t.ID, store.ErrNotFound)
		}
		if err := tx.PutTicketType(store.TicketType{Event: t.Event, ID: t.ID, Name: t.Name, Zones: t.Zones, Rule: rule}); err != nil {
			return err
		}
		if _, err := c.Emit(tx, ev.Venue, manifest.KindTicketType, fmt.Sprintf("ticket_type:%d/%d", t.Event, t.ID), &t); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: c.now(), Actor: by, Action: "ticket_type.put", Target: fmt.Sprintf("%d/%d", t.Event, t.ID),
			Detail: fmt.Sprintf("%s, zones %v, rule %s", t.Name, t.Zones, rule)})
	})
	if err != nil {
		return t, fmt.Errorf("ticket type %d/%d: %w", t.Event, t.ID, err)
	}
	return t, nil
}
