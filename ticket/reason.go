package ticket

// Reason says why a code or a scan was accepted or refused. The names are
// stable: gates show them, logs carry them and scripts branch on them.
type Reason string

// Reasons of code verification (TrustStore.Verify).
const (
	ReasonOK            Reason = "ok"
	ReasonMalformed     Reason = "malformed"      // not a tixgate code, or damaged
	ReasonBadSignature  Reason = "bad_signature"  // forged or altered
	ReasonUnknownIssuer Reason = "unknown_issuer" // no trusted certificate for its key
	ReasonOutOfScope    Reason = "out_of_scope"   // event, type or serial outside the issuer's certificate, or the certificate is not valid now
	ReasonNotYetValid   Reason = "not_yet_valid"  // before the ticket's valid-from
	ReasonExpired       Reason = "expired"        // at or after the ticket's valid-until
	ReasonStaleCode     Reason = "stale_code"     // rotating part missing, old or wrong
	ReasonRevoked       Reason = "revoked"        // ticket, sale or issuer revoked by central
)

// Reasons of the scan decision at a gate (package ledger).
const (
	ReasonAlreadyUsed  Reason = "already_used"  // the rule allows no further entry
	ReasonWrongEvent   Reason = "wrong_event"   // the ticket is for another event
	ReasonWrongZone    Reason = "wrong_zone"    // the ticket does not open this gate's zone
	ReasonWrongGate    Reason = "wrong_gate"    // the ticket type may not use this gate
	ReasonWrongDay     Reason = "wrong_day"     // not valid on this weekday or date
	ReasonOutsideHours Reason = "outside_hours" // outside the type's entry window
	ReasonTooSoon      Reason = "too_soon"      // too little time since the last entry
	ReasonNotInside    Reason = "not_inside"    // an exit without an entry
	ReasonNotAllowed   Reason = "not_allowed"   // the type's custom condition does not hold
	ReasonUnknownGate  Reason = "unknown_gate"  // the device is not set up for this gate
	ReasonUnknownType  Reason = "unknown_type"  // the manifest defines no such ticket type for the event
	// ReasonTicketMismatch: the code disagrees with the manifest's record of
	// its ticket (its type); the detail names both values.
	ReasonTicketMismatch Reason = "ticket_mismatch"
	ReasonOverride       Reason = "override" // let in by a supervisor
)
