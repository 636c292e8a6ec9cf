package reconcile

import (
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/replay"
	"github.com/tixgate/tixgate/ticket"
)

// Facts is what the manifest says about the records: the rules they are
// judged by and what was revoked when.
type Facts struct {
	// Location is the venue's time zone, for the rules' days and times of
	// day; nil is UTC.
	Location *time.Location
	Events   map[uint64]manifest.Event
	Types    map[TypeRef]manifest.TicketType
	// RevokedTickets and RevokedDevices say from when the manifest
	// withdrew a ticket or a device key.
	RevokedTickets map[manifest.TicketRef]Revocation
	RevokedDevices map[ticket.KeyID]Revocation
	// Names names a record's origin device, as the gates do (see
	// replay.TrustNames); nil names devices by their key ids. The rules
	// break ties of time and gate by the name.
	Names replay.Namer
}

// TypeRef names a ticket type.
type TypeRef struct{ Event, ID uint64 }

// Revocation is when a revocation takes effect, and why. A zero At is from
// the beginning.
type Revocation struct {
	At     time.Time `json:"at,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// Apply folds one decoded manifest change body (manifest.Change.Decode)
// into the facts, so central builds them from the manifest it signed: a
// venue sets the time zone, events and ticket types replace theirs, tickets
// listed as revoked and revocations add revoked tickets and devices. When a
// ticket or device is revoked twice, the earlier time stands. Other bodies
// change nothing.
func (f *Facts) Apply(body any) {
	switch b := body.(type) {
	case *manifest.Venue:
		f.Location = b.Location()
	case *manifest.Event:
		if f.Events == nil {
			f.Events = map[uint64]manifest.Event{}
		}
		f.Events[b.ID] = *b
	case *manifest.TicketType:
		if f.Types == nil {
			f.Types = map[TypeRef]manifest.TicketType{}
		}
		f.Types[TypeRef{b.Event, b.ID}] = *b
	case *manifest.Tickets:
		for _, t := range b.Tickets {
			if t.Status == manifest.StatusRevoked {
				f.RevokedTickets = revoke(f.RevokedTickets, manifest.TicketRef{Event: b.Event, Serial: t.Serial}, Revocation{})
			}
		}
	case *manifest.Revoke:
		r := Revocation{At: b.At, Reason: b.Reason}
		for _, t := range b.Tickets {
			f.RevokedTickets = revoke(f.RevokedTickets, t, r)
		}
		for _, d := range b.Devices {
			f.RevokedDevices = revoke(f.RevokedDevices, d, r)
		}
	}
}

func revoke[K comparable](m map[K]Revocation, k K, r Revocation) map[K]Revocation {
	if m == nil {
		m = map[K]Revocation{}
	}
	if have, ok := m[k]; !ok || r.At.Before(have.At) {
		m[k] = r
	}
	return m
}

// covers reports whether the revocation covers what happened at at.
func (r Revocation) covers(at time.Time) bool { return !at.Before(r.At) }
