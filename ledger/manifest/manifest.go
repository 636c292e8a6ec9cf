package manifest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// Kind is what a change sets.
type Kind string

const (
	KindVenue      Kind = "venue"       // body: Venue; replaces the venue
	KindEvent      Kind = "event"       // body: Event; adds or replaces an event by id
	KindTicketType Kind = "ticket_type" // body: TicketType; adds or replaces a type by (event, id)
	KindTickets    Kind = "tickets"     // body: Tickets; adds or replaces tickets by (event, serial)
	KindIssuer     Kind = "issuer"      // body: ticket.IssuerCert; trusts an issuer
	KindDevice     Kind = "device"      // body: ticket.DeviceCert; trusts a device
	KindRevoke     Kind = "revoke"      // body: Revoke; revokes tickets, issuer keys, device keys
)

// Limits that bound what one change can make a device store.
const (
	MaxBodySize        = 4 << 20 // bytes of one change's body
	MaxTicketsPerBatch = 10_000
	MaxNameLen         = 128
	MaxHolderLen       = 128
	changeDomain       = "tixgate/manifest/v1"
	// privateDomain signs changes with a private part: the signature
	// covers the part's SHA-256 instead of the part.
	privateDomain = "tixgate/manifest/v1/private"
)

// Change is one signed step of the manifest.
type Change struct {
	Seq  uint64          `json:"seq"`
	Kind Kind            `json:"kind"`
	Body json.RawMessage `json:"body"`
	// Signer is the key id of the signing key: the root, or a key with a
	// central certificate.
	Signer ticket.KeyID `json:"signer"`
	// Cert is the signer's certificate, so relayed changes carry their own
	// proof; omitted when the root signs.
	Cert *ticket.DeviceCert `json:"cert,omitempty"`
	Sig  []byte             `json:"sig"`

	// PrivateSum is the SHA-256 of Private, and what the signature covers
	// of it: a change passed on without its private part still verifies,
	// and a private part is checked against the signed sum before use.
	PrivateSum []byte `json:"private_sum,omitempty"`
	// Private is what only devices whose role needs it may read: the
	// holders' names of a ticket batch and an event's rotation secret
	// (see NeedsPrivate), sealed to the gates (seal.go). Absent on a
	// change passed to a seller.
	Private []byte `json:"private,omitempty"`
}

// private is the body of Change.Private.
type private struct {
	// Holders are the names of a batch's tickets, in the batch's order.
	Holders []string `json:"holders,omitempty"`
	// RotationSecret is an event's.
	RotationSecret []byte `json:"rotation_secret,omitempty"`
}

// NeedsPrivate says whether a device of the role receives the private part
// of changes: a gate shows the holder's name and checks rotating codes, and
// central made them; a seller needs neither.
func NeedsPrivate(role ticket.Role) bool {
	return role == ticket.RoleGate || role == ticket.RoleCentral
}

// Complete says whether the change carries every part it was signed with.
func (c *Change) Complete() bool { return c.PrivateSum == nil || c.Private != nil }

// Redacted is the change without its private part, as it is passed to a
// device whose role does not need it. The signature still holds.
func (c Change) Redacted() Change {
	c.Private = nil
	return c
}

// ForRole is the line to send of a stored change to a device of the role:
// the change itself, or the change without its private part. ok is false
// when this copy lacks a part the role needs: the device must get the
// change from another peer.
func ForRole(line []byte, role ticket.Role) (out []byte, ok bool, err error) {
	c, err := Parse(line)
	if err != nil {
		return nil, false, err
	}
	switch {
	case NeedsPrivate(role):
		return line, c.Complete(), nil
	case c.Private == nil:
		return line, true, nil
	}
	r := c.Redacted()
	return r.Marshal(), true, nil
}

// Venue is the place: its time zone, zones and gates.
type Venue struct {
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"` // IANA name, e.g. Europe/Berlin
	Zones    []Zone `json:"zones"`
	Gates    []Gate `json:"gates"`
}

// Zone is an area behind gates; its id is a bit of ticket zone masks.
type Zone struct {
	ID   int    `json:"id"` // 0 to 63
	Name string `json:"name"`
}

// Gate is a turnstile or door; it opens one zone.
type Gate struct {
	Name string `json:"name"`
	Zone int    `json:"zone"`
}

// Event is one show, match or opening day.
type Event struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
	Admission time.Time `json:"admission,omitzero"` // doors open; zero: as the types' rules say
	// RotationSecret keys the event's rotating codes (32 bytes).
	RotationSecret []byte `json:"rotation_secret,omitempty"`
}

