package deviceapi

import (
	"time"

	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ticket"
)

// ReasonNotProvisioned refuses every scan of a device that cannot decide
// yet: no manifest, a gate or a venue the manifest does not have. The
// device's health says which.
const ReasonNotProvisioned ticket.Reason = "not_provisioned"

// States of a device, as /healthz names them.
const (
	StateReady         = "ready"
	StateUnprovisioned = "unprovisioned" // no manifest imported
	StateUnknownGate   = "unknown_gate"  // the gate served is not in the manifest
	StateWrongVenue    = "wrong_venue"   // the manifest is for another venue than the device's
	StateUnsound       = "unsound"       // the ledger cannot prove itself sound: refused, fail closed
	StateRevoked       = "revoked"       // central revoked the device: it admits nobody, fail closed
)

// Sources of a scan.
const (
	SourceAPI     = "api"     // POST /api/v1/scans
	SourceScanner = "scanner" // a hardware scanner's line
	SourceCamera  = "camera"  // a frame from the UI's camera
	SourceManual  = "manual"  // typed by staff
)

// ScanRequest is the body of POST /api/v1/scans.
type ScanRequest struct {
	Code      string `json:"code"`
	Gate      string `json:"gate,omitempty"`      // default: the device's gate
	Direction string `json:"direction,omitempty"` // "in" (default) or "out"
	// Nonce makes the request idempotent: a retry with the same nonce gets
	// the first answer and records nothing new. Up to 64 characters.
	Nonce string `json:"nonce,omitempty"`
}

// OverrideRequest is the body of POST /api/v1/overrides.
type OverrideRequest struct {
	Code       string `json:"code"`
	Gate       string `json:"gate,omitempty"`
	Direction  string `json:"direction,omitempty"`
	Supervisor string `json:"supervisor"`
	// PIN is the supervisor's PIN. A staff session's override needs it,
	// checked by the device against the supervisor's account; with the
	// device's bearer token it is optional (checked when given).
	PIN  string `json:"pin,omitempty"`
	Note string `json:"note"`
}

// Answer is the device's answer to a scan: the decision, and what the
// device did about it.
type Answer struct {
	decision.Decision
	// FreeEgress says the fire alarm holds the turnstile open: people pass
	// whatever the decision says.
	FreeEgress bool `json:"free_egress,omitempty"`
	// Repeat says this answer is a copy: the same code was read again
	// within the debounce window, or the request's nonce was seen before.
	// Nothing new was recorded and the turnstile did not open again.
	Repeat bool `json:"repeat,omitempty"`
	// Source is where the code came from.
	Source string `json:"source,omitempty"`
	// Code is the text read from a camera frame, so the screen that sent
	// the frame can offer a supervisor override of that ticket. Only the
	// frame's answer carries it.
	Code string `json:"code,omitempty"`
}

// Health is the body of GET /healthz.
type Health struct {
	State    string   `json:"state"` // StateReady or what is wrong
	Detail   string   `json:"detail,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
	// Reason names the error for programs where the sales API has one
	// (quota_exhausted, no_price_list, no_shift, note_required, …).
	Reason string `json:"reason,omitempty"`
}

// Count is one line of the status screen's refusals.
type Count struct {
	Reason string `json:"reason"`
	N      uint64 `json:"n"`
}

// Recent is one of the last scans, without the holder's name or the code.
type Recent struct {
	At     time.Time     `json:"at"`
	Result string        `json:"result"`
	Reason ticket.Reason `json:"reason"`
	Gate   string        `json:"gate"`
	Serial uint64        `json:"serial,omitempty"`
	Source string        `json:"source"`
}

// Uplink states, as the status screen names them: not_configured, or the
// uplink client's own state (uplink.StateOK, uplink.StateSuspended, …).
const (
	UplinkNotConfigured = "not_configured" // the device has no uplink to central
)

// Live is what the status screen shows: the "snapshot" event of
// GET /api/v1/events/stream, sent on connect and every few seconds.
// Counts are since the device started.
type Live struct {
	Device       string     `json:"device"`
	Gate         string     `json:"gate,omitempty"`
	Health       Health     `json:"health"`
	Admitted     uint64     `json:"admitted"`
	Refused      []Count    `json:"refused"`
	Peers        []string   `json:"peers"`
	Uplink       string     `json:"uplink"`
	Conflicts    uint64     `json:"conflicts"`
	ConflictList []Conflict `json:"conflict_list,omitempty"` // the first few
	Recent       []Recent   `json:"recent"`                  // newest first
	FreeEgress   bool       `json:"free_egress,omitempty"`
	TLS          string     `json:"tls_fingerprint,omitempty"`
}

// LiveScan is the "scan" event of GET /api/v1/events/stream: one decision
// and the counts it changed.
type LiveScan struct {
	Scan     Recent `json:"scan"`
	Admitted uint64 `json:"admitted"`
	// Refused is the new count of the scan's reason, when it was refused.
	Refused *Count `json:"refused,omitempty"`
}

// Conflict is a ticket that passed two gates which could not see each
// other, as the status screen lists it.
type Conflict struct {
	Event  uint64           `json:"event"`
	Serial uint64           `json:"serial"`
	Reason ticket.Reason    `json:"reason"`
	First  decision.Passage `json:"first"`
	Second decision.Passage `json:"second"`
}
