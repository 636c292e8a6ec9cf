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
	// By is the staff member who issues them, for the audit log; empty
	// for a script's issue, which its own log records.
	By string
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
	var out []store.Ticket
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if out, err = c.IssueIn(tx, ev, tt, req.Count, req.Holder); err != nil || req.By == "" {
			return err
		}
		detail := fmt.Sprintf("%d tickets, serials %d-%d, holder %q", len(out), out[0].Serial, out[len(out)-1].Serial, req.Holder)
		if len(out) == 1 {
			detail = fmt.Sprintf("1 ticket, serial %d, holder %q", out[0].Serial, req.Holder)
		}
		return tx.Audit(store.AuditEntry{At: c.now(), Actor: req.By, Action: "tickets.issue", Target: fmt.Sprintf("%d/%d", req.Event, req.Type), Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("issue tickets of event %d type %d: %w", req.Event, req.Type, err)
	}
	return out, nil
}

// RevokeTicket withdraws a ticket (a refund, a replacement) and tells the
// venue's devices.
func (c *Catalog) RevokeTicket(ctx context.Context, event, serial uint64, reason string) error {
	return c.RevokeTicketAs(ctx, "", event, serial, reason)
}

// RevokeTicketAs is RevokeTicket by a staff member, written to the audit
// log.
func (c *Catalog) RevokeTicketAs(ctx context.Context, by string, event, serial uint64, reason string) error {
	ev, err := c.cfg.Store.Event(ctx, event)
	if err != nil {
		return fmt.Errorf("revoke ticket %d/%d: %w", event, serial, err)
	}
	err = c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := c.RevokeTicketIn(tx, ev.Venue, event, serial, reason, time.Time{}); err != nil || by == "" {
			return err
		}
		return tx.Audit(store.AuditEntry{At: c.now(), Actor: by, Action: "ticket.revoke", Target: fmt.Sprintf("%d/%d", event, serial), Detail: reason})
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
	return c.RevokeDeviceAs(ctx, "", name, reason)
}

// RevokeDeviceAs is RevokeDevice by a staff member, written to the audit
// log.
func (c *Catalog) RevokeDeviceAs(ctx context.Context, by, name, reason string) (store.Device, error) {
	var dev store.Device
	err := c.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if dev, err = tx.RevokeDevice(name, c.now()); err != nil {
			return err
		}
		if by != "" {
			if err := tx.Audit(store.AuditEntry{At: c.now(), Actor: by, Action: "device.revoke", Target: name, Detail: reason}); err != nil {
				return err
			}
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

// IssueIn issues count tickets of type tt of event ev inside tx: the next
// serials, codes signed by central's issuer key, stored and signed into the
// venue's manifest in batches. A caller whose own writes must commit with
// the tickets (a paid order) calls it in its transaction.
func (c *Catalog) IssueIn(tx *store.Tx, ev store.Event, tt store.TicketType, count int, holder string) ([]store.Ticket, error) {
	issuer := c.cfg.Keys.IssuerCert.ID().String()
	out := make([]store.Ticket, 0, count)
	last, err := tx.Next(fmt.Sprintf("serial:%d", ev.ID), int64(count))
	if err != nil {
		return nil, err
	}
	first := uint64(last) - uint64(count) + 1
	if uint64(last) >= store.SellerSerialMin {
		return nil, fmt.Errorf("serials from %d are kept for seller quotas: event %d has no online serials left", store.SellerSerialMin, ev.ID)
	}
	now := c.now()
	for s := first; s <= uint64(last); s++ {
		code, err := ticket.Issue(ticket.Ticket{Event: ev.ID, Serial: s, Type: tt.ID, Zones: manifest.MaskOf(tt.Zones)}, c.cfg.Keys.Issuer)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Ticket{Event: ev.ID, Serial: s, Type: tt.ID, Status: string(manifest.StatusValid),
			Holder: holder, Code: code, Issuer: issuer, IssuedAt: now})
	}
	if err := tx.AddTickets(out); err != nil {
		return nil, err
	}
	for i := 0; i < len(out); i += c.cfg.TicketBatch {
		batch := out[i:min(i+c.cfg.TicketBatch, len(out))]
		body := manifest.Tickets{Event: ev.ID}
		for _, t := range batch {
			body.Tickets = append(body.Tickets, manifest.Ticket{Serial: t.Serial, Type: t.Type, Status: manifest.StatusValid, Holder: t.Holder})
		}
		subject := fmt.Sprintf("tickets:%d/%d-%d", ev.ID, batch[0].Serial, batch[len(batch)-1].Serial)
		if _, err := c.Emit(tx, ev.Venue, manifest.KindTickets, subject, &body); err != nil {
			return nil, err
		}
	}
	return out, nil
}