// TicketType says what a ticket of the type may do.
type TicketType struct {
	Event uint64     `json:"event"`
	ID    uint64     `json:"id"`
	Name  string     `json:"name"`
	Zones []int      `json:"zones,omitempty"` // zones it opens; empty: every zone
	Rule  rules.Rule `json:"rule"`
}

// ZoneMask is the type's zones as a bit mask; 0 means every zone.
func (t *TicketType) ZoneMask() uint64 { return MaskOf(t.Zones) }

// MaskOf turns zone ids into a bit mask.
func MaskOf(zones []int) uint64 {
	var m uint64
	for _, z := range zones {
		if z >= 0 && z < 64 {
			m |= 1 << z
		}
	}
	return m
}

// Status is a known ticket's standing.
type Status string

const (
	StatusValid   Status = "valid"
	StatusRevoked Status = "revoked" // refunded, cancelled or replaced
)

// Tickets is a batch of known tickets of one event.
type Tickets struct {
	Event   uint64   `json:"event"`
	Tickets []Ticket `json:"tickets"`
}

// Ticket is what the manifest knows of one ticket beyond its code.
type Ticket struct {
	Serial uint64 `json:"serial"`
	Type   uint64 `json:"type"`
	Status Status `json:"status,omitempty"` // empty means valid
	Holder string `json:"holder,omitempty"`
	Seat   string `json:"seat,omitempty"`
}

