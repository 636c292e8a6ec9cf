package ticket

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The text form and its limits. docs/ticket-format.md specifies them byte by
// byte.
const (
	// CodePrefix starts every code: the format and its version, in characters
	// of the QR alphanumeric set.
	CodePrefix = "TG1:"
	// PayloadVersion is the first byte of every payload.
	PayloadVersion = 1
	// signatureDomain separates ticket signatures from every other signature
	// a tixgate key makes.
	signatureDomain = "tixgate/ticket/v1"

	MaxEvent   = 1<<32 - 1 // largest event id
	MaxSerial  = 1<<53 - 1 // largest serial: exact in a JSON number
	MaxType    = 1<<32 - 1 // largest ticket type id
	MaxSeatLen = 32        // longest seat label, in bytes of UTF-8
	// maxMinutes bounds valid-from and the validity span: about 8,000 years.
	maxMinutes = 1<<32 - 1
	// MaxCodeLen bounds the text a parser looks at; real codes are far shorter.
	MaxCodeLen = 512
)

// Payload flag bits. Bits that are not defined make a code malformed: a later
// format takes a new version byte, never a silent meaning.
const (
	flagRotating = 1 << 0 // the holder's screen must show a rotating part
	flagSeat     = 1 << 1 // a seat label follows the flags
	knownFlags   = flagRotating | flagSeat
)

// ErrMalformed is wrapped by every error of a code that cannot be parsed.
var ErrMalformed = errors.New("malformed ticket code")

// Ticket is what a code says. It holds no personal data: the holder's name
// stays in the manifest, keyed by event and serial.
type Ticket struct {
	Version uint8  `json:"version"`
	Issuer  KeyID  `json:"issuer"` // id of the key that signed the code
	Event   uint64 `json:"event"`
	Serial  uint64 `json:"serial"`
	Type    uint64 `json:"type"`
	// Zones is a bit mask of the zones the ticket opens (bit i: zone i);
	// 0 leaves the zones to the ticket type's rules.
	Zones uint64 `json:"zones"`
	// ValidFrom and ValidUntil bound the ticket to [from, until) at minute
	// resolution; the zero time leaves that side open.
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Rotating makes the rotating time code mandatory at the gate.
	Rotating bool   `json:"rotating"`
	Seat     string `json:"seat,omitempty"`
}

// Code is a parsed code: the ticket and the exact bytes that were signed.
type Code struct {
	Ticket    Ticket
	Payload   []byte // the signed payload
	Signature []byte // 64 bytes of ed25519
	// Static is the code without its rotating part.
	Static string
	// Rotation holds the 6 digits of the rotating part, or "" without one.
	Rotation string
}

// minutes converts t to whole minutes since Epoch, rounding up or down.
func minutes(t time.Time, up bool) (uint64, error) {
	if t.Before(Epoch) {
		return 0, fmt.Errorf("time %s is before %s", t.UTC().Format(time.RFC3339), Epoch.Format(time.RFC3339))
	}
	// Whole seconds from Unix times: a time.Duration would saturate after
	// 292 years.
	secs := uint64(t.Unix() - Epoch.Unix())
	m := secs / 60
	if up && (secs%60 != 0 || t.Nanosecond() != 0) {
		m++
	}
	if m > maxMinutes {
		return 0, fmt.Errorf("time %s is too far in the future", t.UTC().Format(time.RFC3339))
	}
	return m, nil
}

func fromMinutes(m uint64) time.Time { return time.Unix(Epoch.Unix()+int64(m)*60, 0).UTC() }

// appendPayload validates t and appends its payload. valid-from is rounded
// down and valid-until up to whole minutes; valid-until is stored as its
// distance from valid-from, so a short window costs few bytes.
func appendPayload(b []byte, t Ticket) ([]byte, error) {
	if t.Event > MaxEvent {
		return nil, fmt.Errorf("event %d is above %d", t.Event, uint64(MaxEvent))
	}
	if t.Serial > MaxSerial {
		return nil, fmt.Errorf("serial %d is above %d", t.Serial, uint64(MaxSerial))
	}
	if t.Type > MaxType {
		return nil, fmt.Errorf("ticket type %d is above %d", t.Type, uint64(MaxType))
	}
	if err := checkSeat(t.Seat); err != nil {
		return nil, err
	}
	var from, span uint64
	var err error
	if !t.ValidFrom.IsZero() {
		if from, err = minutes(t.ValidFrom, false); err != nil {
			return nil, fmt.Errorf("valid-from: %w", err)
		}
	}
	if !t.ValidUntil.IsZero() {
		until, err := minutes(t.ValidUntil, true)
		if err != nil {
			return nil, fmt.Errorf("valid-until: %w", err)
		}
		if until <= from {
			return nil, fmt.Errorf("valid-until %s is not after valid-from %s",
				t.ValidUntil.UTC().Format(time.RFC3339), fromMinutes(from).Format(time.RFC3339))
		}
		span = until - from
		if span > maxMinutes {
			return nil, fmt.Errorf("validity window is too long")
		}
	}
	var flags uint64
	if t.Rotating {
		flags |= flagRotating
	}
	if t.Seat != "" {
		flags |= flagSeat
	}
	b = append(b, PayloadVersion)
	b = append(b, t.Issuer[:]...)
	for _, v := range [...]uint64{t.Event, t.Serial, t.Type, t.Zones, from, span, flags} {
		b = appendUvarint(b, v)
	}
	if t.Seat != "" {
		b = appendUvarint(b, uint64(len(t.Seat)))
		b = append(b, t.Seat...)
	}
	return b, nil
}

