package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// ImportResult says what an import changed.
type ImportResult struct {
	Venue       string
	Events      int
	TicketTypes int
	Changes     int    // manifest changes signed: 0 when nothing changed
	Head        uint64 // the venue's manifest number afterwards
}

// ImportVenue creates or updates a venue, its zones, gates, events and
// ticket types from a venue description (the files `tixgate ledger
// manifest` reads) in one transaction, and signs a manifest change for
// each that differs from what the venue's manifest already says.
// Generated tickets (a description's shares) are not made: central issues
// tickets itself.
func (c *Catalog) ImportVenue(ctx context.Context, spec *manifest.Spec, organizer string) (ImportResult, error) {
	res := ImportResult{Venue: spec.Venue, Events: len(spec.Events), TicketTypes: len(spec.TicketTypes)}
	mv := manifest.Venue{Name: spec.Venue, TimeZone: spec.TimeZone, Zones: spec.Zones, Gates: spec.Gates}
	loc := mv.Location()
	if organizer == "" {
		organizer = spec.Venue
	}
	sv := store.Venue{Name: spec.Venue, Organizer: organizer, TimeZone: spec.TimeZone}
	for _, z := range spec.Zones {
		sv.Zones = append(sv.Zones, store.Zone{ID: z.ID, Name: z.Name})
	}
	for _, g := range spec.Gates {
		sv.Gates = append(sv.Gates, store.Gate{Name: g.Name, Zone: g.Zone})
	}
	err := c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		res.Changes = 0
		count := func(seq uint64, err error) error {
			if seq > 0 {
				res.Changes++
			}
			return err
		}
		if err := tx.PutOrganizer(organizer, c.now()); err != nil {
			return err
		}
		if err := tx.PutVenue(sv); err != nil {
			return err
		}
		if err := count(c.Emit(tx, spec.Venue, manifest.KindVenue, "venue", &mv)); err != nil {
			return err
		}
		n, err := c.emitTrust(tx, spec.Venue)
		res.Changes += n
		if err != nil {
			return err
		}
		for _, e := range spec.Events {
			if owner, err := c.cfg.Store.Event(ctx, e.ID); err == nil && owner.Venue != spec.Venue {
				return fmt.Errorf("event %d belongs to venue %s, not %s", e.ID, owner.Venue, spec.Venue)
			}
			secret := ticket.EventRotationSecret(c.cfg.Keys.RotationMaster, e.ID)
			me := manifest.Event{ID: e.ID, Name: e.Name, Starts: e.Starts.UTC(), Ends: e.Ends.UTC(), Admission: e.Admission.UTC(), RotationSecret: secret}
			if e.Admission.IsZero() {
				me.Admission = time.Time{}
			}
			err := tx.PutEvent(store.Event{ID: e.ID, Venue: spec.Venue, Name: e.Name, TimeZone: spec.TimeZone,
				Starts: me.Starts, Ends: me.Ends, Admission: me.Admission, Days: Days(me.Starts, me.Ends, loc), RotationSecret: secret})
			if err != nil {
				return err
			}
			if err := count(c.Emit(tx, spec.Venue, manifest.KindEvent, fmt.Sprintf("event:%d", e.ID), &me)); err != nil {
				return err
			}
		}
		for _, t := range spec.TicketTypes {
			mt := manifest.TicketType{Event: t.Event, ID: t.ID, Name: t.Name, Zones: t.Zones, Rule: t.Rule}
			rule, err := json.Marshal(t.Rule)
			if err != nil {
				return fmt.Errorf("ticket type %d/%d: %w", t.Event, t.ID, err)
			}
			if err := tx.PutTicketType(store.TicketType{Event: t.Event, ID: t.ID, Name: t.Name, Zones: t.Zones, Rule: rule}); err != nil {
				return err
			}
			if err := count(c.Emit(tx, spec.Venue, manifest.KindTicketType, fmt.Sprintf("ticket_type:%d/%d", t.Event, t.ID), &mt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("import venue %s: %w", spec.Venue, err)
	}
	res.Head, err = c.cfg.Store.ManifestHead(ctx, spec.Venue)
	return res, err
}

// Days are the local dates, in loc, an event from starts to ends touches.
func Days(starts, ends time.Time, loc *time.Location) []string {
	var days []string
	d := starts.In(loc)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	last := ends.Add(-time.Nanosecond).In(loc)
	for !day.After(last) {
		days = append(days, day.Format(time.DateOnly))
		day = day.AddDate(0, 0, 1)
	}
	return days
}
