package ticket

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Result is the verdict on one code.
type Result struct {
	Reason Reason
	// Detail explains a refusal to a person; empty when ok.
	Detail string
	// Code is the parsed code; its Ticket is filled unless the reason is
	// ReasonMalformed.
	Code Code
	// Issuer is the certificate that covered the code, when one did.
	Issuer *IssuerCert
}

// OK reports whether the code verified.
func (r Result) OK() bool { return r.Reason == ReasonOK }

// TrustStore holds what a device trusts: root keys, issuer and device
// certificates (verified once, when added, not on every scan), revoked
// issuer keys and events' rotation secrets. It is safe for concurrent use.
type TrustStore struct {
	mu       sync.RWMutex
	roots    map[KeyID]ed25519.PublicKey
	issuers  map[KeyID][]*IssuerCert // several: a key's range may be extended
	devices  map[KeyID][]*DeviceCert
	revoked  map[KeyID]time.Time // when each revoked key's revocation took effect; zero: from the beginning
	rotation map[uint64][]byte
}

// NewTrustStore returns a store that trusts the given root keys.
func NewTrustStore(roots ...ed25519.PublicKey) *TrustStore {
	s := &TrustStore{
		roots:    make(map[KeyID]ed25519.PublicKey),
		issuers:  make(map[KeyID][]*IssuerCert),
		devices:  make(map[KeyID][]*DeviceCert),
		revoked:  make(map[KeyID]time.Time),
		rotation: make(map[uint64][]byte),
	}
	for _, r := range roots {
		s.roots[KeyIDOf(r)] = r
	}
	return s
}

// ErrUnknownRoot is returned for a certificate signed by a root the store
// does not trust.
var ErrUnknownRoot = errors.New("certificate is signed by an untrusted root")

func (s *TrustStore) root(id KeyID) (ed25519.PublicKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.roots[id]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrUnknownRoot, id)
	}
	return r, nil
}

// Root returns the trusted root key with the given id, or nil.
func (s *TrustStore) Root(id KeyID) ed25519.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.roots[id]
}

// Roots returns the trusted root keys.
func (s *TrustStore) Roots() []ed25519.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ed25519.PublicKey, 0, len(s.roots))
	for _, r := range s.roots {
		out = append(out, r)
	}
	return out
}

// CheckDevice verifies a device certificate against the trusted roots
// without adding it.
func (s *TrustStore) CheckDevice(c DeviceCert) error {
	root, err := s.root(c.Root)
	if err != nil {
		return fmt.Errorf("device %q: %w", c.Device, err)
	}
	return c.Verify(root)
}

// CheckIssuer verifies an issuer certificate against the trusted roots
// without adding it.
func (s *TrustStore) CheckIssuer(c IssuerCert) error {
	root, err := s.root(c.Root)
	if err != nil {
		return fmt.Errorf("issuer %q: %w", c.Name, err)
	}
	return c.Verify(root)
}

// AddIssuer verifies an issuer certificate against the trusted roots and
// adds it. Adding a certificate already held is a no-op.
func (s *TrustStore) AddIssuer(c IssuerCert) error {
	root, err := s.root(c.Root)
	if err != nil {
		return fmt.Errorf("add issuer %q: %w", c.Name, err)
	}
	if err := c.Verify(root); err != nil {
		return fmt.Errorf("add issuer: %w", err)
	}
	id := c.ID()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.issuers[id] {
		if string(have.Signature) == string(c.Signature) {
			return nil
		}
	}
	// Copy on write: Verify reads the slice without the lock held.
	list := append(append([]*IssuerCert(nil), s.issuers[id]...), &c)
	s.issuers[id] = list
	return nil
}

// AddDevice verifies a device certificate against the trusted roots and adds
// it. A certificate whose key id is taken by another key is refused.
func (s *TrustStore) AddDevice(c DeviceCert) error {
	root, err := s.root(c.Root)
	if err != nil {
		return fmt.Errorf("add device %q: %w", c.Device, err)
	}
	if err := c.Verify(root); err != nil {
		return fmt.Errorf("add device: %w", err)
	}
	id := c.ID()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.devices[id] {
		if !have.Key.Equal(c.Key) {
			return fmt.Errorf("add device %q: key id %s already names device %q's key", c.Device, id, have.Device)
		}
		if string(have.Signature) == string(c.Signature) {
			return nil
		}
	}
	s.devices[id] = append(append([]*DeviceCert(nil), s.devices[id]...), &c)
	return nil
}

// HasDevice reports whether the store holds this very certificate.
func (s *TrustStore) HasDevice(c DeviceCert) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, have := range s.devices[c.ID()] {
		if string(have.Signature) == string(c.Signature) {
			return true
		}
	}
	return false
}

// Device returns the newest certificate of the device key id that is valid
// at at, if any.
func (s *TrustStore) Device(id KeyID, at time.Time) (*DeviceCert, bool) {
	s.mu.RLock()
	list := s.devices[id]
	s.mu.RUnlock()
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].ValidAt(at) {
			return list[i], true
		}
	}
	return nil, false
}

