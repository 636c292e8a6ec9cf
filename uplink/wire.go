package uplink

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// The endpoints, under the central's URL.
const (
	PathEnroll   = "/api/v1/enroll"   // POST EnrollRequest → EnrollResponse; the setup token authenticates
	PathAcks     = "/api/v1/acks"     // GET → Acks
	PathRecords  = "/api/v1/records"  // POST PushRequest → PushResponse
	PathManifest = "/api/v1/manifest" // GET ?after=N → NDJSON of manifest changes
	// PathQuotaRequest is a seller's request for another block: POST
	// QuotaRequest → QuotaGrant.
	PathQuotaRequest = "/api/v1/quotas/request"
	// PathCredential rolls the device's API credential: POST (no body) →
	// CredentialResponse. The credential in use keeps working until the
	// new one is first used; then only the new one works.
	PathCredential = "/api/v1/credential"

	// HeaderRollCredential is set ("1") on central's answers to a device
	// that ops asked to roll its credential: the device rolls at once.
	HeaderRollCredential = "X-Tixgate-Roll-Credential"

	// HeaderManifestHead carries, on a pull, the number of the venue's last
	// change when the pull began: what a progress bar counts to.
	HeaderManifestHead = "X-Tixgate-Manifest-Head"
	// ContentNDJSON is the manifest stream's media type.
	ContentNDJSON = "application/x-ndjson"

	// MaxPushRecords bounds the records of one push; MaxPushBytes its body.
	MaxPushRecords = 5000
	MaxPushBytes   = 8 << 20
)

