package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// Spec describes a venue for a standalone manifest: what a small venue
// without central, a test or a benchmark writes by hand in YAML or TOML.
type Spec struct {
	Venue       string           `json:"venue"`
	TimeZone    string           `json:"time_zone"`
	Zones       []Zone           `json:"zones"`
	Gates       []Gate           `json:"gates"`
	Events      []EventSpec      `json:"events"`
	TicketTypes []TicketTypeSpec `json:"ticket_types"`
}

// EventSpec is an event of a Spec.
type EventSpec struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
	Admission time.Time `json:"admission,omitzero"`
}

// TicketTypeSpec is a ticket type of a Spec. Share weighs how many of the
// generated tickets are of this type (default 1).
type TicketTypeSpec struct {
	Event uint64     `json:"event"`
	ID    uint64     `json:"id"`
	Name  string     `json:"name"`
	Zones []int      `json:"zones,omitempty"`
	Rule  rules.Rule `json:"rule"`
	// Share weighs how many generated tickets are of this type: absent
	// means 1, 0 means none.
	Share *int `json:"share,omitempty"`
}

// ParseSpec reads a venue description in YAML or TOML (format "yaml",
// "toml", or "" to tell by the content). Unknown keys are errors: a typo in
// a rule must not silently loosen it.
func ParseSpec(data []byte, format string) (*Spec, error) {
	var generic map[string]any
	switch strings.ToLower(format) {
	case "yaml", "yml":
		if err := yaml.Unmarshal(data, &generic); err != nil {
			return nil, fmt.Errorf("venue file: %w", err)
		}
	case "toml":
		if _, err := toml.Decode(string(data), &generic); err != nil {
			return nil, fmt.Errorf("venue file: %w", err)
		}
	case "":
		if _, err := toml.Decode(string(data), &generic); err != nil {
			generic = nil
			if yerr := yaml.Unmarshal(data, &generic); yerr != nil {
				return nil, fmt.Errorf("venue file is neither TOML (%v) nor YAML (%v)", err, yerr)
			}
		}
	default:
		return nil, fmt.Errorf("venue file format %q: want yaml or toml", format)
	}
	if generic == nil {
		return nil, errors.New("venue file is empty")
	}
	// Through JSON, so one set of field names (snake_case) serves both
	// formats and the manifest.
	js, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("venue file: %w", err)
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("venue file: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("venue file: %w", err)
	}
	return &s, nil
}

func (s *Spec) check() error {
	v := s.venue()
	if err := v.check(); err != nil {
		return err
	}
	if len(s.Events) == 0 {
		return errors.New("no events")
	}
	events := map[uint64]bool{}
	for _, e := range s.Events {
		ev := e.event(nil)
		if err := ev.check(); err != nil {
			return err
		}
		if events[e.ID] {
			return fmt.Errorf("event %d is listed twice", e.ID)
		}
		events[e.ID] = true
	}
	types := map[[2]uint64]bool{}
	for _, t := range s.TicketTypes {
		tt := t.ticketType()
		if err := tt.check(); err != nil {
			return err
		}
		if !events[t.Event] {
			return fmt.Errorf("ticket type %d is for event %d, which is not listed", t.ID, t.Event)
		}
		if types[[2]uint64{t.Event, t.ID}] {
			return fmt.Errorf("ticket type %d of event %d is listed twice", t.ID, t.Event)
		}
		if t.Share != nil && *t.Share < 0 {
			return fmt.Errorf("ticket type %d: share must not be negative", t.ID)
		}
		types[[2]uint64{t.Event, t.ID}] = true
	}
	return nil
}

// OpenDoorsAt moves every event by one duration so that the first one's
// doors (its start when it sets no admission) open at t, to the minute:
// a venue file written for one night can be tried out on any day. The
// events keep their lengths and the gaps between them.
func (s *Spec) OpenDoorsAt(t time.Time) {
	if len(s.Events) == 0 {
		return
	}
	first := s.Events[0].doors()
	for _, e := range s.Events[1:] {
		if d := e.doors(); d.Before(first) {
			first = d
		}
	}
	by := t.Truncate(time.Minute).Sub(first)
	for i := range s.Events {
		e := &s.Events[i]
		e.Starts, e.Ends = e.Starts.Add(by), e.Ends.Add(by)
		if !e.Admission.IsZero() {
			e.Admission = e.Admission.Add(by)
		}
	}
}

func (e EventSpec) doors() time.Time {
	if e.Admission.IsZero() {
		return e.Starts
	}
	return e.Admission
}

func (s *Spec) venue() Venue {
	return Venue{Name: s.Venue, TimeZone: s.TimeZone, Zones: s.Zones, Gates: s.Gates}
}