// Devices returns every device certificate held.
func (s *TrustStore) Devices() []DeviceCert {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []DeviceCert
	for _, list := range s.devices {
		for _, c := range list {
			out = append(out, *c)
		}
	}
	return out
}

// Issuers returns every issuer certificate held.
func (s *TrustStore) Issuers() []IssuerCert {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []IssuerCert
	for _, list := range s.issuers {
		for _, c := range list {
			out = append(out, *c)
		}
	}
	return out
}

// RevokeIssuer makes every code signed by the key refused as revoked, and
// every device event signed by it too when it is a device key.
func (s *TrustStore) RevokeIssuer(id KeyID) { s.RevokeKeyAt(id, time.Time{}) }

// RevokeKeyAt revokes a key from at on (zero: from the beginning): codes
// it signed are refused whenever they are scanned, and a device's records
// made at or after at are refused. Of two revocations of one key the
// earlier holds.
func (s *TrustStore) RevokeKeyAt(id KeyID, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.revoked[id]; ok && (old.IsZero() || old.Before(at)) {
		return
	}
	s.revoked[id] = at
}

// Revoked reports whether a key has been revoked.
func (s *TrustStore) Revoked(id KeyID) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.revoked[id]
	return ok
}

// RevokedAt reports whether what a key signed at t falls under its
// revocation.
func (s *TrustStore) RevokedAt(id KeyID, t time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	at, ok := s.revoked[id]
	return ok && !t.Before(at)
}

// SetRotationSecret sets the secret that keys an event's rotating codes.
func (s *TrustStore) SetRotationSecret(event uint64, secret []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotation[event] = append([]byte(nil), secret...)
}

// Verify checks a code's text at time at: its form, its issuer's
// certificate, the signature, the issuer's scope, the ticket's window and
// the rotating part. It never panics, whatever the text.
func (s *TrustStore) Verify(text string, at time.Time) Result {
	c, err := Parse(text)
	if err != nil {
		return Result{Reason: ReasonMalformed, Detail: err.Error()}
	}
	return s.VerifyCode(c, at)
}

// VerifyCode is Verify for a code already parsed.
func (s *TrustStore) VerifyCode(c Code, at time.Time) Result {
	r := Result{Code: c}
	t := &c.Ticket
	s.mu.RLock()
	certs := s.issuers[t.Issuer]
	_, revoked := s.revoked[t.Issuer]
	secret := s.rotation[t.Event]
	s.mu.RUnlock()

	if len(certs) == 0 {
		return r.refuse(ReasonUnknownIssuer, "no trusted certificate for issuer key %s", t.Issuer)
	}
	// Every certificate of one key id normally holds the same key; check the
	// signature once per distinct key.
	var signer ed25519.PublicKey
	msg := signedMessage(c.Payload)
	for _, cert := range certs {
		if signer != nil && signer.Equal(cert.Key) {
			continue
		}
		if ed25519.Verify(cert.Key, msg, c.Signature) {
			signer = cert.Key
			break
		}
	}
	if signer == nil {
		return r.refuse(ReasonBadSignature, "signature does not verify with issuer key %s", t.Issuer)
	}
	if revoked {
		return r.refuse(ReasonRevoked, "issuer key %s is revoked", t.Issuer)
	}
	var why error
	for _, cert := range certs {
		if !signer.Equal(cert.Key) {
			continue
		}
		if err := cert.Covers(t); err != nil {
			why = err
			continue
		}
		if !cert.ValidAt(at) {
			why = fmt.Errorf("issuer %q's certificate is valid from %s to %s", cert.Name,
				cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
			continue
		}
		r.Issuer = cert
		break
	}
	if r.Issuer == nil {
		return r.refuse(ReasonOutOfScope, "%v", why)
	}
	if !t.ValidFrom.IsZero() && at.Before(t.ValidFrom) {
		return r.refuse(ReasonNotYetValid, "valid from %s", t.ValidFrom.Format(time.RFC3339))
	}
	if !t.ValidUntil.IsZero() && !at.Before(t.ValidUntil) {
		return r.refuse(ReasonExpired, "valid until %s", t.ValidUntil.Format(time.RFC3339))
	}
	if t.Rotating || c.Rotation != "" {
		switch {
		case secret == nil:
			return r.refuse(ReasonStaleCode, "no rotation secret for event %d on this device", t.Event)
		case c.Rotation == "":
			return r.refuse(ReasonStaleCode, "the rotating part of the code is missing: show the live ticket, not a screenshot")
		case !CheckRotation(secret, t.Serial, c.Rotation, at):
			return r.refuse(ReasonStaleCode, "the rotating part of the code is out of date")
		}
	}
	r.Reason = ReasonOK
	return r
}

func (r Result) refuse(reason Reason, format string, args ...any) Result {
	r.Reason = reason
	r.Detail = fmt.Sprintf(format, args...)
	return r
}
