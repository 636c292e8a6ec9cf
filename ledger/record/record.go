package record

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tixgate/tixgate/ticket"
)

// Kind is what a record says happened.
type Kind uint8

const (
	KindEntry    Kind = 1 // a ticket was admitted
	KindExit     Kind = 2 // a ticket left
	KindOverride Kind = 3 // a supervisor admitted a ticket the rules refused
	KindVoid     Kind = 4 // a sale was voided: the ticket must not pass
	KindSale     Kind = 5 // a seller sold a ticket offline
	// KindAnnul takes back one of the origin's own entries: the turnstile
	// opened but nobody passed within its window. Note holds the annulled
	// record's sequence number in decimal; the ticket may be used again.
	KindAnnul Kind = 6
	// A seller's shift: opened with a float, cash paid in or taken out with
	// a reason, closed with the cash counted (Note: the count by
	// denomination, and why it differs from what was expected). Their
	// Money's Receipt is the shift's number; they name no ticket.
	KindShiftOpen  Kind = 7
	KindCashIn     Kind = 8
	KindCashOut    Kind = 9
	KindShiftClose Kind = 10
)

// Shift reports whether the kind is one of a seller's shift records.
func (k Kind) Shift() bool { return k >= KindShiftOpen && k <= KindShiftClose }

// Ticket reports whether the kind is about a ticket.
func (k Kind) Ticket() bool { return !k.Shift() }

var kindNames = map[Kind]string{KindEntry: "entry", KindExit: "exit", KindOverride: "override", KindVoid: "void", KindSale: "sale", KindAnnul: "annul",
	KindShiftOpen: "shift_open", KindCashIn: "cash_in", KindCashOut: "cash_out", KindShiftClose: "shift_close"}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText names the kind.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name, as MarshalText writes it.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown record kind %q", s)
}

// Admits reports whether the kind lets a ticket in.
func (k Kind) Admits() bool { return k == KindEntry || k == KindOverride }

// Annuls returns the sequence number of the record an annul takes back.
func (r *Record) Annuls() (uint64, bool) {
	if r.Kind != KindAnnul {
		return 0, false
	}
	seq, err := strconv.ParseUint(r.Note, 10, 64)
	if err != nil || seq == 0 || seq >= r.Seq || strconv.FormatUint(seq, 10) != r.Note {
		return 0, false
	}
	return seq, true
}

// Hash is the SHA-256 of a record's bytes, signature included.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short is the first 8 hex digits, for messages.
func (h Hash) Short() string { return hex.EncodeToString(h[:4]) }

// Limits of a record's text fields, in bytes.
const (
	MaxGateLen  = 64
	MaxActorLen = 64
	MaxNoteLen  = 256
	MaxZone     = 63
	// MaxSize bounds an encoded record; real ones are about 130 bytes.
	MaxSize = 1024

	formatVersion = 1
	// moneyVersion is the format of records that carry Money: the same
	// fields, then the money block, then the signature.
	moneyVersion = 2
	signDomain   = "tixgate/record/v1"
	// MaxRefLen bounds a card terminal's reference.
	MaxRefLen = 64
)

// Record is one entry of an origin's log.
type Record struct {
	Origin ticket.KeyID // id of the origin device's key
	Seq    uint64       // 1, 2, 3, … within the origin's log
	Prev   Hash         // hash of the origin's record Seq-1; zero for Seq 1
	HLC    HLC          // when, by the origin's hybrid logical clock
	Kind   Kind
	Event  uint64
	Serial uint64
	Type   uint64
	Gate   string // where: the gate, or the seller's till
	Zone   int    // the zone the gate opens
	Actor  string // who: the supervisor of an override, the seller of a sale
	Reason string // an override: the reason the rules gave; a void: why
	Note   string // free text: the supervisor's note
	// Money is what a sale or a void says of the money; zero on every
	// other kind.
	Money Money
	Sig   [ed25519.SignatureSize]byte
}

// Money is the money of one ticket of a sale, or of its void: amounts in
// minor units of Currency, never floats.
type Money struct {
	Receipt  uint64 // the seller device's receipt number: 1, 2, 3, … without gaps
	Amount   int64  // what this ticket was sold for (a void: what is paid back)
	Currency string // ISO 4217, three capital letters
	Method   string // cash or card
	// Given is the cash handed over for the whole receipt, on the receipt's
	// first ticket; 0 elsewhere and for card.
	Given int64
	Ref   string // the card terminal's reference
}

