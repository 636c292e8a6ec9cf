package manifest

// Check reports what makes a venue unusable in a manifest (a bad name or
// time zone, a repeated zone or gate, a gate opening a zone the venue
// lacks): the checks a device runs on the change, for central to refuse
// before it signs one.
func (v Venue) Check() error { return v.check() }

// Check reports what makes an event unusable in a manifest.
func (e Event) Check() error { return e.check() }

// Check reports what makes a ticket type unusable in a manifest, its rule
// included.
func (t TicketType) Check() error { return t.check() }
