package pricing

// Reason names why Quote, Refund or Exchange refused something. It is
// stable, for programs and translations; a Refusal's Detail says the same
// in English with the figures.
type Reason string

// Reasons a cart line is refused.
const (
	ReasonUnknownType  Reason = "unknown_type"  // no such ticket type
	ReasonBadQuantity  Reason = "bad_quantity"  // not a positive quantity, or too many
	ReasonRoleRequired Reason = "role_required" // the type is for some roles only (VIP)
	ReasonGroupMinimum Reason = "group_minimum" // fewer tickets than the group minimum
	ReasonOverLimit    Reason = "over_limit"    // more than the type allows per order
	ReasonNotOnSale    Reason = "not_on_sale"   // no price applies now (window closed, tiers sold)
)

// Reasons a promotion code is refused.
const (
	ReasonUnknownCode   Reason = "unknown_code"   // no promotion has this code
	ReasonNotYetValid   Reason = "not_yet_valid"  // before the voucher's window
	ReasonExpired       Reason = "expired"        // after the voucher's window
	ReasonExhausted     Reason = "exhausted"      // its uses are used up
	ReasonNotApplicable Reason = "not_applicable" // no ticket in the cart it applies to, or too few
	ReasonNotCombinable Reason = "not_combinable" // an exclusive promotion already discounts those tickets
)

// Reasons a refund or an exchange is refused.
const (
	ReasonEventStarted    Reason = "event_started"    // the event began
	ReasonTooLate         Reason = "too_late"         // within the last step of the ladder: no refund
	ReasonUsed            Reason = "used"             // the ticket was scanned in
	ReasonAlreadyRefunded Reason = "already_refunded" // nothing paid is left to return
	ReasonNotExchangeable Reason = "not_exchangeable" // the new ticket cannot be had (see its quote)
)

// Refusal is one thing refused and why.
type Refusal struct {
	Reason Reason `json:"reason"`
	// Type is the refused line's type, or the ticket's in a refund.
	Type TypeID `json:"type,omitempty"`
	// Code is the refused promotion code, as the cart carried it.
	Code string `json:"code,omitempty"`
	// Ticket is the refused ticket of a refund or exchange.
	Ticket string `json:"ticket,omitempty"`
	// Detail says it in English, with the figures.
	Detail string `json:"detail"`
}
