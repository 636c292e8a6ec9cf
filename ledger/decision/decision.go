package decision

import (
	"time"

	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// Results of a decision.
const (
	OK      = "ok"
	Refused = "refused"
)

// Decision is the answer to a scan, for the gate's screen and for scripts.
type Decision struct {
	Result    string          `json:"result"` // "ok" or "refused"
	Reason    ticket.Reason   `json:"reason"`
	Detail    string          `json:"detail,omitempty"`
	Gate      string          `json:"gate"`
	Direction rules.Direction `json:"direction"`
	At        time.Time       `json:"at"`
	*Ticket
	// Record names the record written for this decision, as origin/seq.
	Record string `json:"record,omitempty"`
	// Previous is the passage that made the scan fail: for already_used,
	// where and when the ticket was used.
	Previous *Passage `json:"previous,omitempty"`
}

// OK reports whether the ticket may pass.
func (d Decision) OK() bool { return d.Result == OK }

// Ticket is what a gate's screen shows of a ticket.
type Ticket struct {
	Event      uint64    `json:"event"`
	Serial     uint64    `json:"serial"`
	Type       uint64    `json:"type"`
	TypeName   string    `json:"type_name,omitempty"`
	Zones      uint64    `json:"zones"`
	Seat       string    `json:"seat,omitempty"`
	Holder     string    `json:"holder,omitempty"`
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	Issuer     string    `json:"issuer,omitempty"`
	// Known says whether the manifest lists the ticket; an unknown ticket
	// was sold after the last sync and passes on its signature.
	Known bool `json:"known"`
}

// Passage is a recorded passage, for people.
type Passage struct {
	Gate   string    `json:"gate"`
	Device string    `json:"device"`
	At     time.Time `json:"at"`
	Exit   bool      `json:"exit,omitempty"`
}
