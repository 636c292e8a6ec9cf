package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Kind is what a conflict is about.
type Kind string

const (
	// DoubleEntry is an entry the ticket's rule refuses as already used
	// given the ticket's other passages: entered at two gates that could
	// not see each other.
	DoubleEntry Kind = "double_entry"
	// RuleBroken is a passage the rule refuses for another reason given
	// the other passages: too_soon, not_inside, expired, or a rule the
	// manifest changed after the gate decided.
	RuleBroken Kind = "rule_broken"
	// RevokedTicket is an entry on a ticket at or after its revocation,
	// at a gate that had not heard of it yet.
	RevokedTicket Kind = "revoked_ticket"
	// VoidedTicket is an entry at or after a seller voided the sale.
	VoidedTicket Kind = "voided_ticket"
	// RevokedDevice is what a device recorded at or after its key was
	// revoked.
	RevokedDevice Kind = "revoked_device"
	// Fork is two different records at one place in an origin's log: a
	// cloned or restored device, or a stolen key.
	Fork Kind = "fork"
	// DoubleSale is one serial sold more than once: by a cloned seller
	// device, or by two devices whose blocks overlapped. It names every
	// sale record and the devices that signed them.
	DoubleSale Kind = "double_sale"
)

// Conflict is one thing ops must look at.
type Conflict struct {
	// ID depends only on what the conflict is about — its kind family, the
	// ticket, and the record or device in question — so reconciling again,
	// with more records, finds the same ID: "c" and 32 hex digits.
	ID     string        `json:"id"`
	Kind   Kind          `json:"kind"`
	Reason ticket.Reason `json:"reason,omitempty"` // what a gate that knew everything would have answered; none for a fork
	Event  uint64        `json:"event"`
	Serial uint64        `json:"serial"`
	Detail string        `json:"detail"` // for a person, naming the records
	// Records are the records in question first, in time order, then
	// those that make them a conflict: the earlier entry, the void.
	Records []Involved `json:"records"`
}

// Involved is one record a conflict names.
type Involved struct {
	Record string       `json:"record"` // origin/seq
	Origin ticket.KeyID `json:"origin"`
	Seq    uint64       `json:"seq"`
	Device string       `json:"device"` // the origin's name
	Kind   record.Kind  `json:"kind"`
	Gate   string       `json:"gate"`
	At     time.Time    `json:"at"` // by the origin's clock
}

// idFamily groups kinds whose conflicts are one: a passage the rules
// refuse stays one conflict when more records change its reason.
func idFamily(k Kind) string {
	if k == DoubleEntry || k == RuleBroken {
		return "rule"
	}
	return string(k)
}

// conflictID hashes what a conflict is about. subject is the record in
// question (a rule, a fork), the device (revoked_device), or nothing (a
// revoked or voided ticket, one conflict per ticket).
func conflictID(k Kind, event, serial uint64, subject []byte) string {
	b := make([]byte, 0, 64)
	b = append(b, "tixgate/conflict/v1\x00"...)
	b = append(b, idFamily(k)...)
	b = append(b, 0)
	b = binary.AppendUvarint(b, event)
	b = binary.AppendUvarint(b, serial)
	b = append(b, subject...)
	sum := sha256.Sum256(b)
	return "c" + hex.EncodeToString(sum[:16])
}

func refSubject(r *record.Record) []byte {
	return binary.AppendUvarint(append([]byte(nil), r.Origin[:]...), r.Seq)
}