// Payment methods of Money.Method.
const (
	MethodCash = "cash"
	MethodCard = "card"
)

func (m *Money) zero() bool { return *m == Money{} }

func (m *Money) check() error {
	switch {
	case m.Receipt == 0:
		return errors.New("money without a receipt number")
	case m.Amount < 0 || m.Given < 0:
		return errors.New("negative amount")
	case !ticket.ValidCurrency(m.Currency):
		return fmt.Errorf("currency %q is not an ISO 4217 code", m.Currency)
	case m.Method != MethodCash && m.Method != MethodCard:
		return fmt.Errorf("payment method %q: want cash or card", m.Method)
	case len(m.Ref) > MaxRefLen || !utf8.ValidString(m.Ref):
		return fmt.Errorf("reference is not UTF-8 of at most %d bytes", MaxRefLen)
	}
	return nil
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed record")

// Check checks the record's fields as Sign does, before it is numbered.
func (r *Record) Check() error { return r.check() }

func (r *Record) check() error {
	switch {
	case kindNames[r.Kind] == "":
		return fmt.Errorf("unknown kind %d", r.Kind)
	case r.Seq == 0:
		return errors.New("sequence 0")
	case r.Seq == 1 && r.Prev != Hash{}:
		return errors.New("the first record has a previous hash")
	case r.Seq > 1 && r.Prev == Hash{}:
		return errors.New("no previous hash")
	case r.Zone < 0 || r.Zone > MaxZone:
		return fmt.Errorf("zone %d is out of range", r.Zone)
	case r.Event > ticket.MaxEvent || r.Serial > ticket.MaxSerial || r.Type > ticket.MaxType:
		return errors.New("ticket field out of range")
	case r.Kind == KindAnnul:
		if _, ok := r.Annuls(); !ok {
			return errors.New("an annul names no earlier record of its origin")
		}
	case (r.Kind == KindSale || r.Kind.Shift()) && r.Money.zero():
		return fmt.Errorf("a %s without its money", r.Kind)
	case !r.Money.zero() && r.Kind != KindSale && r.Kind != KindVoid && !r.Kind.Shift():
		return fmt.Errorf("a %s record carries money", r.Kind)
	case r.Kind.Shift() && (r.Event != 0 || r.Serial != 0 || r.Type != 0):
		return fmt.Errorf("a %s names a ticket", r.Kind)
	}
	if !r.Money.zero() {
		if err := r.Money.check(); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"gate", r.Gate, MaxGateLen}, {"actor", r.Actor, MaxActorLen}, {"reason", r.Reason, MaxActorLen}, {"note", r.Note, MaxNoteLen}} {
		if len(f.v) > f.max || !utf8.ValidString(f.v) {
			return fmt.Errorf("%s is not UTF-8 of at most %d bytes", f.name, f.max)
		}
	}
	return nil
}

