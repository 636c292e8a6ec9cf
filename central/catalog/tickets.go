package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// Issue is a request for tickets of one type.
type Issue struct {
	Event  uint64
	Type   uint64
	Count  int
	Holder string // the holder's name on every one; may be empty
}

// IssueTickets issues Count tickets: the next serials of the event, codes
// signed by central's issuer key, stored and signed into the venue's
// manifest in batches, in one transaction.
func (c *Catalog) IssueTickets(ctx context.Context, req Issue) ([]store.Ticket, error) {
	if req.Count <= 0 || req.Count > 1_000_000 {
		return nil, fmt.Errorf("issue tickets: count %d: want 1 to 1000000", req.Count)
	}
	if len(req.Holder) > manifest.MaxHolderLen {
		return nil, fmt.Errorf("issue tickets: holder name longer than %d bytes", manifest.MaxHolderLen)
	}
	ev, err := c.cfg.Store.Event(ctx, req.Event)
	if err != nil {
		return nil, fmt.Errorf("issue tickets: %w", err)
	}
	tt, err := c.cfg.Store.TicketType(ctx, req.Event, req.Type)
	if err != nil {
		return nil, fmt.Errorf("issue tickets: %w", err)
	}
	issuer := c.cfg.Keys.IssuerCert.ID().String()
	var out []store.Ticket
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		out = make([]store.Ticket, 0, req.Count)
		last, err := tx.Next(fmt.Sprintf("serial:%d", req.Event), int64(req.Count))
		if err != nil {
			return err
		}
		first := uint64(last) - uint64(req.Count) + 1
		if uint64(last) >= store.SellerSerialMin {
			return fmt.Errorf("serials from %d are kept for seller quotas: event %d has no online serials left", store.SellerSerialMin, req.Event)
		}
		now := c.now()
		for s := first; s <= uint64(last); s++ {
			code, err := ticket.Issue(ticket.Ticket{Event: req.Event, Serial: s, Type: req.Type, Zones: manifest.MaskOf(tt.Zones)}, c.cfg.Keys.Issuer)
			if err != nil {
				return err
			}
			out = append(out, store.Ticket{Event: req.Event, Serial: s, Type: req.Type, Status: string(manifest.StatusValid),
				Holder: req.Holder, Code: code, Issuer: issuer, IssuedAt: now})
		}
		if err := tx.AddTickets(out); err != nil {
			return err
		}
		for i := 0; i < len(out); i += c.cfg.TicketBatch {
			batch := out[i:min(i+c.cfg.TicketBatch, len(out))]
			body := manifest.Tickets{Event: req.Event}
			for _, t := range batch {
				body.Tickets = append(body.Tickets, manifest.Ticket{Serial: t.Serial, Type: t.Type, Status: manifest.StatusValid, Holder: t.Holder})
			}
			subject := fmt.Sprintf("tickets:%d/%d-%d", req.Event, batch[0].Serial, batch[len(batch)-1].Serial)
			if _, err := c.Emit(tx, ev.Venue, manifest.KindTickets, subject, &body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("issue tickets of event %d type %d: %w", req.Event, req.Type, err)
	}
	return out, nil
}

// RevokeTicket withdraws a ticket (a refund, a replacement) and tells the
// venue's devices.
func (c *Catalog) RevokeTicket(ctx context.Context, event, serial uint64, reason string) error {
	ev, err := c.cfg.Store.Event(ctx, event)
	if err != nil {
		return fmt.Errorf("revoke ticket %d/%d: %w", event, serial, err)
	}
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		return c.RevokeTicketIn(tx, ev.Venue, event, serial, reason, time.Time{})
	})
	if err != nil {
		return fmt.Errorf("revoke ticket %d/%d: %w", event, serial, err)
	}
	return nil
}

// RevokeTicketIn revokes a ticket of the venue inside tx and signs the
// revocation into its manifest, unless the ticket is revoked already. at
// is when the revocation takes effect (a seller's void: when it was made);
// zero is now, and the change then says nothing of a time, as before.
func (c *Catalog) RevokeTicketIn(tx *store.Tx, venue string, event, serial uint64, reason string, at time.Time) error {
	subject := fmt.Sprintf("%d/%d", event, serial)
	when := at
	if when.IsZero() {
		when = c.now()
	}
	fresh, err := tx.Revoke(store.Revocation{Kind: "ticket", Subject: subject, Reason: reason, At: when}, event, serial)
	if err != nil || !fresh {
		return err
	}
	_, err = c.Emit(tx, venue, manifest.KindRevoke, "revoke:ticket:"+subject,
		&manifest.Revoke{Tickets: []manifest.TicketRef{{Event: event, Serial: serial}}, Reason: reason, At: at})
	return err
}

// RevokeDevice revokes a lost or retired device: its credential stops
// working at central, its records made from now on are refused, and its
// venue's devices are told through a signed revocation.
func (c *Catalog) RevokeDevice(ctx context.Context, name, reason string) (store.Device, error) {
	var dev store.Device
	err := c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if dev, err = tx.RevokeDevice(name, c.now()); err != nil {
			return err
		}
		id, err := ticket.ParseKeyID(dev.KeyID)
		if err != nil {
			return nil // never enrolled: no device trusts it
		}
		if _, err := tx.Revoke(store.Revocation{Kind: "device", Subject: dev.KeyID, Reason: reason, At: c.now()}, 0, 0); err != nil {
			return err
		}
		_, err = c.Emit(tx, dev.Venue, manifest.KindRevoke, "revoke:device:"+dev.KeyID, &manifest.Revoke{Devices: []ticket.KeyID{id}, Reason: reason})
		return err
	})
	if err != nil {
		return dev, fmt.Errorf("revoke device %s: %w", name, err)
	}
	return dev, nil
}