// Revoke withdraws tickets, issuer keys and device keys.
type Revoke struct {
	Tickets []TicketRef    `json:"tickets,omitempty"`
	Issuers []ticket.KeyID `json:"issuers,omitempty"`
	Devices []ticket.KeyID `json:"devices,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	// At is when the revocation takes effect, which may be before central
	// signs it (a device lost at 18:00 and reported at 20:00): what a
	// revoked device recorded from then on, and a revoked ticket's entries
	// from then on, are conflicts for central to reconcile. Zero, as in
	// every revocation made before the field existed, is from the
	// beginning. Omitted when zero, so such a change encodes as before.
	At time.Time `json:"at,omitzero"`
}

// TicketRef names a ticket.
type TicketRef struct {
	Event  uint64 `json:"event"`
	Serial uint64 `json:"serial"`
}

// signedBytes is what the signature covers.
func (c *Change) signedBytes() []byte {
	domain := changeDomain
	if c.PrivateSum != nil {
		domain = privateDomain
	}
	b := make([]byte, 0, len(domain)+16+len(c.Kind)+len(c.PrivateSum)+len(c.Body))
	b = append(b, domain...)
	b = append(b, 0)
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.AppendUvarint(b, uint64(len(c.Kind)))
	b = append(b, c.Kind...)
	b = append(b, c.PrivateSum...) // 32 bytes or none, as the domain says
	return append(b, c.Body...)
}

// Signer signs changes: a key, and its central certificate unless the key
// is the root.
type Signer struct {
	Key  ed25519.PrivateKey
	Cert *ticket.DeviceCert
	// GateKey seals the private parts (holders' names, rotation secrets)
	// to the gates; a change that has one cannot be signed without it.
	GateKey []byte
}

// Sign makes change number seq of the given kind from body, after checking
// the body. Holders' names and rotation secrets move to the change's
// private part.
func (s Signer) Sign(seq uint64, kind Kind, body any) (Change, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return Change{}, fmt.Errorf("sign change %d: %w", seq, err)
	}
	c := Change{Seq: seq, Kind: kind, Body: raw, Signer: ticket.KeyIDOf(ticket.PublicOf(s.Key)), Cert: s.Cert}
	v, err := c.Decode()
	if err != nil {
		return Change{}, fmt.Errorf("sign change %d: %w", seq, err)
	}
	if p := split(v); p != nil {
		if len(s.GateKey) != GateKeySize {
			return Change{}, fmt.Errorf("sign change %d: it holds holders' names or a rotation secret, which need the gates key to seal them", seq)
		}
		if c.Body, err = json.Marshal(v); err != nil {
			return Change{}, fmt.Errorf("sign change %d: %w", seq, err)
		}
		plain, err := json.Marshal(p)
		if err != nil {
			return Change{}, fmt.Errorf("sign change %d: %w", seq, err)
		}
		if c.Private, err = seal(s.GateKey, seq, kind, plain); err != nil {
			return Change{}, fmt.Errorf("sign change %d: %w", seq, err)
		}
		sum := sha256.Sum256(c.Private)
		c.PrivateSum = sum[:]
	}
	c.Sig = ed25519.Sign(s.Key, c.signedBytes())
	return c, nil
}

// split takes the private fields out of a decoded body; nil: it has none.
func split(v any) *private {
	switch b := v.(type) {
	case *Tickets:
		var p private
		named := false
		for i := range b.Tickets {
			p.Holders = append(p.Holders, b.Tickets[i].Holder)
			named = named || b.Tickets[i].Holder != ""
			b.Tickets[i].Holder = ""
		}
		if named {
			return &p
		}
	case *Event:
		if b.RotationSecret != nil {
			p := &private{RotationSecret: b.RotationSecret}
			b.RotationSecret = nil
			return p
		}
	}
	return nil
}

// merge puts a private part back into its decoded body, after checking that
// the public part holds none of it.
func merge(v any, p *private) error {
	switch b := v.(type) {
	case *Tickets:
		for i := range b.Tickets {
			if b.Tickets[i].Holder != "" {
				return fmt.Errorf("ticket %d names its holder outside the private part", b.Tickets[i].Serial)
			}
		}
		if p == nil {
			return nil
		}
		if p.RotationSecret != nil {
			return errors.New("private part of a ticket batch holds a rotation secret")
		}
		if len(p.Holders) != len(b.Tickets) {
			return fmt.Errorf("private part names %d holders for %d tickets", len(p.Holders), len(b.Tickets))
		}
		for i := range b.Tickets {
			b.Tickets[i].Holder = p.Holders[i]
		}
	case *Event:
		if b.RotationSecret != nil {
			return errors.New("the event's rotation secret is outside the private part")
		}
		if p == nil {
			return nil
		}
		if p.Holders != nil {
			return errors.New("private part of an event names holders")
		}
		b.RotationSecret = p.RotationSecret
	default:
		return errors.New("this kind of change has no private part")
	}
	return nil
}

// Marshal encodes the change as one line of JSON, without the newline.
func (c *Change) Marshal() []byte {
	b, err := json.Marshal(c)
	if err != nil { // only RawMessage can fail, and Body was checked
		panic(fmt.Sprintf("marshal change %d: %v", c.Seq, err))
	}
	return b
}

// ErrMalformed is wrapped by errors of changes that cannot be read.
var ErrMalformed = errors.New("malformed manifest change")

// ErrUntrusted is wrapped by errors of changes whose signature or signer
// is not trusted.
var ErrUntrusted = errors.New("untrusted manifest change")

// Parse reads one change from a line of JSON, refusing unknown fields.
func Parse(line []byte) (Change, error) {
	var c Change
	if len(line) > MaxBodySize+64<<10 {
		return c, fmt.Errorf("%w: line of %d bytes", ErrMalformed, len(line))
	}
	if err := strictUnmarshal(line, &c); err != nil {
		return c, fmt.Errorf("%w: %s", ErrMalformed, jsonProblem(err))
	}
	switch {
	case c.Seq == 0:
		return c, fmt.Errorf("%w: no seq", ErrMalformed)
	case len(c.Body) == 0:
		return c, fmt.Errorf("%w: change %d has no body", ErrMalformed, c.Seq)
	case len(c.Body) > MaxBodySize:
		return c, fmt.Errorf("%w: change %d body of %d bytes", ErrMalformed, c.Seq, len(c.Body))
	case len(c.Sig) != ed25519.SignatureSize:
		return c, fmt.Errorf("%w: change %d is not signed", ErrMalformed, c.Seq)
	case c.PrivateSum != nil && len(c.PrivateSum) != sha256.Size:
		return c, fmt.Errorf("%w: change %d: private sum of %d bytes", ErrMalformed, c.Seq, len(c.PrivateSum))
	case c.Private != nil && c.PrivateSum == nil:
		return c, fmt.Errorf("%w: change %d has a private part and no sum of it", ErrMalformed, c.Seq)
	}
	if c.Private != nil {
		if sum := sha256.Sum256(c.Private); !bytes.Equal(sum[:], c.PrivateSum) {
			return c, fmt.Errorf("%w: change %d: private part does not match its signed sum", ErrMalformed, c.Seq)
		}
	}
	return c, nil
}

// Verify checks the change's signature and its signer: the trusted root, or
// a key certified for the central role by it (the certificate carried by the
// change or already in the store) and valid at at.
func (c *Change) Verify(trust *ticket.TrustStore, at time.Time) error {
	var pub ed25519.PublicKey
	switch {
	case c.Cert != nil:
		if err := trust.CheckDevice(*c.Cert); err != nil {
			return fmt.Errorf("%w: change %d: %w", ErrUntrusted, c.Seq, err)
		}
		if c.Cert.ID() != c.Signer {
			return fmt.Errorf("%w: change %d: certificate is for key %s, signer is %s", ErrUntrusted, c.Seq, c.Cert.ID(), c.Signer)
		}
		if c.Cert.Role != ticket.RoleCentral {
			return fmt.Errorf("%w: change %d: signer %q has role %s, not central", ErrUntrusted, c.Seq, c.Cert.Device, c.Cert.Role)
		}
		if !c.Cert.ValidAt(at) {
			return fmt.Errorf("%w: change %d: signer's certificate is not valid at %s", ErrUntrusted, c.Seq, at.UTC().Format(time.RFC3339))
		}
		pub = c.Cert.Key
	case trust.Root(c.Signer) != nil:
		pub = trust.Root(c.Signer)
	default:
		cert, ok := trust.Device(c.Signer, at)
		if !ok || cert.Role != ticket.RoleCentral {
			return fmt.Errorf("%w: change %d: signer %s is not a trusted central key", ErrUntrusted, c.Seq, c.Signer)
		}
		pub = cert.Key
	}
	if trust.Revoked(c.Signer) {
		return fmt.Errorf("%w: change %d: signer %s is revoked", ErrUntrusted, c.Seq, c.Signer)
	}
	if !ed25519.Verify(pub, c.signedBytes(), c.Sig) {
		return fmt.Errorf("%w: change %d: bad signature", ErrUntrusted, c.Seq)
	}
	return nil
}

// Decode reads and checks the public body: a *Venue, *Event, *TicketType,
// *Tickets, *ticket.IssuerCert, *ticket.DeviceCert or *Revoke, without what
// the private part holds (see DecodeFor).
func (c *Change) Decode() (any, error) { return c.decode(nil, false) }

// DecodeFor is Decode with the private part opened with the gates key and
// put back into the body: the holders' names, the rotation secret. A
// change whose private part is missing or cannot be opened is an error
// (ErrSealed).
func (c *Change) DecodeFor(gateKey []byte) (any, error) { return c.decode(gateKey, true) }

func (c *Change) decode(gateKey []byte, full bool) (any, error) {
	if c.PrivateSum != nil && c.Kind != KindTickets && c.Kind != KindEvent {
		return nil, fmt.Errorf("%w: change %d: a %s change has no private part", ErrMalformed, c.Seq, c.Kind)
	}
	var v interface{ check() error }
	switch c.Kind {
	case KindVenue:
		v = new(Venue)
	case KindEvent:
		v = new(Event)
	case KindTicketType:
		v = new(TicketType)
	case KindTickets:
		v = new(Tickets)
	case KindRevoke:
		v = new(Revoke)
	case KindPrices:
		v = new(PriceList)
	case KindIssuer:
		var cert ticket.IssuerCert
		if err := strictUnmarshal(c.Body, &cert); err != nil {
			return nil, fmt.Errorf("%w: change %d: issuer: %w", ErrMalformed, c.Seq, err)
		}
		return &cert, nil
	case KindDevice:
		var cert ticket.DeviceCert
		if err := strictUnmarshal(c.Body, &cert); err != nil {
			return nil, fmt.Errorf("%w: change %d: device: %w", ErrMalformed, c.Seq, err)
		}
		return &cert, nil
	default:
		return nil, fmt.Errorf("%w: change %d: unknown kind %q", ErrMalformed, c.Seq, c.Kind)
	}
	if err := strictUnmarshal(c.Body, v); err != nil {
		return nil, fmt.Errorf("%w: change %d: %s: %w", ErrMalformed, c.Seq, c.Kind, err)
	}
	if c.PrivateSum != nil {
		var p *private
		if full {
			if c.Private == nil {
				return nil, fmt.Errorf("%w: change %d came without its private part", ErrSealed, c.Seq)
			}
			plain, err := open(gateKey, c.Seq, c.Kind, c.Private)
			if err != nil {
				return nil, fmt.Errorf("change %d: %w", c.Seq, err)
			}
			p = new(private)
			if err := strictUnmarshal(plain, p); err != nil {
				return nil, fmt.Errorf("%w: change %d: private part: %w", ErrMalformed, c.Seq, err)
			}
		}
		if err := merge(v, p); err != nil {
			return nil, fmt.Errorf("%w: change %d: %s: %w", ErrMalformed, c.Seq, c.Kind, err)
		}
	}
	if err := v.check(); err != nil {
		return nil, fmt.Errorf("%w: change %d: %s: %w", ErrMalformed, c.Seq, c.Kind, err)
	}
	return v, nil
}

func (v *Venue) check() error {
	if !ticket.ValidName(v.Name) {
		return fmt.Errorf("venue name %q is not a valid name", v.Name)
	}
	if _, err := time.LoadLocation(v.TimeZone); err != nil || v.TimeZone == "" {
		return fmt.Errorf("time zone %q is not an IANA time zone", v.TimeZone)
	}
	seen := map[int]bool{}
	for _, z := range v.Zones {
		if z.ID < 0 || z.ID > 63 || seen[z.ID] {
			return fmt.Errorf("zone id %d is repeated or outside 0-63", z.ID)
		}
		if len(z.Name) > MaxNameLen {
			return fmt.Errorf("zone %d: name too long", z.ID)
		}
		seen[z.ID] = true
	}
	gates := map[string]bool{}
	for _, g := range v.Gates {
		if !ticket.ValidName(g.Name) || gates[g.Name] {
			return fmt.Errorf("gate %q is repeated or not a valid name", g.Name)
		}
		if !seen[g.Zone] {
			return fmt.Errorf("gate %q opens zone %d, which the venue does not have", g.Name, g.Zone)
		}
		gates[g.Name] = true
	}
	return nil
}

// Location is the venue's time zone.
func (v *Venue) Location() *time.Location {
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Gate finds a gate by name.
func (v *Venue) Gate(name string) (Gate, bool) {
	i := slices.IndexFunc(v.Gates, func(g Gate) bool { return g.Name == name })
	if i < 0 {
		return Gate{}, false
	}
	return v.Gates[i], true
}

func (e *Event) check() error {
	switch {
	case e.ID > ticket.MaxEvent:
		return fmt.Errorf("event id %d is out of range", e.ID)
	case len(e.Name) > MaxNameLen:
		return fmt.Errorf("event %d: name too long", e.ID)
	case e.Starts.IsZero() || e.Ends.IsZero() || !e.Ends.After(e.Starts):
		return fmt.Errorf("event %d: needs starts before ends", e.ID)
	case e.RotationSecret != nil && len(e.RotationSecret) != 32:
		return fmt.Errorf("event %d: rotation secret is %d bytes, want 32", e.ID, len(e.RotationSecret))
	}
	return nil
}

func (t *TicketType) check() error {
	switch {
	case t.Event > ticket.MaxEvent || t.ID > ticket.MaxType:
		return fmt.Errorf("ticket type %d/%d is out of range", t.Event, t.ID)
	case len(t.Name) > MaxNameLen:
		return fmt.Errorf("ticket type %d: name too long", t.ID)
	}
	for _, z := range t.Zones {
		if z < 0 || z > 63 {
			return fmt.Errorf("ticket type %d: zone %d is outside 0-63", t.ID, z)
		}
	}
	if err := t.Rule.Validate(); err != nil {
		return fmt.Errorf("ticket type %d: rule: %w", t.ID, err)
	}
	return nil
}

func (b *Tickets) check() error {
	if b.Event > ticket.MaxEvent {
		return fmt.Errorf("event %d is out of range", b.Event)
	}
	if len(b.Tickets) > MaxTicketsPerBatch {
		return fmt.Errorf("%d tickets in one change, the most is %d", len(b.Tickets), MaxTicketsPerBatch)
	}
	for i := range b.Tickets {
		t := &b.Tickets[i]
		switch {
		case t.Serial > ticket.MaxSerial || t.Type > ticket.MaxType:
			return fmt.Errorf("ticket %d: serial or type out of range", t.Serial)
		case t.Status != "" && t.Status != StatusValid && t.Status != StatusRevoked:
			return fmt.Errorf("ticket %d: unknown status %q", t.Serial, t.Status)
		case len(t.Holder) > MaxHolderLen || len(t.Seat) > ticket.MaxSeatLen:
			return fmt.Errorf("ticket %d: holder or seat too long", t.Serial)
		}
	}
	return nil
}

func (r *Revoke) check() error {
	if len(r.Tickets)+len(r.Issuers)+len(r.Devices) == 0 {
		return errors.New("revokes nothing")
	}
	if len(r.Tickets) > MaxTicketsPerBatch {
		return fmt.Errorf("%d tickets in one change, the most is %d", len(r.Tickets), MaxTicketsPerBatch)
	}
	return nil
}

// strictUnmarshal decodes JSON refusing unknown fields and trailing data.
// jsonProblem says in a reader's words what is wrong with a line that
// does not decode as a change, without the decoder's Go type names.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "the line ends in the middle of a change (was the file cut off while it was written or copied?)"
	case errors.As(err, &syntax):
		return fmt.Sprintf("not JSON at byte %d of the line (is this a manifest file, one change per line?)", syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("a JSON %s where a change (an object) is expected", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q holds a JSON %s, which it cannot", typ.Field, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return err.Error()
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