// appendBody appends everything but the signature.
func (r *Record) appendBody(b []byte) []byte {
	if !r.Money.zero() {
		b = append(b, moneyVersion)
	} else {
		b = append(b, formatVersion)
	}
	b = append(b, r.Origin[:]...)
	b = binary.AppendUvarint(b, r.Seq)
	b = append(b, r.Prev[:]...)
	b = binary.AppendUvarint(b, uint64(r.HLC))
	b = append(b, byte(r.Kind))
	b = binary.AppendUvarint(b, r.Event)
	b = binary.AppendUvarint(b, r.Serial)
	b = binary.AppendUvarint(b, r.Type)
	b = binary.AppendUvarint(b, uint64(r.Zone))
	for _, s := range []string{r.Gate, r.Actor, r.Reason, r.Note} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if m := r.Money; !m.zero() {
		b = binary.AppendUvarint(b, m.Receipt)
		b = binary.AppendUvarint(b, uint64(m.Amount))
		b = binary.AppendUvarint(b, uint64(m.Given))
		for _, s := range []string{m.Currency, m.Method, m.Ref} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

// Marshal encodes the record, signature included.
func (r *Record) Marshal() []byte {
	b := r.appendBody(make([]byte, 0, 160))
	return append(b, r.Sig[:]...)
}

func signedMessage(body []byte) []byte {
	m := make([]byte, 0, len(signDomain)+1+len(body))
	m = append(m, signDomain...)
	m = append(m, 0)
	return append(m, body...)
}

// Sign checks the record's fields, sets its origin from the key and signs
// it.
func (r *Record) Sign(key ed25519.PrivateKey) error {
	r.Origin = ticket.KeyIDOf(ticket.PublicOf(key))
	if err := r.check(); err != nil {
		return fmt.Errorf("sign record %s/%d: %w", r.Origin, r.Seq, err)
	}
	copy(r.Sig[:], ed25519.Sign(key, signedMessage(r.appendBody(nil))))
	return nil
}

// Verify checks the signature with the origin's public key.
func (r *Record) Verify(pub ed25519.PublicKey) error {
	if ticket.KeyIDOf(pub) != r.Origin {
		return fmt.Errorf("record %s/%d: key %s is not its origin", r.Origin, r.Seq, ticket.KeyIDOf(pub))
	}
	if !ed25519.Verify(pub, signedMessage(r.appendBody(nil)), r.Sig[:]) {
		return fmt.Errorf("record %s/%d: bad signature", r.Origin, r.Seq)
	}
	return nil
}

// Hash returns the SHA-256 of the encoded record.
func (r *Record) Hash() Hash { return sha256.Sum256(r.Marshal()) }

// OriginOf reads the origin of an encoded record without decoding the rest,
// for a hot path that only sorts records by origin.
func OriginOf(raw []byte) (ticket.KeyID, bool) {
	var o ticket.KeyID
	if len(raw) < 1+len(o) || raw[0] != formatVersion && raw[0] != moneyVersion {
		return o, false
	}
	copy(o[:], raw[1:])
	return o, true
}

// SeqOf reads the sequence number of an encoded record without decoding
// the rest.
func SeqOf(raw []byte) (uint64, bool) {
	if _, ok := OriginOf(raw); !ok {
		return 0, false
	}
	seq, n := binary.Uvarint(raw[1+len(ticket.KeyID{}):])
	return seq, n > 0
}

// CarriesMoney reports, without decoding it, whether an encoded record is
// of the format that carries Money (sales, voids, shifts).
func CarriesMoney(raw []byte) bool { return len(raw) > 0 && raw[0] == moneyVersion }

// HashOf returns the hash of an encoded record.
func HashOf(raw []byte) Hash { return sha256.Sum256(raw) }

// ID names a record in messages: origin/seq.
func (r *Record) ID() string { return fmt.Sprintf("%s/%d", r.Origin, r.Seq) }

// Unmarshal decodes a record and checks its form, not its signature. It
// refuses any encoding Marshal would not produce.
func Unmarshal(b []byte) (Record, error) {
	var r Record
	if len(b) > MaxSize {
		return r, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	d := decoder{b: b}
	version := d.byte()
	if version != formatVersion && version != moneyVersion && d.err == nil {
		return r, fmt.Errorf("%w: format version %d", ErrMalformed, version)
	}
	d.bytes(r.Origin[:])
	r.Seq = d.uvarint()
	d.bytes(r.Prev[:])
	r.HLC = HLC(d.uvarint())
	r.Kind = Kind(d.byte())
	r.Event = d.uvarint()
	r.Serial = d.uvarint()
	r.Type = d.uvarint()
	zone := d.uvarint()
	r.Gate = d.string(MaxGateLen)
	r.Actor = d.string(MaxActorLen)
	r.Reason = d.string(MaxActorLen)
	r.Note = d.string(MaxNoteLen)
	if version == moneyVersion {
		m := Money{Receipt: d.uvarint()}
		amount, given := d.uvarint(), d.uvarint()
		if amount > math.MaxInt64 || given > math.MaxInt64 {
			d.fail(errors.New("amount out of range"))
		}
		m.Amount, m.Given = int64(amount), int64(given)
		m.Currency = d.string(3)
		m.Method = d.string(8)
		m.Ref = d.string(MaxRefLen)
		r.Money = m
	}
	d.bytes(r.Sig[:])
	if d.err != nil {
		return r, fmt.Errorf("%w: %w", ErrMalformed, d.err)
	}
	if len(d.b) != 0 {
		return r, fmt.Errorf("%w: %d bytes after the signature", ErrMalformed, len(d.b))
	}
	if zone > MaxZone {
		return r, fmt.Errorf("%w: zone %d is out of range", ErrMalformed, zone)
	}
	r.Zone = int(zone)
	if err := r.check(); err != nil {
		return r, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if string(r.Marshal()) != string(b) {
		return r, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail(errors.New("truncated"))
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes(dst []byte) {
	if len(d.b) < len(dst) {
		d.fail(errors.New("truncated"))
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(max int) string {
	n := d.uvarint()
	if n > uint64(max) || n > uint64(len(d.b)) {
		d.fail(fmt.Errorf("string of %d bytes", n))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