// SetupCode is what a setup QR holds: {"v":1,"url":…,"token":…}.
type SetupCode struct {
	V     int    `json:"v"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

// Marshal is the code's JSON text.
func (s SetupCode) Marshal() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ParseSetupCode reads a setup QR's text.
func ParseSetupCode(text string) (SetupCode, error) {
	var s SetupCode
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("setup code: not the JSON of a setup code: %w", err)
	}
	if s.V != 1 {
		return s, fmt.Errorf("setup code: version %d, want 1", s.V)
	}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s, fmt.Errorf("setup code: url %q is not an http(s) URL", s.URL)
	}
	if s.Token == "" {
		return s, errors.New("setup code: no token")
	}
	return s, nil
}

// EnrollRequest is what a device sends to enroll.
type EnrollRequest struct {
	Token    string            `json:"token"`
	Key      ed25519.PublicKey `json:"key"` // the identity key the device made
	Version  string            `json:"version"`
	Hardware string            `json:"hardware"`
	Time     time.Time         `json:"time"` // the device's clock, for its skew
}

// Check reports what is wrong with the request's form.
func (r *EnrollRequest) Check() error {
	switch {
	case r.Token == "":
		return errors.New("enroll: no setup token")
	case len(r.Key) != ed25519.PublicKeySize:
		return fmt.Errorf("enroll: identity key of %d bytes, want an ed25519 public key (32)", len(r.Key))
	case len(r.Version) > 64 || len(r.Hardware) > 256:
		return errors.New("enroll: version or hardware text too long")
	}
	return nil
}

// EnrollResponse is what central answers an enrollment with, once.
type EnrollResponse struct {
	Cert ticket.DeviceCert `json:"cert"`
	Root ed25519.PublicKey `json:"root"`
	// Keyring is the venue mesh's keys, the one to encrypt with first.
	Keyring [][]byte `json:"keyring"`
	// GateKey opens the private parts of manifest changes (holders' names,
	// rotation secrets); only gates get it.
	GateKey    []byte `json:"gate_key,omitempty"`
	Venue      string `json:"venue"`
	Gate       string `json:"gate,omitempty"`
	Credential string `json:"credential"` // the device's API credential: Authorization: Bearer …
	// ManifestHead is the venue manifest's last change now: what the first
	// pull brings.
	ManifestHead uint64 `json:"manifest_head"`
}

// Check verifies the answer: a certificate of the key sent, signed by the
// root given.
func (r *EnrollResponse) Check(key ed25519.PublicKey) error {
	if err := r.Cert.Verify(r.Root); err != nil {
		return fmt.Errorf("enroll: central's answer: %w", err)
	}
	if !r.Cert.Key.Equal(key) {
		return errors.New("enroll: central's answer certifies another key")
	}
	if len(r.Keyring) == 0 || r.Credential == "" {
		return errors.New("enroll: central's answer has no mesh keyring or no credential")
	}
	return nil
}

// Status is what a device says of itself on each push.
type Status struct {
	Time        time.Time `json:"time"` // the device's clock when it sent this
	ManifestSeq uint64    `json:"manifest_seq"`
	Backlog     int64     `json:"backlog"` // records central has not acknowledged
	State       string    `json:"state"`   // the uplink's own state, see State
	Version     string    `json:"version,omitempty"`
}

// Acks is central's acknowledgement: for each origin (a device's key id),
// the records 1 to that number are held.
type Acks struct {
	Acks         map[ticket.KeyID]uint64 `json:"acks"`
	ManifestHead uint64                  `json:"manifest_head"`
	Time         time.Time               `json:"time"` // central's clock
}

// PushRequest uploads records, each the bytes its origin signed, ordered
// by origin and sequence.
type PushRequest struct {
	Status  Status   `json:"status"`
	Records [][]byte `json:"records"`
}

// PushResponse says what became of a push.
type PushResponse struct {
	Stored     int       `json:"stored"`
	Duplicates int       `json:"duplicates"`
	Refused    []Refusal `json:"refused,omitempty"`
	Acks       Acks      `json:"acks"`
}

// Refusal is a record central would not store. Index is its place in the
// push.
type Refusal struct {
	Index  int    `json:"index"`
	Record string `json:"record,omitempty"` // origin/seq, when it could be read
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// The reasons of a refusal.
const (
	RefusedMalformed     = "malformed"      // not a record
	RefusedUnknownOrigin = "unknown_origin" // no enrolled, unrevoked device with that key at the record's time
	RefusedBadSignature  = "bad_signature"  // its origin did not sign it (or the chain to a signed one is broken)
	RefusedGap           = "gap"            // central lacks the records before it: push those first
	RefusedFork          = "fork"           // another record, also signed by the origin, holds its number
)

// Error is the body of every failed request: a code a program branches on
// and a message for a person.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// The error codes.
const (
	ErrCodeTokenUnknown = "token_unknown"
	ErrCodeTokenUsed    = "token_used"
	ErrCodeTokenExpired = "token_expired"
	ErrCodeBadRequest   = "bad_request"
	ErrCodeMediaType    = "unsupported_media_type" // a body that is not application/json
	ErrCodeUnauthorized = "unauthorized"
	ErrCodeInternal     = "internal"
	ErrCodeQuotaLimit   = "quota_limit" // a seller asked for more than ops allow it
	ErrCodeNotSeller    = "not_seller"  // a quota asked for by a device that is not a seller
	// ErrCodeDeviceSuspended (403) answers every request of a device that
	// central suspended: it keeps admitting offline and its peers keep
	// accepting its records; it backs off until ops resume it.
	ErrCodeDeviceSuspended = "device_suspended"
	// ErrCodeDeviceRevoked: ops revoked the device (lost, stolen,
	// retired); it must stop admitting until it is enrolled again.
	ErrCodeDeviceRevoked = "device_revoked"
)

// QuotaRequest asks central for another block of serials of one event and
// ticket type for the asking seller device.
type QuotaRequest struct {
	Event uint64 `json:"event"`
	Type  uint64 `json:"type"`
}

// QuotaGrant is the block central granted: its issuer certificate for the
// device's key. The same certificate and the device's price list are
// signed into the venue's manifest (ManifestHead is the manifest's last
// change after them), so the next pull installs them on the device and
// the mesh carries them to the gates.
type QuotaGrant struct {
	Cert         ticket.IssuerCert `json:"cert"`
	Price        int64             `json:"price"` // one ticket, minor units of Currency
	Currency     string            `json:"currency"`
	ManifestHead uint64            `json:"manifest_head"`
}

// CredentialResponse is a rolled API credential. The device writes it to
// disk before it uses it; until it does, the credential before keeps
// working, so an answer lost on the way is simply asked for again (and
// the credential it held, never used, no longer works).
type CredentialResponse struct {
	Credential string `json:"credential"`
}
