package ticket

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// KeyID names a public key: the first 4 bytes of the SHA-256 of its 32 bytes.
// It is short enough to ride in every ticket code; the full key comes from the
// certificate it names, so a collision can only make a code fail, never pass.
type KeyID [4]byte

// KeyIDOf returns the id of a public key.
func KeyIDOf(pub ed25519.PublicKey) KeyID {
	sum := sha256.Sum256(pub)
	return KeyID(sum[:4])
}

// String returns the id as 8 lowercase hex digits.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText encodes the id as 8 hex digits.
func (id KeyID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses 8 hex digits.
func (id *KeyID) UnmarshalText(b []byte) error {
	parsed, err := ParseKeyID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseKeyID parses the 8 hex digits of a key id.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	if len(s) != 8 {
		return id, fmt.Errorf("key id %q: want 8 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("key id %q: %w", s, err)
	}
	return id, nil
}

// GenerateKey makes a new ed25519 key pair from rand (crypto/rand when nil).
func GenerateKey(rnd io.Reader) (ed25519.PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return priv, nil
}

// PublicOf returns the public half of a private key.
func PublicOf(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}