func (e EventSpec) event(secret []byte) Event {
	return Event{ID: e.ID, Name: e.Name, Starts: e.Starts, Ends: e.Ends, Admission: e.Admission, RotationSecret: secret}
}

func (t TicketTypeSpec) ticketType() TicketType {
	return TicketType{Event: t.Event, ID: t.ID, Name: t.Name, Zones: t.Zones, Rule: t.Rule}
}

// BuildOptions say what goes into a built manifest besides the Spec.
type BuildOptions struct {
	Signer   Signer
	FirstSeq uint64 // number of the first change; default 1
	// Issuers and Devices are certificates to include.
	Issuers []ticket.IssuerCert
	Devices []ticket.DeviceCert
	// RotationMaster derives each event's rotation secret; nil: none.
	RotationMaster []byte
	// Tickets generated, with serials 1..Tickets, spread over the ticket
	// types by their shares.
	Tickets int
	// BatchSize is the tickets per change; default 1000.
	BatchSize int
}

// Build signs the manifest of a Spec and hands each change to emit, in
// order: venue, certificates, events, ticket types, then tickets in batches.
// It holds one batch in memory at a time.
func (s *Spec) Build(opt BuildOptions, emit func(Change) error) error {
	seq := opt.FirstSeq
	if seq == 0 {
		seq = 1
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.BatchSize > MaxTicketsPerBatch {
		opt.BatchSize = MaxTicketsPerBatch
	}
	put := func(kind Kind, body any) error {
		c, err := opt.Signer.Sign(seq, kind, body)
		if err != nil {
			return err
		}
		seq++
		return emit(c)
	}
	v := s.venue()
	if err := put(KindVenue, &v); err != nil {
		return err
	}
	for i := range opt.Issuers {
		if err := put(KindIssuer, &opt.Issuers[i]); err != nil {
			return err
		}
	}
	for i := range opt.Devices {
		if err := put(KindDevice, &opt.Devices[i]); err != nil {
			return err
		}
	}
	for _, e := range s.Events {
		var secret []byte
		if opt.RotationMaster != nil {
			secret = ticket.EventRotationSecret(opt.RotationMaster, e.ID)
		}
		ev := e.event(secret)
		if err := put(KindEvent, &ev); err != nil {
			return err
		}
	}
	for _, t := range s.TicketTypes {
		tt := t.ticketType()
		if err := put(KindTicketType, &tt); err != nil {
			return err
		}
	}
	if opt.Tickets <= 0 {
		return nil
	}
	if len(s.TicketTypes) == 0 {
		return errors.New("tickets asked for, but the venue file has no ticket types")
	}
	pattern := s.typePattern()
	if len(pattern) == 0 {
		return errors.New("tickets asked for, but every ticket type has share 0")
	}
	batches := map[uint64]*Tickets{}
	flush := func(event uint64) error {
		b := batches[event]
		if b == nil || len(b.Tickets) == 0 {
			return nil
		}
		err := put(KindTickets, b)
		b.Tickets = b.Tickets[:0]
		return err
	}
	for serial := 1; serial <= opt.Tickets; serial++ {
		t := s.TicketTypes[pattern[(serial-1)%len(pattern)]]

		b := batches[t.Event]
		if b == nil {
			b = &Tickets{Event: t.Event}
			batches[t.Event] = b
		}
		b.Tickets = append(b.Tickets, Ticket{Serial: uint64(serial), Type: t.ID, Status: StatusValid,
			Holder: fmt.Sprintf("Guest %07d", serial)})
		if len(b.Tickets) >= opt.BatchSize {
			if err := flush(t.Event); err != nil {
				return err
			}
		}
	}
	for _, e := range s.Events {
		if err := flush(e.ID); err != nil {
			return err
		}
	}
	return nil
}

// typePattern spreads serials over the types by share: a repeating pattern
// of type indexes, each type as often as its share.
func (s *Spec) typePattern() []int {
	var pattern []int
	for i, t := range s.TicketTypes {
		share := 1
		if t.Share != nil {
			share = *t.Share
		}
		for range share {
			pattern = append(pattern, i)
		}
	}
	return pattern
}

// TypeOf is the event and ticket type Build gives the generated ticket
// with this serial; ok is false when no type has a share.
func (s *Spec) TypeOf(serial uint64) (event, typ uint64, ok bool) {
	pattern := s.typePattern()
	if len(pattern) == 0 || serial == 0 {
		return 0, 0, false
	}
	t := s.TicketTypes[pattern[(serial-1)%uint64(len(pattern))]]
	return t.Event, t.ID, true
}