// checkSeat accepts a short printable UTF-8 label.
func checkSeat(s string) error {
	if len(s) > MaxSeatLen {
		return fmt.Errorf("seat label is %d bytes, the most is %d", len(s), MaxSeatLen)
	}
	if !utf8.ValidString(s) {
		return errors.New("seat label is not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("seat label holds the unprintable character %U", r)
		}
	}
	return nil
}

// parsePayload reads a payload from the front of b and returns the ticket and
// the payload's length. It refuses anything appendPayload would not write.
func parsePayload(b []byte) (Ticket, int, error) {
	var t Ticket
	if len(b) < 5 {
		return t, 0, errors.New("payload is too short")
	}
	if b[0] != PayloadVersion {
		return t, 0, fmt.Errorf("payload version %d is not supported", b[0])
	}
	t.Version = b[0]
	copy(t.Issuer[:], b[1:5])
	pos := 5
	var vals [7]uint64
	names := [...]string{"event", "serial", "type", "zones", "valid-from", "validity span", "flags"}
	for i := range vals {
		v, n, err := readUvarint(b[pos:])
		if err != nil {
			return t, 0, fmt.Errorf("%s: %w", names[i], err)
		}
		vals[i] = v
		pos += n
	}
	from, span, flags := vals[4], vals[5], vals[6]
	t.Event, t.Serial, t.Type, t.Zones = vals[0], vals[1], vals[2], vals[3]
	switch {
	case t.Event > MaxEvent:
		return t, 0, fmt.Errorf("event %d is out of range", t.Event)
	case t.Serial > MaxSerial:
		return t, 0, fmt.Errorf("serial %d is out of range", t.Serial)
	case t.Type > MaxType:
		return t, 0, fmt.Errorf("ticket type %d is out of range", t.Type)
	case from > maxMinutes || span > maxMinutes:
		return t, 0, errors.New("validity window is out of range")
	case flags&^knownFlags != 0:
		return t, 0, fmt.Errorf("unknown flags %#x", flags&^knownFlags)
	}
	if from != 0 {
		t.ValidFrom = fromMinutes(from)
	}
	if span != 0 {
		t.ValidUntil = fromMinutes(from + span)
	}
	t.Rotating = flags&flagRotating != 0
	if flags&flagSeat != 0 {
		n, w, err := readUvarint(b[pos:])
		if err != nil {
			return t, 0, fmt.Errorf("seat length: %w", err)
		}
		pos += w
		if n == 0 || n > MaxSeatLen || n > uint64(len(b)-pos) {
			return t, 0, fmt.Errorf("seat length %d is out of range", n)
		}
		t.Seat = string(b[pos : pos+int(n)])
		pos += int(n)
		if err := checkSeat(t.Seat); err != nil {
			return t, 0, err
		}
	}
	return t, pos, nil
}

// signedMessage is what a ticket signature covers: the domain, a zero byte
// and the payload.
func signedMessage(payload []byte) []byte {
	m := make([]byte, 0, len(signatureDomain)+1+len(payload))
	m = append(m, signatureDomain...)
	m = append(m, 0)
	return append(m, payload...)
}

// Issue signs t with the issuer's key and returns its code. t.Issuer is set
// from the key; the version is always PayloadVersion.
func Issue(t Ticket, issuer ed25519.PrivateKey) (string, error) {
	if len(issuer) != ed25519.PrivateKeySize {
		return "", errors.New("issue ticket: issuer key is not an ed25519 private key")
	}
	t.Issuer = KeyIDOf(PublicOf(issuer))
	payload, err := appendPayload(make([]byte, 0, 48), t)
	if err != nil {
		return "", fmt.Errorf("issue ticket %d/%d: %w", t.Event, t.Serial, err)
	}
	sig := ed25519.Sign(issuer, signedMessage(payload))
	return CodePrefix + Base45Encode(append(payload, sig...)), nil
}

// Parse reads a code's text: the static code, optionally followed by `*` and
// the 6 digits of a rotating code. It checks the form only, not the
// signature: see TrustStore.Verify. Errors wrap ErrMalformed.
func Parse(text string) (Code, error) {
	if len(text) > MaxCodeLen {
		return Code{}, fmt.Errorf("%w: %d characters, the most is %d", ErrMalformed, len(text), MaxCodeLen)
	}
	if !strings.HasPrefix(text, CodePrefix) {
		return Code{}, fmt.Errorf("%w: it does not start with %q", ErrMalformed, CodePrefix)
	}
	c, err := parseStatic(text)
	if err == nil {
		return c, nil
	}
	// '*' and digits are base45 characters too, so the rotating part is told
	// apart by the payload's own length: at most one split fits it.
	if static, digits, ok := cutRotation(text); ok {
		if c, err2 := parseStatic(static); err2 == nil {
			c.Rotation = digits
			return c, nil
		}
	}
	return Code{}, fmt.Errorf("%w: %w", ErrMalformed, err)
}

// cutRotation splits "static*123456" into its parts.
func cutRotation(text string) (static, digits string, ok bool) {
	const n = RotationDigits + 1
	if len(text) < len(CodePrefix)+n || text[len(text)-n] != '*' {
		return "", "", false
	}
	digits = text[len(text)-RotationDigits:]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", "", false
		}
	}
	return text[:len(text)-n], digits, true
}

func parseStatic(text string) (Code, error) {
	raw, err := Base45Decode(text[len(CodePrefix):])
	if err != nil {
		return Code{}, err
	}
	t, n, err := parsePayload(raw)
	if err != nil {
		return Code{}, err
	}
	if len(raw)-n != ed25519.SignatureSize {
		return Code{}, fmt.Errorf("signature is %d bytes, want %d", max(len(raw)-n, 0), ed25519.SignatureSize)
	}
	return Code{Ticket: t, Payload: raw[:n:n], Signature: raw[n:], Static: text}, nil
}
