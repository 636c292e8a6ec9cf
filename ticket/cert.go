package ticket

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Signature domains of the certificates, distinct from the ticket's.
const (
	issuerCertDomain = "tixgate/issuer-cert/v1"
	deviceCertDomain = "tixgate/device-cert/v1"
)

// ErrBadCertificate is wrapped by every certificate verification error.
var ErrBadCertificate = errors.New("bad certificate")

// IssuerCert lets a key issue tickets: for some events and ticket types,
// within a serial range, for a time. Central's online issuer gets a wide
// range; each seller handheld gets a block of serials, which is its offline
// quota: a gate refuses a code whose serial lies outside its issuer's range.
type IssuerCert struct {
	Name   string            `json:"name"`
	Key    ed25519.PublicKey `json:"key"`
	Events []uint64          `json:"events,omitempty"` // empty: every event
	Types  []uint64          `json:"types,omitempty"`  // empty: every type
	// Zones bounds the zones a code of this issuer may open, as a mask (bit
	// z for zone z); 0 leaves them to the ticket types.
	Zones uint64 `json:"zones,omitempty"`
	// SerialMin and SerialMax bound the serials, both included.
	SerialMin uint64    `json:"serial_min"`
	SerialMax uint64    `json:"serial_max"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Root      KeyID     `json:"root"` // the root key that signed it
	Signature []byte    `json:"sig"`
}

// Role is what a device does.
type Role string

const (
	RoleGate    Role = "gate"    // scans tickets at a turnstile
	RoleSeller  Role = "seller"  // sells tickets offline on a handheld
	RoleCentral Role = "central" // the ops server: signs manifest changes
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleGate || r == RoleSeller || r == RoleCentral }

// DeviceCert binds a device's identity key to its name, role and venue. The
// key signs the device's ledger events and its gossip.
type DeviceCert struct {
	Device    string            `json:"device"`
	Role      Role              `json:"role"`
	Venue     string            `json:"venue"`
	Key       ed25519.PublicKey `json:"key"`
	NotBefore time.Time         `json:"not_before"`
	NotAfter  time.Time         `json:"not_after"`
	Root      KeyID             `json:"root"`
	Signature []byte            `json:"sig"`
}

// namePattern is what device, venue and issuer names may hold: they travel
// in logs, file names and URLs.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidName reports whether s may name a device, venue, gate or issuer.
func ValidName(s string) bool { return namePattern.MatchString(s) }

func checkWindow(notBefore, notAfter time.Time) error {
	if notBefore.IsZero() || notAfter.IsZero() {
		return errors.New("validity window must have both ends")
	}
	if !notAfter.After(notBefore) {
		return errors.New("not-after is not after not-before")
	}
	if notBefore.Nanosecond() != 0 || notAfter.Nanosecond() != 0 {
		return errors.New("validity times must be whole seconds")
	}
	return nil
}

func (c *IssuerCert) check() error {
	switch {
	case !ValidName(c.Name):
		return fmt.Errorf("issuer name %q is not a valid name", c.Name)
	case len(c.Key) != ed25519.PublicKeySize:
		return errors.New("issuer key is not an ed25519 public key")
	case c.SerialMin > c.SerialMax || c.SerialMax > MaxSerial:
		return fmt.Errorf("serial range %d-%d is not valid", c.SerialMin, c.SerialMax)
	case !isSortedSet(c.Events) || !isSortedSet(c.Types):
		return errors.New("events and types must be sorted without repeats")
	}
	return checkWindow(c.NotBefore, c.NotAfter)
}

func (c *IssuerCert) signedBytes() []byte {
	b := newCanonical(issuerCertDomain)
	b.string(c.Name)
	b.bytes(c.Key)
	b.uvarints(c.Events)
	b.uvarints(c.Types)
	b.uvarint(c.SerialMin)
	b.uvarint(c.SerialMax)
	b.time(c.NotBefore)
	b.time(c.NotAfter)
	b.bytes(c.Root[:])
	if c.Zones != 0 { // certificates without a zone bound keep their encoding
		b.uvarint(c.Zones)
	}
	return b.b
}

// SignIssuerCert fills in c's root and signature. Times are taken to whole
// seconds in UTC; events and types are sorted.
func SignIssuerCert(c IssuerCert, root ed25519.PrivateKey) (IssuerCert, error) {
	c.Events = sortedSet(c.Events)
	c.Types = sortedSet(c.Types)
	c.NotBefore = wholeSecondUTC(c.NotBefore)
	c.NotAfter = wholeSecondUTC(c.NotAfter)
	c.Root = KeyIDOf(PublicOf(root))
	if err := c.check(); err != nil {
		return c, fmt.Errorf("sign issuer certificate %q: %w", c.Name, err)
	}
	c.Signature = ed25519.Sign(root, c.signedBytes())
	return c, nil
}

// Verify checks c's form and its signature by root.
func (c *IssuerCert) Verify(root ed25519.PublicKey) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("%w: issuer %q: %w", ErrBadCertificate, c.Name, err)
	}
	if KeyIDOf(root) != c.Root || !ed25519.Verify(root, c.signedBytes(), c.Signature) {
		return fmt.Errorf("%w: issuer %q: signature does not verify with root %s", ErrBadCertificate, c.Name, KeyIDOf(root))
	}
	return nil
}

// ID is the key id of the issuer key, as codes name it.
func (c *IssuerCert) ID() KeyID { return KeyIDOf(c.Key) }

// ValidAt reports whether at lies within the certificate's window.
func (c *IssuerCert) ValidAt(at time.Time) bool { return inWindow(at, c.NotBefore, c.NotAfter) }

// Covers says why t lies outside what the certificate lets its key issue,
// or returns nil.
func (c *IssuerCert) Covers(t *Ticket) error {
	switch {
	case len(c.Events) > 0 && !slices.Contains(c.Events, t.Event):
		return fmt.Errorf("issuer %q may not issue for event %d", c.Name, t.Event)
	case len(c.Types) > 0 && !slices.Contains(c.Types, t.Type):
		return fmt.Errorf("issuer %q may not issue ticket type %d", c.Name, t.Type)
	case c.Zones != 0 && t.Zones&^c.Zones != 0:
		return fmt.Errorf("issuer %q may not issue codes for zones %b (it may issue %b)", c.Name, t.Zones, c.Zones)
	case t.Serial < c.SerialMin || t.Serial > c.SerialMax:
		return fmt.Errorf("serial %d is outside issuer %q's range %d-%d", t.Serial, c.Name, c.SerialMin, c.SerialMax)
	}
	return nil
}

func (c *DeviceCert) check() error {
	switch {
	case !ValidName(c.Device):
		return fmt.Errorf("device name %q is not a valid name", c.Device)
	case !c.Role.Valid():
		return fmt.Errorf("device role %q is not gate, seller or central", c.Role)
	case !ValidName(c.Venue):
		return fmt.Errorf("venue name %q is not a valid name", c.Venue)
	case len(c.Key) != ed25519.PublicKeySize:
		return errors.New("device key is not an ed25519 public key")
	}
	return checkWindow(c.NotBefore, c.NotAfter)
}

func (c *DeviceCert) signedBytes() []byte {
	b := newCanonical(deviceCertDomain)
	b.string(c.Device)
	b.string(string(c.Role))
	b.string(c.Venue)
	b.bytes(c.Key)
	b.time(c.NotBefore)
	b.time(c.NotAfter)
	b.bytes(c.Root[:])
	return b.b
}

// MarshalBinary encodes the certificate compactly: its signed fields, then
// the signature. It is for space-bound carriers such as mesh membership
// metadata; JSON is the usual form.
func (c *DeviceCert) MarshalBinary() ([]byte, error) {
	if len(c.Signature) != ed25519.SignatureSize {
		return nil, errors.New("device certificate is not signed")
	}
	body := c.signedBytes()[len(deviceCertDomain)+1:]
	return append(append([]byte(nil), body...), c.Signature...), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote. It checks the form, not
// the signature: see Verify.
func (c *DeviceCert) UnmarshalBinary(b []byte) error {
	if len(b) < ed25519.SignatureSize {
		return errors.New("device certificate: too short")
	}
	d := certDecoder{b: b[:len(b)-ed25519.SignatureSize]}
	var out DeviceCert
	out.Device = d.str()
	out.Role = Role(d.str())
	out.Venue = d.str()
	out.Key = ed25519.PublicKey(d.bytes())
	out.NotBefore = d.time()
	out.NotAfter = d.time()
	copy(out.Root[:], d.bytes())
	if d.err != nil || len(d.b) != 0 {
		return errors.New("device certificate: malformed")
	}
	out.Signature = append([]byte(nil), b[len(b)-ed25519.SignatureSize:]...)
	if err := out.check(); err != nil {
		return fmt.Errorf("device certificate: %w", err)
	}
	*c = out
	return nil
}

// certDecoder reads the canonical form.
type certDecoder struct {
	b   []byte
	err error
}

func (d *certDecoder) uvarint() uint64 {
	v, n, err := readUvarint(d.b)
	if err != nil {
		d.err, d.b = err, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *certDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) || n > 256 {
		d.err, d.b = errors.New("length out of range"), nil
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *certDecoder) str() string { return string(d.bytes()) }

func (d *certDecoder) time() time.Time {
	switch d.uvarint() {
	case 0:
		return time.Time{}
	case 1:
		z := d.uvarint()
		return time.Unix(int64(z>>1)^-int64(z&1), 0).UTC()
	}
	d.err = errors.New("bad time")
	return time.Time{}
}

// SignDeviceCert fills in c's root and signature.
func SignDeviceCert(c DeviceCert, root ed25519.PrivateKey) (DeviceCert, error) {
	c.NotBefore = wholeSecondUTC(c.NotBefore)
	c.NotAfter = wholeSecondUTC(c.NotAfter)
	c.Root = KeyIDOf(PublicOf(root))
	if err := c.check(); err != nil {
		return c, fmt.Errorf("sign device certificate %q: %w", c.Device, err)
	}
	c.Signature = ed25519.Sign(root, c.signedBytes())
	return c, nil
}

// Verify checks c's form and its signature by root.
func (c *DeviceCert) Verify(root ed25519.PublicKey) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("%w: device %q: %w", ErrBadCertificate, c.Device, err)
	}
	if KeyIDOf(root) != c.Root || !ed25519.Verify(root, c.signedBytes(), c.Signature) {
		return fmt.Errorf("%w: device %q: signature does not verify with root %s", ErrBadCertificate, c.Device, KeyIDOf(root))
	}
	return nil
}

// ID is the key id of the device key.
func (c *DeviceCert) ID() KeyID { return KeyIDOf(c.Key) }

// ValidAt reports whether at lies within the certificate's window.
func (c *DeviceCert) ValidAt(at time.Time) bool { return inWindow(at, c.NotBefore, c.NotAfter) }

func inWindow(at, notBefore, notAfter time.Time) bool {
	return !at.Before(notBefore) && at.Before(notAfter)
}

func wholeSecondUTC(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

func sortedSet(vs []uint64) []uint64 {
	if len(vs) == 0 {
		return nil
	}
	out := slices.Clone(vs)
	slices.Sort(out)
	return slices.Compact(out)
}

func isSortedSet(vs []uint64) bool {
	for i := 1; i < len(vs); i++ {
		if vs[i] <= vs[i-1] {
			return false
		}
	}
	return true
}

// CertValidity is how long the certificates tixgate makes are valid unless
// told otherwise.
const CertValidity = 5 * 365 * 24 * time.Hour

// CertWindow is the validity window of a certificate made at now: it starts
// an hour early, so a device whose clock runs a little behind still accepts
// it, and lasts validity (CertValidity when 0).
func CertWindow(now time.Time, validity time.Duration) (notBefore, notAfter time.Time) {
	if validity <= 0 {
		validity = CertValidity
	}
	notBefore = now.Add(-time.Hour)
	return notBefore, notBefore.Add(validity)
}
